/**
 * A read-only file system check of an illumos UFS image by the rules of
 * illumos's own `fsck -n -F ufs` (its setup, pass 1 to pass 5), written for
 * this project from those rules; docs/ufs.md lists what is checked. It
 * trusts nothing: the superblock is range-checked before any of it is used,
 * every block address before it is read.
 *
 * `fsckUfs(image)` returns the findings as sentences (none when the image is
 * clean). The words of illumos's messages are kept where it has one
 * ("INCORRECT NUMBER OF INODES IN GROUP (5 should be 320)"), so a finding
 * can be looked up in illumos's sources and in what `fsck -n` would print.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { describeError, UserError } from '../../util/errors.js';
import {
  CG_MAGIC,
  decodeDinode,
  DIRBLKSIZ,
  direntSize,
  FS_DYNAMICPOSTBLFMT,
  FS_MAGIC,
  FSCLEAN,
  FSOKAY,
  IFDIR,
  IFLNK,
  IFMT,
  IFREG,
  INODE_SIZE,
  MAX_FILE_SIZE,
  MAXNAMLEN,
  NDADDR,
  NIADDR,
  ROOTINO,
  SBLOCK_OFFSET,
  type Dinode,
} from './layout.js';

/** illumos's SBSIZE: the most a superblock may take (fs_sbsize is at most this). */
const SB_MAX = 8192;
/** MAXBSIZE */
const MAX_BSIZE = 8192;
/** FSSTABLE: the other state illumos takes as clean. */
const FSSTABLE = 3;
const FS_OPTTIME = 0;
const FS_OPTSPACE = 1;
/** sizeof (struct cg) up to cg_space: where the per-cylinder tables start. */
const CG_BASE = 168;
/** Findings kept: a badly broken image says enough long before this. */
const MAX_FINDINGS = 200;

/** The superblock fields the check uses, each range-checked in `checkSuperblock`. */
interface Fs {
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

interface Csum4 {
  ndir: number;
  nbfree: number;
  nifree: number;
  nffree: number;
}

function decodeFs(b: Buffer): Fs {
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
    cstotal: { ndir: r(192), nbfree: r(196), nifree: r(200), nffree: r(204) },
    clean: b[209],
    logbno: r(1324),
    cpc: r(856),
    postblformat: r(1356),
    nrpos: r(1360),
    postbloff: r(1364),
    magic: r(1372),
  };
}

/**
 * The byte ranges of struct fs that fsck lets differ between the superblock
 * and its backup (setup.c copies them over before comparing): the times,
 * the state and clean flags, the totals, the tunables, the mount point.
 */
const BACKUP_MAY_DIFFER: readonly [number, number][] = [
  [0, 8], // fs_link, fs_rolled
  [32, 36], // fs_time
  [60, 68], // fs_minfree, fs_rotdelay
  [88, 96], // fs_maxcontig, fs_maxbpg
  [100, 104], // fs_fsbtodb
  [128, 140], // fs_optim, fs_state, fs_si
  [192, 212], // fs_cstotal, fs_fmod, fs_clean, fs_ronly, fs_flags
  [212, 856], // fs_fsmnt, fs_cgrotor, fs_u
  [1324, 1332], // fs_logbno, fs_reclaim
  [1336, 1340], // fs_npsect
  [1360, 1364], // fs_nrpos
];

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
const log2 = (n: number) => Math.round(Math.log2(n));

/** Inode states after pass 1. */
const UNALLOCATED = 0;
const FILE = 1;
const DIR = 2;
const BAD = 3;

class Findings {
  readonly list: string[] = [];
  add(finding: string): void {
    if (this.list.length < MAX_FINDINGS) this.list.push(finding);
    else if (this.list.length === MAX_FINDINGS) this.list.push('(more findings left out)');
  }
}

/** An open image and its checked superblock. */
class Image {
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

/**
 * Checks the image at `path` as illumos's `fsck -n` would; returns the
 * findings (empty: clean). An image that cannot be opened, or whose
 * superblock is unusable, is one finding naming what is wrong; I/O errors
 * are UserErrors naming the image.
 */
export async function fsckUfs(path: string): Promise<string[]> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new UserError(`${path}: cannot open the UFS image: ${describeError(err)}`);
  }
  const findings = new Findings();
  try {
    const image = await setup(fh, path, findings);
    if (!image) return findings.list;
    const inodes = await pass1(image, findings);
    const dirs = await pass2(image, inodes, findings);
    pass3(inodes, dirs, findings);
    pass4(inodes, findings);
    await pass5(image, inodes, findings);
    return findings.list;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path}: cannot check the UFS image: ${describeError(err)}`);
  } finally {
    await fh.close();
  }
}

/**
 * setup.c: read_super_block, checksb (the ranges, the backup superblock
 * compare), fixup_superblock (optimization, minfree), the clean state, and
 * the geometry the rest of the check computes addresses from. Returns
 * undefined when the superblock cannot be trusted (the findings say why).
 */
async function setup(fh: FileHandle, path: string, findings: Findings): Promise<Image | undefined> {
  const fileSize = (await fh.stat()).size;
  const raw = Buffer.alloc(SB_MAX);
  await fh.read(raw, 0, SB_MAX, SBLOCK_OFFSET);
  const fs = decodeFs(raw);
  const bad = (why: string) => {
    findings.add(`BAD SUPERBLOCK AT BLOCK 16: ${why}`);
    return undefined;
  };
  if (fileSize < SBLOCK_OFFSET + SB_MAX / 4) return bad(`the image is only ${fileSize} bytes`);
  if (fs.magic !== FS_MAGIC) return bad('MAGIC NUMBER WRONG');
  if (fs.ncg < 1) return bad('NCG OUT OF RANGE');
  if (fs.cpg < 1) return bad('CPG OUT OF RANGE');
  if (fs.ncg * fs.cpg < fs.ncyl || (fs.ncg - 1) * fs.cpg >= fs.ncyl)
    return bad('NCYL IS INCONSISTENT WITH NCG*CPG');
  if (fs.sbsize < 0 || fs.sbsize > SB_MAX) return bad('SIZE OUT OF RANGE');
  if (fs.cstotal.ndir < 1 || fs.cstotal.ndir > fs.ncg * fs.ipg)
    return bad('NUMBER OF DIRECTORIES OUT OF RANGE');
  if (
    fs.nrpos <= 0 ||
    fs.postbloff < 0 ||
    fs.cpc < 0 ||
    fs.postbloff + fs.nrpos * fs.cpc * 2 > fs.sbsize
  )
    return bad('ROTATIONAL POSITION TABLE SIZE OUT OF RANGE');
  if (!isPow2(fs.bsize) || !isPow2(fs.fsize) || fs.fsize < 512 || fs.bsize < 4096)
    return bad(`block size ${fs.bsize} / fragment size ${fs.fsize} not supported`);
  if (fs.cssize !== Math.ceil((fs.ncg * 16) / fs.fsize) * fs.fsize)
    return bad('SIZE OF CYLINDER GROUP SUMMARY AREA WRONG');
  if (fs.inopb !== fs.bsize / INODE_SIZE) return bad('INOPB NONSENSICAL RELATIVE TO BSIZE');
  if (fs.bsize > MAX_BSIZE) return bad('BLOCK SIZE LARGER THAN MAXIMUM SUPPORTED');
  if (fs.bsize !== fs.frag * fs.fsize) return bad('FRAGS PER BLOCK OR FRAG SIZE WRONG');
  if (fs.dsize >= fs.size) return bad('NUMBER OF DATA BLOCKS OUT OF RANGE');
  const maxIpg = Math.ceil(Math.floor((fs.bsize * 8) / 3) / fs.inopb) * fs.inopb;
  if (fs.ipg <= 0 || fs.ipg > maxIpg) return bad(`INODES PER GROUP OUT OF RANGE (${fs.ipg}, at most ${maxIpg})`); // prettier-ignore
  if (fs.cgsize > fs.bsize) return bad('CG HEADER LARGER THAN ONE BLOCK');

  // What the kernel and the boot-time reader compute addresses from without checking.
  const derived: [string, number, number][] = [
    ['fs_bshift', fs.bshift, log2(fs.bsize)],
    ['fs_fshift', fs.fshift, log2(fs.fsize)],
    ['fs_fragshift', fs.fragshift, log2(fs.frag)],
    ['fs_fsbtodb', fs.fsbtodb, log2(fs.fsize / 512)],
    ['fs_nspf', fs.nspf, fs.fsize / 512],
    ['fs_nindir', fs.nindir, fs.bsize / 4],
    ['fs_spc', fs.spc, fs.ntrak * fs.nsect],
    ['fs_fpg', fs.fpg, (fs.cpg * fs.spc) / Math.max(1, fs.nspf)],
  ];
  for (const [name, got, want] of derived)
    if (got !== want) return bad(`${name} is ${got}, the geometry gives ${want}`);
  if (fs.size > fs.ncg * fs.fpg || fs.size <= (fs.ncg - 1) * fs.fpg)
    return bad(`fs_size ${fs.size} does not fit ${fs.ncg} groups of ${fs.fpg} fragments`);
  if (!(fs.sblkno < fs.cblkno && fs.cblkno < fs.iblkno && fs.iblkno < fs.dblkno))
    return bad('the metadata offsets (sblkno, cblkno, iblkno, dblkno) are out of order');
  if (fs.iblkno + (fs.ipg * INODE_SIZE) / fs.fsize !== fs.dblkno)
    return bad(`fs_dblkno ${fs.dblkno} is not right after the inode blocks`);
  const cgsize = CG_BASE + fs.cpg * 4 + fs.cpg * fs.nrpos * 2 + Math.ceil(fs.ipg / 8) + Math.ceil(fs.fpg / 8); // prettier-ignore
  if (fs.cgsize !== Math.ceil(cgsize / fs.fsize) * fs.fsize)
    return bad(`fs_cgsize ${fs.cgsize}, the maps take ${cgsize} bytes`);
  if (fileSize < fs.size * fs.fsize)
    return bad(`the image is ${fileSize} bytes, the file system needs ${fs.size * fs.fsize}`);
  const image = new Image(fh, path, fs, fileSize);

  // checksb: the whole superblock against the backup in the last group.
  const backup = await image.read(image.cgsblock(fs.ncg - 1), fs.sbsize);
  const primary = Buffer.from(raw.subarray(0, fs.sbsize));
  for (const [from, to] of BACKUP_MAY_DIFFER) {
    if (from >= fs.sbsize) continue;
    primary.copy(backup, from, from, Math.min(to, fs.sbsize));
  }
  if (!primary.equals(backup)) {
    let at = 0;
    while (primary[at] === backup[at]) at++;
    findings.add(`BAD SUPERBLOCK AT BLOCK 16: BAD VALUES IN SUPER BLOCK (the backup in group ${fs.ncg - 1} differs at byte ${at})`); // prettier-ignore
  }
  // fixup_superblock
  if (fs.optim !== FS_OPTTIME && fs.optim !== FS_OPTSPACE)
    findings.add('UNDEFINED OPTIMIZATION IN SUPERBLOCK');
  if (fs.minfree < 0 || fs.minfree > 99) findings.add(`IMPOSSIBLE MINFREE=${fs.minfree} IN SUPERBLOCK`); // prettier-ignore
  if (fs.postblformat !== FS_DYNAMICPOSTBLFMT)
    findings.add(`UNSUPPORTED ROTATIONAL TABLE FORMAT ${fs.postblformat}`);
  // A clean file system: what lets illumos (and fsck -m, fsck -p) mount it without a check.
  if (((fs.state + fs.time) | 0) !== (FSOKAY | 0))
    findings.add('the superblock is not marked okay (fs_state + fs_time is not FSOKAY)');
  if (fs.clean !== FSCLEAN && fs.clean !== FSSTABLE)
    findings.add(`the superblock is not marked clean (fs_clean ${fs.clean})`);
  if (fs.logbno !== 0) findings.add(`fs_logbno ${fs.logbno}: a UFS log this check does not roll`);
  // getsummaryinfo, and pass1's reserved area: the summary right after group 0's inodes.
  if (fs.csaddr !== image.cgdmin(0))
    findings.add(`BAD SUMMARY INFORMATION: fs_csaddr ${fs.csaddr} is not group 0's first data fragment ${image.cgdmin(0)}`); // prettier-ignore
  return image;
}

/** What pass 1 learned about every inode. */
interface Inodes {
  state: Uint8Array;
  nlink: Int32Array;
  /** References found in directories (pass 2), . and .. included. */
  refs: Int32Array;
  dinodes: Map<number, Dinode>;
  /** The fragments in use: metadata and every block an inode holds. */
  used: Uint8Array;
}

function testBit(map: Uint8Array, i: number): boolean {
  return (map[i >> 3] & (1 << (i & 7))) !== 0;
}
function setBit(map: Uint8Array, i: number): void {
  map[i >> 3] |= 1 << (i & 7);
}

/** chkrange: a run of `cnt` fragments at `blk` that lies inside one block of one group's data. */
function inRange(image: Image, blk: number, cnt: number): boolean {
  const { fs } = image;
  if (cnt <= 0 || blk <= 0 || blk >= fs.size || cnt - 1 > fs.size - blk) return false;
  if (cnt > fs.frag || (blk % fs.frag) + cnt > fs.frag) return false;
  const c = Math.floor(blk / fs.fpg);
  if (blk < image.cgdmin(c)) return blk + cnt <= image.cgsblock(c);
  return blk + cnt <= image.cgbase(c + 1);
}

/**
 * pass1.c: every inode of every group. Unallocated ones must be all zero;
 * allocated ones a known type, a size in range, no blocks past their end,
 * every block in range and claimed once, a block count that matches,
 * directories without holes.
 */
async function pass1(image: Image, findings: Findings): Promise<Inodes> {
  const { fs } = image;
  const maxino = fs.ncg * fs.ipg;
  const inodes: Inodes = {
    state: new Uint8Array(maxino),
    nlink: new Int32Array(maxino),
    refs: new Int32Array(maxino),
    dinodes: new Map(),
    used: new Uint8Array(Math.ceil(fs.size / 8)),
  };
  const claim = (blk: number, cnt: number) => {
    for (let f = blk; f < blk + cnt; f++) {
      if (testBit(inodes.used, f)) return false;
      setBit(inodes.used, f);
    }
    return true;
  };
  // The reserved areas: boot block, superblock copies, cylinder groups, inodes, the summary.
  for (let c = 0; c < fs.ncg; c++) {
    const from = c === 0 ? image.cgbase(0) : image.cgsblock(c);
    let to = image.cgdmin(c);
    if (c === 0) to += Math.ceil(fs.cssize / fs.fsize);
    claim(from, to - from);
  }
  for (let c = 0; c < fs.ncg; c++) {
    const table = await image.read(image.cgimin(c), fs.ipg * INODE_SIZE);
    for (let i = 0; i < fs.ipg; i++) {
      const ino = c * fs.ipg + i;
      if (ino < ROOTINO) continue;
      const off = i * INODE_SIZE;
      const d = decodeDinode(table, off);
      const fmt = d.mode & IFMT;
      const at = `I=${ino}`;
      if (fmt === 0) {
        if (d.mode !== 0 || d.size !== 0 || d.db.some((a) => a !== 0) || d.ib.some((a) => a !== 0))
          findings.add(`PARTIALLY ALLOCATED INODE ${at}`);
        continue;
      }
      if (d.size > MAX_FILE_SIZE || d.size < 0) {
        findings.add(`NEGATIVE SIZE ${d.size} ${at}`);
        inodes.state[ino] = BAD;
        continue;
      }
      if (fmt !== IFDIR && fmt !== IFREG && fmt !== IFLNK) {
        // illumos knows devices, fifos, sockets and ACL shadows too; this writer makes none.
        findings.add(`UNKNOWN FILE TYPE 0${d.mode.toString(8)} ${at}`);
        inodes.state[ino] = BAD;
        continue;
      }
      const shadow = table.readInt32LE(off + 112);
      const xattr = table.readInt32LE(off + 124);
      if (shadow !== 0) findings.add(`BAD ACL REFERENCE ${at} (ic_shadow ${shadow})`);
      if (xattr !== 0) findings.add(`BAD ATTRIBUTE REFERENCE TO I=${xattr} FROM ${at}`);
      inodes.state[ino] = fmt === IFDIR ? DIR : FILE;
      inodes.nlink[ino] = d.nlink;
      if (d.nlink <= 0) findings.add(`ZERO LINK COUNT ${at}`);
      if (fmt === IFDIR) {
        inodes.dinodes.set(ino, d);
        if (d.size === 0) findings.add(`ZERO-LENGTH DIR ${at}`);
      }
      if (fmt === IFLNK) inodes.dinodes.set(ino, d);
      // No blocks past the end the size gives.
      let ndb = Math.ceil(d.size / fs.bsize);
      if (
        d.db.slice(Math.min(ndb, NDADDR)).some((a) => a !== 0) ||
        d.ib.slice(levelsNeeded(ndb, fs.nindir)).some((a) => a !== 0)
      )
        // prettier-ignore
        findings.add(`FILE WITH FRAGMENTS PAST END ${at}`);
      // ckinode: every block, in range and claimed once; the count of sectors held.
      let held = 0;
      let bad = 0;
      let dup = 0;
      let firstHole = -1;
      const visit = (blk: number, cnt: number) => {
        if (!inRange(image, blk, cnt)) {
          bad++;
          return false;
        }
        if (!claim(blk, cnt)) dup++;
        held += cnt;
        return true;
      };
      for (let lbn = 0; lbn < Math.min(ndb, NDADDR); lbn++) {
        const addr = d.db[lbn];
        if (addr === 0) {
          if (firstHole < 0) firstHole = lbn;
          continue;
        }
        const last = lbn === ndb - 1 && ndb <= NDADDR;
        const cnt = last ? Math.ceil((d.size - lbn * fs.bsize) / fs.fsize) : fs.frag;
        visit(addr, cnt);
      }
      ndb -= NDADDR;
      let span = 1;
      let lbnBase = NDADDR;
      for (let level = 0; level < NIADDR && ndb > 0; level++) {
        span *= fs.nindir;
        const addr = d.ib[level];
        if (addr === 0) {
          if (firstHole < 0) firstHole = lbnBase;
        } else if (visit(addr, fs.frag)) {
          const hole = await walkIndirect(image, addr, level, Math.min(ndb, span), lbnBase, visit);
          if (hole >= 0 && firstHole < 0) firstHole = hole;
        }
        ndb -= span;
        lbnBase += span;
      }
      if (bad > 0) findings.add(`${bad} BAD BLOCK${bad > 1 ? 'S' : ''} ${at}`);
      if (dup > 0) findings.add(`${dup} DUP BLOCK${dup > 1 ? 'S' : ''} ${at}`);
      if (fmt === IFDIR && firstHole >= 0)
        findings.add(`${at} DIRECTORY: CONTAINS EMPTY BLOCKS (block ${firstHole})`);
      const sectors = held * (fs.fsize / 512);
      if (d.blocks !== sectors)
        findings.add(`INCORRECT DISK BLOCK COUNT ${at} (${d.blocks} should be ${sectors})`);
      if (fmt === IFDIR && d.blocks === 0) findings.add(`DIR WITH ZERO BLOCKS ${at}`);
    }
  }
  return inodes;
}

/** How many of the indirect pointers a file of `ndb` blocks uses (pass1's loop). */
function levelsNeeded(ndb: number, nindir: number): number {
  let j = 0;
  for (let n = ndb - NDADDR; n > 0; j++) n = Math.floor(n / nindir);
  return Math.min(j, NIADDR);
}

/**
 * The pointers of an indirect block at `level` (0: single) that cover
 * `count` logical blocks from `lbnBase`; `visit` gets each block. Returns
 * the first logical block that is a hole, or -1.
 */
async function walkIndirect(
  image: Image,
  addr: number,
  level: number,
  count: number,
  lbnBase: number,
  visit: (blk: number, cnt: number) => boolean,
): Promise<number> {
  const { fs } = image;
  const block = await image.read(addr, fs.bsize);
  const per = fs.nindir ** level;
  let firstHole = -1;
  const pointers = Math.min(fs.nindir, Math.ceil(count / per));
  for (let i = 0; i < fs.nindir; i++) {
    const p = block.readInt32LE(4 * i);
    const lbn = lbnBase + i * per;
    // Pointers past the size are not followed (fsck does not): their blocks show in pass 5.
    if (i >= pointers) continue;
    if (p === 0) {
      if (firstHole < 0) firstHole = lbn;
      continue;
    }
    if (!visit(p, fs.frag) || level === 0) continue;
    const hole = await walkIndirect(image, p, level - 1, Math.min(per, count - i * per), lbn, visit); // prettier-ignore
    if (hole >= 0 && firstHole < 0) firstHole = hole;
  }
  return firstHole;
}

/** The fragment address of logical block `lbn` of `d` (0 for a hole); addresses were checked in pass 1. */
async function blockOf(image: Image, d: Dinode, lbn: number): Promise<number> {
  const { fs } = image;
  if (lbn < NDADDR) return d.db[lbn];
  let x = lbn - NDADDR;
  let level = 0;
  while (level < NIADDR && x >= fs.nindir ** (level + 1)) {
    x -= fs.nindir ** (level + 1);
    level++;
  }
  if (level >= NIADDR) return 0;
  let addr = d.ib[level];
  for (let l = level; l >= 0 && addr !== 0; l--) {
    if (!inRange(image, addr, fs.frag)) return 0;
    const per = fs.nindir ** l;
    const ptr = await image.read(addr, 4, Math.floor(x / per) * 4);
    addr = ptr.readInt32LE(0);
    x %= per;
  }
  return addr;
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

/** Directory structure found in pass 2: each directory's parent by its `..`, and by the entries naming it. */
interface Dirs {
  dotdot: Map<number, number>;
  parent: Map<number, number>;
}

/**
 * pass2.c and dir.c: every directory's entries. Each entry inside its
 * 512-byte chunk, a record length that is a multiple of 4 and at least the
 * entry's size, a name without NUL or '/' that ends in a NUL, an inode
 * number in range and allocated; `.` first and naming itself, `..` second;
 * a directory named by one entry only.
 */
async function pass2(image: Image, inodes: Inodes, findings: Findings): Promise<Dirs> {
  const { fs } = image;
  const maxino = fs.ncg * fs.ipg;
  const dirs: Dirs = { dotdot: new Map(), parent: new Map() };
  if (inodes.state[ROOTINO] !== DIR) {
    findings.add(inodes.state[ROOTINO] === UNALLOCATED ? 'ROOT INODE UNALLOCATED' : 'ROOT INODE NOT DIRECTORY'); // prettier-ignore
    return dirs;
  }
  for (let ino = ROOTINO; ino < maxino; ino++) {
    if (inodes.state[ino] !== DIR) continue;
    const d = inodes.dinodes.get(ino)!;
    const at = `DIRECTORY I=${ino}`;
    if (d.size % DIRBLKSIZ !== 0)
      findings.add(`${at}: LENGTH ${d.size} NOT MULTIPLE OF ${DIRBLKSIZ}`);
    const data = await directoryContent(image, d);
    let loc = 0;
    let index = 0;
    while (loc + 8 <= data.length) {
      const child = data.readUInt32LE(loc);
      const reclen = data.readUInt16LE(loc + 4);
      const namlen = data.readUInt16LE(loc + 6);
      const spaceleft = DIRBLKSIZ - (loc % DIRBLKSIZ);
      const size = direntSize(namlen);
      const problem =
        child >= maxino ? `inode ${child} out of range` :
        reclen === 0 ? 'record length 0' :
        reclen > spaceleft ? `record length ${reclen} crosses its ${DIRBLKSIZ}-byte chunk` :
        reclen % 4 !== 0 ? `record length ${reclen} not a multiple of 4` :
        child === 0 ? undefined :
        reclen < size ? `record length ${reclen} less than the entry's ${size}` :
        data.length - loc < size ? 'the entry runs past the directory' :
        namlen > MAXNAMLEN ? `name length ${namlen}` :
        nameProblem(data, loc + 8, namlen); // prettier-ignore
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
      if (child !== 0) {
        const state = inodes.state[child];
        if (state === UNALLOCATED || state === BAD)
          findings.add(`${at}: ENTRY '${name}' NAMES ${state === BAD ? 'BAD' : 'UNALLOCATED'} I=${child}`); // prettier-ignore
        else {
          inodes.refs[child]++;
          if (index >= 2 && state === DIR) {
            if (dirs.parent.has(child))
              findings.add(`${at}: ENTRY '${name}' IS AN EXTRA HARD LINK TO DIRECTORY I=${child}`);
            else dirs.parent.set(child, ino);
          }
        }
      }
      loc += reclen;
      index++;
    }
  }
  return dirs;
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

/** pass3.c: every directory reachable from the root, its `..` naming the directory it is in. */
function pass3(inodes: Inodes, dirs: Dirs, findings: Findings): void {
  if (inodes.state[ROOTINO] !== DIR) return;
  if (dirs.dotdot.has(ROOTINO) && dirs.dotdot.get(ROOTINO) !== ROOTINO)
    findings.add(`BAD INODE NUMBER FOR '..' I=${ROOTINO} (${dirs.dotdot.get(ROOTINO)})`);
  for (let ino = ROOTINO + 1; ino < inodes.state.length; ino++) {
    if (inodes.state[ino] !== DIR) continue;
    const parent = dirs.parent.get(ino);
    if (parent === undefined) {
      findings.add(`UNREF DIR I=${ino}`);
      continue;
    }
    const dotdot = dirs.dotdot.get(ino);
    if (dotdot !== undefined && dotdot !== parent)
      findings.add(`BAD INODE NUMBER FOR '..' I=${ino} (${dotdot} should be ${parent})`);
    // Reachable: follow the parents to the root (a cycle never gets there).
    let up = ino;
    for (let steps = 0; up !== ROOTINO && steps < inodes.state.length; steps++) {
      const next = dirs.parent.get(up);
      if (next === undefined) break;
      up = next;
    }
    if (up !== ROOTINO) findings.add(`UNREF DIR I=${ino} (not reachable from the root)`);
  }
}

/** pass4.c: link counts against the references pass 2 counted; files nothing names. */
function pass4(inodes: Inodes, findings: Findings): void {
  for (let ino = ROOTINO; ino < inodes.state.length; ino++) {
    const state = inodes.state[ino];
    if (state !== FILE && state !== DIR) continue;
    const refs = inodes.refs[ino];
    if (refs === 0) findings.add(`UNREF ${state === DIR ? 'DIR' : 'FILE'} I=${ino}`);
    else if (refs !== inodes.nlink[ino])
      findings.add(`LINK COUNT ${state === DIR ? 'DIR' : 'FILE'} I=${ino} COUNT ${inodes.nlink[ino]} SHOULD BE ${refs}`); // prettier-ignore
  }
}

/**
 * pass5.c and utilities.c cg_sanity: every cylinder group's header (magic,
 * number, cylinders, inodes, fragments, rotors, map offsets), its maps
 * against what passes 1-4 found, its summaries (and the summary area's copy)
 * recomputed, the free-run counts and per-cylinder block totals recomputed,
 * and the superblock's totals.
 */
async function pass5(image: Image, inodes: Inodes, findings: Findings): Promise<void> {
  const { fs } = image;
  const total: Csum4 = { ndir: 0, nbfree: 0, nifree: 0, nffree: 0 };
  const area = await image.read(fs.csaddr, fs.cssize);
  const btotoff = CG_BASE;
  const boff = btotoff + fs.cpg * 4;
  const iusedoff = boff + fs.cpg * fs.nrpos * 2;
  const freeoff = iusedoff + Math.ceil(fs.ipg / 8);
  const nextfreeoff = freeoff + Math.ceil((fs.cpg * fs.spc) / fs.nspf / 8);
  let ncylTotal = 0;
  for (let c = 0; c < fs.ncg; c++) {
    const cg = await image.read(image.cgtod(c), fs.cgsize);
    const at = `CG ${c}`;
    const ndblk = Math.min(fs.size, image.cgbase(c) + fs.fpg) - image.cgbase(c);
    const h = {
      magic: cg.readInt32LE(4),
      cgx: cg.readInt32LE(12),
      ncyl: cg.readInt16LE(16),
      niblk: cg.readInt16LE(18),
      ndblk: cg.readInt32LE(20),
      cs: { ndir: cg.readInt32LE(24), nbfree: cg.readInt32LE(28), nifree: cg.readInt32LE(32), nffree: cg.readInt32LE(36) }, // prettier-ignore
      rotor: cg.readInt32LE(40),
      frotor: cg.readInt32LE(44),
      irotor: cg.readInt32LE(48),
      btotoff: cg.readInt32LE(84),
      boff: cg.readInt32LE(88),
      iusedoff: cg.readInt32LE(92),
      freeoff: cg.readInt32LE(96),
      nextfreeoff: cg.readInt32LE(100),
    };
    const sane: string[] = [];
    if (h.magic !== CG_MAGIC) sane.push(`BAD CG MAGIC NUMBER (0x${(h.magic >>> 0).toString(16)} should be 0x${CG_MAGIC.toString(16)})`); // prettier-ignore
    if (h.cgx !== c) sane.push(`WRONG CG NUMBER (${h.cgx} should be ${c})`);
    if (h.btotoff & 3) sane.push(`BLOCK TOTALS OFFSET ${h.btotoff} NOT FOUR-BYTE ALIGNED`);
    if (h.boff & 1) sane.push(`FREE BLOCK POSITIONS TABLE OFFSET ${h.boff} NOT TWO-BYTE ALIGNED`);
    if (h.ncyl < 1 || h.ncyl > fs.cpg) sane.push(`IMPOSSIBLE NUMBER OF CYLINDERS IN GROUP (${h.ncyl}, should be 1 to ${fs.cpg})`); // prettier-ignore
    if (h.niblk !== fs.ipg) sane.push(`INCORRECT NUMBER OF INODES IN GROUP (${h.niblk} should be ${fs.ipg})`); // prettier-ignore
    if (h.ndblk !== ndblk) sane.push(`INCORRECT NUMBER OF DATA BLOCKS IN GROUP (${h.ndblk} should be ${ndblk})`); // prettier-ignore
    if (h.rotor < 0 || h.rotor >= ndblk) sane.push(`IMPOSSIBLE BLOCK ALLOCATION ROTOR POSITION (${h.rotor})`); // prettier-ignore
    if (h.frotor < 0 || h.frotor >= ndblk) sane.push(`IMPOSSIBLE FRAGMENT ALLOCATION ROTOR POSITION (${h.frotor})`); // prettier-ignore
    if (h.irotor < 0 || h.irotor >= fs.ipg) sane.push(`IMPOSSIBLE INODE ALLOCATION ROTOR POSITION (${h.irotor})`); // prettier-ignore
    if (h.btotoff !== btotoff) sane.push(`INCORRECT BLOCK TOTALS OFFSET (${h.btotoff} should be ${btotoff})`); // prettier-ignore
    if (h.boff !== boff) sane.push(`BAD FREE BLOCK POSITIONS TABLE OFFSET (${h.boff} should be ${boff})`); // prettier-ignore
    if (h.iusedoff !== iusedoff) sane.push(`INCORRECT USED INODE MAP OFFSET (${h.iusedoff} should be ${iusedoff})`); // prettier-ignore
    if (h.freeoff !== freeoff) sane.push(`INCORRECT FREE FRAGMENT MAP OFFSET (${h.freeoff} should be ${freeoff})`); // prettier-ignore
    if (h.nextfreeoff !== nextfreeoff) sane.push(`END OF HEADER POSITION INCORRECT (${h.nextfreeoff} should be ${nextfreeoff})`); // prettier-ignore
    for (const s of sane) findings.add(`${at}: ${s}`);
    ncylTotal += h.ncyl;
    // Past here the maps are read where the expected offsets put them.

    // The inode map and counts, from pass 1's states.
    const want = { ndir: 0, nbfree: 0, nifree: fs.ipg, nffree: 0 };
    let inodeMismatch = 0;
    for (let i = 0; i < fs.ipg; i++) {
      const ino = c * fs.ipg + i;
      const state = inodes.state[ino];
      const inUse = ino < ROOTINO || state !== UNALLOCATED;
      if (inUse) want.nifree--;
      if (state === DIR) want.ndir++;
      if (testBit(cg, iusedoff * 8 + i) !== inUse) inodeMismatch++;
    }
    if (inodeMismatch > 0)
      findings.add(`${at}: FILE BITMAP WRONG (${inodeMismatch} inode${inodeMismatch > 1 ? 's' : ''})`); // prettier-ignore

    // The free map, the free runs, the free blocks per cylinder and rotational position.
    const frsum = new Array<number>(fs.frag).fill(0);
    const btot = new Array<number>(fs.cpg).fill(0);
    const blks = new Array<number>(fs.cpg * fs.nrpos).fill(0);
    let fragMismatch = 0;
    const fpc = fs.spc / fs.nspf;
    for (let b = 0; b < ndblk; b += fs.frag) {
      let free = 0;
      let run = 0;
      for (let f = b; f < b + fs.frag; f++) {
        const frag = image.cgbase(c) + f;
        const isFree = !testBit(inodes.used, frag);
        if (testBit(cg, freeoff * 8 + f) !== isFree) fragMismatch++;
        if (isFree) {
          free++;
          run++;
        } else if (run > 0) {
          frsum[run]++;
          run = 0;
        }
      }
      if (free === fs.frag) {
        want.nbfree++;
        const cyl = Math.floor(b / fpc);
        btot[cyl]++;
        blks[cyl * fs.nrpos + Math.floor(((b % fpc) * fs.nspf * fs.nrpos) / fs.spc)]++;
      } else {
        if (run > 0) frsum[run]++;
        want.nffree += free;
      }
    }
    // Past the end of a short last group nothing is free.
    for (let f = ndblk; f < fs.fpg; f++) if (testBit(cg, freeoff * 8 + f)) fragMismatch++;
    if (fragMismatch > 0)
      findings.add(`${at}: FRAG BITMAP WRONG (${fragMismatch} fragment${fragMismatch > 1 ? 's' : ''})`); // prettier-ignore
    for (let r = 1; r < fs.frag; r++) {
      const got = cg.readInt32LE(52 + 4 * r);
      if (got !== frsum[r]) findings.add(`${at}: cg_frsum[${r}] is ${got}, the free map has ${frsum[r]} runs of ${r}`); // prettier-ignore
    }
    for (let y = 0; y < fs.cpg; y++) {
      const got = cg.readInt32LE(btotoff + 4 * y);
      if (got !== btot[y]) findings.add(`${at}: cg_btot[${y}] is ${got}, the free map has ${btot[y]} free blocks in cylinder ${y}`); // prettier-ignore
    }
    let blksMismatch = 0;
    for (let k = 0; k < fs.cpg * fs.nrpos; k++)
      if (cg.readInt16LE(boff + 2 * k) !== blks[k]) blksMismatch++;
    if (blksMismatch > 0) findings.add(`${at}: cg_b disagrees with the free map on ${blksMismatch} rotational positions`); // prettier-ignore

    const fromArea = {
      ndir: area.readInt32LE(16 * c),
      nbfree: area.readInt32LE(16 * c + 4),
      nifree: area.readInt32LE(16 * c + 8),
      nffree: area.readInt32LE(16 * c + 12),
    };
    for (const key of ['ndir', 'nbfree', 'nifree', 'nffree'] as const) {
      if (h.cs[key] !== want[key]) findings.add(`${at}: BAD CG SUMMARY: cs_${key} ${h.cs[key]} should be ${want[key]}`); // prettier-ignore
      if (fromArea[key] !== want[key]) findings.add(`${at}: BAD SUMMARY INFORMATION: cs_${key} ${fromArea[key]} should be ${want[key]}`); // prettier-ignore
      total[key] += want[key];
    }
  }
  if (ncylTotal !== fs.ncyl)
    findings.add(`the groups hold ${ncylTotal} cylinders, the superblock says ${fs.ncyl}`);
  for (const key of ['ndir', 'nbfree', 'nifree', 'nffree'] as const)
    if (fs.cstotal[key] !== total[key])
      findings.add(`CORRECT GLOBAL SUMMARY: cs_${key} ${fs.cstotal[key]} should be ${total[key]}`);
}
