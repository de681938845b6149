import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { compareBytes } from '../../manifest/path.js';
import { unusable } from './boot-read.js';
import { UserError } from '../../util/errors.js';
import { mapBlock, nextTurn, openImage, readExact, YIELD_EVERY } from './image-io.js';
import {
  CG_MAGIC,
  decodeDinode,
  decodeSuperblock,
  FS_MAGIC,
  IFDIR,
  IFLNK,
  IFMT,
  IFREG,
  INODE_SIZE,
  MAX_FILE_SIZE,
  MAXPATHLEN,
  NDADDR,
  NIADDR,
  readDirentHeader,
  ROOTINO,
  SBLOCK_OFFSET,
  FS_SBSIZE,
  type Dinode,
  type InodeAttributes,
  type Superblock,
} from './layout.js';

/** The superblock's totals: what is free in the image. */
export interface UfsUsage {
  blockSize: number;
  fragmentSize: number;
  /** The file system's size (fs_size fragments). */
  sizeBytes: number;
  /** Free space: whole free blocks and free fragments. */
  freeBytes: number;
  freeBlocks: number;
  /** Free fragments outside whole free blocks. */
  freeFragments: number;
  inodes: number;
  freeInodes: number;
  directories: number;
}

export interface UfsEntry extends InodeAttributes {
  path: string;
  type: 'd' | 'f' | 's';
  inode: number;
  target?: string;
  /** 512-byte sectors the inode holds (data and indirect blocks). */
  blocks: number;
  mtime: number;
}

interface Geometry {
  bsize: number;
  fsize: number;
  fpg: number;
  ipg: number;
  ncg: number;
  size: number;
  iblkno: number;
  cblkno: number;
  cgoffset: number;
  cgmask: number;
  nindir: number;
  sb: Superblock;
}

/**
 * What the reader throws when the image is not a UFS it can read whole (as
 * opposed to an I/O error): verify-manifest reports it as an `integrity`
 * failure of the image (docs/verify.md).
 */
export class UfsImageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UfsImageError';
  }
}

/** A min-heap of paths in byte order. */
class PathHeap {
  private readonly items: { path: string; ino: number }[] = [];
  get size(): number {
    return this.items.length;
  }
  push(item: { path: string; ino: number }): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (compareBytes(a[p].path, a[i].path) <= 0) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): { path: string; ino: number } {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && compareBytes(a[l].path, a[m].path) < 0) m = l;
        if (r < a.length && compareBytes(a[r].path, a[m].path) < 0) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Reads an illumos UFS image: its tree in byte order of the paths, each
 * file's content streamed from its blocks. Every inconsistency found is a
 * UserError naming the image.
 */
/**
 * The holes a gate lets an image's files claim beyond the image's own size
 * (docs/ufs.md, "Crafted images"): enough for any sparse file a boot_archive
 * holds, little enough that a crafted size is hashed in about a second,
 * never for hours. Readers of our own images (the tests, the kernel check)
 * take any number of holes.
 */
export const GATE_HOLE_ALLOWANCE = 256 * 1024 * 1024;

/** What a reader lets the image claim. */
export interface ReadLimits {
  /** Holes, in bytes, all files together may have beyond max(image size, this); default: any. */
  holeAllowance?: number;
}

/** verify-manifest's limits: images come from pull requests. */
export const GATE_LIMITS: ReadLimits = { holeAllowance: GATE_HOLE_ALLOWANCE };

export class UfsReader {
  private readonly inodes = new Map<number, Dinode>();
  /** Names met per inode, and the bytes the distinct inodes claim (see account()). */
  private readonly names = new Map<number, number>();
  private claimed = { used: 0, holes: 0 };

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    private readonly g: Geometry,
    private readonly limits: ReadLimits,
  ) {}

  /** The holes all files together may have (ReadLimits). */
  private get holeBytes(): number {
    const allowance = this.limits.holeAllowance;
    return allowance === undefined ? Infinity : Math.max(this.fsBytes, allowance);
  }

  /** The file system's size in bytes (fs_size fragments), at most the file's. */
  private get fsBytes(): number {
    return this.g.size * this.g.fsize;
  }

  /** Reads `buf.length` bytes at `position`: a short read is an inconsistency, never old bytes. */
  private readAt(buf: Buffer, position: number, what: string): Promise<void> {
    return readExact(this.fh, buf, position, () =>
      this.inconsistent(
        `${what}: ${buf.length} bytes at offset ${position} are past the end of the image file`,
      ),
    );
  }

  static async open(path: string, limits: ReadLimits = {}): Promise<UfsReader> {
    const fh = await openImage(path);
    try {
      const fileSize = (await fh.stat()).size;
      const bad = (why: string) => new UfsImageError(`${path}: not a readable UFS image: ${why}`);
      if (fileSize < SBLOCK_OFFSET + FS_SBSIZE) throw bad(`only ${fileSize} bytes, no superblock`);
      const raw = Buffer.alloc(FS_SBSIZE);
      await readExact(fh, raw, SBLOCK_OFFSET, () => bad('the superblock cannot be read whole'));
      const g = geometry(raw, fileSize, bad);
      const reader = new UfsReader(fh, path, g, limits);
      await reader.checkGroups(bad);
      return reader;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Every cylinder group lies inside the file system and has its magic number. */
  private async checkGroups(bad: (why: string) => UserError): Promise<void> {
    const { g } = this;
    const magic = Buffer.alloc(8);
    const inodeFrags = Math.ceil((g.ipg * INODE_SIZE) / g.fsize);
    for (let c = 0; c < g.ncg; c++) {
      if (c % YIELD_EVERY === YIELD_EVERY - 1) await nextTurn();
      const start = this.cgstart(c);
      if (start < 0 || start + g.iblkno + inodeFrags > g.size)
        throw bad(`cylinder group ${c} (fragment ${start}) lies outside the file system`);
      await readExact(this.fh, magic, (start + g.cblkno) * g.fsize, () =>
        bad(`cylinder group ${c} cannot be read`),
      );
      if (magic.readInt32LE(4) !== CG_MAGIC) throw bad(`cylinder group ${c} has no magic number`);
    }
  }

  private cgstart(c: number): number {
    return this.g.fpg * c + this.g.cgoffset * (c & ~this.g.cgmask);
  }

  private inconsistent(why: string): UfsImageError {
    return new UfsImageError(`${this.path}: inconsistent UFS image: ${why}`);
  }

  private async inode(ino: number): Promise<Dinode> {
    const cached = this.inodes.get(ino);
    if (cached) return cached;
    const { g } = this;
    if (ino < ROOTINO || ino >= g.ncg * g.ipg) throw this.inconsistent(`inode ${ino} out of range`);
    const c = Math.floor(ino / g.ipg);
    const offset = (this.cgstart(c) + g.iblkno) * g.fsize + (ino % g.ipg) * INODE_SIZE;
    const buf = Buffer.alloc(INODE_SIZE);
    await this.readAt(buf, offset, `inode ${ino}`);
    const d = decodeDinode(buf, 0);
    this.checkInode(d, ino);
    if ((d.mode & IFMT) === IFDIR) this.inodes.set(ino, d);
    return d;
  }

  /**
   * An inode's own figures against the image's size, before anything is
   * allocated or read for it: its size, the sectors it holds, its links.
   */
  private checkInode(d: Dinode, ino: number): void {
    const fmt = d.mode & IFMT;
    const what = `inode ${ino}`;
    if (d.blocks < 0 || d.blocks * 512 > this.fsBytes)
      throw this.inconsistent(`${what} holds ${d.blocks} sectors, more than the file system has`);
    if (d.nlink < 1) throw this.inconsistent(`${what} has link count ${d.nlink}`);
    if (d.size < 0 || d.size > MAX_FILE_SIZE)
      throw this.inconsistent(`${what} has size ${d.size}, beyond what UFS allows`);
    // A directory has no holes: its size is within the sectors it holds.
    if (fmt === IFDIR && d.size > d.blocks * 512)
      throw this.inconsistent(`directory ${what} has size ${d.size} in ${d.blocks} sectors`);
    if (fmt === IFLNK && d.size >= MAXPATHLEN)
      throw this.inconsistent(`symlink ${what} has size ${d.size} (MAXPATHLEN is ${MAXPATHLEN})`);
    // Holes read as zeros, and every byte read is hashed: a small image's file may have
    // more holes than the image's size (all-zero blocks), but not without bound (docs/ufs.md).
    if (d.size > d.blocks * 512 + this.holeBytes)
      throw this.inconsistent(`${what} has size ${d.size}, more than the file system holds`);
  }

  /**
   * Counts one name of an inode: more names than its link count, or
   * distinct inodes that together claim more sectors, or more holes, than
   * the file system has, is an inconsistency. This bounds what one pass over
   * the image reads (hard links aside) by twice the image's size.
   */
  private account(d: Dinode, ino: number): void {
    const seen = (this.names.get(ino) ?? 0) + 1;
    if (seen > d.nlink)
      throw this.inconsistent(`inode ${ino} has more names than its link count (${d.nlink})`);
    this.names.set(ino, seen);
    if (seen > 1) return;
    this.claimed.used += d.blocks * 512;
    this.claimed.holes += Math.max(0, d.size - d.blocks * 512);
    if (this.claimed.used > this.fsBytes || this.claimed.holes > this.holeBytes)
      throw this.inconsistent(`the inodes claim more bytes than the file system has`);
  }

  /** The fragment address of logical block `lbn` of `d` (0 for a hole); every address checked. */
  private async blockAt(
    d: Dinode,
    ino: number,
    lbn: number,
    cache: Map<number, { addr: number; buf: Buffer }>,
  ): Promise<number> {
    const { g } = this;
    const frag = await mapBlock(d, lbn, g.nindir, async (addr, level, index) => {
      if (addr < 0 || addr + g.bsize / g.fsize > g.size)
        throw this.inconsistent(`inode ${ino}: block address ${addr}`);
      let block = cache.get(level);
      if (block?.addr !== addr) {
        block = { addr, buf: block?.buf ?? Buffer.alloc(g.bsize) };
        await this.readAt(block.buf, addr * g.fsize, `inode ${ino}: indirect block ${addr}`);
        cache.set(level, block);
      }
      return block.buf.readInt32LE(index * 4);
    });
    if (frag === undefined)
      throw this.inconsistent(`inode ${ino}: block ${lbn} beyond triple indirect`);
    return frag;
  }

  /** Streams `length` bytes from `position` of an inode's content. */
  private async *content(
    d: Dinode,
    ino: number,
    position = 0,
    length = d.size,
  ): AsyncGenerator<Buffer> {
    const { g } = this;
    const end = Math.min(d.size, position + length);
    const cache = new Map<number, { addr: number; buf: Buffer }>();
    for (let lbn = Math.floor(position / g.bsize), turn = 0; lbn * g.bsize < end; lbn++) {
      if (++turn % YIELD_EVERY === 0) await nextTurn();
      const start = lbn * g.bsize;
      const from = Math.max(start, position);
      const to = Math.min(start + g.bsize, end);
      const frag = await this.blockAt(d, ino, lbn, cache);
      if (frag === 0) {
        yield Buffer.alloc(to - from);
        continue;
      }
      if (frag < 0 || frag * g.fsize + (to - start) > this.fsBytes)
        throw this.inconsistent(`inode ${ino}: block address ${frag}`);
      const buf = Buffer.alloc(to - from);
      await this.readAt(buf, frag * g.fsize + (from - start), `inode ${ino}: block ${lbn}`);
      yield buf;
    }
  }

  private async readAll(d: Dinode, ino: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.content(d, ino)) parts.push(part);
    return Buffer.concat(parts);
  }

  /**
   * A directory's entries, read a block at a time (its size is checked
   * against the sectors it holds, but is never read into memory whole).
   */
  private async directory(d: Dinode, ino: number): Promise<{ name: string; ino: number }[]> {
    const out: { name: string; ino: number }[] = [];
    let base = 0;
    for await (const data of this.content(d, ino)) {
      // Blocks are read whole from offset 0, and an entry never crosses 512 bytes.
      for (let off = 0; off < data.length;) {
        const { ino: child, reclen, namlen } = readDirentHeader(data, off);
        if (
          reclen < 8 ||
          off + reclen > data.length ||
          8 + namlen > reclen ||
          (off % 512) + reclen > 512
        )
          throw this.inconsistent(`directory inode ${ino}: bad entry at offset ${base + off}`);
        const name = data.toString('utf8', off + 8, off + 8 + namlen);
        if (child !== 0 && name !== '.' && name !== '..') out.push({ name, ino: child });
        off += reclen;
      }
      base += data.length;
    }
    return out;
  }

  /** What an inode is, as an entry of the image at `path`. */
  private async entryOf(path: string, ino: number, d: Dinode): Promise<UfsEntry> {
    const fmt = d.mode & IFMT;
    const type = fmt === IFDIR ? 'd' : fmt === IFREG ? 'f' : fmt === IFLNK ? 's' : undefined;
    if (!type)
      throw this.inconsistent(`${path || '/'}: inode ${ino} has type 0${(fmt >> 12).toString(8)}`);
    const entry: UfsEntry = {
      path,
      type,
      mode: d.mode & 0o7777,
      uid: d.uid,
      gid: d.gid,
      nlink: d.nlink,
      size: d.size,
      inode: ino,
      blocks: d.blocks,
      mtime: d.time,
    };
    if (type === 's') {
      if (d.blocks === 0) {
        // A fast symlink: the text is in the block pointers (not what illumos writes).
        const raw = Buffer.alloc(60);
        for (let i = 0; i < NDADDR; i++) raw.writeInt32LE(d.db[i], 4 * i);
        for (let i = 0; i < NIADDR; i++) raw.writeInt32LE(d.ib[i], 48 + 4 * i);
        entry.target = raw.toString('utf8', 0, Math.min(d.size, 60));
      } else {
        entry.target = (await this.readAll(d, ino)).toString('utf8');
      }
    }
    return entry;
  }

  /**
   * The entry at `path` (relative to the root), looked up directory by
   * directory without following symlinks; undefined when there is none.
   */
  async lookup(path: string): Promise<UfsEntry | undefined> {
    let ino = ROOTINO;
    let d = await this.inode(ino);
    for (const name of path.split('/').filter((n) => n !== '')) {
      if ((d.mode & IFMT) !== IFDIR) return undefined;
      const child = (await this.directory(d, ino)).find((c) => c.name === name);
      if (!child) return undefined;
      ino = child.ino;
      d = await this.inode(ino);
    }
    return this.entryOf(path, ino, d);
  }

  /** Every entry of the image ('' is the root), paths in byte order. */
  async *entries(): AsyncGenerator<UfsEntry> {
    const heap = new PathHeap();
    heap.push({ path: '', ino: ROOTINO });
    const seenDirs = new Set<number>();
    for (let turn = 1; heap.size > 0; turn++) {
      if (turn % YIELD_EVERY === 0) await nextTurn();
      const { path, ino } = heap.pop();
      const d = await this.inode(ino);
      this.account(d, ino);
      const entry = await this.entryOf(path, ino, d);
      const { type } = entry;
      yield entry;
      if (type === 'd') {
        if (seenDirs.has(ino))
          throw this.inconsistent(`${path}: directory inode ${ino} is linked twice`);
        seenDirs.add(ino);
        for (const child of await this.directory(d, ino))
          heap.push({ path: path ? `${path}/${child.name}` : child.name, ino: child.ino });
        this.inodes.delete(ino);
      }
    }
  }

  /**
   * The md5 of a file's content, streamed from its blocks; `head`, when
   * given, gets the file's first bytes on the way (as many as fit).
   */
  async md5(entry: UfsEntry, head?: Buffer): Promise<string> {
    const hash = createHash('md5');
    const d = await this.inode(entry.inode);
    let at = 0;
    for await (const part of this.content(d, entry.inode)) {
      if (head && at < head.length) part.copy(head, at, 0, head.length - at);
      at += part.length;
      hash.update(part);
    }
    return hash.digest('hex');
  }

  /** `length` bytes of a file from `position` (holes read as zeros). */
  async read(entry: UfsEntry, position: number, length: number): Promise<Buffer> {
    return (await this.fileReader(entry))(position, length);
  }

  /**
   * Reads of one file, its inode read once for all of them (the ELF reader
   * reads a file a few hundred bytes at a time).
   */
  async fileReader(
    entry: UfsEntry,
  ): Promise<(position: number, length: number) => Promise<Buffer>> {
    const d = await this.inode(entry.inode);
    return async (position, length) => {
      const parts: Buffer[] = [];
      for await (const part of this.content(d, entry.inode, position, length)) parts.push(part);
      return parts.length === 1 ? parts[0] : Buffer.concat(parts);
    };
  }

  /**
   * How full the file system is, from the superblock's totals (what
   * `df` shows; the verify `low-headroom` check reads this).
   */
  usage(): UfsUsage {
    const { g } = this;
    const { cstotal } = g.sb;
    const frag = g.bsize / g.fsize;
    return {
      blockSize: g.bsize,
      fragmentSize: g.fsize,
      sizeBytes: g.size * g.fsize,
      freeBytes: (cstotal.nbfree * frag + cstotal.nffree) * g.fsize,
      freeBlocks: cstotal.nbfree,
      freeFragments: cstotal.nffree,
      inodes: g.ncg * g.ipg,
      freeInodes: cstotal.nifree,
      directories: cstotal.ndir,
    };
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/**
 * The superblock's geometry, each figure checked against the others and
 * the image file's size before anything is read or allocated from it.
 */
function geometry(raw: Buffer, fileSize: number, bad: (why: string) => UserError): Geometry {
  const sb = decodeSuperblock(raw);
  if (sb.magic !== FS_MAGIC)
    throw bad(`no UFS magic number in the superblock (0x${(sb.magic >>> 0).toString(16)})`);
  const bsize = sb.bsize;
  const fsize = sb.fsize;
  const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
  if (
    !pow2(bsize) ||
    !pow2(fsize) ||
    fsize < 512 ||
    bsize < 4096 ||
    bsize > 65536 ||
    bsize / fsize > 8
  )
    throw bad(`block size ${bsize} / fragment size ${fsize}`);
  // The derived fields (shifts, masks, nindir, inopb) are what illumos's
  // boot-time reader and kernel use: an image they cannot read does not boot.
  const derived = unusable(sb);
  if (derived) throw bad(`the boot-time reader cannot use the superblock: ${derived}`);
  const g: Geometry = {
    bsize,
    fsize,
    fpg: sb.fpg,
    ipg: sb.ipg,
    ncg: sb.ncg,
    size: sb.size,
    iblkno: sb.iblkno,
    cblkno: sb.cblkno,
    cgoffset: sb.cgoffset,
    cgmask: sb.cgmask,
    nindir: bsize / 4,
    sb,
  };
  const inconsistent = () =>
    bad(`inconsistent superblock (ncg ${g.ncg}, ipg ${g.ipg}, fpg ${g.fpg}, size ${g.size})`);
  // Every group starts inside the file system, and holds its inodes.
  if (g.ncg < 1 || g.ipg < 1 || g.fpg < 1 || g.size < 1 || g.size > g.ncg * g.fpg)
    throw inconsistent();
  if ((g.ncg - 1) * g.fpg >= g.size) throw inconsistent();
  const needed = g.size * fsize;
  if (fileSize < needed) throw bad(`truncated: ${fileSize} bytes, the file system needs ${needed}`);
  const inodeFrags = Math.ceil((g.ipg * INODE_SIZE) / fsize);
  if (
    g.cblkno < 0 ||
    g.iblkno < 0 ||
    (g.cblkno + 1) * fsize > g.fpg * fsize ||
    g.iblkno + inodeFrags > g.fpg ||
    g.ncg * g.ipg > 2 ** 31
  )
    throw bad(
      `inconsistent superblock (cblkno ${g.cblkno}, iblkno ${g.iblkno}, ipg ${g.ipg}, fpg ${g.fpg})`,
    );
  return g;
}
