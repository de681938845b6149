/**
 * The staging phases of `build-live` (docs/assembly.md): every manifest
 * entry into the image, owners resolved, the buildstamp file, and the
 * customize step with the rescan that follows it.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  assembleImage,
  implicitDirNode,
  type AssemblyProgress,
  type AssemblyResult,
} from '../assembly/assemble.js';
import { runCustomize } from '../assembly/customize.js';
import { formatLogLine } from '../formats/build-log.js';
import { formatLogRecord } from '../formats/jsonl-twin.js';
import { BUILDSTAMP_FILE, type WorkLayout } from '../formats/output-layout.js';
import { builtFileNode, type ImageNode } from '../image/model.js';
import { readImageIdentities, resolveOwners, type ImageIdentities } from '../image/owners.js';
import { rescanAfterCustomize, snapshotStaging } from '../image/rescan.js';
import { parentPath } from '../manifest/path.js';
import { TYPE_NAMES, type Diagnostic } from '../manifest/types.js';
import type { AtomicLineWriter } from '../util/atomic.js';
import { md5OfFile } from '../util/copy.js';
import { UserError } from '../util/errors.js';
import type { BuildMode, CheckedInputs } from './check.js';
import { writing } from './output.js';
import type { PrepareOptions } from './prepare.js';

export interface StageOptions extends PrepareOptions {
  onProgress?: (progress: AssemblyProgress) => void;
}

/** The image after assembly, the buildstamp file and the customize step. */
export interface StagedImage {
  assembled: AssemblyResult;
  ids: ImageIdentities;
  image: Map<string, ImageNode>;
  warnings: Diagnostic[];
  rescanNotes: string[];
}

/**
 * Adds the parent directories of `path` that the image lacks, and makes
 * them on disk as the mode needs (below). Refuses to write through a parent
 * that is not a directory (a customize step may have replaced one with a
 * symlink).
 */
export async function ensureParents(
  path: string,
  nodes: Map<string, ImageNode>,
  context: { stagingRoot: string; ids: ImageIdentities; warnings: Diagnostic[]; mode: BuildMode },
): Promise<void> {
  refuseNonDirectoryParents(path, nodes);
  const missing: string[] = [];
  for (let p = parentPath(path); p && !nodes.has(p); p = parentPath(p)) missing.unshift(p);
  const { stagingRoot } = context;
  switch (context.mode.kind) {
    case 'located':
      // Nothing is staged: the staging root has none of the image's
      // directories, and the file the build writes needs all its parents.
      await mkdir(join(stagingRoot, parentPath(path) ?? ''), { recursive: true });
      break;
    case 'planned':
    case 'staged':
      // The staged tree has every directory the image has: only the missing ones are made.
      for (const dir of missing) await mkdir(join(stagingRoot, dir), 0o755);
      break;
  }
  for (const dir of missing) {
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

/** `path` must not be a directory, nor any of its parents anything else. */
function refuseNonDirectoryParents(path: string, nodes: ReadonlyMap<string, ImageNode>): void {
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
}

/** Phase: every manifest entry into the staging tree (or located only), logged as applied. */
export async function assemble(
  options: StageOptions,
  checked: CheckedInputs,
  dirs: { work: WorkLayout; log: AtomicLineWriter; jsonl: AtomicLineWriter },
): Promise<AssemblyResult> {
  const { mode, prepared } = checked;
  switch (mode.kind) {
    case 'located':
      // Assembled while the inputs were checked: its log lines, now that the log exists.
      for (const node of mode.assembled.applied) await dirs.log.line(formatLogLine(node));
      return mode.assembled;
    case 'planned':
    case 'staged':
      return assembleImage({
        entries: prepared.entries,
        search: prepared.search,
        stagingRoot: dirs.work.stagingRoot,
        log: dirs.log,
        onProgress: options.onProgress,
        found: mode.kind === 'planned' ? mode.found : undefined,
      });
  }
}

/** Phase: owners resolved, the JSONL twin, etc/joyent_buildstamp, and the customize step. */
/** The JSONL twin's record of each entry applied (docs/build-log.md). */
export async function writeJsonl(jsonl: AtomicLineWriter, assembled: AssemblyResult) {
  for (const node of assembled.applied) await jsonl.line(formatLogRecord(node));
}

export async function stampAndCustomize(
  options: StageOptions,
  checked: CheckedInputs,
  dirs: { work: WorkLayout; log: AtomicLineWriter; jsonl: AtomicLineWriter },
  assembled: AssemblyResult,
  info: (message: string) => void,
): Promise<StagedImage> {
  const { prepared, mode } = checked;
  const { buildstamp, scripts } = prepared;
  const { stagingRoot } = dirs.work;
  const warnings: Diagnostic[] = [...prepared.warnings];
  const overlays = options.overlays ?? [];
  const { nodes, counts } = assembled;
  warnings.push(...assembled.warnings);
  const ids = await readImageIdentities(nodes, stagingRoot);
  counts.unknownOwners = resolveOwners(nodes, ids, warnings);
  // A located build has no md5 yet: the writer takes them (src/live/write-archive.ts).
  if (mode.kind !== 'located') await writeJsonl(dirs.jsonl, assembled);

  // etc/joyent_buildstamp (docs/output-layout.md); a manifest entry for it keeps its mode and owner.
  const stampPath = BUILDSTAMP_FILE;
  await ensureParents(stampPath, nodes, { stagingRoot, ids, warnings, mode });
  await rm(join(stagingRoot, stampPath), { force: true });
  await writing(join(stagingRoot, stampPath), () =>
    writeFile(join(stagingRoot, stampPath), `${buildstamp}\n`, { mode: 0o644 }),
  );
  const stampNode: ImageNode =
    nodes.get(stampPath) ?? builtFileNode(stampPath, 'buildstamp', 0o644);
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
