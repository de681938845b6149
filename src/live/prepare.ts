/**
 * What build-live and `build-live --plan` do alike before anything is
 * written: the build time, the manifests (checked), the sources and the
 * customize scripts.
 */
import { customizeScripts } from '../assembly/customize.js';
import { BUILDSTAMP_FILE, MANIFEST_COPY } from '../formats/output-layout.js';
import type { ImageNode } from '../image/model.js';
import { loadManifests } from '../manifest/load.js';
import { parentPath } from '../manifest/path.js';
import {
  formatDiagnostic,
  TYPE_NAMES,
  type Diagnostic,
  type ManifestEntry,
} from '../manifest/types.js';
import { SourceSearch } from '../sources/search.js';
import { UserError } from '../util/errors.js';
import { resolveBuildTime } from '../util/buildstamp.js';

/** Files the build itself writes into the image (docs/output-layout.md). */
const BUILD_WRITES = [BUILDSTAMP_FILE, MANIFEST_COPY];

/**
 * The build writes BUILD_WRITES into the staged tree: a manifest that makes
 * one of their parents a symlink (or a file) would send that write through
 * it, possibly out of the output directory (never written outside: docs/output-layout.md).
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

/** The inputs a build and its --plan share. */
export interface PrepareOptions {
  manifests: readonly string[];
  proto?: string;
  overlays?: readonly string[];
  manDir?: string;
  /** Root of the running system (tag S); undefined: none. */
  systemRoot?: string;
  customize?: string;
  buildstamp?: string;
  defines?: ReadonlyMap<string, string>;
  /** SOURCE_DATE_EPOCH, usually from the environment. */
  sourceDateEpoch?: string;
}

export interface PreparedBuild {
  buildstamp: string;
  epoch: number;
  manifestFiles: readonly string[];
  entries: ReadonlyMap<string, ManifestEntry>;
  /** The manifests' warnings (errors have thrown). */
  warnings: Diagnostic[];
  search: SourceSearch;
  scripts: string[];
}

/** Reads and checks every input; throws UserError before anything is written. */
export async function prepareBuild(options: PrepareOptions): Promise<PreparedBuild> {
  const { buildstamp, epoch } = resolveBuildTime(options.buildstamp, options.sourceDateEpoch);
  if (options.manifests.length === 0) throw new UserError('no manifest given', { exitCode: 2 });
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
  const search = await SourceSearch.open({
    overlays: options.overlays ?? [],
    proto: options.proto,
    manDir: options.manDir,
    systemRoot: options.systemRoot,
  });
  const scripts = options.customize ? await customizeScripts(options.customize) : [];
  return {
    buildstamp,
    epoch,
    manifestFiles: loaded.files,
    entries: loaded.entries,
    warnings: loaded.diagnostics.filter((d) => d.severity === 'warning'),
    search,
    scripts,
  };
}

/** A FAILED entry as build-live and its plan report it. */
export interface FailedEntry {
  path: string;
  type: ImageNode['type'];
  file?: string;
  line?: number;
  searched: string[];
  error?: string;
}

export function failedEntries(applied: readonly ImageNode[]): FailedEntry[] {
  return applied
    .filter((n) => n.status === 'failed')
    .map((n) => ({
      path: n.path,
      type: n.type,
      file: n.loc?.file,
      line: n.loc?.line,
      searched: n.searched ?? [],
      error: n.error,
    }));
}
