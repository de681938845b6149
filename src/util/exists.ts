/**
 * Whether a path is there (as itself: a symlink is there even when what it
 * names is not). Only "not there" is false; any other error (EACCES, EIO)
 * is thrown, never taken for "not there".
 */
import { lstat } from 'node:fs/promises';
import { errnoCode } from './errors.js';

export function pathExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (err: unknown) => {
      if (isNotThere(err)) return false;
      throw err;
    },
  );
}

/** True for the errors that mean "not there" (ENOENT, ENOTDIR), and only for them. */
export function isNotThere(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
