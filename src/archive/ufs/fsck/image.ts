/**
 * What every pass of the check shares (fsck.h): the superblock fields it
 * uses, the open image with the group geometry (the cgbase/cgtod/cgdmin
 * macros of ufs_fs.h), the inode states, and the findings.
 */
import type { FileHandle } from 'node:fs/promises';
import { decodeSuperblock, type Superblock } from '../layout.js';

/** sizeof (struct cg) up to cg_space: where the per-cylinder tables start. */
export const CG_BASE = 168;
/** Findings kept by the check: a badly broken image says enough long before this. */
export const MAX_FSCK_FINDINGS = 200;

/**
 * The superblock fields the check uses, each range-checked in setup: what
 * the writer's own decoder reads (all of it, on a superblock read back),
 * and the geometry only a check looks at.
 */
export type Fs = Required<Superblock> & {
  cgoffset: number;
  cgmask: number;
  frag: number;
  bshift: number;
  fshift: number;
  fragshift: number;
  fsbtodb: number;
  sbsize: number;
  nindir: number;
  inopb: number;
  nspf: number;
  optim: number;
  cgsize: number;
  ntrak: number;
  nsect: number;
  spc: number;
  cpg: number;
  logbno: number;
  cpc: number;
  postblformat: number;
  nrpos: number;
  postbloff: number;
};

export function decodeFs(b: Buffer): Fs {
  const r = (off: number) => b.readInt32LE(off);
  return {
    // decodeSuperblock sets every field it has (the optional ones are the writer's input).
    ...(decodeSuperblock(b) as Required<Superblock>),
    cgoffset: r(24),
    cgmask: r(28),
    frag: r(56),
    bshift: r(80),
    fshift: r(84),
    fragshift: r(96),
    fsbtodb: r(100),
    sbsize: r(104),
    nindir: r(116),
    inopb: r(120),
    nspf: r(124),
    optim: r(128),
    cgsize: r(160),
    ntrak: r(164),
    nsect: r(168),
    spc: r(172),
    cpg: r(180),
    logbno: r(1324),
    cpc: r(856),
    postblformat: r(1356),
    nrpos: r(1360),
    postbloff: r(1364),
  };
}

/** Inode states after pass 1 (fsck.h's statemap, reduced to what this check tells apart). */
export const STATE = { UNALLOCATED: 0, FILE: 1, DIR: 2, BAD: 3 } as const;

/** The findings, as sentences, at most MAX_FSCK_FINDINGS of them. */
export class Findings {
  readonly list: string[] = [];
  add(finding: string): void {
    if (this.list.length < MAX_FSCK_FINDINGS) this.list.push(finding);
    else if (this.list.length === MAX_FSCK_FINDINGS) this.list.push('(more findings left out)');
  }
}

export function testBit(map: Uint8Array, i: number): boolean {
  return (map[i >> 3] & (1 << (i & 7))) !== 0;
}
export function setBit(map: Uint8Array, i: number): void {
  map[i >> 3] |= 1 << (i & 7);
}

/** An open image and its checked superblock. */
export class Image {
  constructor(
    readonly fh: FileHandle,
    readonly path: string,
    readonly fs: Fs,
    readonly fileSize: number,
  ) {}
  // The group geometry of ufs_fs.h: where group c starts, and its superblock
  // copy, header, inodes and data in it.
  readonly cgbase = (c: number) => this.fs.fpg * c;
  readonly cgstart = (c: number) => this.cgbase(c) + this.fs.cgoffset * (c & ~this.fs.cgmask);
  readonly cgsblock = (c: number) => this.cgstart(c) + this.fs.sblkno;
  readonly cgtod = (c: number) => this.cgstart(c) + this.fs.cblkno;
  readonly cgimin = (c: number) => this.cgstart(c) + this.fs.iblkno;
  readonly cgdmin = (c: number) => this.cgstart(c) + this.fs.dblkno;

  async read(frag: number, bytes: number, offsetInFrag = 0): Promise<Buffer> {
    const buf = Buffer.alloc(bytes);
    const position = frag * this.fs.fsize + offsetInFrag;
    let got = 0;
    while (got < bytes) {
      const { bytesRead } = await this.fh.read(buf, got, bytes - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf;
  }
}
