/**
 * What every pass of the check shares (fsck.h): the superblock fields it
 * uses, the open image with the group geometry (the cgbase/cgtod/cgdmin
 * macros of ufs_fs.h), the inode states, and the findings.
 */
import type { FileHandle } from 'node:fs/promises';

/** sizeof (struct cg) up to cg_space: where the per-cylinder tables start. */
export const CG_BASE = 168;
/** Findings kept by the check: a badly broken image says enough long before this. */
export const MAX_FSCK_FINDINGS = 200;

/** The superblock fields the check uses, each range-checked in setup. */
export interface Fs {
  sblkno: number;
  cblkno: number;
  iblkno: number;
  dblkno: number;
  cgoffset: number;
  cgmask: number;
  time: number;
  size: number;
  dsize: number;
  ncg: number;
  bsize: number;
  fsize: number;
  frag: number;
  minfree: number;
  bshift: number;
  fshift: number;
  fragshift: number;
  fsbtodb: number;
  sbsize: number;
  nindir: number;
  inopb: number;
  nspf: number;
  optim: number;
  state: number;
  csaddr: number;
  cssize: number;
  cgsize: number;
  ntrak: number;
  nsect: number;
  spc: number;
  ncyl: number;
  cpg: number;
  ipg: number;
  fpg: number;
  cstotal: Csum4;
  clean: number;
  logbno: number;
  cpc: number;
  postblformat: number;
  nrpos: number;
  postbloff: number;
  magic: number;
}

/** struct csum: a group's (or the whole file system's) totals. */
export interface Csum4 {
  ndir: number;
  nbfree: number;
  nifree: number;
  nffree: number;
}

/** The four totals, in the order of struct csum. */
export const CSUM_KEYS = ['ndir', 'nbfree', 'nifree', 'nffree'] as const;

/** A struct csum at `off` of `b`. */
export function decodeCsum(b: Buffer, off: number): Csum4 {
  return {
    ndir: b.readInt32LE(off),
    nbfree: b.readInt32LE(off + 4),
    nifree: b.readInt32LE(off + 8),
    nffree: b.readInt32LE(off + 12),
  };
}

export function decodeFs(b: Buffer): Fs {
  const r = (off: number) => b.readInt32LE(off);
  return {
    sblkno: r(8),
    cblkno: r(12),
    iblkno: r(16),
    dblkno: r(20),
    cgoffset: r(24),
    cgmask: r(28),
    time: r(32),
    size: r(36),
    dsize: r(40),
    ncg: r(44),
    bsize: r(48),
    fsize: r(52),
    frag: r(56),
    minfree: r(60),
    bshift: r(80),
    fshift: r(84),
    fragshift: r(96),
    fsbtodb: r(100),
    sbsize: r(104),
    nindir: r(116),
    inopb: r(120),
    nspf: r(124),
    optim: r(128),
    state: r(132),
    csaddr: r(152),
    cssize: r(156),
    cgsize: r(160),
    ntrak: r(164),
    nsect: r(168),
    spc: r(172),
    ncyl: r(176),
    cpg: r(180),
    ipg: r(184),
    fpg: r(188),
    cstotal: decodeCsum(b, 192),
    clean: b[209],
    logbno: r(1324),
    cpc: r(856),
    postblformat: r(1356),
    nrpos: r(1360),
    postbloff: r(1364),
    magic: r(1372),
  };
}

/** Inode states after pass 1 (fsck.h's statemap, reduced to what this check tells apart). */
export const UNALLOCATED = 0;
export const FILE = 1;
export const DIR = 2;
export const BAD = 3;

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
  cgbase(c: number): number {
    return this.fs.fpg * c;
  }
  cgstart(c: number): number {
    return this.cgbase(c) + this.fs.cgoffset * (c & ~this.fs.cgmask);
  }
  cgsblock(c: number): number {
    return this.cgstart(c) + this.fs.sblkno;
  }
  cgtod(c: number): number {
    return this.cgstart(c) + this.fs.cblkno;
  }
  cgimin(c: number): number {
    return this.cgstart(c) + this.fs.iblkno;
  }
  cgdmin(c: number): number {
    return this.cgstart(c) + this.fs.dblkno;
  }
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
