/**
 * Where proto cache entries live between jobs. The engine talks to this
 * small interface; `local` (a directory on a self-hosted runner) and `none`
 * are here, `github` (@actions/cache) lives with the action, since the
 * engine never imports @actions/*.
 */
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compareBytes } from '../manifest/path.js';
import { describeError, errnoCode, UserError } from '../util/errors.js';

export const CACHE_BACKENDS = ['github', 'local', 'none'] as const;
export type CacheBackendName = (typeof CACHE_BACKENDS)[number];

/** A failure of the cache service or store (not of the entry): fails the build only when asked to. */
export class CacheBackendError extends Error {}

export interface RestoredEntry {
  /** The key of the entry found (the exact key or one with the restore prefix). */
  key: string;
  /** The entry file, to be checked and unpacked. */
  file: string;
}

export interface CacheBackend {
  readonly name: CacheBackendName;
  /** Where the engine writes an entry before save() and where restore() may put one. */
  readonly stagingFile: string;
  /** The exact key, else the newest entry whose key starts with `prefix`; undefined on a miss. */
  restore(key: string, prefix: string): Promise<RestoredEntry | undefined>;
  /** Whether an entry with exactly this key exists, without fetching it. */
  has(key: string): Promise<boolean>;
  /** Stores `stagingFile` under `key`; throws CacheBackendError when the store refuses. */
  save(key: string): Promise<void>;
  /** Drops an entry found unusable; says what was done. */
  discard(key: string): Promise<string>;
}

export const noCache = (stagingFile: string): CacheBackend => ({
  name: 'none',
  stagingFile,
  restore: () => Promise.resolve(undefined),
  has: () => Promise.resolve(false),
  save: () => Promise.resolve(),
  discard: () => Promise.resolve('nothing to discard'),
});

const GIB = 1024 ** 3;

/**
 * Entries as `<dir>/<key>.tgz`, each written under a temporary name and
 * renamed into place; beyond `maxGb` GiB the oldest are removed first.
 */
export class LocalCache implements CacheBackend {
  readonly name = 'local';

  constructor(
    readonly dir: string,
    readonly maxGb: number,
    readonly stagingFile: string,
    private readonly onInfo: (message: string) => void = () => undefined,
  ) {}

  private file(key: string): string {
    return join(this.dir, `${key}.tgz`);
  }

  private async entries(): Promise<{ key: string; file: string; mtimeMs: number; size: number }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw new CacheBackendError(`cannot read local-cache-dir ${this.dir}: ${describeError(err)}`);
    }
    const out = [];
    for (const name of names.filter((n) => n.endsWith('.tgz') && !n.startsWith('.'))) {
      const file = join(this.dir, name);
      const st = await stat(file).catch(() => undefined);
      if (st?.isFile())
        out.push({ key: name.slice(0, -4), file, mtimeMs: st.mtimeMs, size: st.size });
    }
    return out;
  }

  async restore(key: string, prefix: string): Promise<RestoredEntry | undefined> {
    const all = await this.entries();
    const exact = all.find((e) => e.key === key);
    if (exact) return { key, file: exact.file };
    const newest = all
      .filter((e) => e.key.startsWith(prefix))
      .sort((a, b) => b.mtimeMs - a.mtimeMs || compareBytes(b.key, a.key))[0];
    return newest && { key: newest.key, file: newest.file };
  }

  async has(key: string): Promise<boolean> {
    return (await this.entries()).some((e) => e.key === key);
  }

  async save(key: string): Promise<void> {
    const final = this.file(key);
    const tmp = join(this.dir, `.${key}.tgz.${process.pid}.partial`);
    try {
      await mkdir(this.dir, { recursive: true });
      try {
        await rename(this.stagingFile, tmp);
      } catch (err) {
        if (errnoCode(err) !== 'EXDEV') throw err;
        await copyFile(this.stagingFile, tmp);
      }
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new CacheBackendError(
        `cannot store the entry in local-cache-dir ${this.dir}: ${describeError(err)}`,
      );
    }
    await this.prune(key);
  }

  /** Removes the oldest entries (never `keep`) while the total is above the limit. */
  private async prune(keep: string): Promise<void> {
    const limit = this.maxGb * GIB;
    const all = await this.entries();
    let total = all.reduce((sum, e) => sum + e.size, 0);
    const oldestFirst = all
      .filter((e) => e.key !== keep)
      .sort((a, b) => a.mtimeMs - b.mtimeMs || compareBytes(a.key, b.key));
    for (const e of oldestFirst) {
      if (total <= limit) break;
      await rm(e.file, { force: true });
      total -= e.size;
      this.onInfo(`local cache: removed ${e.key} (over local-cache-max-gb ${this.maxGb})`);
    }
  }

  async discard(key: string): Promise<string> {
    await rm(this.file(key), { force: true });
    return `removed it from ${this.dir}`;
  }
}

/** local-cache-max-gb: a positive number of GiB. */
export function parseMaxGb(text: string, name = 'local-cache-max-gb'): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(value > 0)) {
    throw new UserError(`${name} must be a positive number of GiB, not ${JSON.stringify(text)}`);
  }
  return value;
}
