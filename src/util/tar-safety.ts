/**
 * Checks a tar (or tar.gz) before anything is unpacked from it: every
 * member must land inside the directory it is unpacked into. Used for
 * platform tgzs (verify-manifest), man page tarballs and proto cache
 * entries, which all come from elsewhere and must not be trusted.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Parser, Unpack, type ReadEntry } from 'tar';
import { describeError, UserError } from './errors.js';
import { humanBytes } from './format.js';

export interface TarSafetyOptions {
  /** What the members are unpacked into, for messages ("the platform directory"). */
  into: string;
  /** Refuse anything that is not gzip (a .tgz), with this hint in the message. */
  gzip?: { expected: string };
  /**
   * Symlink members whose text is absolute or climbs with `..` are normal
   * in a proto area (they are never followed here) but not in a platform
   * directory; a member written through a symlink is refused either way.
   */
  allowOutwardSymlinks?: boolean;
  /**
   * Refuse an archive whose members (as declared, and as decompressed)
   * add up to more than this many bytes, before anything is unpacked.
   */
  maxBytes?: { bytes: number; option: string };
  /** Only regular files and directories (a platform directory holds nothing else). */
  filesAndDirsOnly?: boolean;
  /**
   * The size a member's own header declares (a file system image's
   * superblock), from its first bytes; a member larger than that is refused.
   */
  declaredSize?: (path: string) => ((head: Buffer) => number | undefined) | undefined;
}

/** How much of a member declaredSize sees: a UFS superblock or an ISO 9660 volume descriptor. */
const HEAD_BYTES = 36 << 10;

/** Reads of the archive stay this small, so memory stays bounded whatever the ratio. */
const READ_SIZE = 64 << 10;

/**
 * Feeds `file` (gunzipped when it is gzip) into a tar parser chunk by
 * chunk, waiting for the parser between chunks: at most a read's worth of
 * decompressed data is in memory at once. `onBytes` sees every
 * decompressed byte count and may throw to stop.
 */
async function feedTar(
  file: string,
  parser: Parser,
  gzip: boolean,
  onBytes: (total: number) => void,
): Promise<void> {
  const input = createReadStream(file, { highWaterMark: READ_SIZE });
  const stream = gzip ? input.pipe(createGunzip({ chunkSize: READ_SIZE })) : input;
  input.on('error', (err) => stream.destroy(err));
  let failure: Error | undefined;
  parser.on('error', (err: Error) => (failure ??= err));
  const closed = once(parser, 'close').catch(() => undefined);
  // After the end-of-archive blocks the parser only buffers (and re-copies)
  // what comes: nothing after them is read.
  let eof = false;
  parser.on('eof', () => (eof = true));
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      onBytes(total);
      if (failure || eof) break;
      if (!parser.write(chunk)) await once(parser, 'drain');
    }
  } finally {
    input.destroy();
    if (stream !== input) stream.destroy();
  }
  if (failure) throw failure;
  parser.end();
  await closed;
  // Read again: the parser may have failed while it ended.
  const failed = failure as Error | undefined;
  if (failed) throw failed;
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

const escapes = (member: string) =>
  isAbsolute(member) || member.split('/').some((part) => part === '..');

const trimSlashes = (path: string) => path.replace(/^(\.\/)+/, '').replace(/\/+$/, '');

/** A member found unsafe, or an archive over its size limit. */
class Refused extends Error {}

/** The first member refused, and why (a type, a hard link's target, a size past its own header's). */
interface Problem {
  member: string;
  type?: string;
  link?: string;
  declared?: number;
  size?: number;
}

/** The members of one archive as they stream by: what was seen, and the first problem. */
class MemberCheck {
  readonly members = new Set<string>();
  problem: Problem | undefined;
  private readonly symlinks = new Set<string>();
  private declared = 0;

  constructor(
    private readonly file: string,
    private readonly options: TarSafetyOptions,
  ) {}

  /** The archive is over its size limit (`bytes` seen so far). */
  over(bytes: number): Refused {
    const limit = this.options.maxBytes!;
    return new Refused(
      `${this.file} unpacks to more than ${limit.bytes} bytes (${humanBytes(limit.bytes)}, ` +
        `${bytes} seen); refusing to unpack it (${limit.option} raises the limit)`,
    );
  }

  readonly onReadEntry = (entry: ReadEntry): void => {
    entry.resume();
    if (this.problem !== undefined) return;
    const path = trimSlashes(entry.path);
    this.declared += entry.size ?? 0;
    const limit = this.options.maxBytes;
    if (limit && this.declared > limit.bytes) throw this.over(this.declared);
    this.problem = this.memberProblem(entry, path);
    if (entry.type === 'SymbolicLink') this.symlinks.add(path);
    this.members.add(path);
    this.watchDeclaredSize(entry, path);
  };

  private underSymlink(path: string): boolean {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (this.symlinks.has(parts.slice(0, i).join('/'))) return true;
    }
    return false;
  }

  private memberProblem(entry: ReadEntry, path: string): Problem | undefined {
    const member = entry.path;
    const link = entry.linkpath;
    if (escapes(member) || this.underSymlink(path)) return { member };
    if (this.options.filesAndDirsOnly && entry.type !== 'File' && entry.type !== 'Directory')
      return { member, type: entry.type };
    if (entry.type === 'Link' && link && (escapes(link) || !this.members.has(trimSlashes(link))))
      // A hard link names an earlier member, from the top of the archive.
      return escapes(link) ? { member } : { member, link };
    const outward = link !== undefined && (isAbsolute(link) || link.includes('..'));
    if (entry.type === 'SymbolicLink' && !this.options.allowOutwardSymlinks && link && outward)
      return { member };
    return undefined;
  }

  /** A file whose first bytes declare its size (a file system image) must not be far larger. */
  private watchDeclaredSize(entry: ReadEntry, path: string): void {
    const declare = this.options.declaredSize?.(path);
    if (!declare || entry.type !== 'File') return;
    const head: Buffer[] = [];
    let got = 0;
    let checked = false;
    const check = () => {
      if (checked) return;
      checked = true;
      const size = declare(Buffer.concat(head));
      // Slack: xorriso pads an ISO past its volume, newfs may leave a partial cylinder group.
      if (size !== undefined && (entry.size ?? 0) > size + size / 4 + (1 << 20)) {
        this.problem ??= { member: entry.path, declared: size, size: entry.size ?? 0 };
      }
    };
    entry.on('data', (chunk: Buffer) => {
      if (got >= HEAD_BYTES) return;
      head.push(chunk);
      got += chunk.length;
      if (got >= HEAD_BYTES) check();
    });
    entry.on('end', check);
  }
}

/** The message of a refused member. */
function refusal(file: string, bad: Problem, options: TarSafetyOptions): UserError {
  if (bad.declared !== undefined) {
    return new UserError(
      `${file}: member ${bad.member} is ${bad.size} bytes, far more than the ` +
        `${bad.declared} its own header declares; refusing to unpack it`,
    );
  }
  if (bad.type) {
    return new UserError(
      `${file}: member ${bad.member} is a ${bad.type}, and ${options.into} holds only files ` +
        'and directories; refusing to unpack it',
    );
  }
  if (bad.link) {
    return new UserError(
      `${file}: hard link member ${bad.member} links to ${bad.link}, which is no earlier ` +
        'member of the archive; refusing to unpack it',
    );
  }
  return new UserError(
    `${file}: member ${bad.member} would land outside ${options.into}; refusing to unpack it`,
  );
}

/**
 * Throws a UserError naming the first member that would land outside (or
 * is of a refused type), an archive over its size limit, or an unreadable
 * archive. Streams the archive once with bounded memory.
 */
export async function checkTarMembers(file: string, options: TarSafetyOptions): Promise<void> {
  const gzip = await isGzip(file).catch((err: unknown) => {
    throw new UserError(`cannot read ${file}: ${describeError(err)}`);
  });
  if (options.gzip && !gzip) {
    throw new UserError(`${file} is not a gzip file (expected ${options.gzip.expected})`);
  }
  const check = new MemberCheck(file, options);
  const limit = options.maxBytes;
  const parser = new Parser({ strict: true, onReadEntry: check.onReadEntry });
  try {
    await feedTar(file, parser, gzip, (bytes) => {
      // Headers and padding come on top of the members: allow a block per member and the end blocks.
      if (limit && bytes > limit.bytes + 512 * (check.members.size + 1) + 10240)
        throw check.over(bytes);
    });
  } catch (err) {
    if (err instanceof Refused) throw new UserError(err.message);
    throw new UserError(
      `${file} is not a readable ${gzip ? 'tar.gz' : 'tar'}: ${describeError(err)}`,
    );
  }
  if (check.problem) throw refusal(file, check.problem, options);
}

/**
 * Unpacks a tar (or tar.gz) that checkTarMembers passed into `cwd`, with
 * the same bounded memory (node-tar's own reader inflates a whole 16 MB
 * read at once).
 */
export async function extractTar(file: string, cwd: string): Promise<void> {
  const gzip = await isGzip(file);
  await feedTar(
    file,
    new Unpack({ cwd, strict: true, preservePaths: false }),
    gzip,
    () => undefined,
  );
}

/**
 * The size a boot_archive declares for itself: a UFS superblock's
 * fs_size x fs_fsize, or an ISO 9660 primary volume descriptor's volume
 * space size x logical block size. Undefined when it is neither.
 */
export function declaredImageSize(head: Buffer): number | undefined {
  const sb = 8192;
  if (head.length >= sb + 1376 && head.readInt32LE(sb + 1372) === 0x011954) {
    return head.readInt32LE(sb + 36) * head.readInt32LE(sb + 52);
  }
  const pvd = 0x8000;
  if (head.length >= pvd + 132 && head.toString('latin1', pvd + 1, pvd + 6) === 'CD001') {
    return head.readUInt32LE(pvd + 80) * head.readUInt16LE(pvd + 128);
  }
  return undefined;
}
