/**
 * pass1.c: every inode of every group, in named parts: the reserved areas
 * claimed first (reserveMetadata), then each inode's allocation and type
 * (checkInode), and the blocks it holds (ckinode, checkBlocks). Unallocated
 * inodes must be all zero; allocated ones a known type, a size in range, no
 * blocks past their end, every block in range and claimed once, a block
 * count that matches, directories without holes.
 *
 * illumos's pass1b (which names every inode sharing a duplicate block) has
 * no part here: pass 1 counts each inode's DUP blocks as it claims them.
 */
import {
  decodeDinode,
  IFDIR,
  IFLNK,
  IFMT,
  IFREG,
  INODE_SIZE,
  MAX_FILE_SIZE,
  NDADDR,
  NIADDR,
  ROOTINO,
  type Dinode,
} from '../layout.js';
import { STATE, setBit, testBit, type Findings, type Image } from './image.js';
import { inRange, walkIndirect } from './inode.js';

/** What pass 1 learned about every inode. */
export interface Inodes {
  state: Uint8Array;
  nlink: Int32Array;
  /** References found in directories (pass 2), . and .. included. */
  refs: Int32Array;
  dinodes: Map<number, Dinode>;
  /** The fragments in use: metadata and every block an inode holds. */
  used: Uint8Array;
}

/** Marks `cnt` fragments at `blk` used; false when one of them already was (a DUP). */
function claim(inodes: Inodes, blk: number, cnt: number): boolean {
  for (let f = blk; f < blk + cnt; f++) {
    if (testBit(inodes.used, f)) return false;
    setBit(inodes.used, f);
  }
  return true;
}

export async function pass1(image: Image, findings: Findings): Promise<Inodes> {
  const { fs } = image;
  const maxino = fs.ncg * fs.ipg;
  const inodes: Inodes = {
    state: new Uint8Array(maxino),
    nlink: new Int32Array(maxino),
    refs: new Int32Array(maxino),
    dinodes: new Map(),
    used: new Uint8Array(Math.ceil(fs.size / 8)),
  };
  reserveMetadata(image, inodes);
  for (let c = 0; c < fs.ncg; c++) {
    const table = await image.read(image.cgimin(c), fs.ipg * INODE_SIZE);
    for (let i = 0; i < fs.ipg; i++) {
      const ino = c * fs.ipg + i;
      if (ino >= ROOTINO) await checkInode(image, table, i * INODE_SIZE, ino, inodes, findings);
    }
  }
  return inodes;
}

/** The reserved areas: boot block, superblock copies, cylinder groups, inodes, the summary. */
function reserveMetadata(image: Image, inodes: Inodes): void {
  const { fs } = image;
  for (let c = 0; c < fs.ncg; c++) {
    const from = c === 0 ? image.cgbase(0) : image.cgsblock(c);
    let to = image.cgdmin(c);
    if (c === 0) to += Math.ceil(fs.cssize / fs.fsize);
    claim(inodes, from, to - from);
  }
}

/** checkinode: one inode's allocation, type, links, size and blocks. */
async function checkInode(
  image: Image,
  table: Buffer,
  off: number,
  ino: number,
  inodes: Inodes,
  findings: Findings,
): Promise<void> {
  const d = decodeDinode(table, off);
  const fmt = d.mode & IFMT;
  const at = `I=${ino}`;
  if (fmt === 0) {
    if (d.mode !== 0 || d.size !== 0 || d.db.some((a) => a !== 0) || d.ib.some((a) => a !== 0))
      findings.add(`PARTIALLY ALLOCATED INODE ${at}`);
    return;
  }
  if (d.size > MAX_FILE_SIZE || d.size < 0) {
    findings.add(`NEGATIVE SIZE ${d.size} ${at}`);
    inodes.state[ino] = STATE.BAD;
    return;
  }
  if (fmt !== IFDIR && fmt !== IFREG && fmt !== IFLNK) {
    // illumos knows devices, fifos, sockets and ACL shadows too; this writer makes none.
    findings.add(`UNKNOWN FILE TYPE 0${d.mode.toString(8)} ${at}`);
    inodes.state[ino] = STATE.BAD;
    return;
  }
  const shadow = table.readInt32LE(off + 112);
  const xattr = table.readInt32LE(off + 124);
  if (shadow !== 0) findings.add(`BAD ACL REFERENCE ${at} (ic_shadow ${shadow})`);
  if (xattr !== 0) findings.add(`BAD ATTRIBUTE REFERENCE TO I=${xattr} FROM ${at}`);
  inodes.state[ino] = fmt === IFDIR ? STATE.DIR : STATE.FILE;
  inodes.nlink[ino] = d.nlink;
  if (d.nlink <= 0) findings.add(`ZERO LINK COUNT ${at}`);
  if (fmt === IFDIR) {
    inodes.dinodes.set(ino, d);
    if (d.size === 0) findings.add(`ZERO-LENGTH DIR ${at}`);
  }
  if (fmt === IFLNK) inodes.dinodes.set(ino, d);
  // No blocks past the end the size gives.
  const ndb = Math.ceil(d.size / image.fs.bsize);
  if (
    d.db.slice(Math.min(ndb, NDADDR)).some((a) => a !== 0) ||
    d.ib.slice(levelsNeeded(ndb, image.fs.nindir)).some((a) => a !== 0)
  )
    findings.add(`FILE WITH FRAGMENTS PAST END ${at}`);
  const held = await checkBlocks(image, d, inodes);
  if (held.bad > 0) findings.add(`${held.bad} BAD BLOCK${held.bad > 1 ? 'S' : ''} ${at}`);
  if (held.dup > 0) findings.add(`${held.dup} DUP BLOCK${held.dup > 1 ? 'S' : ''} ${at}`);
  if (fmt === IFDIR && held.firstHole >= 0)
    findings.add(`${at} DIRECTORY: CONTAINS EMPTY BLOCKS (block ${held.firstHole})`);
  const sectors = held.fragments * (image.fs.fsize / 512);
  if (d.blocks !== sectors)
    findings.add(`INCORRECT DISK BLOCK COUNT ${at} (${d.blocks} should be ${sectors})`);
  if (fmt === IFDIR && d.blocks === 0) findings.add(`DIR WITH ZERO BLOCKS ${at}`);
}

/** What ckinode found of an inode's blocks. */
interface Held {
  /** Fragments held (in range). */
  fragments: number;
  bad: number;
  dup: number;
  /** The first logical block that is a hole, or -1. */
  firstHole: number;
}

/** ckinode: every block, in range and claimed once; the fragments held. */
async function checkBlocks(image: Image, d: Dinode, inodes: Inodes): Promise<Held> {
  const { fs } = image;
  const held: Held = { fragments: 0, bad: 0, dup: 0, firstHole: -1 };
  const hole = (lbn: number) => {
    if (lbn >= 0 && held.firstHole < 0) held.firstHole = lbn;
  };
  const visit = (blk: number, cnt: number) => {
    if (!inRange(image, blk, cnt)) {
      held.bad++;
      return false;
    }
    if (!claim(inodes, blk, cnt)) held.dup++;
    held.fragments += cnt;
    return true;
  };
  let ndb = Math.ceil(d.size / fs.bsize);
  for (let lbn = 0; lbn < Math.min(ndb, NDADDR); lbn++) {
    const addr = d.db[lbn];
    if (addr === 0) {
      hole(lbn);
      continue;
    }
    const last = lbn === ndb - 1 && ndb <= NDADDR;
    visit(addr, last ? Math.ceil((d.size - lbn * fs.bsize) / fs.fsize) : fs.frag);
  }
  ndb -= NDADDR;
  let span = 1;
  let lbnBase = NDADDR;
  for (let level = 0; level < NIADDR && ndb > 0; level++) {
    span *= fs.nindir;
    const addr = d.ib[level];
    if (addr === 0) hole(lbnBase);
    else if (visit(addr, fs.frag))
      hole(await walkIndirect(image, addr, level, Math.min(ndb, span), lbnBase, visit));
    ndb -= span;
    lbnBase += span;
  }
  return held;
}

/** How many of the indirect pointers a file of `ndb` blocks uses (pass1's loop). */
function levelsNeeded(ndb: number, nindir: number): number {
  let j = 0;
  for (let n = ndb - NDADDR; n > 0; j++) n = Math.floor(n / nindir);
  return Math.min(j, NIADDR);
}
