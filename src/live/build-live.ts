import { chmod, copyFile, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { writeHsfs, writeHsfsFromTree, type IsoTool } from '../archive/hsfs.js';
import { writePlatformTgz } from '../archive/tgz.js';
import { planUfs, planUfsWithTable, type UfsPlan } from '../archive/ufs/plan.js';
import type { UfsInode } from '../archive/ufs/tree.js';
import { writeUfs } from '../archive/ufs/write.js';
import { writeUfsNative } from '../archive/ufs-native.js';
import { assembleImage, implicitDirNode, type AssemblyProgress } from '../assembly/assemble.js';
import { runCustomize } from '../assembly/customize.js';
import { bootManifestLines } from '../formats/boot-manifest.js';
import { formatLogRecord } from '../formats/jsonl-twin.js';
import {
  BOOT_ARCHIVE,
  BOOT_ARCHIVE_HASH,
  BOOT_ARCHIVE_MANIFEST,
  BUILDSTAMP_FILE,
  IMAGE_KERNEL,
  LOG_WORK_DIR_PREFIX,
  logFileNames,
  MANIFEST_COPY,
  outputLayout,
  WORK_DIR_PREFIX,
  workLayout,
  type OutputLayout,
  type WorkLayout,
} from '../formats/output-layout.js';
import { formatBootArchiveLine, formatLogLine, formatSummaryLine } from '../formats/build-log.js';
import { applyModelToTree } from '../image/apply-tree.js';
import { contentPath, ROOT_DIR, type BuildCounts, type ImageNode } from '../image/model.js';
import { readImageIdentities, resolveOwners, type ImageIdentities } from '../image/owners.js';
import { rescanAfterCustomize, snapshotStaging } from '../image/rescan.js';
import { parentPath } from '../manifest/path.js';
import { formatDiagnostic, TYPE_NAMES, type Diagnostic } from '../manifest/types.js';
import { AtomicLineWriter } from '../util/atomic.js';
import { onInterrupt } from '../util/cleanup.js';
import { md5OfFile } from '../util/copy.js';
import { ioError, isIoCondition, UserError } from '../util/errors.js';
import { humanBytes, printable } from '../util/format.js';
import { removeTree } from '../util/remove-tree.js';
import { VERSION } from '../version.js';
import {
  ARCHIVE_FORMATS,
  chooseArchive,
  isUfs,
  type ArchiveFormat,
  type BuiltArchive,
} from './archive-choice.js';
import {
  checkCanCreateDir,
  checkHostPathRoom,
  ensureWritableDir,
  lockBuildDirs,
  removeLeftovers,
} from './output.js';
import { publishSet } from './publish.js';
import { dryRunImage, imageToPack, withManifestLine } from './plan-live.js';
import {
  failedEntries,
  prepareBuild,
  type FailedEntry,
  type PreparedBuild,
  type PrepareOptions,
} from './prepare.js';
import { checkMaxSize, type UfsOptions } from './ufs-options.js';

export { ARCHIVE_FORMATS, type ArchiveFormat, type BuiltArchive };

export interface BuildLiveOptions extends PrepareOptions {
  output: string;
  logDir: string;
  archive?: ArchiveFormat;
  /** Size options of the UFS formats (ignored by hsfs and none). */
  ufs?: UfsOptions;
  /** Keep the staged tree as `image-<STAMP>/` for every format, not only `none`. */
  keepStaging?: boolean;
  onInfo?: (message: string) => void;
  onProgress?: (progress: AssemblyProgress) => void;
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

/** Runs a step that writes `path`: a full disk or a size limit names it. */
async function writing<T>(path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof UserError) && isIoCondition(err)) throw ioError(err, 'write', path);
    throw err;
  }
}

/**
 * Adds (and creates) the parent directories of `path` that the image lacks.
 * Refuses to write through a parent that is not a directory (a customize
 * step may have replaced one with a symlink).
 */
async function ensureParents(
  path: string,
  nodes: Map<string, ImageNode>,
  context: {
    stagingRoot: string;
    ids: ImageIdentities;
    warnings: Diagnostic[];
    /** The build stages nothing: the staging tree lacks the model's directories. */
    locateOnly: boolean;
  },
) {
  for (let p: string | undefined = path; p; p = parentPath(p)) {
    const node = nodes.get(p);
    if (node && (p === path ? node.type === 'd' : node.type !== 'd')) {
      const made = node.origin === 'customize' ? ' (made by the customize step)' : '';
      throw new UserError(
        `cannot write ${path} into the image: ${p} is a ${TYPE_NAMES[node.type]}${made}` +
          (p === path ? '' : ', not a directory'),
      );
    }
  }
  const missing: string[] = [];
  for (let p = parentPath(path); p && !nodes.has(p); p = parentPath(p)) missing.unshift(p);
  if (context.locateOnly) {
    await mkdir(join(context.stagingRoot, parentPath(path) ?? ''), { recursive: true });
  }
  for (const dir of missing) {
    if (!context.locateOnly) await mkdir(join(context.stagingRoot, dir), 0o755);
    const node = implicitDirNode(dir);
    node.uid = context.ids.users.idOf(node.owner) ?? 0;
    node.gid = context.ids.groups.idOf(node.group) ?? 0;
    nodes.set(dir, node);
    context.warnings.push({
      severity: 'warning',
      message: `directory ${dir} is not in the manifest: created for ${path}`,
    });
  }
}

/** What checkInputs found: everything the build needs, checked before the first write. */
interface CheckedInputs {
  archive: BuiltArchive;
  isoTool?: IsoTool;
  ufsOptions: UfsOptions;
  prepared: PreparedBuild;
  /** Nothing reads the staged tree: the UFS writer takes each file from its source. */
  locateOnly: boolean;
  /**
   * A build that stages nothing is assembled (found and hashed) while its
   * inputs are checked: the assembly is the dry run. Its log lines are
   * written once the log exists.
   */
  located?: StagedImage['assembled'];
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

/** The image after assembly, the buildstamp file and the customize step. */
interface StagedImage {
  assembled: Awaited<ReturnType<typeof assembleImage>>;
  ids: ImageIdentities;
  image: Map<string, ImageNode>;
  warnings: Diagnostic[];
  rescanNotes: string[];
}

interface WrittenArchive {
  bootArchiveHash?: string;
  ufsPlan?: UfsPlan;
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

/** Phase: everything that can be checked, before anything is written or created. */
async function checkInputs(
  options: BuildLiveOptions,
  info: (message: string) => void,
): Promise<CheckedInputs> {
  const { archive, isoTool } = await chooseArchive(options.archive ?? 'auto', info);
  const ufsOptions = options.ufs ?? {};
  const prepared = await prepareBuild(options);
  // With no customize step nothing reads the tree on disk: the UFS writer
  // takes each file from its source, and nothing is staged.
  const locateOnly = prepared.scripts.length === 0 && archive === 'ufs' && !options.keepStaging;
  let located: StagedImage['assembled'] | undefined;
  if (locateOnly) {
    // Nothing is staged, so the assembly writes nothing: it runs now, and
    // what UFS cannot hold (a name over 255 bytes, a symlink target over
    // 1023) or an image over --ufs-max-size is found before any directory
    // is made.
    located = await assembleImage({
      entries: prepared.entries,
      search: prepared.search,
      stagingRoot: '',
      onProgress: options.onProgress,
      locateOnly: true,
    });
    const { image } = await imageToPack(prepared, located);
    const plan = withManifestLine(prepared, () => planUfs(image.values(), ufsOptions));
    checkMaxSize(plan, ufsOptions, 'before the customize step');
  } else if (isUfs(archive)) {
    // A dry run (stat only) finds the same before anything is copied. The
    // build then reuses what it found.
    prepared.search.remember();
    const dry = await dryRunImage(prepared);
    const plan = withManifestLine(prepared, () => planUfs(dry.image.values(), ufsOptions));
    checkMaxSize(plan, ufsOptions, 'before the customize step');
  }
  checkHostPathRoom(options.output, prepared.entries.keys());
  // Both directories, before either is created.
  await checkCanCreateDir(options.output, 'output directory');
  await checkCanCreateDir(options.logDir, 'log directory');
  return { archive, isoTool, ufsOptions, prepared, locateOnly, located };
}

/** Everything from the work directories to the published set, holding the locks. */
async function buildLocked(
  options: BuildLiveOptions,
  checked: CheckedInputs,
  info: (message: string) => void,
): Promise<BuildLiveResult> {
  const { archive, prepared } = checked;
  const dirs = await openWorkDir(options, prepared.buildstamp);
  // SIGINT/SIGTERM (src/util/cleanup.ts): the work directories go, but not
  // in the middle of the publish renames (the previous set is aside there).
  let publishing: Promise<void> | undefined;
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
    const written = await writeArchive(checked, dirs, staged, info);
    const keepImage = archive === 'none' || options.keepStaging === true;
    // The tgz pass also takes the boot_archive's sha1, which the log names.
    written.bootArchiveHash = await packAndClear(checked, dirs, staged, keepImage, info);
    const warningLines = await closeLog(dirs, staged, written);
    publishing = publish(dirs, keepImage, archive !== 'none');
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
      bootArchive: archive !== 'none' ? join(platformArchiveDir, BOOT_ARCHIVE) : undefined,
      bootArchiveHash: written.bootArchiveHash,
      tgz: archive !== 'none' ? layout.tgz : undefined,
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

/** Phase: every manifest entry into the staging tree (or located only), logged as applied. */
async function assemble(
  options: BuildLiveOptions,
  checked: CheckedInputs,
  dirs: WorkDirs,
): Promise<StagedImage['assembled']> {
  if (checked.located) {
    for (const node of checked.located.applied) await dirs.log.line(formatLogLine(node));
    return checked.located;
  }
  return assembleImage({
    entries: checked.prepared.entries,
    search: checked.prepared.search,
    stagingRoot: dirs.work.stagingRoot,
    log: dirs.log,
    onProgress: options.onProgress,
    locateOnly: checked.locateOnly,
  });
}

/** Phase: owners resolved, the JSONL twin, etc/joyent_buildstamp, and the customize step. */
async function stampAndCustomize(
  options: BuildLiveOptions,
  checked: CheckedInputs,
  dirs: WorkDirs,
  assembled: StagedImage['assembled'],
  info: (message: string) => void,
): Promise<StagedImage> {
  const { prepared, locateOnly } = checked;
  const { buildstamp, scripts } = prepared;
  const { stagingRoot } = dirs.work;
  const warnings: Diagnostic[] = [...prepared.warnings];
  const overlays = options.overlays ?? [];
  const { nodes, counts } = assembled;
  warnings.push(...assembled.warnings);
  const ids = await readImageIdentities(nodes, stagingRoot);
  counts.unknownOwners = resolveOwners(nodes, ids, warnings);
  for (const node of assembled.applied) await dirs.jsonl.line(formatLogRecord(node));

  // etc/joyent_buildstamp (docs/output-layout.md); a manifest entry for it keeps its mode and owner.
  const stampPath = BUILDSTAMP_FILE;
  await ensureParents(stampPath, nodes, { stagingRoot, ids, warnings, locateOnly });
  await rm(join(stagingRoot, stampPath), { force: true });
  await writing(join(stagingRoot, stampPath), () =>
    writeFile(join(stagingRoot, stampPath), `${buildstamp}\n`, { mode: 0o644 }),
  );
  const stampNode: ImageNode = nodes.get(stampPath) ?? {
    path: stampPath,
    type: 'f',
    origin: 'buildstamp',
    mode: 0o644,
    owner: 'root',
    group: 'root',
    uid: 0,
    gid: 0,
    status: 'ok',
  };
  Object.assign(stampNode, await md5OfFile(join(stagingRoot, stampPath)), { status: 'ok' });
  nodes.set(stampPath, stampNode);

  let image: Map<string, ImageNode>;
  const rescanNotes: string[] = [];
  if (scripts.length > 0) {
    const snapshot = await snapshotStaging(nodes, stagingRoot);
    info(`customize: running ${scripts.join(', ')}`);
    // Absolute paths: a script may change directory before it uses them.
    await runCustomize(scripts, {
      imageRoot: resolve(stagingRoot),
      firstOverlay: overlays[0] === undefined ? '' : resolve(overlays[0]),
      buildstamp,
      proto: options.proto === undefined ? '' : resolve(options.proto),
      timeoutMs: options.customizeTimeout,
      warnings: rescanNotes,
    });
    image = await rescanAfterCustomize(nodes, snapshot, stagingRoot, ids, rescanNotes);
  } else {
    image = new Map([...nodes].filter(([, node]) => node.status === 'ok'));
  }
  return { assembled, ids, image, warnings, rescanNotes };
}

/** Phase: boot_archive.manifest (and its copy), the boot_archive, its hash and the kernel. */
async function writeArchive(
  checked: CheckedInputs,
  dirs: WorkDirs,
  staged: StagedImage,
  info: (message: string) => void,
): Promise<WrittenArchive> {
  const { archive, isoTool, ufsOptions, prepared, locateOnly } = checked;
  const { image, ids, warnings } = staged;
  const { layout, work } = dirs;
  const { stagingRoot } = work;
  const epoch = prepared.epoch;
  await ensureParents(MANIFEST_COPY, image, { stagingRoot, ids, warnings, locateOnly });
  image.delete(MANIFEST_COPY);
  const archiveDir = layout.archiveDir(work.platformPartial);
  await mkdir(archiveDir, { recursive: true });
  await writing(archiveDir, () => writeBootManifest(image, ids, archiveDir, stagingRoot));
  const fileOf = (path: string) => {
    const node = image.get(path)!;
    return contentPath(node.type === 'h' ? image.get(node.linkedFile!)! : node, stagingRoot);
  };
  const written: WrittenArchive = {};
  if (archive === 'hsfs') {
    info(`hsfs: writing boot_archive with ${isoTool!.name}`);
    await writing(join(archiveDir, 'boot_archive'), () =>
      packHsfs(isoTool!, image, layout, work, epoch),
    );
  } else if (isUfs(archive)) {
    const planOptions = { ...ufsOptions, stagingRoot, contentPath: fileOf, root: ROOT_DIR };
    info(`${archive}: planning the boot_archive`);
    const { plan: ufsPlan, table } = withManifestLine(prepared, () =>
      planUfsWithTable(image.values(), planOptions),
    );
    checkMaxSize(ufsPlan, ufsOptions, 'after the customize step');
    info(
      `${archive}: writing a ${humanBytes(ufsPlan.imageBytes)} boot_archive ` +
        `(${ufsPlan.inodes} inodes, ${ufsPlan.inodesUsed} used)`,
    );
    await writing(join(archiveDir, 'boot_archive'), () =>
      packUfs(archive, { plan: ufsPlan, table }, image, layout, work, epoch, fileOf),
    );
    written.ufsPlan = ufsPlan;
  }
  if (archive !== 'none') {
    info('kernel: copying the kernel beside the boot_archive');
    await writing(archiveDir, () => finishBootArchive(image, layout, work, fileOf));
  }
  await normalizeModes(work.platformPartial);
  return written;
}

/**
 * Phase: the closing lines of the log (warnings as ignorable `#` lines, the
 * boot_archive's sha1, the summary), and both files ended under their
 * temporary names. Returns the warning lines.
 */
async function closeLog(
  dirs: WorkDirs,
  staged: StagedImage,
  written: WrittenArchive,
): Promise<string[]> {
  const { log, jsonl } = dirs;
  const { assembled, warnings, rescanNotes } = staged;
  const warningLines = [
    ...warnings.map(formatDiagnostic),
    ...rescanNotes.map((n) => `warning: ${n}`),
  ];
  for (const line of warningLines) await log.line(`# ${printable(line)}`);
  if (written.bootArchiveHash !== undefined) {
    await log.line(formatBootArchiveLine(written.bootArchiveHash));
  }
  await log.line(formatSummaryLine({ ...assembled.counts, entries: assembled.applied.length }));
  await log.finish();
  await jsonl.finish();
  return warningLines;
}

/**
 * Phase: the tgz, and the staged tree either removed or made into the kept
 * image (modes, owners, times from the model). Both finish before anything
 * is published: a removal that fails fails the build with nothing new in place.
 */
async function packAndClear(
  checked: CheckedInputs,
  dirs: WorkDirs,
  staged: StagedImage,
  keepImage: boolean,
  info: (message: string) => void,
): Promise<string | undefined> {
  const { archive, prepared } = checked;
  const { work, layout } = dirs;
  const epoch = prepared.epoch;
  let bootArchiveHash: string | undefined;
  if (archive !== 'none') {
    info('tgz: packing the platform directory, hashing the boot_archive');
    const archiveDir = layout.archiveDir(work.platformPartial);
    const inPlatform = (name: string) => relative(work.platformPartial, join(archiveDir, name));
    const digest = { of: inPlatform(BOOT_ARCHIVE), into: inPlatform(BOOT_ARCHIVE_HASH) };
    // The staged tree is packed now: removing it (I/O) overlaps gzip (CPU).
    const [packed, removed] = await Promise.allSettled([
      writing(work.tgzPartial, () =>
        writePlatformTgz(work.dir, layout.platformName, work.tgzPartial, epoch, { digest }),
      ),
      keepImage ? undefined : removeTree(work.stagingRoot),
    ]);
    if (packed.status === 'rejected') throw packed.reason;
    if (removed.status === 'rejected') throw removed.reason;
    bootArchiveHash = packed.value;
  }
  if (keepImage) {
    await applyModelToTree(work.stagingRoot, staged.image.values(), ROOT_DIR, {
      owners: process.getuid?.() === 0,
      time: epoch,
    });
  }
  return bootArchiveHash;
}

/**
 * Phase: the whole set into place (src/live/publish.ts), the log last; a
 * name this build has no new output for (the tgz with `--archive none`, an
 * image directory not kept) loses the previous build's, so that the set
 * is never a mix of two builds.
 */
async function publish(dirs: WorkDirs, keepImage: boolean, hasTgz: boolean): Promise<void> {
  const { layout, work, log, jsonl } = dirs;
  const logAside = join(dirs.logWork, 'aside');
  await publishSet([
    { to: layout.platformDir, from: work.platformPartial, aside: work.aside },
    { to: layout.tgz, from: hasTgz ? work.tgzPartial : undefined, aside: work.aside },
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

/**
 * boot_archive.manifest (docs/boot-archive-manifest.md) into the platform directory, and its copy
 * at var/log/manifest in the image, which does not list itself.
 */
async function writeBootManifest(
  image: Map<string, ImageNode>,
  ids: ImageIdentities,
  archiveDir: string,
  stagingRoot: string,
): Promise<void> {
  const path = join(archiveDir, BOOT_ARCHIVE_MANIFEST);
  const writer = new AtomicLineWriter(path);
  for (const line of bootManifestLines(image.values(), ids)) await writer.line(line);
  await writer.commit();
  await rm(join(stagingRoot, MANIFEST_COPY), { force: true });
  await copyFile(path, join(stagingRoot, MANIFEST_COPY));
  image.set(MANIFEST_COPY, {
    path: MANIFEST_COPY,
    type: 'f',
    origin: 'manifest-copy',
    mode: 0o444,
    owner: 'root',
    group: 'root',
    uid: 0,
    gid: 0,
    status: 'ok',
    ...(await md5OfFile(path)),
  });
}

/** The hsfs boot_archive. */
async function packHsfs(
  tool: IsoTool,
  image: ReadonlyMap<string, ImageNode>,
  layout: OutputLayout,
  work: WorkLayout,
  epoch: number,
): Promise<void> {
  const archiveDir = layout.archiveDir(work.platformPartial);
  const bootArchive = join(archiveDir, BOOT_ARCHIVE);
  const nodes = [...image.values()];
  const { stagingRoot } = work;
  if (tool.name === 'xorriso') {
    const commandFile = work.xorrisoCommands;
    await writeHsfs({ tool, stagingRoot, nodes, output: bootArchive, commandFile, epoch });
  } else {
    await writeHsfsFromTree({ tool, stagingRoot, nodes, output: bootArchive, epoch });
  }
}

/** The UFS boot_archive, by our writer or the upstream way. */
async function packUfs(
  archive: 'ufs' | 'ufs-native',
  { plan, table }: { plan: UfsPlan; table: UfsInode[] },
  image: ReadonlyMap<string, ImageNode>,
  layout: OutputLayout,
  work: WorkLayout,
  epoch: number,
  fileOf: (path: string) => string,
): Promise<void> {
  const output = join(layout.archiveDir(work.platformPartial), BOOT_ARCHIVE);
  const nodes = [...image.values()];
  const { stagingRoot } = work;
  if (archive === 'ufs') {
    const partial = work.ufsPartial;
    await writeUfs({
      stagingRoot,
      contentPath: fileOf,
      nodes,
      root: ROOT_DIR,
      output: partial,
      epoch,
      plan,
      table,
    });
    await rename(partial, output);
  } else {
    await writeUfsNative({ stagingRoot, nodes, output, epoch, plan, workDir: work.dir });
  }
}

/**
 * The kernel beside the boot_archive, and its .hash at its final size: the
 * sha1 is taken, and written into it, as the tgz packs the boot_archive.
 */
async function finishBootArchive(
  image: ReadonlyMap<string, ImageNode>,
  layout: OutputLayout,
  work: WorkLayout,
  fileOf: (path: string) => string,
): Promise<void> {
  const archiveDir = layout.archiveDir(work.platformPartial);
  await writeFile(join(archiveDir, BOOT_ARCHIVE_HASH), `${'0'.repeat(40)}\n`);
  if (image.get(IMAGE_KERNEL)?.type === 'f') {
    const kernelDir = layout.kernelDir(work.platformPartial);
    await mkdir(kernelDir, { recursive: true });
    await copyFile(fileOf(IMAGE_KERNEL), join(kernelDir, 'unix'));
  }
}

/** Platform files get fixed modes, whatever the umask, so the tgz is reproducible. */
async function normalizeModes(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await normalizeModes(path);
    else await chmod(path, 0o644);
  }
}
