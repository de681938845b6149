/**
 * What build-live and `build-live --plan` do alike before anything is
 * written: the build time, the manifests (checked), the sources and the
 * customize scripts.
 */
import { customizeScripts } from '../assembly/customize.js';
import type { ImageNode } from '../image/model.js';
import { imageRuleErrors } from '../manifest/image-rules.js';
import { loadManifests } from '../manifest/load.js';
import { formatDiagnostic, type Diagnostic, type ManifestEntry } from '../manifest/types.js';
import { SourceSearch, type SourceDirs } from '../sources/search.js';
import { UserError } from '../util/errors.js';
import { resolveBuildTime } from '../util/buildstamp.js';

/** The inputs a build and its --plan share. */
export interface PrepareOptions extends Partial<SourceDirs> {
  manifests: readonly string[];
  /** Root of the running system (tag S); undefined: none. */
  systemRoot?: string;
  customize?: string;
  /** Milliseconds each customize script may run (docs/assembly.md); 0 or undefined: no limit. */
  customizeTimeout?: number;
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
    ...imageRuleErrors(loaded.entries),
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
