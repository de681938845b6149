/**
 * A small UFS platform made by the real build-live, and the tools to craft
 * it the way a hostile pull request would: patch bytes of its boot_archive
 * (the superblock, an inode), then reseal it (boot_archive.hash and the
 * log's `# boot_archive sha1:` line rewritten to match), so that only the
 * reader of the image stands between the crafted image and a PASS.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildLiveIn } from './cli.js';

export const STAMP = '20111209T201508Z';

export interface FixturePlatform {
  manifest: string;
  log: string;
  platform: string;
  archive: string;
  /** verify-manifest's arguments for it (log, manifest, platform). */
  args: string[];
}

/** Bytes no one can mistake for zeros or text: a 32-bit xorshift stream. */
export function noise(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The files of the fixture image: passwd and group, a file with indirect blocks, a symlink. */
const FILES: { path: string; text: string | Buffer; owner: string; group: string }[] = [
  { path: 'etc/group', text: 'root::0:\nother::1:\nbin::2:root\nsys::3:root\n', owner: 'root', group: 'sys' }, // prettier-ignore
  { path: 'etc/passwd', text: 'root:x:0:0::/root:/bin/sh\nbin:x:2:2::/usr/bin:\n', owner: 'root', group: 'sys' }, // prettier-ignore
  { path: 'usr/bin/big', text: noise(200 * 1024), owner: 'bin', group: 'bin' },
  { path: 'usr/bin/small', text: 'small\n', owner: 'root', group: 'bin' },
];

/** Builds the fixture platform under `dir` with the real CLI. */
export async function buildFixturePlatform(dir: string): Promise<FixturePlatform> {
  const proto = join(dir, 'proto');
  const lines = ['d etc 0755 root sys', 'd usr 0755 root sys', 'd usr/bin 0755 root bin'];
  for (const f of FILES) {
    await mkdir(dirname(join(proto, f.path)), { recursive: true });
    await writeFile(join(proto, f.path), f.text);
    lines.push(`f ${f.path} 0555 ${f.owner} ${f.group}`);
  }
  lines.push('s usr/bin/link=small');
  const manifest = join(dir, 'manifest');
  await writeFile(manifest, lines.join('\n') + '\n');
  const built = ['-m', manifest, '--proto', proto, '--archive', 'ufs'];
  const { run, platform, log } = await buildLiveIn(dir, built);
  assert.equal(run.code, 0, run.stderr);
  return {
    manifest,
    log,
    platform,
    archive: join(platform, 'i86pc', 'amd64', 'boot_archive'),
    args: ['--log', log, '-m', manifest, '--platform', platform],
  };
}

/** Writes `bytes` at `offset` of `file`. */
export async function patch(file: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, offset);
  } finally {
    await fh.close();
  }
}

/** A little-endian int32 as bytes. */
export function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n | 0);
  return b;
}

/** A little-endian uint64 as bytes. */
export function uint64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

/** The superblock's byte offset, and the offsets of the fields crafted here. */
export const SB = 8192;
export const SB_FIELDS = { size: 36, ncg: 44, fsize: 52, ipg: 184, fpg: 188, magic: 1372 };
/** Offsets in an on-disk inode. */
export const INODE = {
  mode: 0,
  nlink: 2,
  suid: 4,
  sgid: 6,
  size: 8,
  blocks: 104,
  uid: 116,
  gid: 120,
};

/** Where inode `ino` lies in `image` (its superblock's geometry). */
function inodeAt(image: Buffer, ino: number): number {
  const r = (off: number) => image.readInt32LE(SB + off);
  const [ipg, fpg, fsize, iblkno, cgoffset, cgmask] = [r(184), r(188), r(52), r(16), r(24), r(28)];
  const c = Math.floor(ino / ipg);
  const cgstart = fpg * c + cgoffset * (c & ~cgmask);
  return (cgstart + iblkno) * fsize + (ino % ipg) * 128;
}

/** The byte offset of inode `ino` of the image. */
export async function inodeOffset(archive: string, ino: number): Promise<number> {
  const fh = await open(archive, 'r');
  try {
    const head = Buffer.alloc(SB + 2048);
    await fh.read(head, 0, head.length, 0);
    return inodeAt(head, ino);
  } finally {
    await fh.close();
  }
}

/** Every inode of the image in use (mode not 0): its number and byte offset. */
export async function usedInodes(archive: string): Promise<{ ino: number; offset: number }[]> {
  const image = await readFile(archive);
  const r = (off: number) => image.readInt32LE(SB + off);
  const out: { ino: number; offset: number }[] = [];
  for (let ino = 2; ino < r(SB_FIELDS.ncg) * r(SB_FIELDS.ipg); ino++) {
    const offset = inodeAt(image, ino);
    if (image.readUInt16LE(offset) !== 0) out.push({ ino, offset });
  }
  return out;
}

/** Rewrites boot_archive.hash and the log's sha1 line to match the boot_archive as it is now. */
export async function reseal(p: FixturePlatform): Promise<void> {
  const sha1 = createHash('sha1')
    .update(await readFile(p.archive))
    .digest('hex');
  await writeFile(join(dirname(p.archive), 'boot_archive.hash'), `${sha1}\n`);
  const log = await readFile(p.log, 'utf8');
  await writeFile(
    p.log,
    log.replace(/^# boot_archive sha1: [0-9a-f]{40}$/m, `# boot_archive sha1: ${sha1}`),
  );
}
