import * as crypto from 'node:crypto';
import { createHash, type Hash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { join } from 'node:path';
import type { ImageNode } from '../../image/model.js';
import {
  BSIZE,
  CBLKNO,
  CPG,
  dblkno,
  encodeCylinderGroup,
  encodeDinode,
  encodeSuperblock,
  FPC,
  FPG,
  FRAG,
  FSIZE,
  IBLKNO,
  IFDIR,
  IFLNK,
  IFREG,
  INODE_SIZE,
  LARGEFILE_SIZE,
  NDADDR,
  NINDIR,
  NRPOS,
  NSPF,
  ROOTINO,
  SBLKNO,
  SBLOCK_OFFSET,
  SECTOR,
  SPC,
  writeCsum,
  type Csum,
  type Dinode,
} from './layout.js';
import {
  CHUNK,
  FragmentPacker,
  groupFragments,
  isZero,
  summaryFragments,
  type UfsPlan,
} from './plan.js';
import type { ByteRange, SettledImage } from '../early-deflate.js';
import { SourceFile } from './source-file.js';
import {
  blockCount,
  buildInodeTable,
  directoryContent,
  indirectPath,
  tailFragments,
  type UfsInode,
} from './tree.js';

/** A bug, not bad input: the plan does not fit what the writer makes. */
class PlanExceeded extends Error {
  constructor(what: string) {
    super(`internal error: the UFS plan is too small (${what}); this is a bug in the size plan`);
    this.name = 'PlanExceeded';
  }
}

/** Which fragments are in use, over the whole file system. */
class FragmentMap {
  private readonly bits: Uint8Array;
  constructor(readonly size: number) {
    this.bits = new Uint8Array(Math.ceil(size / 8));
  }
  set(frag: number, count = 1): void {
    for (let f = frag; f < frag + count; f++) this.bits[f >> 3] |= 1 << (f & 7);
  }
  clear(frag: number, count: number): void {
    for (let f = frag; f < frag + count; f++) this.bits[f >> 3] &= ~(1 << (f & 7));
  }
  used(frag: number): boolean {
    return (this.bits[frag >> 3] & (1 << (frag & 7))) !== 0;
  }
}

/**
 * Hands out data blocks in address order, group by group: in group 0 from
 * its first data block; in the others also the two blocks before the
 * superblock copy (mkfs counts them as data).
 */
class BlockAllocator {
  private cg = 0;
  private next: number;
  private end: number;
  private phase: 'low' | 'high' = 'high';
  private readonly packer = new FragmentPacker();
  private fragBlock = -1;
  private fragUsed = 0;
  constructor(
    private readonly plan: UfsPlan,
    private readonly map: FragmentMap,
  ) {
    this.next = dblkno(plan.inodesPerGroup);
    this.end = groupFragments(plan, 0);
  }
  block(): number {
    while (this.next >= this.end) {
      if (this.phase === 'low') {
        this.phase = 'high';
        this.next = this.cg * FPG + dblkno(this.plan.inodesPerGroup);
        this.end = this.cg * FPG + groupFragments(this.plan, this.cg);
      } else {
        this.cg++;
        if (this.cg >= this.plan.cylinderGroups) throw new PlanExceeded('out of data blocks');
        this.phase = 'low';
        this.next = this.cg * FPG;
        this.end = this.cg * FPG + SBLKNO;
      }
    }
    const frag = this.next;
    this.next += FRAG;
    this.map.set(frag, FRAG);
    return frag;
  }
  /** The first byte the allocator has not handed out yet. */
  frontier(): number {
    return this.next * FSIZE;
  }
  /** The block later tails may still go into, if there is one. */
  openFragmentBlock(): ByteRange | undefined {
    return this.fragBlock >= 0
      ? [this.fragBlock * FSIZE, this.fragBlock * FSIZE + BSIZE]
      : undefined;
  }
  /** A run of 1..7 fragments within one block, packed after the previous run. */
  fragments(count: number): number {
    if (this.packer.take(count)) {
      this.fragBlock = this.block();
      // Only the fragments taken are in use; block() marked all of them.
      this.map.clear(this.fragBlock, FRAG);
      this.fragUsed = 0;
    }
    const frag = this.fragBlock + this.fragUsed;
    this.fragUsed += count;
    this.map.set(frag, count);
    return frag;
  }
}

/** Zeros that pad a short last block. */
const ZERO_BLOCK = Buffer.alloc(BSIZE);

/** Bytes of adjacent writes the writer gathers before it issues them. */
const WRITE_BUFFER = 1 << 20;

/**
 * The image file, and the one way into it: every write is checked against
 * the boot area (the first 8 KiB stay zero: the boot-time reader reads a
 * hole from there, docs/ufs.md) and issued whole. Content goes through
 * write(), which gathers adjacent writes into one buffer of its own (what
 * it was given is free again when it returns); metadata through
 * writeNow(), after what is gathered. The image is written with
 * synchronous calls: tens of thousands of small files, where a promise
 * round trip per call costs more than the copy (populateImage lets the
 * event loop turn now and then, for signals).
 */
class ImageFile {
  private start = -1;
  private length = 0;
  private readonly buffer = Buffer.allocUnsafe(WRITE_BUFFER);
  private constructor(private readonly fd: number) {}

  /** Creates the file at `bytes`, all zeros (holes). */
  static create(output: string, bytes: number): ImageFile {
    const fd = openSync(output, 'w');
    try {
      ftruncateSync(fd, bytes);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return new ImageFile(fd);
  }

  /** Gathers `data` for `position`; adjacent writes become one. */
  write(position: number, data: Buffer): void {
    outsideBootArea(position);
    if (this.start >= 0 && this.start + this.length !== position) this.flush();
    let done = 0;
    while (done < data.length) {
      if (this.start < 0) this.start = position + done;
      const n = data.copy(this.buffer, this.length, done);
      this.length += n;
      done += n;
      if (this.length === this.buffer.length) this.flush();
    }
  }

  /** Writes `data` at `position` now, after what is gathered. */
  writeNow(position: number, data: Buffer): void {
    outsideBootArea(position);
    this.flush();
    this.writeAll(data, position);
  }

  flush(): void {
    if (this.start < 0) return;
    const position = this.start;
    const length = this.length;
    this.start = -1;
    this.length = 0;
    this.writeAll(this.buffer.subarray(0, length), position);
  }

  close(): void {
    closeSync(this.fd);
  }

  /** All of `data` at `position`; a short write is a full disk or a size limit. */
  private writeAll(data: Buffer, position: number): void {
    let done = 0;
    while (done < data.length) {
      const n = writeSync(this.fd, data, done, data.length - done, position + done);
      // Writing the rest gives the error that says which.
      if (n === 0) throw new Error(`short write at ${position + done}`);
      done += n;
    }
  }
}

function outsideBootArea(position: number): void {
  if (position < SBLOCK_OFFSET) {
    throw new Error(`internal error: a write at ${position}, in the boot area`);
  }
}

/** Lays one inode's content out block by block, with its indirect blocks. */
class ContentLayout {
  readonly db: number[] = new Array<number>(NDADDR).fill(0);
  readonly ib: number[] = [0, 0, 0];
  frags = 0;
  private readonly open = new Map<number, { key: string; frag: number; buf: Buffer }>();
  constructor(
    private readonly alloc: BlockAllocator,
    private readonly out: ImageFile,
  ) {}

  /** Stores logical block `lbn` (data of at most one block; zero-padded); returns its byte position. */
  put(lbn: number, data: Buffer, tailFrags: number): number {
    let frag: number;
    let size: number;
    if (tailFrags > 0) {
      frag = this.alloc.fragments(tailFrags);
      size = tailFrags * FSIZE;
    } else {
      const path = indirectPath(lbn);
      let slot: { frag: number; buf: Buffer } | undefined;
      for (const [level, key] of path.entries()) {
        const current = this.open.get(level);
        if (current?.key === key) {
          slot = current;
          continue;
        }
        if (current) this.closeLevel(level);
        const frag = this.alloc.block();
        this.frags += FRAG;
        if (slot) this.setPointer(slot.buf, lbn, level, frag);
        else this.ib[path.length - 1] = frag;
        slot = { frag, buf: Buffer.alloc(BSIZE) };
        this.open.set(level, { key, ...slot });
      }
      frag = this.alloc.block();
      size = BSIZE;
      if (slot) this.setPointer(slot.buf, lbn, path.length, frag);
    }
    if (lbn < NDADDR) this.db[lbn] = frag;
    this.frags += size / FSIZE;
    // The rest of a short last block is zeros, written after it (one write for both).
    this.out.write(frag * FSIZE, data);
    if (data.length < size)
      this.out.write(frag * FSIZE + data.length, ZERO_BLOCK.subarray(0, size - data.length));
    return frag * FSIZE;
  }

  /** Index of lbn's pointer in the indirect block at `level` of its path. */
  private setPointer(buf: Buffer, lbn: number, level: number, frag: number): void {
    const path = indirectPath(lbn);
    const depth = path.length; // 1 single, 2 double, 3 triple
    const base =
      depth === 1 ? NDADDR : depth === 2 ? NDADDR + NINDIR : NDADDR + NINDIR + NINDIR ** 2;
    const x = lbn - base;
    // level 1 of `depth` holds pointers to the blocks one level further down.
    const span = NINDIR ** (depth - level);
    buf.writeInt32LE(frag, (Math.floor(x / span) % NINDIR) * 4);
  }

  private closeLevel(level: number): void {
    for (const l of [...this.open.keys()].sort((a, b) => b - a)) {
      if (l < level) break;
      const block = this.open.get(l)!;
      this.out.write(block.frag * FSIZE, block.buf);
      this.open.delete(l);
    }
  }

  finish(): void {
    this.closeLevel(0);
  }

  /** The indirect blocks still open (written when they close). */
  openBlocks(): ByteRange[] {
    return [...this.open.values()].map(({ frag }): ByteRange => [
      frag * FSIZE,
      frag * FSIZE + BSIZE,
    ]);
  }
}

export interface WriteUfsOptions {
  stagingRoot: string;
  /** Where an image file's bytes are, when not at `<stagingRoot>/<path>`. */
  contentPath?: (path: string) => string;
  nodes: readonly ImageNode[];
  root: { mode: number; uid: number; gid: number };
  output: string;
  epoch: number;
  plan: UfsPlan;
  /** The inode table of `nodes` the plan was made from (planUfsWithTable), when the caller has it. */
  table?: readonly UfsInode[];
  /**
   * Given, each file's md5 is taken from the reads that place its bytes,
   * and handed here with the file's inode path (its first path in byte
   * order: the file, or a hard link to it).
   */
  onHashed?: (path: string, md5: string) => void;
  /**
   * A file whose bytes are known only once every other file is hashed (the
   * copy of boot_archive.manifest): its blocks are placed in turn, at the
   * planned size, and filled at the end from the file `content()` gives.
   */
  deferred?: { path: string; content: () => Promise<string> };
  /**
   * Told, at each turn of the event loop while the content is written,
   * which bytes of the image are final (src/archive/early-deflate.ts): all
   * below `below` but the metadata areas, written last, and the deferred file.
   */
  onSettled?: (settled: SettledImage) => void;
}

/**
 * Writes an illumos (x86, little-endian) UFS image of the staging tree:
 * modes, owners and link counts from the model, every time = `epoch`,
 * inodes and blocks in the byte order of the paths, all-zero file blocks as
 * holes (the last block of a file is always stored), marked clean.
 * The on-disk choices are described in docs/ufs.md.
 *
 * In phases, as FreeBSD's makefs does it: check the plan against the
 * content, create the image and its metadata areas, write the content in
 * inode order (each group's inode blocks as soon as its inodes are laid
 * out), then the cylinder groups, then the superblock and its copies.
 */
export async function writeUfs(options: WriteUfsOptions): Promise<void> {
  const table = options.table ?? buildInodeTable(options.nodes, options.root);
  validatePlan(options.plan, table);
  const image = createImage(options.output, options.plan);
  try {
    const content = await populateImage(image, table, options);
    const cstotal = writeCylinderGroups(image, table, options.epoch);
    writeSuperblocks(image, cstotal, content.largefiles, options.epoch);
  } finally {
    image.out.close();
  }
}

/** The image being written: its file, the fragments in use, the allocator. */
interface ImageUnderConstruction {
  plan: UfsPlan;
  map: FragmentMap;
  alloc: BlockAllocator;
  out: ImageFile;
  /** The cylinder summary area: first fragment and length in fragments. */
  csaddr: number;
  csFrags: number;
  /**
   * What is written once the content is: each group's metadata (superblock
   * copy, cylinder group, inodes; in group 0 from byte 0, with the
   * superblock) and the summary area.
   */
  writtenLast: ByteRange[];
}

/** The plan must hold the content and describe a geometry this writer makes. */
function validatePlan(plan: UfsPlan, table: readonly UfsInode[]): void {
  if (table.length + 2 > plan.inodes) throw new PlanExceeded('out of inodes');
  if (plan.cylinderGroups * FPG < plan.sizeFragments || plan.sizeFragments % FPC !== 0)
    throw new PlanExceeded('inconsistent geometry');
}

/**
 * Creates the image file at its full size (all zeros: the boot area, holes
 * and free space stay zero), marks each group's metadata in use and places
 * the cylinder summary area at group 0's first data block.
 */
function createImage(output: string, plan: UfsPlan): ImageUnderConstruction {
  const ipg = plan.inodesPerGroup;
  const map = new FragmentMap(plan.sizeFragments);
  for (let c = 0; c < plan.cylinderGroups; c++)
    map.set(c * FPG + (c === 0 ? 0 : SBLKNO), dblkno(ipg) - (c === 0 ? 0 : SBLKNO));
  const alloc = new BlockAllocator(plan, map);
  const csFrags = summaryFragments(plan.cylinderGroups);
  let csaddr = -1;
  for (let i = 0; i < Math.floor(csFrags / FRAG); i++) {
    const frag = alloc.block();
    if (csaddr < 0) csaddr = frag;
  }
  if (csFrags % FRAG) {
    const frag = alloc.fragments(csFrags % FRAG);
    if (csaddr < 0) csaddr = frag;
  }
  if (csaddr !== dblkno(ipg)) throw new PlanExceeded('summary area misplaced');
  const writtenLast: ByteRange[] = [];
  for (let c = 0; c < plan.cylinderGroups; c++) {
    const end = c === 0 ? csaddr + csFrags : dblkno(ipg);
    writtenLast.push([(c * FPG + (c === 0 ? 0 : SBLKNO)) * FSIZE, (c * FPG + end) * FSIZE]);
  }
  const out = ImageFile.create(output, plan.imageBytes);
  return { plan, map, alloc, out, csaddr, csFrags, writtenLast };
}

/**
 * Writes every inode's content in inode order, and each group's inode
 * blocks once its last inode is laid out: what an inode points at is not
 * kept for the whole table (tens of thousands of them) until the end.
 */
async function populateImage(
  image: ImageUnderConstruction,
  table: readonly UfsInode[],
  options: WriteUfsOptions,
): Promise<{ largefiles: boolean }> {
  const { stagingRoot, plan, epoch } = options;
  const sparseBlocks = (inode: UfsInode) => plan.sparse?.get(stagingRoot, inode.path);
  const fileOf = options.contentPath ?? ((path: string) => join(stagingRoot, path));
  const inodeBlocks = new GroupInodeBlocks(image.out, plan.inodesPerGroup);
  let largefiles = false;
  const chunk = Buffer.alloc(CHUNK);
  const { onHashed, deferred } = options;
  let placed: Placed[] | undefined;
  const pacer = new Pacer(image, options.onSettled, () => placed);
  for (const [index, inode] of table.entries()) {
    if (index % YIELD_EVERY === YIELD_EVERY - 1) await pacer.turn();
    const layout = new ContentLayout(image.alloc, image.out);
    pacer.layout = layout;
    if (inode.kind === 'f') {
      if (inode.size >= LARGEFILE_SIZE) largefiles = true;
      const lbns = sparseBlocks(inode);
      if (inode.path === deferred?.path) {
        placed = placeDeferred(inode.size, layout);
      } else if (inode.size > 0) {
        const hash = onHashed && new FileHash(inode.size);
        const file = SourceFile.open(fileOf(inode.path), inode.size);
        try {
          if (lbns) writeSparseContent(file, lbns, layout, chunk, hash);
          else await writeFileContent(file, layout, chunk, hash, pacer);
        } finally {
          file.close();
        }
        if (hash) onHashed(inode.path, hash.digest());
      } else {
        onHashed?.(inode.path, EMPTY_MD5);
      }
    } else {
      const content = inode.kind === 'd' ? directoryContent(inode) : inode.target!;
      putContent(content, 0, content.length, layout, true);
    }
    layout.finish();
    const type = inode.kind === 'd' ? IFDIR : inode.kind === 'f' ? IFREG : IFLNK;
    inodeBlocks.put(inode.ino, {
      mode: type | inode.mode,
      nlink: inode.nlink,
      uid: inode.uid,
      gid: inode.gid,
      size: inode.size,
      time: epoch,
      db: layout.db,
      ib: layout.ib,
      blocks: (layout.frags * FSIZE) / SECTOR,
      gen: 0,
    });
  }
  image.out.flush();
  inodeBlocks.finish(plan.cylinderGroups);
  if (deferred) {
    if (!placed) throw new Error(`internal error: ${deferred.path} is not a file of the image`);
    fillDeferred(await deferred.content(), placed, image.out);
  }
  pacer.contentDone();
  return { largefiles };
}

/** Bytes of content written between two turns of the event loop, at the most (about). */
const YIELD_BYTES = 4 << 20;

/**
 * When the writer lets the event loop turn (every YIELD_EVERY inodes, and
 * every YIELD_BYTES of content: signals, and the deflate threads that
 * compress the image behind the writer), and what it then says of the
 * image's settled bytes (WriteUfsOptions.onSettled).
 */
class Pacer {
  /** The inode being laid out, whose open indirect blocks are not written yet. */
  layout?: ContentLayout;
  private bytes = 0;
  constructor(
    private readonly image: ImageUnderConstruction,
    private readonly onSettled: WriteUfsOptions['onSettled'],
    private readonly deferred: () => readonly Placed[] | undefined,
  ) {}

  /** Counts `bytes` of content; a turn is due every YIELD_BYTES. */
  wrote(bytes: number): Promise<void> | undefined {
    this.bytes += bytes;
    return this.bytes >= YIELD_BYTES ? this.turn() : undefined;
  }

  /** All content is written: only the metadata areas are still to come. */
  contentDone(): void {
    this.image.out.flush();
    this.onSettled?.({ below: this.image.plan.imageBytes, except: this.image.writtenLast });
  }

  async turn(): Promise<void> {
    this.bytes = 0;
    if (this.onSettled) {
      const { image } = this;
      image.out.flush();
      const fragments = image.alloc.openFragmentBlock();
      const except = [
        ...image.writtenLast,
        ...(this.deferred() ?? []).map((p): ByteRange => [p.position, p.end]),
        ...(fragments ? [fragments] : []),
        ...(this.layout?.openBlocks() ?? []),
      ];
      this.onSettled({ below: image.alloc.frontier(), except });
    }
    await nextTurn();
  }
}

/** Where one block of a deferred file went: its logical block and byte position. */
interface Placed {
  lbn: number;
  position: number;
  length: number;
  /** The end of the block or fragments it took. */
  end: number;
}

/** Places every block of a file of `size` (zeros for now; no holes), recording where. */
function placeDeferred(size: number, layout: ContentLayout): Placed[] {
  const placed: Placed[] = [];
  const nblk = blockCount(size);
  const tail = tailFragments(size);
  for (let lbn = 0; lbn < nblk; lbn++) {
    const length = Math.min(BSIZE, size - lbn * BSIZE);
    const frags = lbn === nblk - 1 ? tail : 0;
    const position = layout.put(lbn, ZERO_BLOCK.subarray(0, length), frags);
    placed.push({ lbn, position, length, end: position + (frags ? frags * FSIZE : BSIZE) });
  }
  return placed;
}

/** The deferred file's bytes into the blocks placed for it; it must be the planned size. */
function fillDeferred(path: string, placed: readonly Placed[], out: ImageFile): void {
  const size = placed.reduce((sum, p) => sum + p.length, 0);
  const block = Buffer.allocUnsafe(BSIZE);
  SourceFile.with(path, size, (file) => {
    for (const { lbn, position, length } of placed) {
      out.writeNow(position, file.readFully(block.subarray(0, length), lbn * BSIZE));
    }
    file.expectEnd();
  });
}

/** md5 of the empty file. */
const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

/**
 * A file's md5, from the bytes as they are read in order; a file read in
 * one piece is hashed in one call (crypto.hash, from Node 20.12), with no
 * Hash object left for the garbage collector.
 */
class FileHash {
  private hash?: Hash;
  private one?: string;
  constructor(private readonly size: number) {}
  update(data: Buffer): void {
    if (!this.hash && this.one === undefined && data.length === this.size && oneShotHash) {
      this.one = oneShotHash('md5', data, 'hex');
      return;
    }
    this.hash ??= createHash('md5');
    this.hash.update(data);
  }
  /** `count` zero bytes (the holes of a sparse file). */
  zeros(count: number): void {
    for (let left = count; left > 0; left -= BSIZE)
      this.update(ZERO_BLOCK.subarray(0, Math.min(left, BSIZE)));
  }
  digest(): string {
    return this.one ?? (this.hash ?? createHash('md5')).digest('hex');
  }
}

/** crypto.hash(), from Node 20.12; older versions take createHash(). */
const oneShotHash = (
  crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'hex') => string }
).hash;

/**
 * The inode blocks of one cylinder group at a time, written when the
 * inodes reach the next group (inode numbers only grow); groups with no
 * inode in use get theirs all zero.
 */
class GroupInodeBlocks {
  private group = 0;
  private readonly blocks: Buffer;
  constructor(
    private readonly out: ImageFile,
    private readonly ipg: number,
  ) {
    this.blocks = Buffer.alloc(ipg * INODE_SIZE);
  }
  put(ino: number, dinode: Dinode): void {
    const group = Math.floor(ino / this.ipg);
    if (group < this.group) throw new Error(`internal error: inode ${ino} after group ${this.group}`); // prettier-ignore
    while (this.group < group) this.next();
    encodeDinode(dinode, this.blocks, (ino % this.ipg) * INODE_SIZE);
  }
  /** Writes the rest, up to `groups`. */
  finish(groups: number): void {
    while (this.group < groups) this.next();
  }
  private next(): void {
    this.out.writeNow((this.group * FPG + IBLKNO) * FSIZE, this.blocks);
    this.blocks.fill(0);
    this.group++;
  }
}

/**
 * Each group's cylinder group block (maps and their summaries), then the
 * cylinder summary area; returns the totals.
 */
function writeCylinderGroups(
  image: ImageUnderConstruction,
  table: readonly UfsInode[],
  epoch: number,
): Csum {
  const { out, plan, map } = image;
  const ipg = plan.inodesPerGroup;
  const cstotal: Csum = { ndir: 0, nbfree: 0, nifree: 0, nffree: 0 };
  const summaries = Buffer.alloc(image.csFrags * FSIZE);
  // Inodes in use: 0 and 1 (reserved, zero), then the table's, numbered in a row.
  const inodesInUse = ROOTINO + table.length;
  for (let c = 0; c < plan.cylinderGroups; c++) {
    const iused = Buffer.alloc(Math.ceil(ipg / 8));
    let ndir = 0;
    let nused = 0;
    for (let i = 0; i < ipg; i++) {
      const ino = c * ipg + i;
      if (ino >= inodesInUse) break;
      iused[i >> 3] |= 1 << (i & 7);
      nused++;
      if (ino >= ROOTINO && table[ino - ROOTINO].kind === 'd') ndir++;
    }

    const ndblk = groupFragments(plan, c);
    const free = freeMap(map, c, ndblk);
    const cs: Csum = { ndir, nbfree: free.nbfree, nifree: ipg - nused, nffree: free.nffree };
    for (const key of ['ndir', 'nbfree', 'nifree', 'nffree'] as const) cstotal[key] += cs[key];
    writeCsum(summaries, c * 16, cs);
    const cg = encodeCylinderGroup({
      cgx: c,
      ncyl: ndblk / FPC,
      ipg,
      ndblk,
      time: epoch,
      cs,
      frsum: free.frsum,
      btot: free.btot,
      blks: free.blks,
      iused,
      free: free.bits,
    });
    out.writeNow((c * FPG + CBLKNO) * FSIZE, cg);
  }
  out.writeNow(image.csaddr * FSIZE, summaries);
  return cstotal;
}

/** A group's free map and its summaries (free runs, free blocks per cylinder and position). */
function freeMap(
  map: FragmentMap,
  c: number,
  ndblk: number,
): {
  bits: Buffer;
  nbfree: number;
  nffree: number;
  frsum: number[];
  btot: number[];
  blks: number[];
} {
  const bits = Buffer.alloc(FPG / 8);
  const frsum = new Array<number>(FRAG).fill(0);
  const btot = new Array<number>(CPG).fill(0);
  const blks = new Array<number>(CPG * NRPOS).fill(0);
  let nbfree = 0;
  let nffree = 0;
  for (let b = 0; b < ndblk; b += FRAG) {
    let freeCount = 0;
    let run = 0;
    const runs: number[] = [];
    for (let f = b; f < b + FRAG; f++) {
      if (!map.used(c * FPG + f)) {
        bits[f >> 3] |= 1 << (f & 7);
        freeCount++;
        run++;
      } else if (run > 0) {
        runs.push(run);
        run = 0;
      }
    }
    if (run > 0) runs.push(run);
    if (freeCount === FRAG) {
      nbfree++;
      const cyl = Math.floor((b * NSPF) / SPC);
      const rpos = Math.floor((((b * NSPF) % SPC) * NRPOS) / SPC);
      btot[cyl]++;
      blks[cyl * NRPOS + rpos]++;
    } else {
      nffree += freeCount;
      for (const r of runs) frsum[r]++;
    }
  }
  return { bits, nbfree, nffree, frsum, btot, blks };
}

/** The superblock at byte 8192 and its copy in every group (group 0's too). */
function writeSuperblocks(
  image: ImageUnderConstruction,
  cstotal: Csum,
  largefiles: boolean,
  epoch: number,
): void {
  const { out, plan } = image;
  const ipg = plan.inodesPerGroup;
  // fs_dsize as mkfs counts it: data fragments, minus the summary area.
  let dsize = 0;
  for (let c = 0; c < plan.cylinderGroups; c++)
    dsize += groupFragments(plan, c) - dblkno(ipg) + (c > 0 ? SBLKNO : 0);
  dsize -= image.csFrags;
  const sb = encodeSuperblock({
    time: epoch,
    size: plan.sizeFragments,
    dsize,
    ncg: plan.cylinderGroups,
    ipg,
    ncyl: plan.sizeFragments / FPC,
    minfree: plan.minFreePercent,
    cssize: image.csFrags * FSIZE,
    cstotal,
    largefiles,
  });
  out.writeNow(SBLOCK_OFFSET, sb);
  for (let c = 0; c < plan.cylinderGroups; c++) out.writeNow((c * FPG + SBLKNO) * FSIZE, sb);
}

/** A sparse file: only the blocks the plan found not all zeros are read. */
function writeSparseContent(
  file: SourceFile,
  lbns: readonly number[],
  layout: ContentLayout,
  chunk: Buffer,
  hash?: FileHash,
): void {
  const { size } = file;
  const nblk = blockCount(size);
  const tail = tailFragments(size);
  let hashed = 0;
  for (const lbn of lbns) {
    const position = lbn * BSIZE;
    const block = file.readFully(chunk.subarray(0, Math.min(BSIZE, size - position)), position);
    // The holes before this block hash as the zeros they read as.
    hash?.zeros(position - hashed);
    hash?.update(block);
    hashed = position + block.length;
    layout.put(lbn, block, lbn === nblk - 1 ? tail : 0);
  }
  file.expectEnd();
}

/** Streams a file into its blocks; all-zero blocks but the last become holes. */
async function writeFileContent(
  file: SourceFile,
  layout: ContentLayout,
  chunk: Buffer,
  hash: FileHash | undefined,
  pacer: Pacer,
): Promise<void> {
  const { size } = file;
  let position = 0;
  while (position < size) {
    const want = Math.min(chunk.length, size - position);
    const data = file.readFully(chunk.subarray(0, want), position);
    hash?.update(data);
    const first = position / BSIZE;
    position += want;
    // A chunk of holes (the common case in a sparse file) is skipped at once.
    if (position < size && isZero(chunk.subarray(0, want))) continue;
    // The writer copies what it is given: the chunk is free for the next read.
    putContent(chunk.subarray(0, want), first, size, layout);
    const turn = pacer.wrote(want);
    if (turn) await turn;
  }
  file.expectEnd();
}

/**
 * Puts `data` (whole blocks from logical block `first` on, or the file's
 * end) into the layout: all-zero blocks but the file's last become holes,
 * unless `everyBlock` (directories and symlinks have no holes).
 */
function putContent(
  data: Buffer,
  first: number,
  size: number,
  layout: ContentLayout,
  everyBlock = false,
): void {
  const nblk = blockCount(size);
  const tail = tailFragments(size);
  for (let i = 0; i * BSIZE < data.length; i++) {
    const lbn = first + i;
    const block = data.subarray(i * BSIZE, Math.min((i + 1) * BSIZE, data.length));
    const last = lbn === nblk - 1;
    if (!everyBlock && !last && isZero(block)) continue;
    layout.put(lbn, block, last ? tail : 0);
  }
}

/** Inodes written between two turns of the event loop. */
const YIELD_EVERY = 256;
