import { access, constants, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isLeftover } from '../formats/output-layout.js';
import { lockWorkspace } from '../world/lock.js';
import { describeError, ioError, isIoCondition, UserError } from '../util/errors.js';
import { removeTree } from '../util/remove-tree.js';

/** Fails when `dir` exists as something other than a directory. */
export async function checkDirOrAbsent(dir: string, what: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) {
    throw new UserError(`${what} ${dir} exists and is not a directory`);
  }
}

/**
 * Fails unless `dir` is a writable directory or can be made one: its
 * nearest existing ancestor is a directory we can write into. Checks only,
 * so that the output and log directories are both checked before either
 * is created.
 */
export async function checkCanCreateDir(dir: string, what: string): Promise<void> {
  await checkDirOrAbsent(dir, what);
  const target = resolve(dir);
  for (let p = target; ; p = dirname(p)) {
    const info = await stat(p).catch(() => undefined);
    if (!info) {
      if (dirname(p) === p) return;
      continue;
    }
    if (!info.isDirectory()) {
      throw new UserError(`${what} ${dir} cannot be created: ${p} is not a directory`);
    }
    try {
      await access(p, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new UserError(
        p === target
          ? `${what} ${dir} is not writable: ${describeError(err)}`
          : `${what} ${dir} cannot be created: ${p} is not writable (${describeError(err)})`,
      );
    }
    return;
  }
}

/** Creates `dir` if needed and checks that we can write into it. */
export async function ensureWritableDir(dir: string, what: string): Promise<void> {
  await checkDirOrAbsent(dir, what);
  const info = await stat(dir).catch(() => undefined);
  try {
    if (!info) await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new UserError(`${what} ${dir} is not writable: ${describeError(err)}`);
  }
}

/**
 * Removes what killed earlier builds left in the output and log
 * directories (our private work directories, older versions' temporary
 * names), whatever their stamp: holding both locks, they are ours.
 */
export async function removeLeftovers(
  output: string,
  logDir: string,
  info: (message: string) => void,
): Promise<void> {
  const places: [string, 'output' | 'log'][] = [
    [output, 'output'],
    [logDir, 'log'],
  ];
  for (const [dir, where] of places) {
    for (const name of (await readdir(dir)).sort()) {
      if (!isLeftover(name, where)) continue;
      info(`removing ${join(dir, name)}, left by an earlier build that did not finish`);
      await removeTree(join(dir, name));
    }
  }
}

/** The longest path the build host takes (PATH_MAX, with its NUL). */
function hostPathMax(platform: NodeJS.Platform = process.platform): number {
  return platform === 'linux' ? 4096 : 1024;
}

/** Room for the work directory's own names below the output directory. */
const WORK_DIR_ROOM = 64;

/**
 * Fails before anything is written when the deepest entry, staged below
 * `output`, would exceed the host's path limit: the same inputs then never
 * give an image that depends on where the output directory is.
 */
export function checkHostPathRoom(
  output: string,
  paths: Iterable<string>,
  platform: NodeJS.Platform = process.platform,
): void {
  let longest = '';
  for (const path of paths) {
    if (Buffer.byteLength(path) > Buffer.byteLength(longest)) longest = path;
  }
  const prefix = Buffer.byteLength(resolve(output)) + WORK_DIR_ROOM;
  const limit = hostPathMax(platform);
  if (prefix + Buffer.byteLength(longest) + 1 >= limit) {
    throw new UserError(
      `output directory ${output} is too deep for this host: staging ${longest.slice(0, 60)}... ` +
        `(${Buffer.byteLength(longest)} bytes) below it would exceed the host's path limit of ` +
        `${limit} bytes (PATH_MAX); use an output directory with a shorter path`,
    );
  }
}

/** The lock file build-live holds in its output and log directories. */
export const BUILD_LIVE_LOCK = '.build-live.lock';

/**
 * One build-live at a time per output directory and per log directory
 * (the same lock as build-world's workspace, in each); a stale lock is
 * taken over with a warning. Returns the release of both.
 */
export async function lockBuildDirs(
  output: string,
  logDir: string,
  onWarning: (message: string) => void,
): Promise<() => Promise<void>> {
  const out = await lockWorkspace(join(output, BUILD_LIVE_LOCK), onWarning, {
    command: 'build-live',
    place: 'output directory',
  });
  if (resolve(output) === resolve(logDir)) return () => out.release();
  const log = await lockWorkspace(join(logDir, BUILD_LIVE_LOCK), onWarning, {
    command: 'build-live',
    place: 'log directory',
  }).catch(async (err: unknown) => {
    await out.release();
    throw err;
  });
  return async () => {
    await log.release();
    await out.release();
  };
}

/** Runs a step that writes `path`: a full disk or a size limit names it. */
export async function writing<T>(path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof UserError) && isIoCondition(err)) throw ioError(err, 'write', path);
    throw err;
  }
}
