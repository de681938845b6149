import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar';
import { UfsReader } from '../archive/ufs/read.js';
import { md5OfFile } from '../util/copy.js';
import { describeError, UserError } from '../util/errors.js';
import { describeStatus, run } from '../util/process.js';
import { checkTarMembers } from '../util/tar-safety.js';
import { which } from '../util/which.js';
import type { BootManifest } from '../formats/boot-manifest.js';
import type { ContentCheck } from './types.js';
import { checkUfsContent } from './ufs-content.js';

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
export async function openPlatform(path: string): Promise<OpenedPlatform> {
  const info = await stat(path).catch((err: unknown) => {
    throw new UserError(`--platform ${path}: ${describeError(err)}`);
  });
  let dir = path;
  let close = () => Promise.resolve();
  if (!info.isDirectory()) {
    await checkTarMembers(path, {
      into: 'the platform directory',
      gzip: { expected: 'platform-<STAMP>.tgz' },
    });
    const temp = await mkdtemp(join(tmpdir(), 'joyent-live-verify-'));
    close = () => rm(temp, { recursive: true, force: true });
    try {
      await extract({ file: path, cwd: temp, strict: true, preservePaths: false });
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

async function sha1(path: string): Promise<string> {
  const hash = createHash('sha1');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** What kind of image a boot_archive is, from its magic numbers. */
async function archiveFormat(path: string): Promise<'hsfs' | 'unknown'> {
  const handle = await open(path, 'r');
  try {
    const { buffer } = await handle.read(Buffer.alloc(5), 0, 5, 0x8001);
    return buffer.toString('latin1') === 'CD001' ? 'hsfs' : 'unknown';
  } finally {
    await handle.close();
  }
}

/**
 * Checks boot_archive.hash and every `f` md5 of the platform's manifest
 * against the boot_archive itself, where its format is readable here.
 */
export async function checkContent(
  platform: OpenedPlatform,
  manifest: BootManifest,
): Promise<ContentCheck> {
  const archive = join(platform.archiveDir, 'boot_archive');
  const check: ContentCheck = { method: 'none', checked: 0, mismatches: [], missing: [] };
  if (!(await stat(archive).catch(() => undefined))) {
    check.skipped = 'the platform has no boot_archive (built with --archive none)';
    return check;
  }
  const expected = (
    await readFile(join(platform.archiveDir, 'boot_archive.hash'), 'utf8').catch(() => '')
  ).trim();
  const actual = await sha1(archive);
  check.hash = { expected: expected || '(no boot_archive.hash)', actual, ok: expected === actual };
  if ((await archiveFormat(archive)) !== 'hsfs') {
    // UFS: known by its superblock, which our reader checks when it opens.
    let reader: UfsReader;
    try {
      reader = await UfsReader.open(archive);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      check.skipped = `the boot_archive is neither hsfs nor a readable UFS (${err.message})`;
      return check;
    }
    try {
      await checkUfsContent(reader, manifest, check);
    } finally {
      await reader.close();
    }
    return check;
  }
  const xorriso = await which('xorriso');
  if (!xorriso) {
    check.skipped = 'reading an hsfs boot_archive needs xorriso on PATH';
    return check;
  }
  const temp = await mkdtemp(join(tmpdir(), 'joyent-live-image-'));
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
    for (const entry of manifest.entries.values()) {
      if (entry.type !== 'f' || !entry.md5) continue;
      const digest = await md5OfFile(join(temp, 'root', entry.path)).catch(() => undefined);
      if (!digest) check.missing.push(entry.path);
      else if (digest.md5 !== entry.md5)
        check.mismatches.push({ path: entry.path, expected: entry.md5, actual: digest.md5 });
      else check.checked++;
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return check;
}
