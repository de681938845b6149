import { closeSync, openSync } from 'node:fs';
import { link, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { compareBytes, parentPath } from '../manifest/path.js';
import { formatMode } from '../formats/manifest-line.js';
import type { Diagnostic, ManifestEntry } from '../manifest/types.js';
import { emptyCounts, type BuildCounts, type ImageNode } from '../image/model.js';
import {
  isFound,
  type FoundSource,
  type FoundSources,
  type SearchMiss,
  type SourceSearch,
} from '../sources/search.js';
import { describeError, ioError, isIoCondition, UserError } from '../util/errors.js';
import type { AtomicLineWriter } from '../util/atomic.js';
import { copyWithMd5, mapLimit } from '../util/copy.js';
import { formatLogLine } from '../formats/build-log.js';

/** Mode and owner docs/assembly.md gives a parent directory that no `d` entry names. */
export const IMPLICIT_DIR = { mode: 0o755, owner: 'root', group: 'sys' } as const;

// Staging files stay writable by the builder so the customize step can edit
// them; the image's real modes are kept in the model.
const STAGING_DIR_MODE = 0o755;
const STAGING_FILE_MODE = 0o644;
const COPY_CONCURRENCY = 8;
const COPY_BUFFER = 1 << 20;
/** Files found (and hashed) between two turns of the event loop. */
const YIELD_EVERY = 64;

export interface AssemblyProgress {
  phase: 'directories' | 'files' | 'symlinks' | 'hard links';
  done: number;
  total: number;
  bytes: number;
}

/**
 * What an assembly makes:
 *
 * - `stage`: the staging tree: directories, a copy of each file (hashed
 *   from the same reads), symlinks and hard links.
 * - `locate`: no tree, and no file read. Each file is found (its size
 *   from the search) and opened once to see that it can be read; the node
 *   points at the source (`content`) and the archive writer takes the md5
 *   from the reads that place the bytes (docs/assembly.md, "One pass"):
 *   the model is the image. For builds with no customize step, which
 *   nothing reads on disk.
 * - `dry-run`: every entry resolved against the sources as a build would,
 *   nothing created, copied or logged (`build-live --plan`): files get the
 *   size of their source and no md5, `source` names the file a build would read.
 */
export type AssemblyMode = 'stage' | 'locate' | 'dry-run';

export interface AssemblyOptions {
  entries: ReadonlyMap<string, ManifestEntry>;
  search: SourceSearch;
  stagingRoot: string;
  /** Absent in a dry run. */
  log?: AtomicLineWriter;
  onProgress?: (progress: AssemblyProgress) => void;
  /** What is made (AssemblyMode); `stage` when not given. */
  mode?: AssemblyMode;
  /** What an earlier (dry) run found for each file: used instead of a new search. */
  found?: FoundSources;
  /** A dry run puts what it finds for each file here, for the build that follows. */
  keepFound?: Map<string, FoundSource | SearchMiss>;
}

export interface AssemblyResult {
  /** Every node of the image by path (manifest entries and implicit parents). */
  nodes: Map<string, ImageNode>;
  /** Nodes in the order they were applied (the order of the log). */
  applied: ImageNode[];
  warnings: Diagnostic[];
  counts: BuildCounts;
}

/**
 * An entry that could not be made is FAILED, unless the file system itself
 * failed (full, quota, size limit, read-only, I/O error): that stops the
 * build with the path and the condition.
 */
function failedOrThrow(err: unknown, doing: string, path: string): string {
  if (err instanceof UserError) throw err;
  if (isIoCondition(err)) throw ioError(err, doing, path);
  return describeError(err);
}

// Nodes are written out as whole literals with their fields in one order:
// V8 gives objects built with two spreads a hidden class each, which costs
// memory (about 0.5 KiB per node) and slows every later access.
function nodeFromEntry(entry: ManifestEntry): ImageNode {
  const file = entry.type === 'd' || entry.type === 'f';
  return {
    path: entry.path,
    type: entry.type,
    origin: 'manifest',
    loc: entry,
    uid: 0,
    gid: 0,
    status: 'ok',
    // Links take mode and owner from what they point at; filled in later for h.
    mode: file ? entry.mode : 0o777,
    owner: file ? entry.owner : 'root',
    group: file ? entry.group : 'root',
    target: file ? undefined : entry.target,
  };
}

/** A parent directory that no `d` entry names; ids are resolved with the rest. */
export function implicitDirNode(path: string): ImageNode {
  return {
    path,
    type: 'd',
    origin: 'implicit',
    loc: undefined,
    uid: 0,
    gid: 0,
    status: 'ok',
    mode: IMPLICIT_DIR.mode,
    owner: IMPLICIT_DIR.owner,
    group: IMPLICIT_DIR.group,
    target: undefined,
  };
}

/** Adds a node for every parent directory that no entry names (with a warning). */
function addImplicitParents(nodes: Map<string, ImageNode>, warnings: Diagnostic[]) {
  const made = `${formatMode(IMPLICIT_DIR.mode)} ${IMPLICIT_DIR.owner} ${IMPLICIT_DIR.group}`;
  for (const node of [...nodes.values()].sort((a, b) => compareBytes(a.path, b.path))) {
    for (let parent = parentPath(node.path); parent; parent = parentPath(parent)) {
      if (nodes.has(parent)) break;
      nodes.set(parent, implicitDirNode(parent));
      warnings.push({
        severity: 'warning',
        loc: node.loc,
        message: `parent directory ${parent} of ${node.path} is not in the manifest: created ${made}`,
      });
    }
  }
}

/** What the phases of one assembly share. */
interface Assembly {
  options: AssemblyOptions;
  mode: AssemblyMode;
  /** Directories and links are made on disk (`stage`). */
  makeTree: boolean;
  nodes: Map<string, ImageNode>;
  counts: BuildCounts;
  applied: ImageNode[];
}

/**
 * Builds the staging tree (docs/assembly.md): directories parents first, then files
 * from the first source that has them, then symlinks, then hard links.
 * A file no source has is logged FAILED and the build goes on.
 */
export async function assembleImage(options: AssemblyOptions): Promise<AssemblyResult> {
  const mode = options.mode ?? 'stage';
  const nodes = new Map<string, ImageNode>();
  for (const entry of options.entries.values()) nodes.set(entry.path, nodeFromEntry(entry));
  const warnings: Diagnostic[] = [];
  addImplicitParents(nodes, warnings);
  const counts = emptyCounts();
  const run: Assembly = { options, mode, makeTree: mode === 'stage', nodes, counts, applied: [] };
  const byType = (type: ImageNode['type']) =>
    [...nodes.values()].filter((n) => n.type === type).sort((a, b) => compareBytes(a.path, b.path));
  await makeDirectories(run, byType('d'));
  await placeFiles(run, byType('f'));
  await makeSymlinks(run, byType('s'));
  await makeHardLinks(run, byType('h'));
  return { nodes, applied: run.applied, warnings, counts };
}

/** Adds `node` to the log, in the order of application. */
async function record(run: Assembly, node: ImageNode): Promise<void> {
  run.applied.push(node);
  if (node.status === 'failed') run.counts.failed++;
  await run.options.log?.line(formatLogLine(node));
}

function staged(run: Assembly, path: string): string {
  return join(run.options.stagingRoot, path);
}

/**
 * A phase that makes its nodes one at a time: each made (or FAILED: what
 * `make` throws, by failedOrThrow), recorded in the log, and counted in the
 * phase's progress.
 */
async function makeEach(
  run: Assembly,
  phase: AssemblyProgress['phase'],
  nodes: readonly ImageNode[],
  doing: string,
  make: (node: ImageNode) => Promise<void>,
): Promise<void> {
  for (const [i, node] of nodes.entries()) {
    try {
      await make(node);
    } catch (err) {
      node.status = 'failed';
      node.error = failedOrThrow(err, doing, staged(run, node.path));
    }
    await record(run, node);
    run.options.onProgress?.({ phase, done: i + 1, total: nodes.length, bytes: run.counts.bytes });
  }
}

function makeDirectories(run: Assembly, dirs: readonly ImageNode[]): Promise<void> {
  return makeEach(run, 'directories', dirs, 'create the directory', async (node) => {
    if (run.makeTree) await mkdir(staged(run, node.path), STAGING_DIR_MODE);
    run.counts.dirs++;
  });
}

/** Each file found in its source, then copied (stage), hashed (locate) or only sized (dry-run). */
async function placeFiles(run: Assembly, files: readonly ImageNode[]): Promise<void> {
  const { options, mode, counts } = run;
  const buffers = Array.from({ length: mode === 'stage' ? COPY_CONCURRENCY : 0 }, () =>
    Buffer.allocUnsafe(COPY_BUFFER),
  );
  let filesDone = 0;
  await mapLimit(files, COPY_CONCURRENCY, async (node, index, worker) => {
    // Lookups and md5s are synchronous calls (src/sources/search.ts,
    // src/util/copy.ts): the event loop turns now and then, so that
    // signals and progress are not held up for the whole phase.
    if (index % YIELD_EVERY === YIELD_EVERY - 1) await nextTurn();
    const found = options.found?.get(node.path) ?? (await options.search.find(node.path));
    options.keepFound?.set(node.path, found);
    if (!isFound(found)) {
      node.status = 'failed';
      node.searched = found.searched;
    } else if (mode === 'dry-run') {
      Object.assign(node, { size: found.size, tag: found.tag, source: found.path });
      counts[found.tag]++;
      counts.files++;
      counts.bytes += found.size;
    } else {
      await placeFile(run, node, found, buffers[worker]);
    }
    const progress = { phase: 'files', done: ++filesDone, total: files.length } as const;
    options.onProgress?.({ ...progress, bytes: counts.bytes });
  });
  for (const node of files) await record(run, node);
}

/** One found file copied and hashed (stage), or checked readable at its source (locate). */
async function placeFile(
  run: Assembly,
  node: ImageNode,
  found: FoundSource,
  buffer: Buffer,
): Promise<void> {
  const { counts } = run;
  try {
    const digest =
      run.mode === 'locate'
        ? checkReadable(found)
        : await copyWithMd5(found.resolved, staged(run, node.path), STAGING_FILE_MODE, buffer);
    Object.assign(node, digest, { tag: found.tag, source: found.path });
    if (run.mode === 'locate') {
      Object.assign(node, { content: found.resolved, diskBytes: found.diskBytes });
    }
    if (found.shadows.length > 0) node.shadows = found.shadows;
    if (found.viaSymlink) node.resolved = found.resolved;
    counts[found.tag]++;
    counts.files++;
    counts.bytes += digest.size;
  } catch (err) {
    node.status = 'failed';
    node.error = `cannot copy ${found.path}: ${failedOrThrow(err, 'copy', found.path)}`;
    node.searched = [`${found.tag}:${found.path}`];
  }
}

/**
 * A source the build will read later (locate): opened and closed now, so
 * that one it cannot read is a FAILED entry, as in a build that copies.
 * Its size is the search's; the md5 comes later, from the writer's reads.
 */
function checkReadable(found: FoundSource): { size: number } {
  closeSync(openSync(found.resolved, 'r'));
  return { size: found.size };
}

function makeSymlinks(run: Assembly, symlinks: readonly ImageNode[]): Promise<void> {
  return makeEach(run, 'symlinks', symlinks, 'create the symlink', async (node) => {
    if (run.makeTree) await symlink(node.target!, staged(run, node.path));
    run.counts.symlinks++;
  });
}

function makeHardLinks(run: Assembly, hardlinks: readonly ImageNode[]): Promise<void> {
  const { nodes } = run;
  return makeEach(run, 'hard links', hardlinks, 'create the hard link', async (node) => {
    // The manifest loader checked that the chain ends at a file or symlink.
    let file = nodes.get(node.target!)!;
    while (file.type === 'h') file = nodes.get(file.target!)!;
    node.linkedFile = file.path;
    if (file.status !== 'ok') {
      node.status = 'failed';
      node.error = `${file.path} FAILED, so there is nothing to link to`;
      return;
    }
    if (file.type === 's') {
      node.linkText = file.target;
      if (run.makeTree) await symlink(file.target!, staged(run, node.path));
    } else if (run.makeTree) {
      await link(staged(run, file.path), staged(run, node.path));
    }
    run.counts.hardlinks++;
  });
}
