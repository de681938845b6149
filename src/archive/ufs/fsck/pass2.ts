/**
 * pass2.c and dir.c: every directory's entries. Each entry inside its
 * 512-byte chunk, a record length that is a multiple of 4 and at least the
 * entry's size, a name without NUL or '/' that ends in a NUL, an inode
 * number in range and allocated; `.` first and naming itself, `..` second;
 * a directory named by one entry only.
 */
import {
  DIRBLKSIZ,
  direntSize,
  MAXNAMLEN,
  readDirentHeader,
  ROOTINO,
  type Dinode,
} from '../layout.js';
import { STATE, type Findings, type Image } from './image.js';
import { blockOf, inRange } from './inode.js';
import type { Inodes } from './pass1.js';

/** Directory structure found in pass 2: each directory's parent by its `..`, and by the entries naming it. */
export interface Dirs {
  dotdot: Map<number, number>;
  parent: Map<number, number>;
}

export async function pass2(image: Image, inodes: Inodes, findings: Findings): Promise<Dirs> {
  const { fs } = image;
  const maxino = fs.ncg * fs.ipg;
  const dirs: Dirs = { dotdot: new Map(), parent: new Map() };
  if (inodes.state[ROOTINO] !== STATE.DIR) {
    findings.add(
      inodes.state[ROOTINO] === STATE.UNALLOCATED
        ? 'ROOT INODE UNALLOCATED'
        : 'ROOT INODE NOT DIRECTORY',
    );
    return dirs;
  }
  for (let ino = ROOTINO; ino < maxino; ino++) {
    if (inodes.state[ino] !== STATE.DIR) continue;
    const d = inodes.dinodes.get(ino)!;
    const at = `DIRECTORY I=${ino}`;
    if (d.size % DIRBLKSIZ !== 0)
      findings.add(`${at}: LENGTH ${d.size} NOT MULTIPLE OF ${DIRBLKSIZ}`);
    const data = await directoryContent(image, d);
    checkEntries(data, ino, { maxino, inodes, dirs, findings });
  }
  return dirs;
}

/** What pass 2 reads and writes as it goes through the directories. */
interface Pass2 {
  maxino: number;
  inodes: Inodes;
  dirs: Dirs;
  findings: Findings;
}

/** One directory's entries, in order (dirscan and pass2check). */
function checkEntries(data: Buffer, ino: number, pass: Pass2): void {
  const { dirs, findings } = pass;
  const at = `DIRECTORY I=${ino}`;
  let loc = 0;
  let index = 0;
  while (loc + 8 <= data.length) {
    const { ino: child, reclen, namlen } = readDirentHeader(data, loc);
    const spaceleft = DIRBLKSIZ - (loc % DIRBLKSIZ);
    const problem = entryProblem(data, loc, {
      child,
      reclen,
      namlen,
      spaceleft,
      maxino: pass.maxino,
    });
    if (problem) {
      findings.add(`${at}: DIRECTORY CORRUPTED at offset ${loc} (${problem})`);
      // fsck skips the rest of the chunk.
      loc += spaceleft;
      index++;
      continue;
    }
    const name = data.toString('latin1', loc + 8, loc + 8 + namlen);
    if (index === 0) {
      if (child === 0 || name !== '.') findings.add(`MISSING '.' ${at}`);
      else if (child !== ino) findings.add(`BAD INODE NUMBER FOR '.' ${at} (${child})`);
    } else if (index === 1) {
      if (child === 0 || name !== '..') findings.add(`MISSING '..' ${at}`);
      else dirs.dotdot.set(ino, child);
    } else if (child !== 0 && (name === '.' || name === '..')) {
      findings.add(`EXTRA '${name}' ENTRY ${at}`);
    }
    if (child !== 0) countReference(pass, { at, name, child, index, parent: ino });
    loc += reclen;
    index++;
  }
}

/** An entry naming `child`: counted for pass 4, a directory's parent noted for pass 3. */
function countReference(
  { inodes, dirs, findings }: Pass2,
  entry: { at: string; name: string; child: number; index: number; parent: number },
): void {
  const { at, name, child } = entry;
  const state = inodes.state[child];
  if (state === STATE.UNALLOCATED || state === STATE.BAD) {
    const what = state === STATE.BAD ? 'BAD' : 'UNALLOCATED';
    findings.add(`${at}: ENTRY '${name}' NAMES ${what} I=${child}`);
    return;
  }
  inodes.refs[child]++;
  if (entry.index < 2 || state !== STATE.DIR) return;
  if (dirs.parent.has(child))
    findings.add(`${at}: ENTRY '${name}' IS AN EXTRA HARD LINK TO DIRECTORY I=${child}`);
  else dirs.parent.set(child, entry.parent);
}

interface EntryHeader {
  child: number;
  reclen: number;
  namlen: number;
  spaceleft: number;
  maxino: number;
}

/** dircheck: what is wrong with the entry at `loc`, or undefined. */
function entryProblem(data: Buffer, loc: number, e: EntryHeader): string | undefined {
  const size = direntSize(e.namlen);
  if (e.child >= e.maxino) return `inode ${e.child} out of range`;
  if (e.reclen === 0) return 'record length 0';
  if (e.reclen > e.spaceleft)
    return `record length ${e.reclen} crosses its ${DIRBLKSIZ}-byte chunk`;
  if (e.reclen % 4 !== 0) return `record length ${e.reclen} not a multiple of 4`;
  if (e.child === 0) return undefined;
  if (e.reclen < size) return `record length ${e.reclen} less than the entry's ${size}`;
  if (data.length - loc < size) return 'the entry runs past the directory';
  if (e.namlen > MAXNAMLEN) return `name length ${e.namlen}`;
  return nameProblem(data, loc + 8, e.namlen);
}

function nameProblem(data: Buffer, at: number, namlen: number): string | undefined {
  if (namlen === 0) return 'empty name';
  for (let i = 0; i < namlen; i++) {
    if (data[at + i] === 0) return 'a NUL inside the name';
    if (data[at + i] === 0x2f) return "a '/' in the name";
  }
  if (data[at + namlen] !== 0) return 'the name does not end in a NUL';
  return undefined;
}

/** A directory's content as pass 2 reads it (holes end it: pass 1 reported them). */
async function directoryContent(image: Image, d: Dinode): Promise<Buffer> {
  const { fs } = image;
  const parts: Buffer[] = [];
  const nblk = Math.ceil(d.size / fs.bsize);
  for (let lbn = 0; lbn < nblk; lbn++) {
    const addr = await blockOf(image, d, lbn);
    const bytes = Math.min(fs.bsize, d.size - lbn * fs.bsize);
    if (addr === 0 || !inRange(image, addr, Math.ceil(bytes / fs.fsize))) break;
    parts.push(await image.read(addr, bytes));
  }
  return Buffer.concat(parts);
}
