import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { lstat, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
// The two encoders alone, not the whole of node-tar: they are all the tgz writer uses.
import { Header } from 'tar/header';
import { Pax } from 'tar/pax';
import { compareBytes } from '../manifest/path.js';
import { gzipToFile, type PremadeBlocks } from './gzip.js';

/** Every path below `dir` (itself first), parents before children, in byte order. */
async function listTree(base: string, dir: string): Promise<string[]> {
  const out = [dir];
  const entries = await readdir(join(base, dir), { withFileTypes: true });
  for (const entry of entries.sort((a, b) => compareBytes(a.name, b.name))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listTree(base, path)));
    else out.push(path);
  }
  return out;
}

export interface PlatformTgzOptions {
  /**
   * A member whose sha1 is taken as it is packed, and the file (listed
   * after it, already there at its final size) that receives it in hex and
   * a newline before it is packed: boot_archive and its .hash
   * (docs/output-layout.md), so the image is read once.
   */
  digest?: { of: string; into: string };
  /** Blocks of the stream deflated while the image was written (src/archive/early-deflate.ts). */
  premade?: PremadeBlocks;
}

/**
 * Packs `<outputDir>/<platformName>` into `tgzPath` (docs/output-layout.md): members under
 * `<platformName>/`, sorted, owner 0/0, every mtime the build epoch, and a
 * gzip header with no name or time, so equal inputs give equal bytes.
 * Returns the sha1 asked for with `digest`.
 */
export async function writePlatformTgz(
  outputDir: string,
  platformName: string,
  tgzPath: string,
  epoch: number,
  options: PlatformTgzOptions = {},
): Promise<string | undefined> {
  const members = await listTree(outputDir, platformName);
  const packing = { digest: undefined as string | undefined };
  // Our own gzip uses every core; it is done with each piece before it asks for the next.
  await gzipToFile(tarMembers(outputDir, members, epoch, options, packing), tgzPath, {
    premade: options.premade,
  });
  return packing.digest;
}

/** Bytes read from a member at a time. */
const READ_SIZE = 1 << 20;
const TAR_BLOCK = 512;

/**
 * The tar stream of `members` (paths relative to `base`), as node-tar's
 * portable mode writes it: a ustar header per member (a pax header first
 * when a path does not fit), modes without the group and other write bits,
 * no owners, the content padded to 512 bytes, two zero blocks at the end.
 * The platform directory holds only directories and regular files.
 */
async function* tarMembers(
  base: string,
  members: readonly string[],
  epoch: number,
  options: PlatformTgzOptions,
  packing: { digest?: string },
): AsyncGenerator<Buffer> {
  const mtime = new Date(epoch * 1000);
  const buffer = Buffer.allocUnsafe(READ_SIZE);
  const digestOf = options.digest && `${members[0]}/${options.digest.of}`;
  const digestInto = options.digest && `${members[0]}/${options.digest.into}`;
  for (const member of members) {
    const path = join(base, member);
    if (member === digestInto) {
      if (packing.digest === undefined) {
        throw new Error(`internal error: ${member} is packed before ${digestOf}`);
      }
      await writeFile(path, `${packing.digest}\n`);
    }
    const info = await lstat(path);
    const isDir = info.isDirectory();
    if (!isDir && !info.isFile()) throw new Error(`${path}: not a file or directory`);
    const size = isDir ? 0 : info.size;
    yield* memberHeader(member, isDir, info.mode, size, mtime);
    if (isDir) continue;
    const hash = member === digestOf ? createHash('sha1') : undefined;
    yield* fileContent(path, size, buffer, hash);
    if (hash) packing.digest = hash.digest('hex');
  }
  yield Buffer.alloc(2 * TAR_BLOCK);
}

/** A member's header blocks: a pax header first when the path does not fit ustar's. */
function memberHeader(
  member: string,
  isDir: boolean,
  mode: number,
  size: number,
  mtime: Date,
): Buffer[] {
  const path = isDir ? `${member}/` : member;
  const header = new Header({
    path,
    mode: portableMode(mode, isDir),
    size,
    mtime,
    type: isDir ? 'Directory' : 'File',
  });
  const pax = header.encode() ? [new Pax({ mtime, path, size: header.size }).encode()] : [];
  return [...pax, header.block!];
}

/**
 * Where the content of `file` (a path below `platformName`, the first file
 * in byte order: the boot_archive) starts in the platform tgz's tar stream:
 * after the headers of the directories on the way and its own, as
 * writePlatformTgz packs them (every directory 0755, the file 0644, as the
 * build leaves them).
 */
export function contentOffset(
  platformName: string,
  file: string,
  size: number,
  epoch: number,
): number {
  const mtime = new Date(epoch * 1000);
  let dir = platformName;
  let offset = 0;
  const add = (blocks: Buffer[]) => blocks.forEach((b) => (offset += b.length));
  add(memberHeader(dir, true, 0o755, 0, mtime));
  for (const part of file.split('/').slice(0, -1)) {
    dir = `${dir}/${part}`;
    add(memberHeader(dir, true, 0o755, 0, mtime));
  }
  add(memberHeader(`${platformName}/${file}`, false, 0o644, size, mtime));
  return offset;
}

/**
 * A member's bytes, exactly `size` of them, zero-padded to a whole tar
 * block; read into `buffer`, so each piece is valid until the next is asked for.
 */
export function* fileContent(
  path: string,
  size: number,
  buffer: Buffer,
  hash?: Hash,
): Generator<Buffer> {
  // Synchronous reads: the thread pool is the gzip threads', and a read
  // queued behind their blocks would hold up the stream that feeds them.
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < size) {
      const want = Math.min(buffer.length, size - done);
      const bytesRead = readSync(fd, buffer, 0, want, done);
      if (bytesRead === 0) throw new Error(`${path}: shorter than its ${size} bytes while packing`);
      const data = buffer.subarray(0, bytesRead);
      hash?.update(data);
      done += bytesRead;
      yield data;
    }
  } finally {
    closeSync(fd);
  }
  const pad = (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
  if (pad > 0) yield Buffer.alloc(pad);
}

/**
 * A member's mode as portable tar archives record it: the owner may always
 * read and write, nobody else write; a directory searchable by whoever
 * may read it.
 */
export function portableMode(mode: number, isDir: boolean): number {
  let m = ((mode & 0o7777) | 0o600) & ~0o22;
  if (isDir) m |= (m & 0o444) >> 2;
  return m;
}
