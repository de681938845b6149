import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { bootManifestLines, ROOT_DIR } from '../archive/boot-manifest.js';
import { applyModelToTree } from '../image/apply-tree.js';
import {
  findIsoTool,
  isoToolNote,
  isoToolProblem,
  writeHsfs,
  writeHsfsFromTree,
  type IsoTool,
} from '../archive/hsfs.js';
import { writePlatformTgz } from '../archive/tgz.js';
import { planUfs } from '../archive/ufs/plan.js';
import { writeUfs } from '../archive/ufs/write.js';
import { assembleImage, implicitDirNode, type AssemblyProgress } from '../assembly/assemble.js';
import { md5OfFile } from '../assembly/copy.js';
import { customizeScripts, runCustomize } from '../assembly/customize.js';
import { formatLogRecord, logFileNames } from '../assembly/log-format.js';
import type { BuildCounts, ImageNode } from '../image/model.js';
import { readImageIdentities, resolveOwners, type ImageIdentities } from '../image/owners.js';
import { rescanAfterCustomize, snapshotStaging } from '../image/rescan.js';
import { loadManifests } from '../manifest/load.js';
import { parentPath } from '../manifest/path.js';
import {
  formatDiagnostic,
  TYPE_NAMES,
  type Diagnostic,
  type ManifestEntry,
} from '../manifest/types.js';
import { SourceSearch } from '../sources/search.js';
import { AtomicLineWriter } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import { VERSION } from '../version.js';
import { resolveBuildTime } from './buildstamp.js';
import {
  checkDirOrAbsent,
  ensureWritableDir,
  outputLayout,
  replaceWith,
  type OutputLayout,
} from './output.js';

export type ArchiveFormat = 'auto' | 'hsfs' | 'ufs' | 'none';
export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ['auto', 'hsfs', 'ufs', 'none'];

export interface BuildLiveOptions {
  manifests: readonly string[];
  proto?: string;
  overlays?: readonly string[];
  manDir?: string;
  /** Root of the running system (tag S); undefined: none. */
  systemRoot?: string;
  customize?: string;
  output: string;
  logDir: string;
  buildstamp?: string;
  defines?: ReadonlyMap<string, string>;
  archive?: ArchiveFormat;
  /** Keep the staged tree as `image-<STAMP>/` for every format, not only `none`. */
  keepStaging?: boolean;
  /** SOURCE_DATE_EPOCH, usually from the environment. */
  sourceDateEpoch?: string;
  onInfo?: (message: string) => void;
  onProgress?: (progress: AssemblyProgress) => void;
}

export interface FailedEntry {
  path: string;
  type: ImageNode['type'];
  file?: string;
  line?: number;
  searched: string[];
  error?: string;
}

export interface BuildLiveResult {
  buildstamp: string;
  archive: 'hsfs' | 'ufs' | 'none';
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
  /** SPEC 8: 0 built clean, 3 built with FAILED entries. */
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

/** Files the build itself writes into the image (SPEC 2). */
const BUILDSTAMP_FILE = 'etc/joyent_buildstamp';
const MANIFEST_COPY = 'var/log/manifest';
const BUILD_WRITES = [BUILDSTAMP_FILE, MANIFEST_COPY];

/**
 * The build writes BUILD_WRITES into the staged tree: a manifest that makes
 * one of their parents a symlink (or a file) would send that write through
 * it, possibly out of the output directory (SPEC 2: never written outside).
 */
function checkBuildWrites(entries: ReadonlyMap<string, ManifestEntry>): Diagnostic[] {
  const errors: Diagnostic[] = [];
  for (const path of BUILD_WRITES) {
    const own = entries.get(path);
    if (own && own.type !== 'f') {
      errors.push({
        severity: 'error',
        loc: own,
        message: `${path} is a ${TYPE_NAMES[own.type]}, but the build writes it as a file`,
      });
    }
    for (let p = parentPath(path); p; p = parentPath(p)) {
      const entry = entries.get(p);
      if (entry && entry.type !== 'd') {
        errors.push({
          severity: 'error',
          loc: entry,
          message:
            `${p} is a ${TYPE_NAMES[entry.type]}, but the build writes ${path} below it: ` +
            `${p} must be a directory`,
        });
      }
    }
  }
  return errors;
}

/**
 * Adds (and creates) the parent directories of `path` that the image lacks.
 * Refuses to write through a parent that is not a directory (a customize
 * step may have replaced one with a symlink).
 */
async function ensureParents(
  path: string,
  nodes: Map<string, ImageNode>,
  context: { stagingRoot: string; ids: ImageIdentities; warnings: Diagnostic[] },
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
  for (const dir of missing) {
    await mkdir(join(context.stagingRoot, dir), 0o755);
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
 * `make live` (SPEC 2-5): manifests in, platform directory, tgz, build log
 * and boot_archive.manifest out. Throws UserError for bad input, before
 * writing anything when the input can be checked up front.
 */
export async function buildLive(options: BuildLiveOptions): Promise<BuildLiveResult> {
  const info = options.onInfo ?? (() => undefined);
  const time = resolveBuildTime(options.buildstamp, options.sourceDateEpoch);
  const { buildstamp, epoch } = time;

  // Everything that can be checked is checked before the first write.
  let archive: 'hsfs' | 'ufs' | 'none' = 'none';
  let isoTool: IsoTool | undefined;
  const requested = options.archive ?? 'auto';
  if (requested === 'ufs') {
    // The UFS writer is part of the engine: nothing to find on the host.
    archive = 'ufs';
  } else if (requested !== 'none') {
    const found = await findIsoTool();
    const problem = found && isoToolProblem(found);
    if (found && !problem) {
      archive = 'hsfs';
      isoTool = found;
    } else if (requested === 'hsfs') {
      throw new UserError(
        problem
          ? `--archive hsfs: ${problem}`
          : '--archive hsfs needs xorriso on PATH (Debian: apt-get install xorriso)',
      );
    }
    if (requested === 'auto') {
      info(
        isoTool
          ? `archive: hsfs (auto: found ${isoTool.path})`
          : `archive: none (auto: ${problem ?? 'no xorriso, genisoimage or mkisofs on PATH'})`,
      );
    }
    const note = isoTool && isoToolNote(isoTool);
    if (note) info(`warning: ${note}`);
  }
  if (options.manifests.length === 0)
    throw new UserError('no manifest given (-m/--manifest)', { exitCode: 2 });
  const loaded = await loadManifests(options.manifests, options.defines ?? new Map());
  const errors = [
    ...loaded.diagnostics.filter((d) => d.severity === 'error'),
    ...checkBuildWrites(loaded.entries),
  ];
  if (errors.length > 0) {
    throw new UserError(
      `${errors.length} error${errors.length === 1 ? '' : 's'} in the manifests; nothing was built`,
      { details: errors.map(formatDiagnostic) },
    );
  }
  const warnings: Diagnostic[] = loaded.diagnostics.filter((d) => d.severity === 'warning');
  const overlays = options.overlays ?? [];
  const search = await SourceSearch.open({
    overlays,
    proto: options.proto,
    manDir: options.manDir,
    systemRoot: options.systemRoot,
  });
  const scripts = options.customize ? await customizeScripts(options.customize) : [];
  await checkDirOrAbsent(options.output, 'output directory');
  await checkDirOrAbsent(options.logDir, 'log directory');
  await ensureWritableDir(options.output, 'output directory');
  await ensureWritableDir(options.logDir, 'log directory');

  const layout = outputLayout(options.output, buildstamp);
  const names = logFileNames(buildstamp);
  const logPath = join(options.logDir, names.log);
  const jsonlPath = join(options.logDir, names.jsonl);
  await rm(layout.workDir, { recursive: true, force: true });
  await mkdir(layout.stagingRoot, { recursive: true });
  const log = new AtomicLineWriter(logPath);
  const jsonl = new AtomicLineWriter(jsonlPath);
  try {
    await log.line(`# joyent-live build-live ${VERSION}`);
    await log.line(`# buildstamp: ${buildstamp}`);
    for (const file of loaded.files) await log.line(`# manifest: ${file}`);
    for (const root of search.roots) await log.line(`# source ${root.tag}: ${root.dir}`);
    for (const script of scripts) await log.line(`# customize: ${script}`);
    await log.line(`# archive: ${archive}`);

    const stagingRoot = layout.stagingRoot;
    const assembled = await assembleImage({
      entries: loaded.entries,
      search,
      stagingRoot,
      log,
      onProgress: options.onProgress,
    });
    const { nodes, counts } = assembled;
    warnings.push(...assembled.warnings);
    const ids = await readImageIdentities(nodes, stagingRoot);
    counts.unknownOwners = resolveOwners(nodes, ids, warnings);
    for (const node of assembled.applied) await jsonl.line(formatLogRecord(node));

    // etc/joyent_buildstamp (SPEC 2.1); a manifest entry for it keeps its mode and owner.
    const stampPath = BUILDSTAMP_FILE;
    await ensureParents(stampPath, nodes, { stagingRoot, ids, warnings });
    await rm(join(stagingRoot, stampPath), { force: true });
    await writeFile(join(stagingRoot, stampPath), `${buildstamp}\n`, { mode: 0o644 });
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
      });
      image = await rescanAfterCustomize(nodes, snapshot, stagingRoot, ids, rescanNotes);
    } else {
      image = new Map([...nodes].filter(([, node]) => node.status === 'ok'));
    }

    await ensureParents(MANIFEST_COPY, image, { stagingRoot, ids, warnings });
    image.delete(MANIFEST_COPY);
    const archiveDir = layout.archiveDir(layout.platformPartial);
    await mkdir(archiveDir, { recursive: true });
    await writeBootManifest(image, ids, archiveDir, stagingRoot);
    let bootArchiveHash: string | undefined;
    if (archive === 'hsfs') {
      info(`hsfs: writing boot_archive with ${isoTool!.name}`);
      bootArchiveHash = await packHsfs(isoTool!, image, layout, epoch);
    } else if (archive === 'ufs') {
      info('ufs: writing boot_archive');
      bootArchiveHash = await packUfs(image, layout, epoch);
    }
    await normalizeModes(layout.platformPartial);

    // Closing lines of the log: warnings (ignorable `#` lines) and a summary.
    const warningLines = [
      ...warnings.map(formatDiagnostic),
      ...rescanNotes.map((n) => `warning: ${n}`),
    ];
    for (const line of warningLines) await log.line(`# ${line}`);
    await log.line(
      `# summary: ${assembled.applied.length} entries, A=${counts.A} P=${counts.P} M=${counts.M} ` +
        `S=${counts.S}, ${counts.failed} FAILED, ${counts.unknownOwners} unknown owners, ` +
        `${counts.bytes} bytes`,
    );

    // Everything is complete: move it into place.
    const keepImage = archive === 'none' || options.keepStaging;
    if (archive !== 'none') {
      info('tgz: packing the platform directory');
      // The staged tree is packed now: removing it (I/O) overlaps gzip (CPU).
      await Promise.all([
        writePlatformTgz(layout.workDir, layout.platformName, layout.tgz, epoch),
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

    const platformArchiveDir = layout.archiveDir(layout.platformDir);
    return {
      buildstamp,
      archive,
      platformDir: layout.platformDir,
      bootManifest: join(platformArchiveDir, 'boot_archive.manifest'),
      bootArchive: archive !== 'none' ? join(platformArchiveDir, 'boot_archive') : undefined,
      bootArchiveHash,
      tgz: archive !== 'none' ? layout.tgz : undefined,
      imageDir,
      log: logPath,
      jsonl: jsonlPath,
      counts,
      imageEntries: image.size,
      failed: assembled.applied
        .filter((n) => n.status === 'failed')
        .map((n) => ({
          path: n.path,
          type: n.type,
          file: n.loc?.file,
          line: n.loc?.line,
          searched: n.searched ?? [],
          error: n.error,
        })),
      warnings: warningLines,
      exitCode: counts.failed > 0 ? 3 : 0,
    };
  } catch (err) {
    await log.abort();
    await jsonl.abort();
    await rm(layout.workDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * boot_archive.manifest (SPEC 4) into the platform directory, and its copy
 * at var/log/manifest in the image, which does not list itself.
 */
async function writeBootManifest(
  image: Map<string, ImageNode>,
  ids: ImageIdentities,
  archiveDir: string,
  stagingRoot: string,
): Promise<void> {
  const path = join(archiveDir, 'boot_archive.manifest');
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

/** The hsfs boot_archive, its .hash, and the kernel beside it; returns the sha1. */
async function packHsfs(
  tool: IsoTool,
  image: ReadonlyMap<string, ImageNode>,
  layout: OutputLayout,
  epoch: number,
): Promise<string> {
  const archiveDir = layout.archiveDir(layout.platformPartial);
  const bootArchive = join(archiveDir, 'boot_archive');
  const nodes = [...image.values()];
  const { stagingRoot } = layout;
  if (tool.name === 'xorriso') {
    const commandFile = join(layout.workDir, 'xorriso.commands');
    await writeHsfs({ tool, stagingRoot, nodes, output: bootArchive, commandFile, epoch });
  } else {
    await writeHsfsFromTree({ tool, stagingRoot, nodes, output: bootArchive, epoch });
  }
  return finishBootArchive(image, layout);
}

/**
 * The UFS boot_archive (written by our own writer, sized by the plan with
 * its default headroom), its .hash, and the kernel beside it; returns the sha1.
 */
async function packUfs(
  image: ReadonlyMap<string, ImageNode>,
  layout: OutputLayout,
  epoch: number,
): Promise<string> {
  const archiveDir = layout.archiveDir(layout.platformPartial);
  const bootArchive = join(archiveDir, 'boot_archive');
  const nodes = [...image.values()];
  const { stagingRoot } = layout;
  const plan = planUfs(nodes, { stagingRoot, root: ROOT_DIR });
  const partial = join(layout.workDir, 'boot_archive.ufs');
  await writeUfs({ stagingRoot, nodes, root: ROOT_DIR, output: partial, epoch, plan });
  await rename(partial, bootArchive);
  return finishBootArchive(image, layout);
}

/** boot_archive.hash and the kernel beside the archive; returns the sha1. */
async function finishBootArchive(
  image: ReadonlyMap<string, ImageNode>,
  layout: OutputLayout,
): Promise<string> {
  const archiveDir = layout.archiveDir(layout.platformPartial);
  const hash = await sha1File(join(archiveDir, 'boot_archive'));
  await writeFile(join(archiveDir, 'boot_archive.hash'), `${hash}\n`);
  const unix = 'platform/i86pc/kernel/amd64/unix';
  if (image.get(unix)?.type === 'f') {
    const kernelDir = join(layout.platformPartial, 'i86pc', 'kernel', 'amd64');
    await mkdir(kernelDir, { recursive: true });
    await copyFile(join(layout.stagingRoot, unix), join(kernelDir, 'unix'));
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
