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
  SBSIZE,
  readCsum,
  type Csum,
  type Dinode,
  type Superblock,
} from './layout.js';

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
      if (fileSize < SBLOCK_OFFSET + SBSIZE) throw bad(`only ${fileSize} bytes, no superblock`);
      const raw = Buffer.alloc(SBSIZE);
      await fh.read(raw, 0, SBSIZE, SBLOCK_OFFSET);
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

  /** The md5 of a file's content, streamed from its blocks. */
  async md5(entry: UfsEntry): Promise<string> {
    const hash = createHash('md5');
    const d = await this.inode(entry.inode);
    for await (const part of this.content(d, entry.inode)) hash.update(part);
    return hash.digest('hex');
  }

  /** `length` bytes of a file from `position` (holes read as zeros). */
  async read(entry: UfsEntry, position: number, length: number): Promise<Buffer> {
    const d = await this.inode(entry.inode);
    const parts: Buffer[] = [];
    for await (const part of this.content(d, entry.inode, position, length)) parts.push(part);
    return Buffer.concat(parts);
  }

  /**
   * What `fsck -n` would find, as sentences (none when consistent): blocks
   * claimed twice or outside the file system, free maps that disagree with
   * the blocks in use, cylinder group and superblock summaries that
   * disagree with the maps, inode maps that disagree with the inodes, link
   * counts that disagree with the directories, a summary area that
   * disagrees with the groups.
   */
  async fsck(): Promise<string[]> {
    const { g } = this;
    const { sb } = g;
    const problems: string[] = [];
    const report = (p: string) => {
      if (problems.length < 100) problems.push(p);
    };
    const used = new Uint8Array(Math.ceil(g.size / 8));
    const isUsed = (f: number) => (used[f >> 3] & (1 << (f & 7))) !== 0;
    const mark = (frag: number, count: number, what: string) => {
      for (let f = frag; f < frag + count; f++) {
        if (f < 0 || f >= g.size) return report(`${what}: fragment ${f} outside the file system`);
        if (isUsed(f)) return report(`${what}: fragment ${f} is claimed twice`);
        used[f >> 3] |= 1 << (f & 7);
      }
    };
    const frag = g.bsize / g.fsize;
    const sblkno = sb.sblkno!;
    const dblkno = sb.dblkno!;
    for (let c = 0; c < g.ncg; c++) {
      const start = this.cgstart(c);
      if (c === 0) mark(0, start + sblkno, 'boot area');
      mark(start + sblkno, dblkno - sblkno, `group ${c} metadata`);
    }
    mark(sb.csaddr!, Math.ceil(sb.cssize / g.fsize), 'summary area');

    // Every allocated inode, its blocks, and the references to it.
    const refs = new Map<number, number>();
    const nlinks = new Map<number, number>();
    const dirsPerGroup = new Array<number>(g.ncg).fill(0);
    const allocated: Uint8Array[] = [];
    const table = Buffer.alloc(g.ipg * INODE_SIZE);
    for (let c = 0; c < g.ncg; c++) {
      const map = new Uint8Array(Math.ceil(g.ipg / 8));
      allocated.push(map);
      await this.fh.read(table, 0, table.length, (this.cgstart(c) + g.iblkno) * g.fsize);
      for (let i = 0; i < g.ipg; i++) {
        const ino = c * g.ipg + i;
        const d = decodeDinode(table, i * INODE_SIZE);
        if (ino < ROOTINO) {
          map[i >> 3] |= 1 << (i & 7);
          continue;
        }
        if (d.mode === 0) continue;
        map[i >> 3] |= 1 << (i & 7);
        nlinks.set(ino, d.nlink);
        const fmt = d.mode & IFMT;
        if (fmt === IFDIR) {
          dirsPerGroup[c]++;
          for (const child of await this.directory(d, ino, true))
            refs.set(child.ino, (refs.get(child.ino) ?? 0) + 1);
        }
        if (fmt === IFLNK && d.blocks === 0) continue; // fast symlink
        const held = await this.markInode(d, ino, frag, mark, report);
        if (held * (g.fsize / 512) !== d.blocks)
          report(`inode ${ino}: holds ${held} fragments, its block count says ${d.blocks} sectors`);
      }
    }
    for (const [ino, n] of nlinks) {
      const r = refs.get(ino) ?? 0;
      if (r !== n) report(`inode ${ino}: link count ${n}, ${r} directory entries name it`);
    }
    for (const ino of refs.keys())
      if (!nlinks.has(ino)) report(`inode ${ino}: named in a directory but not allocated`);

    // The groups: maps and summaries.
    const total: Csum = { ndir: 0, nbfree: 0, nifree: 0, nffree: 0 };
    const cgbuf = Buffer.alloc(g.bsize);
    const csum = Buffer.alloc(Math.max(sb.cssize, 16 * g.ncg));
    await this.fh.read(csum, 0, sb.cssize, sb.csaddr! * g.fsize);
    for (let c = 0; c < g.ncg; c++) {
      const start = this.cgstart(c);
      const base = g.fpg * c;
      await this.fh.read(cgbuf, 0, g.bsize, (start + g.cblkno) * g.fsize);
      const ndblk = cgbuf.readInt32LE(20);
      const cs = readCsum(cgbuf, 24);
      const iusedoff = cgbuf.readInt32LE(92);
      const freeoff = cgbuf.readInt32LE(96);
      if (ndblk !== Math.min(g.fpg, g.size - base))
        report(
          `group ${c}: ${ndblk} fragments, the superblock implies ${Math.min(g.fpg, g.size - base)}`,
        );
      let nbfree = 0;
      let nffree = 0;
      let mismatches = 0;
      for (let b = 0; b < ndblk; b += frag) {
        let free = 0;
        for (let f = b; f < b + frag; f++) {
          const bit = (cgbuf[freeoff + (f >> 3)] & (1 << (f & 7))) !== 0;
          if (bit === isUsed(base + f)) mismatches++;
          if (bit) free++;
        }
        if (free === frag) nbfree++;
        else nffree += free;
      }
      if (mismatches > 0)
        report(
          `group ${c}: the free map disagrees with the blocks in use on ${mismatches} fragments`,
        );
      let iused = 0;
      let imismatch = 0;
      for (let i = 0; i < g.ipg; i++) {
        const bit = (cgbuf[iusedoff + (i >> 3)] & (1 << (i & 7))) !== 0;
        const inUse = (allocated[c][i >> 3] & (1 << (i & 7))) !== 0;
        if (bit) iused++;
        if (bit !== inUse) imismatch++;
      }
      if (imismatch > 0) report(`group ${c}: the inode map disagrees with ${imismatch} inodes`);
      const want: Csum = { ndir: dirsPerGroup[c], nbfree, nifree: g.ipg - iused, nffree };
      const fromArea = readCsum(csum, 16 * c);
      for (const key of ['ndir', 'nbfree', 'nifree', 'nffree'] as const) {
        if (cs[key] !== want[key]) report(`group ${c}: cg ${key} ${cs[key]}, counted ${want[key]}`);
        if (fromArea[key] !== want[key])
          report(`group ${c}: summary area ${key} ${fromArea[key]}, counted ${want[key]}`);
        total[key] += want[key];
      }
    }
    for (const key of ['ndir', 'nbfree', 'nifree', 'nffree'] as const)
      if (sb.cstotal[key] !== total[key])
        report(`superblock: ${key} ${sb.cstotal[key]}, counted ${total[key]}`);
    return problems;
  }

  /** Marks the fragments an inode holds; returns how many. */
  private async markInode(
    d: Dinode,
    ino: number,
    frag: number,
    mark: (frag: number, count: number, what: string) => void,
    report: (problem: string) => void,
  ): Promise<number> {
    const { g } = this;
    const nblk = Math.ceil(d.size / g.bsize);
    let held = 0;
    const what = `inode ${ino}`;
    for (let i = 0; i < NDADDR; i++) {
      const addr = d.db[i];
      if (addr === 0) continue;
      if (i >= nblk) {
        mark(addr, 1, `${what}: direct block ${i} beyond the size`);
        continue;
      }
      const frags =
        i === nblk - 1 && nblk <= NDADDR ? Math.ceil((d.size - i * g.bsize) / g.fsize) : frag;
      if ((addr % frag) + frags > frag) report(`${what}: a fragment run crosses a block`);
      mark(addr, frags, what);
      held += frags;
    }
    const buf = Buffer.alloc(g.bsize);
    const walk = async (addr: number, level: number): Promise<void> => {
      if (addr % frag !== 0) report(`${what}: indirect block ${addr} is not block-aligned`);
      mark(addr, frag, `${what} indirect`);
      held += frag;
      await this.fh.read(buf, 0, g.bsize, addr * g.fsize);
      const pointers = Array.from({ length: g.nindir }, (_, i) => buf.readInt32LE(4 * i));
      for (const p of pointers) {
        if (p === 0) continue;
        if (level === 0) {
          mark(p, frag, what);
          held += frag;
        } else {
          await walk(p, level - 1);
        }
      }
    };
    for (let level = 0; level < NIADDR; level++)
      if (d.ib[level] !== 0) await walk(d.ib[level], level);
    return held;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
