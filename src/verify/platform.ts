import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { constants } from 'node:fs';
import { lstat, mkdtemp, open, readdir, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { GATE_LIMITS, UfsImageError, UfsReader } from '../archive/ufs/read.js';
import { removeOnInterrupt } from '../util/cleanup.js';
import { md5OfOpenFile } from '../util/copy.js';
import { describeError, UserError } from '../util/errors.js';
import { describeStatus, run } from '../util/process.js';
import { openRegularFile } from '../util/lines.js';
import { checkTarMembers, declaredImageSize, extractTar } from '../util/tar-safety.js';
import { which } from '../util/which.js';
import type { BootManifest } from '../formats/boot-manifest.js';
import type { ContentCheck } from './types.js';
import { checkUfsContent, UFS_READ_METHOD, type ElfCandidates } from './ufs-content.js';

/** A platform directory to read, and how to clean up after reading it. */
export interface OpenedPlatform {
  dir: string;
  archiveDir: string;
  /** Removes the temporary directory a tgz was unpacked into. */
  close: () => Promise<void>;
}

/**
 * Opens `--platform`: a `platform-<STAMP>` directory, or its tgz, unpacked
 * into a new temporary directory (never anywhere else).
 */
/** What verify-manifest unpacks of a platform tgz at most, unless told otherwise. */
export const DEFAULT_MAX_UNPACK = 4 * 1024 ** 3;

export interface UnpackLimit {
  bytes: number;
  /** How the user raises it, for the message ("--max-unpack"). */
  option: string;
}

export async function openPlatform(
  path: string,
  limit: UnpackLimit = { bytes: DEFAULT_MAX_UNPACK, option: '--max-unpack' },
): Promise<OpenedPlatform> {
  const info = await stat(path).catch((err: unknown) => {
    throw new UserError(`--platform ${path}: ${describeError(err)}`);
  });
  let dir = path;
  let close = () => Promise.resolve();
  if (!info.isDirectory()) {
    // Checked (streamed, bounded) before anything is unpacked: paths, types,
    // the total size, and the boot_archive against the size its superblock declares.
    await checkTarMembers(path, {
      into: 'the platform directory',
      gzip: { expected: 'platform-<STAMP>.tgz' },
      filesAndDirsOnly: true,
      maxBytes: limit,
      declaredSize: (member) =>
        /^platform-[^/]+\/i86pc\/amd64\/boot_archive$/.test(member) ? declaredImageSize : undefined,
    });
    const temp = await mkdtemp(join(tmpdir(), 'joyent-live-verify-'));
    // An interrupt removes it too (src/util/cleanup.ts).
    const undo = removeOnInterrupt(temp);
    close = () => rm(temp, { recursive: true, force: true }).finally(undo);
    try {
      await extractTar(path, temp);
      const top = (await readdir(temp)).filter((n) => n.startsWith('platform-'));
      if (top.length !== 1)
        throw new UserError(`${path} does not hold one platform-<STAMP>/ directory`);
      dir = join(temp, top[0]);
    } catch (err) {
      await close();
      if (err instanceof UserError) throw err;
      throw new UserError(`cannot unpack ${path}: ${describeError(err)}`);
    }
  }
  const archiveDir = join(dir, 'i86pc', 'amd64');
  if (!(await stat(join(archiveDir, 'boot_archive.manifest')).catch(() => undefined))) {
    await close();
    throw new UserError(
      `--platform ${path}: no i86pc/amd64/boot_archive.manifest in it (is it a platform directory?)`,
    );
  }
  return { dir, archiveDir, close };
}

/**
 * md5 of a regular file of an unpacked image, or undefined when the path is
 * not one there: a parent that is a symlink (resolving elsewhere), a
 * special file or a missing one is never read.
 */
async function md5OfImageFile(root: string, path: string) {
  const parent = await realpath(join(root, dirname(path))).catch(() => undefined);
  if (parent === undefined || (parent !== root && !parent.startsWith(root + sep))) return undefined;
  const handle = await open(
    join(parent, basename(path)),
    constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
  ).catch(() => undefined);
  if (!handle) return undefined;
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    return await md5OfOpenFile(handle).catch(() => undefined);
  } finally {
    await handle.close();
  }
}

async function sha1(path: string): Promise<string> {
  const hash = createHash('sha1');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** What kind of image a boot_archive is, from its magic numbers. */
async function archiveFormat(path: string): Promise<'hsfs' | 'unknown'> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(5), 0, 5, 0x8001);
    return bytesRead === 5 && buffer.toString('latin1') === 'CD001' ? 'hsfs' : 'unknown';
  } finally {
    await handle.close();
  }
}

/**
 * A boot_archive without an ISO 9660 volume descriptor claims to be UFS (the
 * format SmartOS boots, and the only other one written): it must read back
 * whole as one. When it does not (its superblock, a cylinder group, an
 * inode, a directory or a block is not what UFS allows), the check records
 * why in `unreadable`, which fails the verdict as `integrity` whatever
 * --fail-on says (docs/verify.md); an I/O error stays an error.
 */
async function checkUfsArchive(
  archive: string,
  manifest: BootManifest,
  check: ContentCheck,
  elf?: ElfCandidates,
): Promise<void> {
  let reader: UfsReader | undefined;
  try {
    reader = await UfsReader.open(archive, GATE_LIMITS);
    await checkUfsContent(reader, manifest, check, elf);
  } catch (err) {
    if (!(err instanceof UfsImageError)) throw err;
    check.method = UFS_READ_METHOD;
    check.unreadable = `the boot_archive does not read back as UFS (it has no hsfs volume descriptor, so it claims to be UFS): ${err.message}`;
    if (elf) elf.files.length = 0;
  } finally {
    await reader?.close();
  }
}

/** What a joyent-live log's header says the build made (docs/build-log.md). */
const ARCHIVE_LINE = /^# archive: (\S+)$/m;
/** The header is read this far, no further. */
const HEADER_BYTES = 16 * 1024;

/**
 * The archive format the build logs say was made (`# archive: <format>` in
 * a joyent-live log's header); undefined when none says (the C builder's).
 */
export async function claimedFormat(logs: readonly string[]): Promise<string | undefined> {
  for (const log of logs) {
    const handle = await open(log, 'r').catch(() => undefined);
    if (!handle) continue;
    try {
      const { buffer, bytesRead } = await handle.read(
        Buffer.alloc(HEADER_BYTES),
        0,
        HEADER_BYTES,
        0,
      );
      const said = ARCHIVE_LINE.exec(buffer.toString('utf8', 0, bytesRead));
      if (said) return said[1];
    } finally {
      await handle.close();
    }
  }
  return undefined;
}

/** Why the boot_archive is not the format the log says the build made, if it is not. */
function formatMismatch(
  claimed: string | undefined,
  format: 'hsfs' | 'unknown',
): string | undefined {
  if (claimed === 'hsfs' && format !== 'hsfs')
    return 'the build log says hsfs, but the boot_archive has no ISO 9660 volume descriptor';
  if ((claimed === 'ufs' || claimed === 'ufs-native') && format === 'hsfs')
    return `the build log says ${claimed}, but the boot_archive is an ISO 9660 image`;
  return undefined;
}

/**
 * Checks boot_archive.hash and every `f` md5 of the platform's manifest
 * against the boot_archive itself, where its format is readable here.
 * `claimed` is the format the build log says was made (claimedFormat()).
 */
export async function checkContent(
  platform: OpenedPlatform,
  manifest: BootManifest,
  elf?: ElfCandidates,
  claimed?: string,
): Promise<ContentCheck> {
  const archive = join(platform.archiveDir, 'boot_archive');
  const check: ContentCheck = { method: 'none', checked: 0, mismatches: [], missing: [] };
  if (!(await lstat(archive).catch(() => undefined))) {
    check.skipped = 'the platform has no boot_archive (built with --archive none)';
    return check;
  }
  // Regular files only: a FIFO or a device there would hang or never end.
  await (await openRegularFile(archive, 'boot_archive')).close();
  const hashFile = join(platform.archiveDir, 'boot_archive.hash');
  let expected = '';
  if (await lstat(hashFile).catch(() => undefined)) {
    const handle = await openRegularFile(hashFile, 'boot_archive.hash');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(128), 0, 128, 0);
      expected = buffer.toString('latin1', 0, bytesRead).trim();
    } finally {
      await handle.close();
    }
  }
  const actual = await sha1(archive);
  check.hash = { expected: expected || '(no boot_archive.hash)', actual, ok: expected === actual };
  const format = await archiveFormat(archive);
  const mismatch = formatMismatch(claimed, format);
  if (mismatch) {
    check.unreadable = mismatch;
    return check;
  }
  if (format !== 'hsfs') {
    await checkUfsArchive(archive, manifest, check, elf);
    return check;
  }
  const xorriso = await which('xorriso');
  if (!xorriso) {
    check.skipped = 'reading an hsfs boot_archive needs xorriso on PATH';
    return check;
  }
  const temp = await mkdtemp(join(tmpdir(), 'joyent-live-image-'));
  const undo = removeOnInterrupt(temp);
  try {
    const read = await run(xorriso, [
      '-no_rc',
      '-osirrox',
      'on',
      '-indev',
      archive,
      '-extract',
      '/',
      join(temp, 'root'),
    ]);
    if (read.status !== 0) {
      throw new UserError(`xorriso could not read ${archive} (${describeStatus(read)})`);
    }
    check.method = 'hsfs boot_archive read with xorriso';
    const root = await realpath(join(temp, 'root'));
    for (const entry of manifest.entries.values()) {
      if (entry.type !== 'f' || !entry.md5) continue;
      const digest = await md5OfImageFile(root, entry.path);
      if (!digest) check.missing.push(entry.path);
      else if (digest.md5 !== entry.md5)
        check.mismatches.push({ path: entry.path, expected: entry.md5, actual: digest.md5 });
      else check.checked++;
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
    undo();
  }
  return check;
}
