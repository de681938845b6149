/**
 * pass5.c and utilities.c cg_sanity: every cylinder group's header (magic,
 * number, cylinders, inodes, fragments, rotors, map offsets), its maps
 * against what passes 1-4 found, its summaries (and the summary area's copy)
 * recomputed, the free-run counts and per-cylinder block totals recomputed,
 * and the superblock's totals. In named parts: the header (cgSanity), the
 * inode map (checkInodeMap), the free map and what is counted from it
 * (countFreeMap, checkFreeTables), the group's summaries (checkSummaries).
 */
import { CSUM_KEYS, readCsum, ROOTINO, type Csum } from '../layout.js';
import { STATE, CG_BASE, testBit, type Findings, type Image } from './image.js';
import type { Inodes } from './pass1.js';
import { cgLayout, cgSanity, decodeCgHeader, type CgHeader, type CgLayout } from './utilities.js';

export async function pass5(image: Image, inodes: Inodes, findings: Findings): Promise<void> {
  const { fs } = image;
  const total: Csum = { ndir: 0, nbfree: 0, nifree: 0, nffree: 0 };
  const area = await image.read(fs.csaddr, fs.cssize);
  const layout = cgLayout(fs, CG_BASE);
  let ncylTotal = 0;
  for (let c = 0; c < fs.ncg; c++) {
    const group = await checkGroup(image, c, layout, inodes, findings);
    ncylTotal += group.header.ncyl;
    checkSummaries(`CG ${c}`, group.header, readCsum(area, 16 * c), group.want, findings);
    for (const key of CSUM_KEYS) total[key] += group.want[key];
  }
  if (ncylTotal !== fs.ncyl)
    findings.add(`the groups hold ${ncylTotal} cylinders, the superblock says ${fs.ncyl}`);
  for (const key of CSUM_KEYS)
    if (fs.cstotal[key] !== total[key])
      findings.add(`CORRECT GLOBAL SUMMARY: cs_${key} ${fs.cstotal[key]} should be ${total[key]}`);
}

/** One group: its header, then its maps (read where the expected offsets put them). */
async function checkGroup(
  image: Image,
  c: number,
  layout: CgLayout,
  inodes: Inodes,
  findings: Findings,
): Promise<{ header: CgHeader; want: Csum }> {
  const { fs } = image;
  const cg = await image.read(image.cgtod(c), fs.cgsize);
  const at = `CG ${c}`;
  const ndblk = Math.min(fs.size, image.cgbase(c) + fs.fpg) - image.cgbase(c);
  const header = decodeCgHeader(cg);
  for (const s of cgSanity(header, { fs, cgx: c, ndblk, layout })) findings.add(`${at}: ${s}`);
  const want = checkInodeMap(image, c, cg, layout, inodes, findings);
  const free = countFreeMap(image, c, cg, ndblk, layout, inodes);
  if (free.mismatch > 0)
    findings.add(
      `${at}: FRAG BITMAP WRONG (${free.mismatch} fragment${free.mismatch > 1 ? 's' : ''})`,
    );
  checkFreeTables(at, cg, layout, free, image, findings);
  want.nbfree = free.nbfree;
  want.nffree = free.nffree;
  return { header, want };
}

/** The inode map and the inode counts, from pass 1's states. */
function checkInodeMap(
  image: Image,
  c: number,
  cg: Buffer,
  layout: CgLayout,
  inodes: Inodes,
  findings: Findings,
): Csum {
  const { fs } = image;
  const want = { ndir: 0, nbfree: 0, nifree: fs.ipg, nffree: 0 };
  let mismatch = 0;
  for (let i = 0; i < fs.ipg; i++) {
    const ino = c * fs.ipg + i;
    const state = inodes.state[ino];
    const inUse = ino < ROOTINO || state !== STATE.UNALLOCATED;
    if (inUse) want.nifree--;
    if (state === STATE.DIR) want.ndir++;
    if (testBit(cg, layout.iusedoff * 8 + i) !== inUse) mismatch++;
  }
  if (mismatch > 0)
    findings.add(`CG ${c}: FILE BITMAP WRONG (${mismatch} inode${mismatch > 1 ? 's' : ''})`);
  return want;
}

/** What the free map should say, counted from the fragments passes 1-4 found in use. */
interface FreeCounts {
  /** Fragments whose bit in the group's free map is wrong. */
  mismatch: number;
  /** Free runs by length (cg_frsum). */
  frsum: number[];
  /** Free blocks by cylinder (cg_btot). */
  btot: number[];
  /** Free blocks by cylinder and rotational position (cg_b). */
  blks: number[];
  /** Whole free blocks, and free fragments in blocks partly used (cs_nbfree, cs_nffree). */
  nbfree: number;
  nffree: number;
}

/** The free map, the free runs, the free blocks per cylinder and rotational position. */
function countFreeMap(
  image: Image,
  c: number,
  cg: Buffer,
  ndblk: number,
  layout: CgLayout,
  inodes: Inodes,
): FreeCounts {
  const { fs } = image;
  const counts: FreeCounts = {
    mismatch: 0,
    frsum: new Array<number>(fs.frag).fill(0),
    btot: new Array<number>(fs.cpg).fill(0),
    blks: new Array<number>(fs.cpg * fs.nrpos).fill(0),
    nbfree: 0,
    nffree: 0,
  };
  const fpc = fs.spc / fs.nspf;
  const mapBit = layout.freeoff * 8;
  for (let b = 0; b < ndblk; b += fs.frag) {
    let free = 0;
    let run = 0;
    for (let f = b; f < b + fs.frag; f++) {
      const isFree = !testBit(inodes.used, image.cgbase(c) + f);
      if (testBit(cg, mapBit + f) !== isFree) counts.mismatch++;
      if (isFree) {
        free++;
        run++;
      } else if (run > 0) {
        counts.frsum[run]++;
        run = 0;
      }
    }
    if (free === fs.frag) {
      counts.nbfree++;
      const cyl = Math.floor(b / fpc);
      counts.btot[cyl]++;
      counts.blks[cyl * fs.nrpos + Math.floor(((b % fpc) * fs.nspf * fs.nrpos) / fs.spc)]++;
    } else {
      if (run > 0) counts.frsum[run]++;
      counts.nffree += free;
    }
  }
  // Past the end of a short last group nothing is free.
  for (let f = ndblk; f < fs.fpg; f++) if (testBit(cg, mapBit + f)) counts.mismatch++;
  return counts;
}

/** cg_frsum, cg_btot and cg_b against what the free map gives. */
function checkFreeTables(
  at: string,
  cg: Buffer,
  layout: CgLayout,
  free: FreeCounts,
  image: Image,
  findings: Findings,
): void {
  const { fs } = image;
  for (let r = 1; r < fs.frag; r++) {
    const got = cg.readInt32LE(52 + 4 * r);
    if (got !== free.frsum[r])
      findings.add(
        `${at}: cg_frsum[${r}] is ${got}, the free map has ${free.frsum[r]} runs of ${r}`,
      );
  }
  for (let y = 0; y < fs.cpg; y++) {
    const got = cg.readInt32LE(layout.btotoff + 4 * y);
    if (got !== free.btot[y])
      findings.add(
        `${at}: cg_btot[${y}] is ${got}, the free map has ${free.btot[y]} free blocks in cylinder ${y}`,
      );
  }
  let blksMismatch = 0;
  for (let k = 0; k < fs.cpg * fs.nrpos; k++)
    if (cg.readInt16LE(layout.boff + 2 * k) !== free.blks[k]) blksMismatch++;
  if (blksMismatch > 0)
    findings.add(`${at}: cg_b disagrees with the free map on ${blksMismatch} rotational positions`);
}

/** The group's own summary and the summary area's copy of it, against the counts. */
function checkSummaries(
  at: string,
  header: CgHeader,
  fromArea: Csum,
  want: Csum,
  findings: Findings,
): void {
  for (const key of CSUM_KEYS) {
    if (header.cs[key] !== want[key])
      findings.add(`${at}: BAD CG SUMMARY: cs_${key} ${header.cs[key]} should be ${want[key]}`);
    if (fromArea[key] !== want[key])
      findings.add(
        `${at}: BAD SUMMARY INFORMATION: cs_${key} ${fromArea[key]} should be ${want[key]}`,
      );
  }
}
