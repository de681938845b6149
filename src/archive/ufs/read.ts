import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { compareBytes } from '../../manifest/path.js';
import { describeError, UserError } from '../../util/errors.js';
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
  NDADDR,
  NIADDR,
  ROOTINO,
  SBLOCK_OFFSET,
  FS_SBSIZE,
  type Dinode,
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

export interface UfsEntry {
  path: string;
  type: 'd' | 'f' | 's';
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
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
export class UfsReader {
  private readonly inodes = new Map<number, Dinode>();

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    private readonly g: Geometry,
  ) {}

  static async open(path: string): Promise<UfsReader> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      throw new UserError(`${path}: cannot open the UFS image: ${describeError(err)}`);
    }
    try {
      const fileSize = (await fh.stat()).size;
      const bad = (why: string) => new UserError(`${path}: not a readable UFS image: ${why}`);
      if (fileSize < SBLOCK_OFFSET + FS_SBSIZE) throw bad(`only ${fileSize} bytes, no superblock`);
      const raw = Buffer.alloc(FS_SBSIZE);
      await fh.read(raw, 0, FS_SBSIZE, SBLOCK_OFFSET);
      const sb = decodeSuperblock(raw);
      if (sb.magic !== FS_MAGIC)
        throw bad(`no UFS magic number in the superblock (0x${(sb.magic! >>> 0).toString(16)})`);
      const bsize = sb.bsize!;
      const fsize = sb.fsize!;
      const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
      if (!pow2(bsize) || !pow2(fsize) || fsize < 512 || bsize < 4096 || bsize / fsize > 8)
        throw bad(`block size ${bsize} / fragment size ${fsize}`);
      const g: Geometry = {
        bsize,
        fsize,
        fpg: sb.fpg!,
        ipg: sb.ipg,
        ncg: sb.ncg,
        size: sb.size,
        iblkno: sb.iblkno!,
        cblkno: sb.cblkno!,
        cgoffset: raw.readInt32LE(24),
        cgmask: raw.readInt32LE(28),
        nindir: bsize / 4,
        sb,
      };
      if (g.ncg < 1 || g.ipg < 1 || g.fpg < 1 || g.size < 1 || g.size > g.ncg * g.fpg)
        throw bad(
          `inconsistent superblock (ncg ${g.ncg}, ipg ${g.ipg}, fpg ${g.fpg}, size ${g.size})`,
        );
      const needed = g.size * fsize;
      if (fileSize < needed)
        throw bad(`truncated: ${fileSize} bytes, the file system needs ${needed}`);
      const reader = new UfsReader(fh, path, g);
      const magic = Buffer.alloc(8);
      for (let c = 0; c < g.ncg; c++) {
        await fh.read(magic, 0, 8, reader.cgstart(c) * fsize + g.cblkno * fsize);
        if (magic.readInt32LE(4) !== CG_MAGIC) throw bad(`cylinder group ${c} has no magic number`);
      }
      return reader;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  private cgstart(c: number): number {
    return this.g.fpg * c + this.g.cgoffset * (c & ~this.g.cgmask);
  }

  private inconsistent(why: string): UserError {
    return new UserError(`${this.path}: inconsistent UFS image: ${why}`);
  }

  private async inode(ino: number): Promise<Dinode> {
    const cached = this.inodes.get(ino);
    if (cached) return cached;
    const { g } = this;
    if (ino < ROOTINO || ino >= g.ncg * g.ipg) throw this.inconsistent(`inode ${ino} out of range`);
    const c = Math.floor(ino / g.ipg);
    const offset = (this.cgstart(c) + g.iblkno) * g.fsize + (ino % g.ipg) * INODE_SIZE;
    const buf = Buffer.alloc(INODE_SIZE);
    await this.fh.read(buf, 0, INODE_SIZE, offset);
    const d = decodeDinode(buf, 0);
    if ((d.mode & IFMT) === IFDIR) this.inodes.set(ino, d);
    return d;
  }

  /** The fragment address of logical block `lbn` of `d` (0 for a hole). */
  private async blockAt(
    d: Dinode,
    ino: number,
    lbn: number,
    cache: Map<number, { addr: number; buf: Buffer }>,
  ): Promise<number> {
    if (lbn < NDADDR) return d.db[lbn];
    const { g } = this;
    let x = lbn - NDADDR;
    let level = 0;
    while (level < NIADDR && x >= g.nindir ** (level + 1)) {
      x -= g.nindir ** (level + 1);
      level++;
    }
    if (level >= NIADDR)
      throw this.inconsistent(`inode ${ino}: block ${lbn} beyond triple indirect`);
    let addr = d.ib[level];
    for (let l = level; l >= 0; l--) {
      if (addr === 0) return 0;
      if (addr < 0 || addr >= g.size)
        throw this.inconsistent(`inode ${ino}: block address ${addr}`);
      let block = cache.get(l);
      if (block?.addr !== addr) {
        block = { addr, buf: block?.buf ?? Buffer.alloc(g.bsize) };
        await this.fh.read(block.buf, 0, g.bsize, addr * g.fsize);
        cache.set(l, block);
      }
      const per = g.nindir ** l;
      addr = block.buf.readInt32LE(Math.floor(x / per) * 4);
      x %= per;
    }
    return addr;
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
    for (let lbn = Math.floor(position / g.bsize); lbn * g.bsize < end; lbn++) {
      const start = lbn * g.bsize;
      const from = Math.max(start, position);
      const to = Math.min(start + g.bsize, end);
      const frag = await this.blockAt(d, ino, lbn, cache);
      if (frag === 0) {
        yield Buffer.alloc(to - from);
        continue;
      }
      if (frag < 0 || frag >= g.size)
        throw this.inconsistent(`inode ${ino}: block address ${frag}`);
      const buf = Buffer.alloc(to - from);
      await this.fh.read(buf, 0, buf.length, frag * g.fsize + (from - start));
      yield buf;
    }
  }

  private async readAll(d: Dinode, ino: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.content(d, ino)) parts.push(part);
    return Buffer.concat(parts);
  }

  private async directory(
    d: Dinode,
    ino: number,
    withDots = false,
  ): Promise<{ name: string; ino: number }[]> {
    const data = await this.readAll(d, ino);
    const out: { name: string; ino: number }[] = [];
    let off = 0;
    while (off < data.length) {
      const child = data.readUInt32LE(off);
      const reclen = data.readUInt16LE(off + 4);
      const namlen = data.readUInt16LE(off + 6);
      if (
        reclen < 8 ||
        off + reclen > data.length ||
        8 + namlen > reclen ||
        (off % 512) + reclen > 512
      )
        throw this.inconsistent(`directory inode ${ino}: bad entry at offset ${off}`);
      const name = data.toString('utf8', off + 8, off + 8 + namlen);
      if (child !== 0 && (withDots || (name !== '.' && name !== '..')))
        out.push({ name, ino: child });
      off += reclen;
    }
    return out;
  }

  /** Every entry of the image ('' is the root), paths in byte order. */
  async *entries(): AsyncGenerator<UfsEntry> {
    const heap = new PathHeap();
    heap.push({ path: '', ino: ROOTINO });
    const seenDirs = new Set<number>();
    while (heap.size > 0) {
      const { path, ino } = heap.pop();
      const d = await this.inode(ino);
      const fmt = d.mode & IFMT;
      const type = fmt === IFDIR ? 'd' : fmt === IFREG ? 'f' : fmt === IFLNK ? 's' : undefined;
      if (!type)
        throw this.inconsistent(
          `${path || '/'}: inode ${ino} has type 0${(fmt >> 12).toString(8)}`,
        );
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
