/** build-world's options, parsed once for the CLI and the build-world action. */
import { resolve } from 'node:path';
import { CACHE_BACKENDS, parseMaxGb, type CacheBackendName } from '../cache/backend.js';
import { UsageError } from '../util/errors.js';
import type { OptionNames } from './names.js';
import { bool, choice, text, type RawValue } from './values.js';

export const BUILD_WORLD_OPTIONS = [
  'workspace',
  'proto',
  'clean',
  'cache-backend',
  'cache-version',
  'local-cache-dir',
  'local-cache-max-gb',
  'fail-on-cache-error',
] as const;
export type BuildWorldOption = (typeof BUILD_WORLD_OPTIONS)[number];

export const BUILD_WORLD_DEFAULTS = { cacheVersion: '1', localCacheMaxGb: '20' } as const;

export type BuildWorldRaw = Partial<Record<BuildWorldOption, RawValue>>;

/** Where the proto is cached: the backend and, for `local`, its directory and size limit. */
export type CacheChoice =
  { backend: 'github' } | { backend: 'none' } | { backend: 'local'; dir: string; maxGb: number };

export interface BuildWorldSettings {
  workspace: string;
  proto?: string;
  clean: boolean;
  cacheVersion: string;
  cache: CacheChoice;
  failOnCacheError: boolean;
}

/**
 * `defaults` are the caller's: the workspace (the CLI's `.`, the action's
 * GITHUB_WORKSPACE) and the backend (the CLI has no GitHub cache: `none`).
 */
export function parseBuildWorldOptions(
  raw: BuildWorldRaw,
  names: OptionNames<BuildWorldOption>,
  defaults: { workspace: string; cacheBackend: CacheBackendName },
): BuildWorldSettings {
  const n = (option: BuildWorldOption) => names.name(option);
  const backend = choice(
    raw['cache-backend'],
    n('cache-backend'),
    CACHE_BACKENDS,
    defaults.cacheBackend,
  );
  let cache: CacheChoice;
  if (backend === 'local') {
    const dir = text(raw['local-cache-dir'], n('local-cache-dir'));
    if (dir === undefined) {
      throw new UsageError(
        `${names.value('cache-backend', 'local')} needs ${names.name('local-cache-dir', '<dir>')}`,
      );
    }
    const maxGb = parseMaxGb(
      text(raw['local-cache-max-gb'], n('local-cache-max-gb')) ??
        BUILD_WORLD_DEFAULTS.localCacheMaxGb,
      n('local-cache-max-gb'),
    );
    cache = { backend, dir: resolve(dir), maxGb };
  } else {
    cache = { backend };
  }
  return {
    workspace: text(raw.workspace, n('workspace')) ?? defaults.workspace,
    proto: text(raw.proto, n('proto')),
    clean: bool(raw.clean, n('clean'), false),
    cacheVersion:
      text(raw['cache-version'], n('cache-version')) ?? BUILD_WORLD_DEFAULTS.cacheVersion,
    cache,
    failOnCacheError: bool(raw['fail-on-cache-error'], n('fail-on-cache-error'), false),
  };
}
