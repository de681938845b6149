import { access, constants, mkdir, rename, rm, stat } from 'node:fs/promises';
import { describeError, UserError } from '../util/errors.js';

/** Fails when `dir` exists as something other than a directory. */
export async function checkDirOrAbsent(dir: string, what: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) {
    throw new UserError(`${what} ${dir} exists and is not a directory`);
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

/** Renames `from` onto `to`, replacing what an earlier build left there. */
export async function replaceWith(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await rename(from, to);
}
