/**
 * utilities.c cg_sanity: a cylinder group header's rules, as a table. Each
 * rule names what is wrong in the words of illumos's message; pass 5 reports
 * every rule a group breaks, then reads the maps where the expected offsets
 * put them.
 */
import { CG_MAGIC, readCsum, type Csum } from '../layout.js';
import type { Fs } from './image.js';

/** Where a group's tables must start, from the superblock (pass5's newcg). */
export interface CgLayout {
  btotoff: number;
  boff: number;
  iusedoff: number;
  freeoff: number;
  nextfreeoff: number;
}

/** The fields of struct cg the check reads: the header, and where its tables start. */
export interface CgHeader extends CgLayout {
  magic: number;
  cgx: number;
  ncyl: number;
  niblk: number;
  ndblk: number;
  cs: Csum;
  rotor: number;
  frotor: number;
  irotor: number;
}

export function decodeCgHeader(cg: Buffer): CgHeader {
  return {
    magic: cg.readInt32LE(4),
    cgx: cg.readInt32LE(12),
    ncyl: cg.readInt16LE(16),
    niblk: cg.readInt16LE(18),
    ndblk: cg.readInt32LE(20),
    cs: readCsum(cg, 24),
    rotor: cg.readInt32LE(40),
    frotor: cg.readInt32LE(44),
    irotor: cg.readInt32LE(48),
    btotoff: cg.readInt32LE(84),
    boff: cg.readInt32LE(88),
    iusedoff: cg.readInt32LE(92),
    freeoff: cg.readInt32LE(96),
    nextfreeoff: cg.readInt32LE(100),
  };
}

export function cgLayout(fs: Fs, cgBase: number): CgLayout {
  const btotoff = cgBase;
  const boff = btotoff + fs.cpg * 4;
  const iusedoff = boff + fs.cpg * fs.nrpos * 2;
  const freeoff = iusedoff + Math.ceil(fs.ipg / 8);
  const nextfreeoff = freeoff + Math.ceil((fs.cpg * fs.spc) / fs.nspf / 8);
  return { btotoff, boff, iusedoff, freeoff, nextfreeoff };
}

/** What a group's header is checked against: its number, its data fragments, the layout. */
export interface CgExpected {
  fs: Fs;
  cgx: number;
  ndblk: number;
  layout: CgLayout;
}

/** One rule: `broken` when the header breaks it, `says` what illumos says then. */
interface CgRule {
  broken: (h: CgHeader, want: CgExpected) => boolean;
  says: (h: CgHeader, want: CgExpected) => string;
}

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** cg_sanity's rules, in its order. */
const CG_RULES: readonly CgRule[] = [
  {
    broken: (h) => h.magic !== CG_MAGIC,
    says: (h) => `BAD CG MAGIC NUMBER (${hex(h.magic)} should be ${hex(CG_MAGIC)})`,
  },
  {
    broken: (h, w) => h.cgx !== w.cgx,
    says: (h, w) => `WRONG CG NUMBER (${h.cgx} should be ${w.cgx})`,
  },
  {
    broken: (h) => (h.btotoff & 3) !== 0,
    says: (h) => `BLOCK TOTALS OFFSET ${h.btotoff} NOT FOUR-BYTE ALIGNED`,
  },
  {
    broken: (h) => (h.boff & 1) !== 0,
    says: (h) => `FREE BLOCK POSITIONS TABLE OFFSET ${h.boff} NOT TWO-BYTE ALIGNED`,
  },
  {
    broken: (h, w) => h.ncyl < 1 || h.ncyl > w.fs.cpg,
    says: (h, w) =>
      `IMPOSSIBLE NUMBER OF CYLINDERS IN GROUP (${h.ncyl}, should be 1 to ${w.fs.cpg})`,
  },
  {
    broken: (h, w) => h.niblk !== w.fs.ipg,
    says: (h, w) => `INCORRECT NUMBER OF INODES IN GROUP (${h.niblk} should be ${w.fs.ipg})`,
  },
  {
    broken: (h, w) => h.ndblk !== w.ndblk,
    says: (h, w) => `INCORRECT NUMBER OF DATA BLOCKS IN GROUP (${h.ndblk} should be ${w.ndblk})`,
  },
  {
    broken: (h, w) => h.rotor < 0 || h.rotor >= w.ndblk,
    says: (h) => `IMPOSSIBLE BLOCK ALLOCATION ROTOR POSITION (${h.rotor})`,
  },
  {
    broken: (h, w) => h.frotor < 0 || h.frotor >= w.ndblk,
    says: (h) => `IMPOSSIBLE FRAGMENT ALLOCATION ROTOR POSITION (${h.frotor})`,
  },
  {
    broken: (h, w) => h.irotor < 0 || h.irotor >= w.fs.ipg,
    says: (h) => `IMPOSSIBLE INODE ALLOCATION ROTOR POSITION (${h.irotor})`,
  },
  offsetRule('btotoff', 'INCORRECT BLOCK TOTALS OFFSET'),
  offsetRule('boff', 'BAD FREE BLOCK POSITIONS TABLE OFFSET'),
  offsetRule('iusedoff', 'INCORRECT USED INODE MAP OFFSET'),
  offsetRule('freeoff', 'INCORRECT FREE FRAGMENT MAP OFFSET'),
  offsetRule('nextfreeoff', 'END OF HEADER POSITION INCORRECT'),
];

/** A table offset of the header that must be where the layout puts it. */
function offsetRule(field: keyof CgLayout, words: string): CgRule {
  return {
    broken: (h, w) => h[field] !== w.layout[field],
    says: (h, w) => `${words} (${h[field]} should be ${w.layout[field]})`,
  };
}

/** cg_sanity: what is wrong with a group's header, every rule it breaks. */
export function cgSanity(h: CgHeader, want: CgExpected): string[] {
  return CG_RULES.filter((rule) => rule.broken(h, want)).map((rule) => rule.says(h, want));
}
