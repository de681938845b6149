/**
 * `build-live --plan`: the image a build would make, from the manifests and
 * the sources alone. Every entry is resolved as the build resolves it (the
 * same assembly, dry), nothing is copied and nothing is written anywhere;
 * the customize scripts are not run, so what they add or change is not in it.
 */
import { planUfs, type UfsPlan } from '../archive/ufs/plan.js';
import {
  assembleImage,
  implicitDirNode,
  type AssemblyOptions,
  type AssemblyResult,
} from '../assembly/assemble.js';
import { bootManifestLines } from '../formats/boot-manifest.js';
import { BUILDSTAMP_FILE, MANIFEST_COPY } from '../formats/output-layout.js';
import { IdentityTable } from '../image/identity.js';
import { builtFileNode, type BuildCounts, type ImageNode } from '../image/model.js';
import { resolveOwners, type ImageIdentities } from '../image/owners.js';
import { parentPath } from '../manifest/path.js';
import type { Diagnostic, ManifestEntry } from '../manifest/types.js';
import type { FoundSource, FoundSources, SearchMiss } from '../sources/search.js';
import { UserError } from '../util/errors.js';
import { chooseArchive, type ArchiveFormat } from './archive-choice.js';
import {
  failedEntries,
  prepareBuild,
  type FailedEntry,
  type PrepareOptions,
  type PreparedBuild,
} from './prepare.js';
import type { UfsOptions } from './ufs-options.js';

export interface DryImage {
  /** The image the build would pack (root excluded), before customize. */
  image: Map<string, ImageNode>;
  applied: ImageNode[];
  counts: BuildCounts;
  warnings: Diagnostic[];
  /** What the search found for each file, when asked to keep it (keepFound). */
  found?: FoundSources;
}

/** A file the build writes itself, with the parents the image lacks. */
function addBuiltFile(
  image: Map<string, ImageNode>,
  path: string,
  node: Partial<ImageNode> & { origin: ImageNode['origin']; size: number },
  ids: ImageIdentities,
) {
  for (let p = parentPath(path); p && !image.has(p); p = parentPath(p)) {
    const dir = implicitDirNode(p);
    dir.uid = ids.users.idOf(dir.owner) ?? 0;
    dir.gid = ids.groups.idOf(dir.group) ?? 0;
    image.set(p, dir);
  }
  const own = image.get(path);
  image.set(path, {
    ...builtFileNode(path, node.origin, 0o444),
    ...own,
    ...node,
    path,
    type: 'f',
    status: 'ok',
  });
}

/**
 * The assembly of the prepared entries with nothing staged: a dry run, or
 * `locate` (each file's source found for the archive writer to read).
 */
export function assembleUnstaged(
  prepared: PreparedBuild,
  options: Pick<AssemblyOptions, 'mode' | 'onProgress' | 'keepFound'>,
): Promise<AssemblyResult> {
  return assembleImage({
    entries: prepared.entries,
    search: prepared.search,
    stagingRoot: '',
    ...options,
  });
}

/** The image as a build would assemble it, resolved against the sources, written nowhere. */
export async function dryRunImage(
  prepared: PreparedBuild,
  { keepFound = false } = {},
): Promise<DryImage> {
  const found = keepFound ? new Map<string, FoundSource | SearchMiss>() : undefined;
  const assembled = await assembleUnstaged(prepared, { mode: 'dry-run', keepFound: found });
  return { ...(await imageToPack(prepared, assembled)), found };
}

/**
 * The image an assembly gives, as the archive writer will pack it: the
 * nodes that were made, owners resolved from the image's own etc/passwd and
 * etc/group, the buildstamp file, and the copy of boot_archive.manifest at
 * the size its lines will have (an md5 is always 32 digits, so files not
 * hashed yet count as if they were).
 */
export async function imageToPack(
  prepared: PreparedBuild,
  assembled: Awaited<ReturnType<typeof assembleImage>>,
): Promise<DryImage> {
  const { nodes, counts } = assembled;
  const warnings = [...prepared.warnings, ...assembled.warnings];
  const source = (path: string) => {
    const node = nodes.get(path);
    return node?.status === 'ok' ? (node.content ?? node.source) : undefined;
  };
  const ids: ImageIdentities = {
    users: await IdentityTable.read('user', source('etc/passwd')),
    groups: await IdentityTable.read('group', source('etc/group')),
  };
  counts.unknownOwners = resolveOwners(nodes, ids, warnings);
  const image = new Map([...nodes].filter(([, node]) => node.status === 'ok'));
  addBuiltFile(
    image,
    BUILDSTAMP_FILE,
    { origin: 'buildstamp', mode: 0o644, size: prepared.buildstamp.length + 1 },
    ids,
  );
  image.delete(MANIFEST_COPY);
  // The copy of boot_archive.manifest: its size from the lines it will have.
  const withParents = new Map(image);
  addBuiltFile(withParents, MANIFEST_COPY, { origin: 'manifest-copy', size: 0 }, ids);
  withParents.delete(MANIFEST_COPY);
  const size = bootManifestSize(withParents.values(), ids);
  addBuiltFile(image, MANIFEST_COPY, { origin: 'manifest-copy', size }, ids);
  return { image, applied: assembled.applied, counts, warnings };
}

/**
 * The bytes of boot_archive.manifest for `nodes` before every file is
 * hashed: an md5 is always 32 digits, so a file not hashed yet counts as
 * if it were.
 */
export function bootManifestSize(nodes: Iterable<ImageNode>, ids: ImageIdentities): number {
  const md5 = '0'.repeat(32);
  const listed = (function* () {
    for (const n of nodes) yield n.md5 === undefined ? { ...n, md5 } : n;
  })();
  let size = 0;
  for (const line of bootManifestLines(listed, ids)) size += Buffer.byteLength(line) + 1;
  return size;
}

export interface LivePlan {
  schema: 'joyent-live/build-plan@1';
  buildstamp: string;
  /** The boot_archive format the build would make. */
  archive: string;
  /** Entries of the image by type, the root excluded (hard links to a symlink count as h). */
  entries: { total: number; d: number; f: number; s: number; h: number };
  /** File entries by the source that has them, and those no source has. */
  sources: { A: number; P: number; M: number; S: number; FAILED: number };
  /** Bytes of file content (each file once; hard links share it). */
  bytes: number;
  failed: FailedEntry[];
  ufs: UfsPlan;
  ufsOptions: UfsOptions;
  /** False when the image exceeds ufsOptions.maxSize. */
  fits: boolean;
  /** Customize scripts that were not run (they may change the tree). */
  customizeNotRun: string[];
  warnings: number;
  /** 0: would build clean; 3: would build with FAILED entries; 1: exceeds the size limit. */
  exitCode: 0 | 1 | 3;
}

/**
 * Runs `plan`; a UserError it throws about a manifest entry (the UFS layer
 * names the path first) gets the entry's file:line in front.
 */
export function withManifestLine<T>(prepared: PreparedBuild, plan: () => T): T {
  try {
    return plan();
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    let entry: ManifestEntry | undefined;
    for (const candidate of prepared.entries.values()) {
      if (err.message.startsWith(`${candidate.path}: `)) {
        if (!entry || candidate.path.length > entry.path.length) entry = candidate;
      }
    }
    if (!entry) throw err;
    throw new UserError(`${entry.file}:${entry.line}: ${err.message}`, {
      exitCode: err.exitCode,
      details: err.details,
    });
  }
}

export function livePlan(
  prepared: PreparedBuild,
  dry: DryImage,
  archive: string,
  ufsOptions: UfsOptions,
): LivePlan {
  const ufs = withManifestLine(prepared, () => planUfs(dry.image.values(), ufsOptions));
  const entries = { total: dry.image.size, d: 0, f: 0, s: 0, h: 0 };
  for (const node of dry.image.values()) entries[node.type]++;
  const c = dry.counts;
  const fits = ufsOptions.maxSize === undefined || ufs.imageBytes <= ufsOptions.maxSize;
  return {
    schema: 'joyent-live/build-plan@1',
    buildstamp: prepared.buildstamp,
    archive,
    entries,
    sources: { A: c.A, P: c.P, M: c.M, S: c.S, FAILED: c.failed },
    bytes: c.bytes,
    failed: failedEntries(dry.applied),
    ufs,
    ufsOptions,
    fits,
    customizeNotRun: prepared.scripts,
    warnings: dry.warnings.length,
    exitCode: !fits ? 1 : c.failed > 0 ? 3 : 0,
  };
}

export interface PlanLiveOptions extends PrepareOptions {
  archive?: ArchiveFormat;
  ufs?: UfsOptions;
  onInfo?: (message: string) => void;
}

/** `build-live --plan`: reads everything a build reads, writes nothing. */
export async function planLive(options: PlanLiveOptions): Promise<LivePlan> {
  const { archive } = await chooseArchive(options.archive ?? 'auto', options.onInfo ?? (() => {}));
  const prepared = await prepareBuild(options);
  return livePlan(prepared, await dryRunImage(prepared), archive, options.ufs ?? {});
}
