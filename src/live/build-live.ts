import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { writeHsfs, writeHsfsFromTree, type IsoTool } from '../archive/hsfs.js';
import { writePlatformTgz } from '../archive/tgz.js';
import { planUfs, type UfsPlan } from '../archive/ufs/plan.js';
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
  logFileNames,
  MANIFEST_COPY,
  outputLayout,
  type OutputLayout,
} from '../formats/output-layout.js';
import { formatSummaryLine } from '../formats/build-log.js';
import { applyModelToTree } from '../image/apply-tree.js';
import { contentPath, ROOT_DIR, type BuildCounts, type ImageNode } from '../image/model.js';
import { readImageIdentities, resolveOwners, type ImageIdentities } from '../image/owners.js';
import { rescanAfterCustomize, snapshotStaging } from '../image/rescan.js';
import { parentPath } from '../manifest/path.js';
import { formatDiagnostic, TYPE_NAMES, type Diagnostic } from '../manifest/types.js';
import { AtomicLineWriter } from '../util/atomic.js';
import { onInterrupt, removeTree } from '../util/cleanup.js';
import { md5OfFile } from '../util/copy.js';
import { ioError, isIoCondition, UserError } from '../util/errors.js';
import { humanBytes } from '../util/format.js';
import { VERSION } from '../version.js';
import {
  ARCHIVE_FORMATS,
  chooseArchive,
  isUfs,
  type ArchiveFormat,
  type BuiltArchive,
} from './archive-choice.js';
import {
  checkDirOrAbsent,
  checkHostPathRoom,
  ensureWritableDir,
  lockBuildDirs,
  replaceWith,
} from './output.js';
import { dryRunImage, withManifestLine } from './plan-live.js';
import { failedEntries, prepareBuild, type FailedEntry, type PrepareOptions } from './prepare.js';
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

async function sha1File(path: string): Promise<string> {
  const hash = createHash('sha1');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
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

/**
 * `make live` (docs/assembly.md, docs/output-layout.md): manifests in, platform directory, tgz, build log
 * and boot_archive.manifest out. Throws UserError for bad input, before
 * writing anything when the input can be checked up front.
 */
export async function buildLive(options: BuildLiveOptions): Promise<BuildLiveResult> {
  const info = options.onInfo ?? (() => undefined);
  // Everything that can be checked is checked before the first write.
  const { archive, isoTool } = await chooseArchive(options.archive ?? 'auto', info);
  const ufsOptions = options.ufs ?? {};
  const prepared = await prepareBuild(options);
  const { buildstamp, epoch, search, scripts } = prepared;
  const warnings: Diagnostic[] = [...prepared.warnings];
  const overlays = options.overlays ?? [];
  // With no customize step nothing reads the tree on disk: the UFS writer
  // takes each file from its source, and nothing is staged.
  const locateOnly = scripts.length === 0 && archive === 'ufs' && !options.keepStaging;
  if (isUfs(archive)) {
    // A dry run (stat only) finds what UFS cannot hold (a name over 255
    // bytes, a symlink target over 1023) and an image over --ufs-max-size
    // before anything is copied.
    const dry = await dryRunImage(prepared);
    const plan = withManifestLine(prepared, () => planUfs(dry.image.values(), ufsOptions));
    checkMaxSize(plan, ufsOptions, 'before the customize step');
  }
  checkHostPathRoom(options.output, prepared.entries.keys());
  await checkDirOrAbsent(options.output, 'output directory');
  await checkDirOrAbsent(options.logDir, 'log directory');
  await ensureWritableDir(options.output, 'output directory');
  await ensureWritableDir(options.logDir, 'log directory');
  const releaseLocks = await lockBuildDirs(options.output, options.logDir, info);
  try {
    return await buildLocked();
  } finally {
    await releaseLocks();
  }

  // Everything below runs holding the output and log directory locks.
  async function buildLocked(): Promise<BuildLiveResult> {
    const layout = outputLayout(options.output, buildstamp);
    const names = logFileNames(buildstamp);
    const logPath = join(options.logDir, names.log);
    const jsonlPath = join(options.logDir, names.jsonl);
    await rm(layout.workDir, { recursive: true, force: true });
    await mkdir(layout.stagingRoot, { recursive: true });
    const log = new AtomicLineWriter(logPath);
    const jsonl = new AtomicLineWriter(jsonlPath);
    // SIGINT/SIGTERM (src/util/cleanup.ts): our temporaries go; disposed once the build has ended.
    const undoTemps = onInterrupt(() =>
      Promise.all([removeTree(layout.workDir), log.abort(), jsonl.abort()]),
    );
    try {
      await log.line(`# joyent-live build-live ${VERSION}`);
      await log.line(`# buildstamp: ${buildstamp}`);
      for (const file of prepared.manifestFiles) await log.line(`# manifest: ${file}`);
      for (const root of search.roots) await log.line(`# source ${root.tag}: ${root.dir}`);
      for (const script of scripts) await log.line(`# customize: ${script}`);
      await log.line(`# archive: ${archive}`);

      const stagingRoot = layout.stagingRoot;
      const assembled = await assembleImage({
        entries: prepared.entries,
        search,
        stagingRoot,
        log,
        onProgress: options.onProgress,
        locateOnly,
      });
      const { nodes, counts } = assembled;
      warnings.push(...assembled.warnings);
      const ids = await readImageIdentities(nodes, stagingRoot);
      counts.unknownOwners = resolveOwners(nodes, ids, warnings);
      for (const node of assembled.applied) await jsonl.line(formatLogRecord(node));

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

      await ensureParents(MANIFEST_COPY, image, { stagingRoot, ids, warnings, locateOnly });
      image.delete(MANIFEST_COPY);
      const archiveDir = layout.archiveDir(layout.platformPartial);
      await mkdir(archiveDir, { recursive: true });
      await writing(archiveDir, () => writeBootManifest(image, ids, archiveDir, stagingRoot));
      const fileOf = (path: string) => {
        const node = image.get(path)!;
        return contentPath(node.type === 'h' ? image.get(node.linkedFile!)! : node, stagingRoot);
      };
      let bootArchiveHash: string | undefined;
      let ufsPlan: UfsPlan | undefined;
      if (archive === 'hsfs') {
        info(`hsfs: writing boot_archive with ${isoTool!.name}`);
        await writing(join(archiveDir, 'boot_archive'), () =>
          packHsfs(isoTool!, image, layout, epoch),
        );
      } else if (isUfs(archive)) {
        const planOptions = { ...ufsOptions, stagingRoot, contentPath: fileOf, root: ROOT_DIR };
        ufsPlan = withManifestLine(prepared, () => planUfs(image.values(), planOptions));
        checkMaxSize(ufsPlan, ufsOptions, 'after the customize step');
        info(
          `${archive}: writing a ${humanBytes(ufsPlan.imageBytes)} boot_archive ` +
            `(${ufsPlan.inodes} inodes, ${ufsPlan.inodesUsed} used)`,
        );
        await writing(join(archiveDir, 'boot_archive'), () =>
          packUfs(archive, ufsPlan!, image, layout, epoch, fileOf),
        );
      }
      if (archive !== 'none') {
        info('sha1: hashing the boot_archive');
        bootArchiveHash = await writing(archiveDir, () => finishBootArchive(image, layout, fileOf));
      }
      await normalizeModes(layout.platformPartial);

      // Closing lines of the log: warnings (ignorable `#` lines) and a summary.
      const warningLines = [
        ...warnings.map(formatDiagnostic),
        ...rescanNotes.map((n) => `warning: ${n}`),
      ];
      for (const line of warningLines) await log.line(`# ${line}`);
      await log.line(formatSummaryLine({ ...counts, entries: assembled.applied.length }));

      // Everything is complete: move it into place.
      const keepImage = archive === 'none' || options.keepStaging;
      if (archive !== 'none') {
        info('tgz: packing the platform directory');
        // The staged tree is packed now: removing it (I/O) overlaps gzip (CPU).
        await Promise.all([
          writing(layout.tgz, () =>
            writePlatformTgz(layout.workDir, layout.platformName, layout.tgz, epoch),
          ),
          keepImage ? undefined : rm(stagingRoot, { recursive: true, force: true }),
        ]);
      } else {
        await rm(layout.tgz, { force: true });
      }
      await replaceWith(layout.platformPartial, layout.platformDir);
      let imageDir: string | undefined;
      if (keepImage) {
        await applyModelToTree(stagingRoot, image.values(), ROOT_DIR, {
          owners: process.getuid?.() === 0,
          time: epoch,
        });
        await replaceWith(stagingRoot, layout.imageDir);
        imageDir = layout.imageDir;
      }
      await log.commit();
      await jsonl.commit();
      await rm(layout.workDir, { recursive: true, force: true });
      undoTemps();

      const platformArchiveDir = layout.archiveDir(layout.platformDir);
      return {
        buildstamp,
        archive,
        platformDir: layout.platformDir,
        bootManifest: join(platformArchiveDir, BOOT_ARCHIVE_MANIFEST),
        bootArchive: archive !== 'none' ? join(platformArchiveDir, BOOT_ARCHIVE) : undefined,
        bootArchiveHash,
        tgz: archive !== 'none' ? layout.tgz : undefined,
        imageDir,
        log: logPath,
        jsonl: jsonlPath,
        counts,
        imageEntries: image.size,
        failed: failedEntries(assembled.applied),
        warnings: warningLines,
        ufsPlan,
        exitCode: counts.failed > 0 ? 3 : 0,
      };
    } catch (err) {
      await log.abort();
      await jsonl.abort();
      await rm(layout.workDir, { recursive: true, force: true });
      undoTemps();
      throw err;
    }
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
  epoch: number,
): Promise<void> {
  const archiveDir = layout.archiveDir(layout.platformPartial);
  const bootArchive = join(archiveDir, BOOT_ARCHIVE);
  const nodes = [...image.values()];
  const { stagingRoot } = layout;
  if (tool.name === 'xorriso') {
    const commandFile = join(layout.workDir, 'xorriso.commands');
    await writeHsfs({ tool, stagingRoot, nodes, output: bootArchive, commandFile, epoch });
  } else {
    await writeHsfsFromTree({ tool, stagingRoot, nodes, output: bootArchive, epoch });
  }
}

/** The UFS boot_archive, by our writer or the upstream way. */
async function packUfs(
  archive: 'ufs' | 'ufs-native',
  plan: UfsPlan,
  image: ReadonlyMap<string, ImageNode>,
  layout: OutputLayout,
  epoch: number,
  fileOf: (path: string) => string,
): Promise<void> {
  const output = join(layout.archiveDir(layout.platformPartial), BOOT_ARCHIVE);
  const nodes = [...image.values()];
  const { stagingRoot } = layout;
  if (archive === 'ufs') {
    const partial = join(layout.workDir, 'boot_archive.ufs');
    await writeUfs({
      stagingRoot,
      contentPath: fileOf,
      nodes,
      root: ROOT_DIR,
      output: partial,
      epoch,
      plan,
    });
    await rename(partial, output);
  } else {
    await writeUfsNative({ stagingRoot, nodes, output, epoch, plan, workDir: layout.workDir });
  }
}

/** The boot_archive's .hash, and the kernel beside it; returns the sha1. */
async function finishBootArchive(
  image: ReadonlyMap<string, ImageNode>,
  layout: OutputLayout,
  fileOf: (path: string) => string,
): Promise<string> {
  const archiveDir = layout.archiveDir(layout.platformPartial);
  const bootArchive = join(archiveDir, BOOT_ARCHIVE);
  const hash = await sha1File(bootArchive);
  await writeFile(join(archiveDir, BOOT_ARCHIVE_HASH), `${hash}\n`);
  if (image.get(IMAGE_KERNEL)?.type === 'f') {
    const kernelDir = layout.kernelDir(layout.platformPartial);
    await mkdir(kernelDir, { recursive: true });
    await copyFile(fileOf(IMAGE_KERNEL), join(kernelDir, 'unix'));
  }
  return hash;
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
