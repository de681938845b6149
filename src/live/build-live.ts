import { mkdir, mkdtemp } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writePlatformTgz } from '../archive/tgz.js';
import type { UfsPlan } from '../archive/ufs/plan.js';
import {
  BOOT_ARCHIVE,
  BOOT_ARCHIVE_HASH,
  BOOT_ARCHIVE_MANIFEST,
  LOG_WORK_DIR_PREFIX,
  logFileNames,
  outputLayout,
  WORK_DIR_PREFIX,
  workLayout,
  type OutputLayout,
  type WorkLayout,
} from '../formats/output-layout.js';
import { formatBootArchiveLine, formatSummaryLine } from '../formats/build-log.js';
import { applyModelToTree } from '../image/apply-tree.js';
import { ROOT_DIR, type BuildCounts } from '../image/model.js';
import { formatDiagnostic } from '../manifest/types.js';
import { AtomicLineWriter } from '../util/atomic.js';
import { onInterrupt } from '../util/cleanup.js';
import { printable } from '../util/format.js';
import { removeTree } from '../util/remove-tree.js';
import { VERSION } from '../version.js';
import { ARCHIVE_FORMATS, type ArchiveFormat, type BuiltArchive } from './archive-choice.js';
import { checkInputs, type CheckedInputs, type CheckOptions } from './check.js';
import { ensureWritableDir, lockBuildDirs, removeLeftovers, writing } from './output.js';
import { publishSet } from './publish.js';
import { failedEntries, type FailedEntry } from './prepare.js';
import { assemble, stampAndCustomize, writeJsonl, type StagedImage } from './stage.js';
import { writeArchive, type WrittenArchive } from './write-archive.js';

export { ARCHIVE_FORMATS, type ArchiveFormat, type BuiltArchive };

export interface BuildLiveOptions extends CheckOptions {
  onInfo?: (message: string) => void;
}

export type { FailedEntry };

export interface BuildLiveResult {
  buildstamp: string;
  archive: BuiltArchive;
  platformDir: string;
  bootManifest: string;
  bootArchive?: string;
  bootArchiveHash?: string;
  tgz?: string;
  imageDir?: string;
  log: string;
  jsonl: string;
  counts: BuildCounts;
  /** Entries in the final image (after customize), the root excluded. */
  imageEntries: number;
  failed: FailedEntry[];
  warnings: string[];
  /** The UFS size plan the boot_archive was made with (ufs, ufs-native). */
  ufsPlan?: UfsPlan;
  /** docs/exit-codes.md: 0 built clean, 3 built with FAILED entries. */
  exitCode: 0 | 3;
}

/** The OS-independent default for the S source: `/` only on illumos. */
export function defaultSystemRoot(
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  switch (platform) {
    case 'sunos':
      return '/';
    default:
      return undefined;
  }
}

/** The build's private work directories and the log writers inside them. */
interface WorkDirs {
  layout: OutputLayout;
  work: WorkLayout;
  /** `<log-dir>/.build_live-XXXXXX/`: the log and JSONL until they are published. */
  logWork: string;
  logPath: string;
  jsonlPath: string;
  log: AtomicLineWriter;
  jsonl: AtomicLineWriter;
}

/**
 * `make live` (docs/assembly.md, docs/output-layout.md): manifests in, platform directory, tgz, build log
 * and boot_archive.manifest out. Throws UserError for bad input, before
 * writing anything when the input can be checked up front.
 */
export async function buildLive(options: BuildLiveOptions): Promise<BuildLiveResult> {
  const info = options.onInfo ?? (() => undefined);
  const checked = await checkInputs(options, info);
  await ensureWritableDir(options.output, 'output directory');
  await ensureWritableDir(options.logDir, 'log directory');
  const releaseLocks = await lockBuildDirs(options.output, options.logDir, info);
  try {
    // Holding both locks, what earlier builds left in either directory is ours.
    await removeLeftovers(options.output, options.logDir, info);
    return await buildLocked(options, checked, info);
  } finally {
    await releaseLocks();
  }
}

/** Everything from the work directories to the published set, holding the locks. */
async function buildLocked(
  options: BuildLiveOptions,
  checked: CheckedInputs,
  info: (message: string) => void,
): Promise<BuildLiveResult> {
  const { archive, prepared, packs, keepImage } = checked;
  const dirs = await openWorkDir(options, prepared.buildstamp);
  // SIGINT/SIGTERM (src/util/cleanup.ts): the work directories go, but not
  // in the middle of the publish renames (the previous set is aside there).
  let publishing: Promise<void> | undefined;
  let written: WrittenArchive | undefined;
  const undoTemps = onInterrupt(async () => {
    await publishing?.catch(() => undefined);
    await Promise.all([removeTree(dirs.work.dir), removeTree(dirs.logWork)]);
  });
  try {
    await writeLogHeader(dirs.log, checked);
    const staged = await stampAndCustomize(
      options,
      checked,
      dirs,
      await assemble(options, checked, dirs),
      info,
    );
    written = await writeArchive(checked, dirs, staged, info);
    // The md5s of a located build come from the writer: its JSONL records now.
    if (checked.mode.kind === 'located') await writeJsonl(dirs.jsonl, staged.assembled);
    // The tgz pass also takes the boot_archive's sha1, which the log names.
    const { bootArchiveSha1 } = await packAndClear(checked, dirs, staged, written, info);
    const warningLines = await closeLog(dirs, staged, bootArchiveSha1);
    publishing = publish(dirs, checked);
    await publishing;
    await discardWorkDirs(dirs, info);
    undoTemps();
    const { layout } = dirs;
    const { counts, applied } = staged.assembled;
    const platformArchiveDir = layout.archiveDir(layout.platformDir);
    return {
      buildstamp: prepared.buildstamp,
      archive,
      platformDir: layout.platformDir,
      bootManifest: join(platformArchiveDir, BOOT_ARCHIVE_MANIFEST),
      bootArchive: packs ? join(platformArchiveDir, BOOT_ARCHIVE) : undefined,
      bootArchiveHash: bootArchiveSha1,
      tgz: packs ? layout.tgz : undefined,
      imageDir: keepImage ? layout.imageDir : undefined,
      log: dirs.logPath,
      jsonl: dirs.jsonlPath,
      counts,
      imageEntries: staged.image.size,
      failed: failedEntries(applied),
      warnings: warningLines,
      ufsPlan: written.ufsPlan,
      exitCode: counts.failed > 0 ? 3 : 0,
    };
  } catch (err) {
    written?.early?.dispose();
    await dirs.log.abort();
    await dirs.jsonl.abort();
    await discardWorkDirs(dirs, info);
    undoTemps();
    throw err;
  }
}

/**
 * Phase: the private work directories (`mkdtemp`, mode 0700) in the output
 * and log directories, and the log writers in the latter: no name a third
 * party could plant is ever opened (docs/output-layout.md).
 */
async function openWorkDir(options: BuildLiveOptions, buildstamp: string): Promise<WorkDirs> {
  const layout = outputLayout(options.output, buildstamp);
  const workDir = await writing(options.output, () =>
    mkdtemp(join(options.output, WORK_DIR_PREFIX)),
  );
  const logWork = await writing(options.logDir, () =>
    mkdtemp(join(options.logDir, LOG_WORK_DIR_PREFIX)),
  ).catch(async (err: unknown) => {
    await removeTree(workDir);
    throw err;
  });
  const work = workLayout(workDir, buildstamp);
  await mkdir(work.stagingRoot);
  const names = logFileNames(buildstamp);
  const logPath = join(options.logDir, names.log);
  const jsonlPath = join(options.logDir, names.jsonl);
  return {
    layout,
    work,
    logWork,
    logPath,
    jsonlPath,
    log: new AtomicLineWriter(logPath, { tmp: join(logWork, names.log) }),
    jsonl: new AtomicLineWriter(jsonlPath, { tmp: join(logWork, names.jsonl) }),
  };
}

/** Phase: the log's header lines (docs/build-log.md). */
async function writeLogHeader(log: AtomicLineWriter, checked: CheckedInputs): Promise<void> {
  const { prepared, archive } = checked;
  await log.line(`# joyent-live build-live ${VERSION}`);
  await log.line(`# buildstamp: ${prepared.buildstamp}`);
  // Header and warning lines name inputs: printable, so that each stays one `#` line.
  for (const file of prepared.manifestFiles) await log.line(`# manifest: ${printable(file)}`);
  for (const root of prepared.search.roots) {
    await log.line(`# source ${root.tag}: ${printable(root.dir)}`);
  }
  for (const script of prepared.scripts) await log.line(`# customize: ${printable(script)}`);
  await log.line(`# archive: ${archive}`);
}

/**
 * Phase: the closing lines of the log (warnings as ignorable `#` lines, the
 * boot_archive's sha1, the summary), and both files ended under their
 * temporary names. Returns the warning lines.
 */
async function closeLog(
  dirs: WorkDirs,
  staged: StagedImage,
  bootArchiveSha1: string | undefined,
): Promise<string[]> {
  const { log, jsonl } = dirs;
  const { assembled, warnings, rescanNotes } = staged;
  const warningLines = [
    ...warnings.map(formatDiagnostic),
    ...rescanNotes.map((n) => `warning: ${n}`),
  ];
  for (const line of warningLines) await log.line(`# ${printable(line)}`);
  if (bootArchiveSha1 !== undefined) await log.line(formatBootArchiveLine(bootArchiveSha1));
  await log.line(formatSummaryLine({ ...assembled.counts, entries: assembled.applied.length }));
  await log.finish();
  await jsonl.finish();
  return warningLines;
}

/**
 * Phase: the tgz, and the staged tree either removed or made into the kept
 * image (modes, owners, times from the model). Both finish before anything
 * is published: a removal that fails fails the build with nothing new in place.
 * Returns the sha1 of the boot_archive (hex), taken as the tgz packed it,
 * when there is one.
 */
async function packAndClear(
  checked: CheckedInputs,
  dirs: WorkDirs,
  staged: StagedImage,
  { early }: WrittenArchive,
  info: (message: string) => void,
): Promise<{ bootArchiveSha1?: string }> {
  const { prepared, packs, keepImage } = checked;
  const { work, layout } = dirs;
  const epoch = prepared.epoch;
  let bootArchiveSha1: string | undefined;
  if (packs) {
    info('tgz: packing the platform directory, hashing the boot_archive');
    const archiveDir = layout.archiveDir(work.platformPartial);
    const inPlatform = (name: string) => relative(work.platformPartial, join(archiveDir, name));
    const digest = { of: inPlatform(BOOT_ARCHIVE), into: inPlatform(BOOT_ARCHIVE_HASH) };
    // The deflate threads are the stream's from here; it takes what they made.
    early?.stop();
    // The staged tree is packed now: removing it (I/O) overlaps gzip (CPU).
    const [packed, removed] = await Promise.allSettled([
      writing(work.tgzPartial, () =>
        writePlatformTgz(work.dir, layout.platformName, work.tgzPartial, epoch, {
          digest,
          premade: early,
        }),
      ).finally(() => early?.dispose()),
      keepImage ? undefined : removeTree(work.stagingRoot),
    ]);
    if (packed.status === 'rejected') throw packed.reason;
    if (removed.status === 'rejected') throw removed.reason;
    bootArchiveSha1 = packed.value;
  }
  if (keepImage) {
    await applyModelToTree(work.stagingRoot, staged.image.values(), ROOT_DIR, {
      owners: process.getuid?.() === 0,
      time: epoch,
    });
  }
  return { bootArchiveSha1 };
}

/**
 * Phase: the whole set into place (src/live/publish.ts), the log last; a
 * name this build has no new output for (the tgz with `--archive none`, an
 * image directory not kept) loses the previous build's, so that the set
 * is never a mix of two builds.
 */
async function publish(dirs: WorkDirs, checked: CheckedInputs): Promise<void> {
  const { layout, work, log, jsonl } = dirs;
  const { packs, keepImage } = checked;
  const logAside = join(dirs.logWork, 'aside');
  await publishSet([
    { to: layout.platformDir, from: work.platformPartial, aside: work.aside },
    { to: layout.tgz, from: packs ? work.tgzPartial : undefined, aside: work.aside },
    { to: layout.imageDir, from: keepImage ? work.stagingRoot : undefined, aside: work.aside },
    { to: dirs.jsonlPath, from: jsonl.tmp, aside: logAside },
    { to: dirs.logPath, from: log.tmp, aside: logAside },
  ]);
}

/**
 * Phase: the work directories removed (with the previous outputs set aside
 * in them). A failure leaves them for the next build to remove, with a line
 * saying so; it does not undo a published set.
 */
async function discardWorkDirs(dirs: WorkDirs, info: (message: string) => void): Promise<void> {
  for (const dir of [dirs.work.dir, dirs.logWork]) {
    await removeTree(dir).catch((err: unknown) => {
      info(
        `warning: ${err instanceof Error ? err.message : String(err)}; the next build removes it`,
      );
    });
  }
}
