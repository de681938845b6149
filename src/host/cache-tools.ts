/**
 * What @actions/cache runs on an illumos runner: `tar` from PATH (it
 * assumes GNU tar on anything but Windows and macOS, and illumos' own
 * /usr/bin/tar is not GNU), and zstd when `zstd --quiet --version` prints
 * anything at all, else gzip. setup-host makes both facts deliberate: a
 * shim directory, put first on PATH, holds `tar` -> GNU tar and, when zstd
 * must not be used, a `zstd` that prints nothing and fails, so that the
 * cache clients, the build and our own logs agree on the compression.
 */
import { access, constants, lstat, mkdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { describeError, UserError } from '../util/errors.js';
import { partialName, replaceFile } from '../util/atomic.js';
import { run } from '../util/process.js';
import { which } from '../util/which.js';

/** Where GNU tar is looked for, in order: a bare name on PATH, or an absolute path. */
export const DEFAULT_GNU_TAR_CANDIDATES = ['gtar', '/usr/gnu/bin/tar'];

export const COMPRESSIONS = ['auto', 'zstd', 'gzip'] as const;
export type CompressionChoice = (typeof COMPRESSIONS)[number];

export interface CacheTools {
  shimDir: string;
  /** The GNU tar `tar` in the shim points to. */
  gnuTar: string;
  /** First line of its --version. */
  gnuTarVersion: string;
  compression: 'zstd' | 'gzip';
  /** The working zstd, when there is one (even if hidden for gzip). */
  zstd?: string;
  /** True when the shim hides a zstd that exists, because gzip was chosen. */
  zstdHidden: boolean;
}

export interface CacheToolsOptions {
  shimDir: string;
  compression: CompressionChoice;
  /** Candidates for GNU tar (default DEFAULT_GNU_TAR_CANDIDATES); an explicit one first. */
  gnuTarCandidates?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** PATH without the shim directory itself (a rerun in the same job has it first). */
function pathWithout(dir: string, path: string): string {
  return path
    .split(delimiter)
    .filter((d) => d && resolve(d) !== resolve(dir))
    .join(delimiter);
}

async function isGnuTar(path: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const result = await run(path, ['--version'], { env });
  const first = result.stdout.split('\n')[0]?.trim() ?? '';
  return result.status === 0 && /GNU tar/.test(first) ? first : undefined;
}

async function findGnuTar(
  candidates: readonly string[],
  path: string,
  env: NodeJS.ProcessEnv,
): Promise<{ path: string; version: string }> {
  const tried: string[] = [];
  for (const candidate of candidates) {
    const found = isAbsolute(candidate)
      ? await access(candidate, constants.X_OK).then(
          () => candidate,
          () => undefined,
        )
      : await which(candidate, path);
    if (!found) {
      tried.push(isAbsolute(candidate) ? `${candidate} (absent)` : `${candidate} (not on PATH)`);
      continue;
    }
    const version = await isGnuTar(found, env).catch(() => undefined);
    if (version) return { path: found, version };
    tried.push(`${found} (not GNU tar or does not run)`);
  }
  throw new UserError(
    `no GNU tar found; @actions/cache needs it on illumos (tried ${tried.join(', ')}). ` +
      'Install it (pkgin install gtar-base on SmartOS, pkg install archiver/gnu-tar elsewhere)',
  );
}

/** A zstd that runs and says it is Zstandard, or undefined. */
async function findZstd(path: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const zstd = await which('zstd', path);
  if (!zstd) return undefined;
  const result = await run(zstd, ['--version'], { env });
  return result.status === 0 && /zstd|Zstandard/i.test(result.stdout) ? zstd : undefined;
}

/** Replaces `name` in `dir` by a symlink, atomically (a rerun sees the old or the new one). */
async function placeSymlink(dir: string, name: string, target: string): Promise<void> {
  const final = join(dir, name);
  const existing = await readlink(final).catch(() => undefined);
  if (existing === target) return;
  const tmp = partialName(final);
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, final);
}

const HIDE_ZSTD = `#!/bin/sh
# Written by joyent-live setup-host (compression: gzip): hides zstd from
# @actions/cache, which uses zstd whenever \`zstd --version\` prints anything.
exit 127
`;

export async function prepareCacheTools(options: CacheToolsOptions): Promise<CacheTools> {
  const env = options.env ?? process.env;
  const shimDir = resolve(options.shimDir);
  const path = pathWithout(shimDir, env.PATH ?? '');
  const candidates = options.gnuTarCandidates ?? DEFAULT_GNU_TAR_CANDIDATES;
  const tar = await findGnuTar(candidates, path, env);
  const zstd = await findZstd(path, env);
  let compression: 'zstd' | 'gzip';
  if (options.compression === 'zstd') {
    if (!zstd) {
      throw new UserError(
        'compression is zstd, but there is no working zstd on PATH (install it, or choose auto or gzip)',
      );
    }
    compression = 'zstd';
  } else if (options.compression === 'gzip') {
    compression = 'gzip';
  } else {
    compression = zstd ? 'zstd' : 'gzip';
  }
  // A zstd on PATH that is not the one we found working (broken), or any
  // zstd when gzip was chosen, is hidden: the cache client must not see it.
  const anyZstd = await which('zstd', path);
  const hide = compression === 'gzip' && anyZstd !== undefined;
  try {
    await mkdir(shimDir, { recursive: true });
    await placeSymlink(shimDir, 'tar', tar.path);
    const hider = join(shimDir, 'zstd');
    if (hide) {
      await replaceFile(hider, HIDE_ZSTD, 0o755);
    } else if (await lstat(hider).catch(() => undefined)) {
      await rm(hider, { force: true });
    }
  } catch (err) {
    throw new UserError(`cannot write the tool shims in ${shimDir}: ${describeError(err)}`);
  }
  return {
    shimDir,
    gnuTar: tar.path,
    gnuTarVersion: tar.version,
    compression,
    zstd,
    zstdHidden: hide,
  };
}

/** The shell line that puts the shims first, for people running the CLI. */
export function exportPathLine(shimDir: string): string {
  const quoted = `'${shimDir.replace(/'/g, `'\\''`)}'`;
  return `export PATH=${quoted}:"$PATH"`;
}
