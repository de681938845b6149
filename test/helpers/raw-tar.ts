/**
 * A tar (ustar) writer that writes member names exactly as given, for tests
 * that need archives no careful tool would make: `../` and absolute member
 * names, links that point out of the archive. Only what those tests need:
 * names and link names up to 100 bytes, regular files, directories, symlinks.
 */
import { gzipSync } from 'node:zlib';

export interface RawMember {
  name: string;
  /** '0' file (default), '5' directory, '2' symlink, '1' hard link. */
  type?: '0' | '1' | '2' | '5';
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
}

function field(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`raw tar: "${value}" is longer than ${length} bytes`);
  bytes.copy(block, offset);
}

const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0');

/** One member's 512-byte ustar header, for `size` bytes of data. */
export function header(member: RawMember, size: number): Buffer {
  const block = Buffer.alloc(512);
  const type = member.type ?? '0';
  field(block, 0, 100, member.name);
  field(block, 100, 8, octal(member.mode ?? (type === '5' ? 0o755 : 0o644), 8));
  field(block, 108, 8, octal(0, 8));
  field(block, 116, 8, octal(0, 8));
  field(block, 124, 12, octal(size, 12));
  field(block, 136, 12, octal(1323461708, 12));
  field(block, 148, 8, '        ');
  field(block, 156, 1, type);
  field(block, 157, 100, member.linkname ?? '');
  field(block, 257, 6, 'ustar');
  field(block, 263, 2, '00');
  field(block, 265, 32, 'root');
  field(block, 297, 32, 'root');
  let sum = 0;
  for (const byte of block) sum += byte;
  field(block, 148, 8, `${octal(sum, 7)}\0`);
  return block;
}

/** The tar archive of `members`, in order, with the two closing zero blocks. */
export function rawTar(members: readonly RawMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const member of members) {
    const data =
      member.type === undefined || member.type === '0'
        ? Buffer.from(member.data ?? '')
        : Buffer.alloc(0);
    parts.push(header(member, data.length), data);
    if (data.length % 512) parts.push(Buffer.alloc(512 - (data.length % 512)));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** rawTar(), gzipped: a .tgz. */
export const rawTgz = (members: readonly RawMember[]) => gzipSync(rawTar(members));
