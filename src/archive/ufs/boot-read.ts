/**
 * A second reader of our UFS images, written to the semantics of the reader
 * illumos boots with (usr/src/common/fs/ufsops.c: krtld reads the kernel's
 * modules out of the boot_archive with it before any file system is
 * mounted). It does what that reader does and nothing more, so that a test
 * can show our images hold up under its assumptions (docs/ufs.md):
 *
 * - the superblock is taken as it is once its magic number matches: every
 *   address is computed from its fields (fs_fsbtodb, fs_bshift, fs_bmask,
 *   fs_qfmask, fs_nindir, ...) without a range check;
 * - a path is looked up from the root, component by component, with a
 *   linear walk of each directory (`dlook`/`readdir`): a hole in a
 *   directory ends it, entries with inode 0 are skipped, a name matches
 *   when its length and its NUL-terminated bytes do;
 * - a symlink met on the way is read as the first 512 bytes (DEV_BSIZE) of
 *   its first block, up to the first NUL, and spliced into the path (an
 *   absolute one restarts from the root);
 * - a file's logical block maps through the direct and indirect pointers
 *   (`sbmap`); a hole maps to fragment 0, and is read from the start of the
 *   device, so it reads as zeros only because the image's first 8 KiB are
 *   zero; the last block of a small file is read as whole fragments.
 *
 * Where the boot-time reader would loop or run off a buffer (a record
 * length of 0, a symlink text without a NUL in 512 bytes, a path over
 * MAXPATHLEN, a loop of symlinks), this one throws a UserError instead; so
 * it does where a crafted superblock or inode would make it allocate or
 * read without bound: a block size over MAXBSIZE's reach, a read past the
 * end of the image (never the previous buffer's bytes), a file larger than
 * the image. Long loops yield to the event loop (signals are handled).
 *
 * What is the same in every reader is shared, not copied: opening the image,
 * exact reads and the logical-block walk (image-io.ts), the superblock, inode
 * and directory-entry decoders (layout.ts). What stays here is what makes it
 * the boot-time reader and must differ from read.ts and fsck/: addresses
 * computed from the superblock's shifts and masks without a range check,
 * indirect blocks read whole, names taken up to their NUL, a linear dlook,
 * holes read from the device's first block. A test that passes through this
 * reader shows an image holds up under those assumptions only if they are
 * this reader's own.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { UserError } from '../../util/errors.js';
import type { ReadLimits } from './read.js';
import { mapBlock, nextTurn, openImage, readExact, YIELD_EVERY } from './image-io.js';
import {
  decodeDinode,
  decodeSuperblock,
  FS_MAGIC,
  IFDIR,
  IFLNK,
  IFMT,
  MAXPATHLEN,
  NDADDR,
  readDirentHeader,
  ROOTINO,
  SBSIZE_MAX,
  type DecodedSuperblock,
} from './layout.js';

/** DEV_BSIZE: the unit of device addresses, and what the boot reader reads of a symlink. */
const DEV_BSIZE = 512;
/** SBLOCK, in DEV_BSIZE units. */
const SBLOCK = 16;
const INODE_SIZE = 128;
/** More symlinks than this in one lookup: a loop (the boot reader would spin). */
const MAX_SYMLINKS = 40;
/** The largest block a UFS may have (illumos's MAXBSIZE is 8192; FreeBSD's 65536). */
const MAX_BSIZE = 65536;

/** The superblock fields the boot reader uses, unchecked. */
export type BootFs = Pick<
  DecodedSuperblock,
  | 'sblkno'
  | 'iblkno'
  | 'cgoffset'
  | 'cgmask'
  | 'bsize'
  | 'fsize'
  | 'bmask'
  | 'bshift'
  | 'fragshift'
  | 'fsbtodb'
  | 'nindir'
  | 'inopb'
  | 'ipg'
  | 'fpg'
  | 'qfmask'
  | 'fmask'
>;

/** The inode fields the boot reader keeps (struct icommon). */
interface BootInode {
  mode: number;
  size: number;
  db: number[];
  ib: number[];
}

/** A directory as one dlook pass saw it (BootUfsReader.scanDir). */
interface DirIndex {
  names: Map<string, number>;
  /** Where the pass stopped on a fault, the error a lookup reaching it raises. */
  error?: UserError;
}

export class BootUfsReader {
  private readonly inodes = new Map<number, BootInode>();
  private readonly dirs = new WeakMap<BootInode, DirIndex>();
  private reads = 0;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    private readonly fs: BootFs,
    /** The image file's size: what the boot-time reader's device holds. */
    private readonly deviceBytes: number,
    private readonly limits: ReadLimits,
  ) {}

  /** bufs_mountroot: the superblock at sector 16, its magic number, nothing else. */
  static async open(path: string, limits: ReadLimits = {}): Promise<BootUfsReader> {
    const fh = await openImage(path);
    const deviceBytes = (await fh.stat()).size;
    const sb = Buffer.alloc(SBSIZE_MAX);
    const { bytesRead } = await fh.read(sb, 0, SBSIZE_MAX, SBLOCK * DEV_BSIZE);
    if (bytesRead < SBSIZE_MAX || sb.readInt32LE(1372) !== FS_MAGIC) {
      await fh.close();
      throw new UserError(`${path}: the boot-time reader finds no UFS magic number`);
    }
    const fs: BootFs = decodeSuperblock(sb);
    const why = unusable(fs);
    if (why) {
      await fh.close();
      throw new UserError(`${path}: the boot-time reader cannot use this superblock: ${why}`);
    }
    return new BootUfsReader(fh, path, fs, deviceBytes, limits);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  /**
   * diskread: `count` bytes at device block `blocknum` (DEV_BSIZE units).
   * Past the end of the image is an error (a device would fail the read).
   */
  private async diskread(blocknum: number, count: number): Promise<Buffer> {
    const at = blocknum * DEV_BSIZE;
    if (count > MAX_BSIZE || at < 0 || at + count > this.deviceBytes)
      throw new UserError(`${this.path}: the boot-time reader reads ${count} bytes at offset ${at}, outside the image`); // prettier-ignore
    if (++this.reads % YIELD_EVERY === 0) await nextTurn();
    const buf = Buffer.alloc(count);
    await readExact(this.fh, buf, at, () => new UserError(`${this.path}: the boot-time reader's read at offset ${at} ends early`)); // prettier-ignore
    return buf;
  }

  private fsbtodb(frag: number): number {
    return frag * 2 ** this.fs.fsbtodb;
  }

  /** openi: the inode's block (fs_bsize bytes at itod), the inode at itoo in it. */
  private async openi(ino: number): Promise<BootInode> {
    const cached = this.inodes.get(ino);
    if (cached) return cached;
    const { fs } = this;
    const cg = Math.floor(ino / fs.ipg);
    const cgstart = fs.fpg * cg + fs.cgoffset * (cg & ~fs.cgmask);
    const itod = cgstart + fs.iblkno + Math.floor((ino % fs.ipg) / fs.inopb) * 2 ** fs.fragshift;
    const block = await this.diskread(this.fsbtodb(itod), fs.bsize);
    const { mode, size, db, ib } = decodeDinode(block, (ino % fs.inopb) * INODE_SIZE);
    const inode = { mode, size, db, ib };
    this.inodes.set(ino, inode);
    return inode;
  }

  /**
   * sbmap: logical block `bn` to a fragment address (0: a hole, and past the
   * triple indirect block). The walk is the one every reader shares; what is
   * the boot reader's own is that it reads each indirect block whole, at an
   * address it does not check (diskread only refuses what is past the image).
   */
  private async sbmap(ip: BootInode, bn: number): Promise<number> {
    const { fs } = this;
    const frag = await mapBlock(ip, bn, fs.nindir, async (nb, _level, index) => {
      const bap = await this.diskread(this.fsbtodb(nb), fs.bsize);
      return bap.readInt32LE(index * 4);
    });
    return frag ?? 0;
  }

  /** blksize: a whole block, or the last block of a small file rounded up to fragments. */
  private blksize(ip: BootInode, lbn: number): number {
    const { fs } = this;
    if (lbn >= NDADDR || ip.size >= (lbn + 1) * fs.bsize) return fs.bsize;
    const blkoff = ip.size & ~fs.bmask;
    return Number((BigInt(blkoff) + BigInt(fs.qfmask)) & BigInt(fs.fmask));
  }

  /**
   * dlook and readdir: the inode `name` names in directory `dir`, or 0. The
   * directory is scanned once, as dlook scans it, and remembered: a lookup
   * then answers what the scan would have (the first entry of that name
   * before the scan's end, else the end's own answer, 0 or its error), so
   * reading every file of a 30,000-entry directory is not quadratic.
   */
  private async dlook(dir: BootInode, name: string): Promise<number> {
    if ((dir.mode & IFMT) !== IFDIR || dir.size === 0 || name === '') return 0;
    let index = this.dirs.get(dir);
    if (!index) {
      index = await this.scanDir(dir);
      this.dirs.set(dir, index);
    }
    const ino = index.names.get(name);
    if (ino !== undefined) return ino;
    if (index.error) throw index.error;
    return 0;
  }

  /** One pass of dlook over `dir`: each name's first inode, and how the pass ended. */
  private async scanDir(dir: BootInode): Promise<DirIndex> {
    const { fs } = this;
    const names = new Map<string, number>();
    if (dir.size > this.deviceBytes)
      throw new UserError(
        `${this.path}: a directory of ${dir.size} bytes, more than the image holds`,
      );
    let loc = 0;
    let block: Buffer | undefined;
    while (loc < dir.size) {
      const off = loc & ~fs.bmask;
      if (off === 0 || !block) {
        const lbn = Math.floor(loc / 2 ** fs.bshift);
        const d = await this.sbmap(dir, lbn);
        if (d === 0) return { names };
        block = await this.diskread(this.fsbtodb(d), this.blksize(dir, lbn));
      }
      if (off + 8 > block.length)
        return { names, error: new UserError(`${this.path}: the boot-time reader runs off a directory block`) }; // prettier-ignore
      const { ino, reclen, namlen } = readDirentHeader(block, off);
      if (reclen === 0)
        return { names, error: new UserError(`${this.path}: a directory entry of length 0 (the boot-time reader would loop)`) }; // prettier-ignore
      loc += reclen;
      if (ino === 0) continue;
      // The boot reader's own rule, unlike read.ts's and fsck's (which take
      // namlen bytes and check them): the name ends at its first NUL.
      const nul = block.indexOf(0, off + 8);
      const dname = block.subarray(off + 8, nul < 0 ? block.length : nul);
      // dlook compares namlen and the bytes up to the NUL: both must agree.
      if (namlen !== dname.length) continue;
      const key = dname.toString('latin1');
      if (!names.has(key)) names.set(key, ino);
    }
    return { names };
  }

  /** find: the inode of `path` (relative to the root), symlinks followed; 0 when not found. */
  async lookup(path: string): Promise<number> {
    let lpath = path;
    let pos = 0;
    let links = 0;
    let ino = 0;
    let dir: BootInode | undefined;
    while (pos < lpath.length) {
      if (pos === 0) dir = await this.openi(ROOTINO);
      while (lpath[pos] === '/') pos++;
      let end = lpath.indexOf('/', pos);
      if (end < 0) end = lpath.length;
      const component = lpath.slice(pos, end);
      if (pos === 0 && component === '') return ROOTINO;
      if (component === '') break;
      ino = await this.dlook(dir!, component);
      if (ino === 0) return 0;
      const ip = await this.openi(ino);
      if ((ip.mode & IFMT) === IFLNK) {
        if (++links > MAX_SYMLINKS)
          throw new UserError(`${this.path}: ${path}: a loop of symlinks (the boot-time reader would spin)`); // prettier-ignore
        const text = await this.diskread(this.fsbtodb(ip.db[0]), DEV_BSIZE);
        const nul = text.indexOf(0);
        if (nul < 0)
          throw new UserError(`${this.path}: ${path}: a symlink text without a NUL in its first ${DEV_BSIZE} bytes`); // prettier-ignore
        const target = text.toString('latin1', 0, nul);
        const rest = lpath.slice(end);
        lpath = target.startsWith('/') ? target + rest : lpath.slice(0, pos) + target + rest;
        if (Buffer.byteLength(lpath, 'latin1') >= MAXPATHLEN)
          throw new UserError(`${this.path}: ${path}: the path grows past MAXPATHLEN through symlinks`); // prettier-ignore
        pos = 0;
        continue;
      }
      dir = ip;
      pos = end;
    }
    return ino;
  }

  /** The content of the file at `path` as bufs_read returns it, in blocks. */
  async *content(path: string): AsyncGenerator<Buffer> {
    const ino = await this.lookup(Buffer.from(path).toString('latin1'));
    if (ino === 0) throw new UserError(`${this.path}: the boot-time reader cannot find ${path}`);
    const ip = await this.openi(ino);
    const { fs } = this;
    // A file may be larger than the image (holes); a gate bounds how much (ReadLimits).
    const allowance = this.limits.holeAllowance;
    if (allowance !== undefined && ip.size > Math.max(this.deviceBytes, allowance))
      throw new UserError(`${this.path}: ${path}: ${ip.size} bytes, more than the image holds`);
    for (let offset = 0; offset < ip.size;) {
      const lbn = Math.floor(offset / 2 ** fs.bshift);
      const size = this.blksize(ip, lbn);
      const block = await this.diskread(this.fsbtodb(await this.sbmap(ip, lbn)), size);
      const take = Math.min(size, ip.size - offset);
      yield block.subarray(0, take);
      offset += take;
    }
  }

  /** The md5 of the file at `path`, read the way the boot-time reader reads it. */
  async md5(path: string): Promise<string> {
    const hash = createHash('md5');
    for await (const part of this.content(path)) hash.update(part);
    return hash.digest('hex');
  }
}

/**
 * Why the boot-time reader could not use these fields without allocating or
 * looping beyond reason (it trusts them; we do not): undefined when it can.
 */
export function unusable(fs: BootFs): string | undefined {
  const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
  if (!pow2(fs.bsize) || fs.bsize > MAX_BSIZE || fs.bsize < DEV_BSIZE)
    return `block size ${fs.bsize}`;
  if (!pow2(fs.fsize) || fs.fsize > fs.bsize || fs.fsize < DEV_BSIZE)
    return `fragment size ${fs.fsize}`;
  if (2 ** fs.bshift !== fs.bsize || fs.bmask !== ~(fs.bsize - 1))
    return `block shift ${fs.bshift}`;
  if (fs.fmask !== ~(fs.fsize - 1) || fs.qfmask !== fs.fsize - 1)
    return `fragment mask ${fs.fmask}`;
  if (fs.fsbtodb < 0 || 2 ** fs.fsbtodb * DEV_BSIZE !== fs.fsize) return `fsbtodb ${fs.fsbtodb}`;
  if (fs.fragshift < 0 || 2 ** fs.fragshift !== fs.bsize / fs.fsize)
    return `fragshift ${fs.fragshift}`;
  if (fs.nindir !== fs.bsize / 4 || fs.inopb !== fs.bsize / INODE_SIZE)
    return `nindir ${fs.nindir} / inopb ${fs.inopb}`;
  if (fs.ipg < 1 || fs.fpg < 1) return `ipg ${fs.ipg} / fpg ${fs.fpg}`;
  return undefined;
}
