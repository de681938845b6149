/**
 * Removal of a tree the build made, whatever modes the image (or a
 * customize script) gave its directories: a non-root user cannot empty a
 * 0555 directory, even its own, until it gives itself write permission.
 */
import { chmod, lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, errnoCode, UserError } from './errors.js';

const isPermission = (err: unknown) => ['EACCES', 'EPERM'].includes(errnoCode(err) ?? '');

/**
 * Removes `path` and everything below it (a symlink is removed, never
 * followed; a missing path is fine). On EACCES/EPERM every directory below
 * gets u+rwx (an lstat walk that never follows a symlink) and the removal
 * is tried once more; a failure then is an error naming the path.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true, maxRetries: 3 });
    return;
  } catch (err) {
    if (!isPermission(err)) throw removeError(err, path);
  }
  await grantOwnerAccess(path);
  try {
    await rm(path, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    throw removeError(err, path);
  }
}

function removeError(err: unknown, path: string): UserError {
  const code = errnoCode(err);
  return new UserError(`cannot remove ${path}: ${describeError(err)}${code ? ` (${code})` : ''}`);
}

/** u+rwx on `path` and every directory below it; symlinks are not followed. */
async function grantOwnerAccess(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isDirectory()) return;
  // Not ours (a file system we cannot change): the retry reports it.
  if ((info.mode & 0o700) !== 0o700) {
    await chmod(path, (info.mode & 0o7777) | 0o700).catch(() => undefined);
  }
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await grantOwnerAccess(join(path, entry.name));
  }
}
