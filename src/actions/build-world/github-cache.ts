/**
 * The `github` proto cache backend: @actions/cache (v6, cache service v2)
 * with its return values checked here, since it reports most failures by
 * a warning and a return value, not by throwing: saveCache returns -1 when
 * the reservation is refused, restoreCache undefined on a miss.
 */
import { isAbsolute, relative } from 'node:path';
import * as cache from '@actions/cache';
import { CacheBackendError, type CacheBackend, type RestoredEntry } from '../../cache/backend.js';

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class GithubCache implements CacheBackend {
  readonly name = 'github';
  /**
   * The path given to @actions/cache (the entry's version is derived from
   * it; another job restores the entry with the same path): relative to the
   * working directory, as actions/cache's `path:` usually is, when the
   * workspace is inside it, else absolute (@actions/cache refuses `..`).
   */
  readonly cachePath: string;

  constructor(readonly stagingFile: string) {
    const rel = relative(process.cwd(), stagingFile);
    this.cachePath = rel.startsWith('..') || isAbsolute(rel) ? stagingFile : rel;
  }

  private available(): void {
    if (!cache.isFeatureAvailable()) {
      throw new CacheBackendError(
        'the GitHub cache service is not available to this job (ACTIONS_RESULTS_URL / ACTIONS_CACHE_URL are not set)',
      );
    }
  }

  async restore(key: string, prefix: string): Promise<RestoredEntry | undefined> {
    this.available();
    let matched: string | undefined;
    try {
      matched = await cache.restoreCache([this.cachePath], key, [prefix]);
    } catch (err) {
      throw new CacheBackendError(`restoreCache: ${reason(err)}`);
    }
    return matched === undefined ? undefined : { key: matched, file: this.stagingFile };
  }

  async has(key: string): Promise<boolean> {
    this.available();
    try {
      return (await cache.restoreCache([this.cachePath], key, [], { lookupOnly: true })) === key;
    } catch (err) {
      throw new CacheBackendError(`restoreCache (lookup): ${reason(err)}`);
    }
  }

  async save(key: string): Promise<void> {
    this.available();
    let id: number;
    try {
      id = await cache.saveCache([this.cachePath], key);
    } catch (err) {
      throw new CacheBackendError(`saveCache: ${reason(err)}`);
    }
    if (id === -1) {
      throw new CacheBackendError(
        `saveCache did not store ${key} (it returned -1: the service refused the entry; ` +
          'another job may be saving the same key, or the cache is full or read-only here; see the warning above)',
      );
    }
  }

  discard(): Promise<string> {
    return Promise.resolve('a job cannot delete a GitHub cache entry; it stays until it expires');
  }
}
