/**
 * The illumos x86 UFS on-disk format (little-endian): constants, the
 * geometry this writer uses, and encoders/decoders of the superblock, the
 * cylinder group block, the on-disk inode and directory entries.
 *
 * Learned from illumos-gate's usr/src/uts/common/sys/fs/ufs_fs.h,
 * ufs_inode.h, ufs_fsdir.h and cmd/fs.d/ufs/mkfs/mkfs.c, FreeBSD's makefs,
 * and the checks of Linux's fs/ufs (ufstype=sunx86).
 */

export const SECTOR = 512; // DEV_BSIZE
export const BSIZE = 8192; // fs_bsize
export const FSIZE = 1024; // fs_fsize
export const FRAG = BSIZE / FSIZE; // fs_frag
export const NSPF = FSIZE / SECTOR; // sectors per fragment
export const INODE_SIZE = 128; // sizeof (struct dinode)
export const INOPB = BSIZE / INODE_SIZE; // inodes per block
export const INOPF = FSIZE / INODE_SIZE; // inodes per fragment
export const NDADDR = 12;
export const NIADDR = 3;
export const NINDIR = BSIZE / 4; // block addresses in an indirect block
export const DIRBLKSIZ = 512; // a directory entry never crosses one
export const MAXNAMLEN = 255;
/** MAXPATHLEN: symlink(2) refuses targets of this length or more. */
export const MAXPATHLEN = 1024;
/** UFS_MAXOFFSET_T: the largest file offset illumos UFS allows (1 TiB - 1). */
export const MAX_FILE_SIZE = 2 ** 40 - 1;
/** MAXOFF32_T: a file at least this large sets FSLARGEFILES. */
export const LARGEFILE_SIZE = 2 ** 31;

export const SBLOCK_OFFSET = 8192; // the superblock's byte offset
export const FS_SBSIZE = 2048; // fs_sbsize as we write it: sizeof (struct fs), rounded to a fragment
export const SBSIZE_MAX = 8192; // illumos's SBSIZE: the most any fs_sbsize may be
export const FS_MAGIC = 0x011954;
export const CG_MAGIC = 0x090255;
export const FSOKAY = 0x7c269d38; // fs_state + fs_time == FSOKAY when clean
export const FSCLEAN = 1;
export const FSLARGEFILES = 1;
export const FS_OPTSPACE = 1;
export const FS_DYNAMICPOSTBLFMT = 1;
export const ROOTINO = 2;
export const IFDIR = 0o040000;
export const IFREG = 0o100000;
export const IFLNK = 0o120000;
export const IFMT = 0o170000;

/**
 * Geometry. Like FreeBSD's makefs for UFS1 this writer has no use for the
 * rotational tables (fs_cpc = 0, which illumos' allocator reads as "block
 * layout info is not available"): one track per cylinder of 1 MiB, 16
 * cylinders (16 MiB) per cylinder group, cylinder groups not staggered
 * (fs_cgoffset 0, fs_cgmask all ones).
 */
export const NTRAK = 1;
export const NSECT = 2048;
export const SPC = NTRAK * NSECT; // sectors per cylinder
export const FPC = SPC / NSPF; // fragments per cylinder (1024)
export const CPG = 16;
export const FPG = CPG * FPC; // fragments per cylinder group (16384)
export const NRPOS = 8;
export const SBLKNO = 16; // boot block (8 KiB) + superblock (8 KiB), in fragments
export const CBLKNO = 24;
export const IBLKNO = 32;

/** Offsets in the cylinder group block (struct cg). */
export const CG_SPACE = 168;
export const CG_BTOTOFF = CG_SPACE;
export const CG_BOFF = CG_BTOTOFF + CPG * 4;
export const CG_IUSEDOFF = CG_BOFF + CPG * NRPOS * 2;
/**
 * The most inodes per group: illumos fsck calls a superblock with more bad
 * ("INODES PER GROUP OUT OF RANGE"; its MAXIpG, the limit mkfs keeps: an
 * inode map of at most a third of a block, 21,888 here), and the maps must
 * fit the cylinder group block. The plan adds groups when it needs more.
 */
export const MAX_IPG = Math.min(
  Math.ceil(Math.floor((BSIZE * 8) / 3) / INOPB) * INOPB,
  Math.floor(((BSIZE - CG_IUSEDOFF - FPG / 8) * 8) / INOPB) * INOPB,
);

export function cgFreeOff(ipg: number): number {
  return CG_IUSEDOFF + Math.ceil(ipg / 8);
}
export function cgNextFreeOff(ipg: number): number {
  return cgFreeOff(ipg) + FPG / 8;
}
export function fragRoundUp(bytes: number): number {
  return Math.ceil(bytes / FSIZE) * FSIZE;
}
/** First fragment after the inode blocks of a group, relative to the group. */
export function dblkno(ipg: number): number {
  return IBLKNO + ipg / INOPF;
}

/** struct csum */
export interface Csum {
  ndir: number;
  nbfree: number;
  nifree: number;
  nffree: number;
}

/** The four totals of struct csum, in its order (32 bits each). */
export const CSUM_KEYS = ['ndir', 'nbfree', 'nifree', 'nffree'] as const;

export function writeCsum(buf: Buffer, off: number, cs: Csum): void {
  CSUM_KEYS.forEach((key, i) => buf.writeInt32LE(cs[key], off + 4 * i));
}

export function readCsum(buf: Buffer, off: number): Csum {
  const cs = {} as Csum;
  CSUM_KEYS.forEach((key, i) => (cs[key] = buf.readInt32LE(off + 4 * i)));
  return cs;
}

/** The superblock fields this writer sets and the reader needs. */
export interface Superblock {
  time: number;
  size: number; // fragments in the file system
  dsize: number; // data fragments
  ncg: number;
  ipg: number;
  ncyl: number;
  minfree: number;
  cssize: number;
  cstotal: Csum;
  largefiles: boolean;
  // read back only
  bsize?: number;
  fsize?: number;
  fpg?: number;
  sblkno?: number;
  cblkno?: number;
  iblkno?: number;
  dblkno?: number;
  csaddr?: number;
  clean?: number;
  state?: number;
  magic?: number;
}

const i32 = (n: number) => n | 0;

/** struct fs, little-endian, fs_sbsize (2048) bytes. */
export function encodeSuperblock(sb: Superblock): Buffer {
  const b = Buffer.alloc(FS_SBSIZE);
  const d = dblkno(sb.ipg);
  const w = (off: number, v: number) => b.writeInt32LE(i32(v), off);
  w(0, 0); // fs_link
  w(4, 0); // fs_rolled: FS_PRE_FLAG, no log
  w(8, SBLKNO);
  w(12, CBLKNO);
  w(16, IBLKNO);
  w(20, d);
  w(24, 0); // fs_cgoffset
  w(28, -1); // fs_cgmask
  w(32, sb.time);
  w(36, sb.size);
  w(40, sb.dsize);
  w(44, sb.ncg);
  w(48, BSIZE);
  w(52, FSIZE);
  w(56, FRAG);
  w(60, sb.minfree);
  w(64, 0); // fs_rotdelay
  w(68, 60); // fs_rps
  w(72, ~(BSIZE - 1)); // fs_bmask
  w(76, ~(FSIZE - 1)); // fs_fmask
  w(80, 13); // fs_bshift
  w(84, 10); // fs_fshift
  w(88, 16); // fs_maxcontig
  w(92, BSIZE / 4); // fs_maxbpg
  w(96, 3); // fs_fragshift
  w(100, 1); // fs_fsbtodb
  w(104, FS_SBSIZE);
  w(108, ~(BSIZE - 1)); // fs_csmask
  w(112, 13); // fs_csshift
  w(116, NINDIR);
  w(120, INOPB);
  w(124, NSPF);
  w(128, FS_OPTSPACE); // fs_optim
  w(132, FSOKAY - sb.time); // fs_state (x86 position)
  w(136, 0); // fs_si
  w(140, 0); // fs_trackskew
  w(144, 0); // fs_id[0]
  w(148, 0); // fs_id[1]
  w(152, d); // fs_csaddr: the first data fragment of group 0
  w(156, sb.cssize);
  w(160, fragRoundUp(cgNextFreeOff(sb.ipg))); // fs_cgsize
  w(164, NTRAK);
  w(168, NSECT);
  w(172, SPC);
  w(176, sb.ncyl);
  w(180, CPG);
  w(184, sb.ipg);
  w(188, FPG);
  writeCsum(b, 192, sb.cstotal);
  b[208] = 0; // fs_fmod
  b[209] = FSCLEAN; // fs_clean
  b[210] = 0; // fs_ronly
  b[211] = sb.largefiles ? FSLARGEFILES : 0; // fs_flags
  // fs_fsmnt[512] at 212, fs_cgrotor at 724, fs_u at 728: zero
  w(856, 0); // fs_cpc: no rotational layout tables
  // fs_opostbl at 860, fs_sparecon[51] at 1116, fs_version 1320,
  // fs_logbno 1324, fs_reclaim 1328, fs_sparecon2 1332: zero
  w(1336, NSECT); // fs_npsect (x86 position)
  b.writeBigInt64LE(BigInt(BSIZE - 1), 1340); // fs_qbmask
  b.writeBigInt64LE(BigInt(FSIZE - 1), 1348); // fs_qfmask
  w(1356, FS_DYNAMICPOSTBLFMT);
  w(1360, NRPOS);
  w(1364, 860); // fs_postbloff: the static table space (fs_opostbl)
  w(1368, 1376); // fs_rotbloff: fs_space
  w(1372, FS_MAGIC);
  return b;
}

/**
 * The 32-bit fields of struct fs (ufs_fs.h) that readers use, at their
 * offsets: named once, for every decoder (read.ts, fsck/, boot-read.ts).
 */
const FS_INT32 = {
  sblkno: 8,
  cblkno: 12,
  iblkno: 16,
  dblkno: 20,
  cgoffset: 24,
  cgmask: 28,
  time: 32,
  size: 36,
  dsize: 40,
  ncg: 44,
  bsize: 48,
  fsize: 52,
  minfree: 60,
  bmask: 72,
  fmask: 76,
  bshift: 80,
  fragshift: 96,
  fsbtodb: 100,
  nindir: 116,
  inopb: 120,
  state: 132,
  csaddr: 152,
  cssize: 156,
  ncyl: 176,
  ipg: 184,
  fpg: 188,
  magic: 1372,
} as const;

/** A superblock as read: every field decodeSuperblock has, unchecked. */
export type DecodedSuperblock = Required<Superblock> &
  Record<keyof typeof FS_INT32, number> & {
    /** fs_qfmask, a 64-bit field. */
    qfmask: number;
  };

export function decodeSuperblock(b: Buffer): DecodedSuperblock {
  const fields = {} as Record<keyof typeof FS_INT32, number>;
  for (const [name, off] of Object.entries(FS_INT32))
    fields[name as keyof typeof FS_INT32] = b.readInt32LE(off);
  return {
    ...fields,
    qfmask: Number(b.readBigInt64LE(1348)),
    cstotal: readCsum(b, 192),
    clean: b[209],
    largefiles: (b[211] & FSLARGEFILES) !== 0,
  };
}

/** What goes into one cylinder group block. */
export interface CylinderGroup {
  cgx: number;
  ncyl: number;
  ipg: number;
  ndblk: number; // fragments in this group
  time: number;
  cs: Csum;
  frsum: number[]; // [1..7]: free fragment runs of each length
  btot: number[]; // per cylinder: free blocks
  blks: number[]; // per cylinder x rotational position: free blocks
  iused: Buffer; // ipg bits
  free: Buffer; // FPG bits
}

export function encodeCylinderGroup(cg: CylinderGroup): Buffer {
  const b = Buffer.alloc(BSIZE);
  const w = (off: number, v: number) => b.writeInt32LE(i32(v), off);
  w(0, 0); // cg_link
  w(4, CG_MAGIC);
  w(8, cg.time);
  w(12, cg.cgx);
  b.writeInt16LE(cg.ncyl, 16);
  b.writeInt16LE(cg.ipg, 18); // cg_niblk: inodes in the group, as illumos mkfs and fsck have it
  w(20, cg.ndblk);
  writeCsum(b, 24, cg.cs);
  // cg_rotor, cg_frotor, cg_irotor at 40..51: zero
  for (let i = 0; i < FRAG; i++) w(52 + 4 * i, cg.frsum[i] ?? 0);
  w(84, CG_BTOTOFF);
  w(88, CG_BOFF);
  w(92, CG_IUSEDOFF);
  w(96, cgFreeOff(cg.ipg));
  w(100, cgNextFreeOff(cg.ipg));
  for (let i = 0; i < CPG; i++) w(CG_BTOTOFF + 4 * i, cg.btot[i] ?? 0);
  for (let i = 0; i < CPG * NRPOS; i++) b.writeInt16LE(cg.blks[i] ?? 0, CG_BOFF + 2 * i);
  cg.iused.copy(b, CG_IUSEDOFF);
  cg.free.copy(b, cgFreeOff(cg.ipg));
  return b;
}

/**
 * What an inode says of a file besides its type and its blocks, as the
 * writer takes it (tree.ts) and the reader gives it back (read.ts).
 */
export interface InodeAttributes {
  /** Permission bits (07777), without the type. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  /** Bytes of content: file size, directory size, symlink length. */
  size: number;
}

/** The on-disk inode (struct icommon). */
export interface Dinode {
  mode: number; // type and permission bits
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  time: number;
  db: number[]; // NDADDR
  ib: number[]; // NIADDR
  blocks: number; // 512-byte sectors held
  gen: number;
}

export function encodeDinode(ino: Dinode, buf: Buffer, off: number): void {
  buf.fill(0, off, off + INODE_SIZE);
  buf.writeUInt16LE(ino.mode, off);
  buf.writeInt16LE(ino.nlink, off + 2);
  // o_uid_t/o_gid_t: 65535 (UID_LONG) says "use the 32-bit ic_uid/ic_gid"
  buf.writeUInt16LE(Math.min(ino.uid, 0xffff), off + 4);
  buf.writeUInt16LE(Math.min(ino.gid, 0xffff), off + 6);
  buf.writeBigUInt64LE(BigInt(ino.size), off + 8);
  buf.writeInt32LE(i32(ino.time), off + 16); // atime
  buf.writeInt32LE(i32(ino.time), off + 24); // mtime
  buf.writeInt32LE(i32(ino.time), off + 32); // ctime
  for (let i = 0; i < NDADDR; i++) buf.writeInt32LE(ino.db[i] ?? 0, off + 40 + 4 * i);
  for (let i = 0; i < NIADDR; i++) buf.writeInt32LE(ino.ib[i] ?? 0, off + 88 + 4 * i);
  // ic_flags at 100: zero
  buf.writeInt32LE(ino.blocks, off + 104);
  buf.writeInt32LE(i32(ino.gen), off + 108);
  // ic_shadow at 112: zero
  buf.writeUInt32LE(ino.uid >>> 0, off + 116);
  buf.writeUInt32LE(ino.gid >>> 0, off + 120);
  // ic_oeftflag at 124: zero (no extended attributes)
}

export function decodeDinode(buf: Buffer, off: number): Dinode {
  const suid = buf.readUInt16LE(off + 4);
  const sgid = buf.readUInt16LE(off + 6);
  const db: number[] = [];
  const ib: number[] = [];
  for (let i = 0; i < NDADDR; i++) db.push(buf.readInt32LE(off + 40 + 4 * i));
  for (let i = 0; i < NIADDR; i++) ib.push(buf.readInt32LE(off + 88 + 4 * i));
  return {
    mode: buf.readUInt16LE(off),
    nlink: buf.readInt16LE(off + 2),
    uid: suid === 0xffff ? buf.readUInt32LE(off + 116) : suid,
    gid: sgid === 0xffff ? buf.readUInt32LE(off + 120) : sgid,
    size: Number(buf.readBigUInt64LE(off + 8)),
    time: buf.readInt32LE(off + 24),
    db,
    ib,
    blocks: buf.readInt32LE(off + 104),
    gen: buf.readInt32LE(off + 108),
  };
}

/** Bytes a directory entry (struct direct) for a name of `nameBytes` takes. */
export function direntSize(nameBytes: number): number {
  return 8 + ((nameBytes + 1 + 3) & ~3);
}

/** The fixed part of a directory entry (struct direct): inode, record length, name length. */
export interface DirentHeader {
  ino: number;
  reclen: number;
  namlen: number;
}

/** Decodes the fixed part of the entry at `off`; what a reader makes of the name is its own. */
export function readDirentHeader(buf: Buffer, off: number): DirentHeader {
  return {
    ino: buf.readUInt32LE(off),
    reclen: buf.readUInt16LE(off + 4),
    namlen: buf.readUInt16LE(off + 6),
  };
}

export function writeDirent(
  buf: Buffer,
  off: number,
  ino: number,
  reclen: number,
  name: string,
): void {
  buf.writeUInt32LE(ino, off);
  buf.writeUInt16LE(reclen, off + 4);
  // The name in UTF-8; reclen leaves room for it and its NUL.
  buf.writeUInt16LE(buf.write(name, off + 8, 'utf8'), off + 6);
}
