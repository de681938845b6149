/**
 * setup.c: read_super_block, checksb (the ranges, the backup superblock
 * compare), fixup_superblock (optimization, minfree), the clean state, and
 * the geometry the rest of the check computes addresses from.
 */
import type { FileHandle } from 'node:fs/promises';
import {
  FS_DYNAMICPOSTBLFMT,
  FS_MAGIC,
  FS_OPTSPACE,
  FSCLEAN,
  FSOKAY,
  INODE_SIZE,
  SBLOCK_OFFSET,
  SBSIZE_MAX,
} from '../layout.js';
import { CG_BASE, decodeFs, Image, type Findings, type Fs } from './image.js';

const MAX_BSIZE = 8192; // MAXBSIZE, the largest block illumos UFS has
const FSSTABLE = 3; // the other fs_clean illumos takes as clean (we write FSCLEAN)
const FS_OPTTIME = 0; // fs_optim's other value (we write FS_OPTSPACE)

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

/** A superblock rule: what is wrong with it (the words of checksb where it has some), or undefined. */
type SuperblockRule = (fs: Fs, fileSize: number) => string | undefined;

/** MAXIpG: roundup(bsize * NBBY / 3, INOPB). */
const maxIpg = (fs: Fs) => Math.ceil(Math.floor((fs.bsize * 8) / 3) / fs.inopb) * fs.inopb;

/** The bytes a group's header and maps take (cg_space on). */
const cgBytes = (fs: Fs) =>
  CG_BASE + fs.cpg * 4 + fs.cpg * fs.nrpos * 2 + Math.ceil(fs.ipg / 8) + Math.ceil(fs.fpg / 8);

/** What the kernel and the boot-time reader compute addresses from without checking. */
function derivedField(fs: Fs): string | undefined {
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
    if (got !== want) return `${name} is ${got}, the geometry gives ${want}`;
  return undefined;
}

/** checksb and the geometry, in order: the first that fails is the finding. */
const SUPERBLOCK_RULES: readonly SuperblockRule[] = [
  (_, size) =>
    size < SBLOCK_OFFSET + SBSIZE_MAX / 4 ? `the image is only ${size} bytes` : undefined,
  (fs) => (fs.magic !== FS_MAGIC ? 'MAGIC NUMBER WRONG' : undefined),
  (fs) => (fs.ncg < 1 ? 'NCG OUT OF RANGE' : undefined),
  (fs) => (fs.cpg < 1 ? 'CPG OUT OF RANGE' : undefined),
  (fs) =>
    fs.ncg * fs.cpg < fs.ncyl || (fs.ncg - 1) * fs.cpg >= fs.ncyl
      ? 'NCYL IS INCONSISTENT WITH NCG*CPG'
      : undefined,
  (fs) => (fs.sbsize < 0 || fs.sbsize > SBSIZE_MAX ? 'SIZE OUT OF RANGE' : undefined),
  (fs) =>
    fs.cstotal.ndir < 1 || fs.cstotal.ndir > fs.ncg * fs.ipg
      ? 'NUMBER OF DIRECTORIES OUT OF RANGE'
      : undefined,
  (fs) =>
    fs.nrpos <= 0 ||
    fs.postbloff < 0 ||
    fs.cpc < 0 ||
    fs.postbloff + fs.nrpos * fs.cpc * 2 > fs.sbsize
      ? 'ROTATIONAL POSITION TABLE SIZE OUT OF RANGE'
      : undefined,
  (fs) =>
    !isPow2(fs.bsize) || !isPow2(fs.fsize) || fs.fsize < 512 || fs.bsize < 4096
      ? `block size ${fs.bsize} / fragment size ${fs.fsize} not supported`
      : undefined,
  (fs) =>
    fs.cssize !== Math.ceil((fs.ncg * 16) / fs.fsize) * fs.fsize
      ? 'SIZE OF CYLINDER GROUP SUMMARY AREA WRONG'
      : undefined,
  (fs) => (fs.inopb !== fs.bsize / INODE_SIZE ? 'INOPB NONSENSICAL RELATIVE TO BSIZE' : undefined),
  (fs) => (fs.bsize > MAX_BSIZE ? 'BLOCK SIZE LARGER THAN MAXIMUM SUPPORTED' : undefined),
  (fs) => (fs.bsize !== fs.frag * fs.fsize ? 'FRAGS PER BLOCK OR FRAG SIZE WRONG' : undefined),
  (fs) => (fs.dsize >= fs.size ? 'NUMBER OF DATA BLOCKS OUT OF RANGE' : undefined),
  (fs) =>
    fs.ipg <= 0 || fs.ipg > maxIpg(fs)
      ? `INODES PER GROUP OUT OF RANGE (${fs.ipg}, at most ${maxIpg(fs)})`
      : undefined,
  (fs) => (fs.cgsize > fs.bsize ? 'CG HEADER LARGER THAN ONE BLOCK' : undefined),
  derivedField,
  (fs) =>
    fs.size > fs.ncg * fs.fpg || fs.size <= (fs.ncg - 1) * fs.fpg
      ? `fs_size ${fs.size} does not fit ${fs.ncg} groups of ${fs.fpg} fragments`
      : undefined,
  (fs) =>
    !(fs.sblkno < fs.cblkno && fs.cblkno < fs.iblkno && fs.iblkno < fs.dblkno)
      ? 'the metadata offsets (sblkno, cblkno, iblkno, dblkno) are out of order'
      : undefined,
  (fs) =>
    fs.iblkno + (fs.ipg * INODE_SIZE) / fs.fsize !== fs.dblkno
      ? `fs_dblkno ${fs.dblkno} is not right after the inode blocks`
      : undefined,
  (fs) =>
    fs.cgsize !== Math.ceil(cgBytes(fs) / fs.fsize) * fs.fsize
      ? `fs_cgsize ${fs.cgsize}, the maps take ${cgBytes(fs)} bytes`
      : undefined,
  (fs, size) =>
    size < fs.size * fs.fsize
      ? `the image is ${size} bytes, the file system needs ${fs.size * fs.fsize}`
      : undefined,
];

/**
 * setup: reads and checks the superblock. Returns undefined when it cannot
 * be trusted (the findings say why), else the image the passes read.
 */
export async function setup(
  fh: FileHandle,
  path: string,
  findings: Findings,
): Promise<Image | undefined> {
  const fileSize = (await fh.stat()).size;
  const raw = Buffer.alloc(SBSIZE_MAX);
  await fh.read(raw, 0, SBSIZE_MAX, SBLOCK_OFFSET);
  const fs = decodeFs(raw);
  for (const rule of SUPERBLOCK_RULES) {
    const why = rule(fs, fileSize);
    if (why !== undefined) {
      findings.add(`BAD SUPERBLOCK AT BLOCK 16: ${why}`);
      return undefined;
    }
  }
  const image = new Image(fh, path, fs, fileSize);
  await compareBackup(image, raw, findings);
  fixupSuperblock(image, findings);
  return image;
}

/** checksb: the whole superblock against the backup in the last group. */
async function compareBackup(image: Image, raw: Buffer, findings: Findings): Promise<void> {
  const { fs } = image;
  const backup = await image.read(image.cgsblock(fs.ncg - 1), fs.sbsize);
  const primary = Buffer.from(raw.subarray(0, fs.sbsize));
  for (const [from, to] of BACKUP_MAY_DIFFER) {
    if (from >= fs.sbsize) continue;
    primary.copy(backup, from, from, Math.min(to, fs.sbsize));
  }
  if (primary.equals(backup)) return;
  let at = 0;
  while (primary[at] === backup[at]) at++;
  findings.add(
    `BAD SUPERBLOCK AT BLOCK 16: BAD VALUES IN SUPER BLOCK (the backup in group ${fs.ncg - 1} differs at byte ${at})`,
  );
}

/** fixup_superblock, the clean state, and getsummaryinfo's summary address. */
function fixupSuperblock(image: Image, findings: Findings): void {
  const { fs } = image;
  if (fs.optim !== FS_OPTTIME && fs.optim !== FS_OPTSPACE)
    findings.add('UNDEFINED OPTIMIZATION IN SUPERBLOCK');
  if (fs.minfree < 0 || fs.minfree > 99)
    findings.add(`IMPOSSIBLE MINFREE=${fs.minfree} IN SUPERBLOCK`);
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
    findings.add(
      `BAD SUMMARY INFORMATION: fs_csaddr ${fs.csaddr} is not group 0's first data fragment ${image.cgdmin(0)}`,
    );
}
