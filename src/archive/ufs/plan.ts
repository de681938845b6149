import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageNode } from '../../image/model.js';
import { ROOT_DIR } from '../../image/model.js';
import { SourceFile } from './source-file.js';
import { BSIZE, dblkno, FPC, FPG, FRAG, FSIZE, INOPB, MAX_IPG, SBLKNO } from './layout.js';
import {
  blockCount,
  buildInodeTable,
  denseShape,
  sparseShape,
  type ContentShape,
  type UfsInode,
} from './tree.js';

export interface UfsPlanOptions {
  /** Headroom on data blocks, in percent of what the content takes; default 10. */
  freePercent?: number;
  /** Free inodes beyond those the content uses; default 10% of the used inodes. */
  freeInodes?: number;
  /**
   * The least free space the image keeps whatever the percentage gives, in
   * bytes: what a booting SmartOS writes to its root (docs/ufs.md); default
   * DEFAULT_MIN_FREE_BYTES.
   */
  minFreeBytes?: number;
  /** The least number of free inodes, whatever `freeInodes` gives; default DEFAULT_MIN_FREE_INODES. */
  minFreeInodes?: number;
  /**
   * The staging tree. When given, files that are sparse there (fewer
   * blocks on disk than their size) are read to count the blocks that are
   * not all zeros, which the writer stores as holes; without it every
   * block is counted, which is never too small.
   */
  stagingRoot?: string;
  /** Where an image file's bytes are, when not at `<stagingRoot>/<path>` (a build that staged nothing). */
  contentPath?: (path: string) => string;
  /** The image root's mode and owner (ROOT_DIR by default). */
  root?: { mode: number; uid: number; gid: number };
}

export interface UfsPlan {
  blockSize: number;
  fragmentSize: number;
  /** Inodes the content uses, the root included. */
  inodesUsed: number;
  /** Inodes in the file system (cylinderGroups x inodesPerGroup). */
  inodes: number;
  /** What `newfs -i` would need for `inodes`. */
  bytesPerInode: number;
  /** Bytes of regular file content (each inode once). */
  dataBytes: number;
  /** Fragments of file data (full blocks and tails, not holes). */
  dataFragments: number;
  indirectBlocks: number;
  directoryFragments: number;
  symlinkFragments: number;
  cylinderGroups: number;
  /** fs_minfree: 0, the headroom is freePercent, usable by everyone. */
  minFreePercent: number;
  /** The size of the image file the writer makes. */
  imageBytes: number;
  inodesPerGroup: number;
  /** fs_size, in fragments. */
  sizeFragments: number;
  /** Blocks the content takes, fragment blocks and the summary area included. */
  usedBlocks: number;
  freePercent: number;
  /** Free inodes planned beyond those used: the larger of the option (or its default) and the floor. */
  freeInodes: number;
  /** The floors the plan kept (docs/ufs.md). */
  minFreeBytes: number;
  minFreeInodes: number;
  /** Which rule set the free space: freePercent, or the minFreeBytes floor. */
  freeSpaceFrom: 'percent' | 'minimum';
  /** Which rule set the free inodes: freeInodes (or its 10% default), or the minFreeInodes floor. */
  freeInodesFrom: 'option' | 'default' | 'minimum';
  /**
   * The blocks found in sparse staged files (when a staging root was
   * given), so that the writer reads those alone instead of every hole again.
   */
  sparse?: SparseFiles;
}

/**
 * The logical blocks of each sparse staged file that are not all zeros, as
 * the plan read them. In JSON (`--plan --json`, the build summary) only
 * the counts appear.
 */
export class SparseFiles {
  constructor(
    readonly stagingRoot: string,
    private readonly blocks: ReadonlyMap<string, readonly number[]>,
  ) {}
  /** The blocks of the file at `path` (image-relative) under `stagingRoot`, if the plan read it. */
  get(stagingRoot: string, path: string): readonly number[] | undefined {
    return stagingRoot === this.stagingRoot ? this.blocks.get(path) : undefined;
  }
  toJSON(): { files: number; blocks: number } {
    let blocks = 0;
    for (const lbns of this.blocks.values()) blocks += lbns.length;
    return { files: this.blocks.size, blocks };
  }
}

export const DEFAULT_FREE_PERCENT = 10;
/**
 * The floors under the percentages: a booting SmartOS writes its SMF
 * repository's copies, the /dev links devfsadm makes and the logs of its
 * services to the root ramdisk (docs/ufs.md says what and how much).
 */
export const DEFAULT_MIN_FREE_BYTES = 16 * 2 ** 20;
export const DEFAULT_MIN_FREE_INODES = 4096;

export function defaultFreeInodes(inodesUsed: number): number {
  return Math.ceil(inodesUsed / 10);
}

/** Bytes read at a time from a staged file (whole blocks), by the plan and the writer. */
export const CHUNK = 128 * BSIZE;
const ZEROS = Buffer.alloc(CHUNK);

/** True when the buffer (at most CHUNK bytes) is all zeros. */
export function isZero(buf: Buffer): boolean {
  return buf.length <= CHUNK && ZEROS.compare(buf, 0, buf.length, 0, buf.length) === 0;
}

/**
 * The logical blocks the writer allocates for a file: every block that is
 * not all zeros, and the last block always. Reads the file in 1 MiB chunks.
 */
export function allocatedBlocks(path: string, size: number): number[] {
  const nblk = blockCount(size);
  const out: number[] = [];
  // 1 MiB synchronous reads: holes go by at memory speed.
  const chunk = Buffer.alloc(CHUNK);
  SourceFile.with(path, size, (file) => {
    for (let first = 0; first < nblk; first += CHUNK / BSIZE) {
      const want = Math.min(chunk.length, size - first * BSIZE);
      file.readFully(chunk.subarray(0, want), first * BSIZE);
      const lastInChunk = first + Math.ceil(want / BSIZE) - 1;
      if (lastInChunk < nblk - 1 && isZero(chunk.subarray(0, want))) continue;
      for (let i = 0; i * BSIZE < want; i++) {
        const lbn = first + i;
        const block = chunk.subarray(i * BSIZE, Math.min((i + 1) * BSIZE, want));
        if (lbn === nblk - 1 || !isZero(block)) out.push(lbn);
      }
    }
  });
  return out;
}

/** Packs fragment tails into blocks the way the writer does; counts the blocks. */
export class FragmentPacker {
  private used = FRAG;
  /** Returns true when the run needs a new block. */
  take(frags: number): boolean {
    if (frags === 0) return false;
    if (this.used + frags <= FRAG) {
      this.used += frags;
      return false;
    }
    this.used = frags;
    return true;
  }
}

/** Fragments of the cylinder summary area for `ncg` groups. */
export function summaryFragments(ncg: number): number {
  return Math.ceil((ncg * 16) / FSIZE);
}

/** Data blocks a full cylinder group offers (the summary area not deducted). */
function groupCapacity(cgx: number, ipg: number, fragments = FPG): number {
  return (fragments - dblkno(ipg)) / FRAG + (cgx > 0 ? SBLKNO / FRAG : 0);
}

/**
 * The size of a UFS image for `nodes` (the image without its root): data
 * blocks, fragments, indirect blocks, directories and inodes counted from
 * the content, plus the headroom asked for.
 */
export function planUfs(nodes: Iterable<ImageNode>, options: UfsPlanOptions = {}): UfsPlan {
  return planUfsWithTable(nodes, options).plan;
}

/**
 * planUfs, and the inode table the plan was counted from: the writer takes
 * it (WriteUfsOptions.table) instead of building the same table again.
 */
export function planUfsWithTable(
  nodes: Iterable<ImageNode>,
  options: UfsPlanOptions = {},
): { plan: UfsPlan; table: UfsInode[] } {
  const freePercent = options.freePercent ?? DEFAULT_FREE_PERCENT;
  if (!(freePercent >= 0)) throw new RangeError(`freePercent must be >= 0, not ${freePercent}`);
  const table = buildInodeTable(nodes, options.root ?? ROOT_DIR);
  const sparse = new Map<string, number[]>();
  const shapes = table.map((inode) =>
    contentShape(inode, options.stagingRoot, sparse, options.contentPath),
  );
  const plan = planFromTable(table, shapes, {
    freePercent,
    freeInodes: options.freeInodes,
    minFreeBytes: options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES,
    minFreeInodes: options.minFreeInodes ?? DEFAULT_MIN_FREE_INODES,
  });
  if (sparse.size > 0) plan.sparse = new SparseFiles(options.stagingRoot!, sparse);
  return { plan, table };
}

function contentShape(
  inode: UfsInode,
  stagingRoot: string | undefined,
  sparse: Map<string, number[]>,
  contentPath?: (path: string) => string,
): ContentShape {
  if (inode.kind === 'f' && stagingRoot !== undefined && inode.size > 0) {
    const path = contentPath?.(inode.path) ?? join(stagingRoot, inode.path);
    // The model may know how much of the file is on disk; else one stat says.
    if ((inode.diskBytes ?? statSync(path).blocks * 512) < inode.size) {
      const lbns = allocatedBlocks(path, inode.size);
      sparse.set(inode.path, lbns);
      return sparseShape(inode.size, lbns);
    }
  }
  return denseShape(inode.size);
}

export function planFromTable(
  table: readonly UfsInode[],
  shapes: readonly ContentShape[],
  headroom: {
    freePercent: number;
    freeInodes: number | undefined;
    minFreeBytes: number;
    minFreeInodes: number;
  },
): UfsPlan {
  const { freePercent, minFreeBytes, minFreeInodes } = headroom;
  const inodesUsed = table.length;
  const asked = headroom.freeInodes ?? defaultFreeInodes(inodesUsed);
  for (const [name, value] of Object.entries({ freeInodes: asked, minFreeBytes, minFreeInodes }))
    if (!(value >= 0)) throw new RangeError(`${name} must be >= 0, not ${value}`);
  const freeInodes = Math.max(asked, minFreeInodes);
  const freeInodesFrom =
    asked < minFreeInodes ? 'minimum' : headroom.freeInodes === undefined ? 'default' : 'option';
  const minFreeBlocks = Math.ceil(minFreeBytes / BSIZE);
  // Inodes 0 and 1 are reserved.
  const inodesWanted = inodesUsed + 2 + freeInodes;

  let dataBytes = 0;
  let dataFragments = 0;
  let indirectBlocks = 0;
  let directoryFragments = 0;
  let symlinkFragments = 0;
  for (let i = 0; i < table.length; i++) {
    const inode = table[i];
    const shape = shapes[i];
    const frags = shape.blocks * FRAG + shape.tailFrags;
    indirectBlocks += shape.indirect;
    if (inode.kind === 'f') {
      dataBytes += inode.size;
      dataFragments += frags;
    } else if (inode.kind === 'd') {
      directoryFragments += frags;
    } else {
      symlinkFragments += frags;
    }
  }

  /** Blocks the content takes from the block allocator with `ncg` groups. */
  const usedBlocksFor = (ncg: number): number => {
    const packer = new FragmentPacker();
    const cs = summaryFragments(ncg);
    let blocks = Math.floor(cs / FRAG) + (packer.take(cs % FRAG) ? 1 : 0);
    // Indexed: this runs once per group count tried, over every inode.
    for (let i = 0; i < shapes.length; i++) {
      const shape = shapes[i];
      blocks += shape.blocks + shape.indirect;
      if (packer.take(shape.tailFrags)) blocks++;
    }
    return blocks;
  };

  for (let ncg = 1; ; ncg++) {
    const ipg = Math.ceil(Math.ceil(inodesWanted / ncg) / INOPB) * INOPB;
    if (ipg > MAX_IPG) continue;
    const usedBlocks = usedBlocksFor(ncg);
    const byPercent = Math.ceil((usedBlocks * (100 + freePercent)) / 100);
    const need = Math.max(byPercent, usedBlocks + minFreeBlocks);
    let before = 0;
    for (let c = 0; c < ncg - 1; c++) before += groupCapacity(c, ipg);
    const last = ncg - 1;
    const lastNeed = Math.max(1, need - before);
    if (lastNeed > groupCapacity(last, ipg)) continue;
    // The last group: whole cylinders, just enough for what is left.
    const extra = last > 0 ? SBLKNO / FRAG : 0;
    const minFrags = dblkno(ipg) + FRAG * Math.max(1, lastNeed - extra);
    const lastFrags = Math.min(FPG, Math.ceil(minFrags / FPC) * FPC);
    const sizeFragments = last * FPG + lastFrags;
    const inodes = ncg * ipg;
    return {
      blockSize: BSIZE,
      fragmentSize: FSIZE,
      inodesUsed,
      inodes,
      bytesPerInode: Math.floor((FPG * FSIZE) / ipg),
      dataBytes,
      dataFragments,
      indirectBlocks,
      directoryFragments,
      symlinkFragments,
      cylinderGroups: ncg,
      minFreePercent: 0,
      imageBytes: sizeFragments * FSIZE,
      inodesPerGroup: ipg,
      sizeFragments,
      usedBlocks,
      freePercent,
      freeInodes,
      minFreeBytes,
      minFreeInodes,
      freeSpaceFrom: byPercent >= usedBlocks + minFreeBlocks ? 'percent' : 'minimum',
      freeInodesFrom,
    };
  }
}

/** Fragments of the group `cgx` in a plan (the last one may be short). */
export function groupFragments(plan: UfsPlan, cgx: number): number {
  return cgx < plan.cylinderGroups - 1 ? FPG : plan.sizeFragments - cgx * FPG;
}
