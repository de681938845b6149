import { chmod, cp, lstat, readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { fixtureArgs, FIXTURES } from './paths.js';

/**
 * Makes everything below `dir` readable by anyone (directories 0755, files
 * keep their execute bits and gain read for all), so that an unprivileged
 * run of the CLI (CliOptions.unprivileged) can use it.
 */
export async function makeWorldReadable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) {
      await makeWorldReadable(path);
    } else {
      const { mode } = await lstat(path);
      await chmod(path, (mode & 0o7777) | 0o444);
    }
  }
}

/**
 * Copies action-fixtures/ to `dest` (which must not exist yet) for a test
 * that mutates it. Symlinks are copied as they are (the proto's relative
 * `usr/bin/dir -> ls` must stay inside the copy), and the copy is
 * world-readable. Returns `dest`.
 */
export async function copyFixtures(dest: string): Promise<string> {
  await cp(FIXTURES, dest, { recursive: true, verbatimSymlinks: true, errorOnExist: true });
  await makeWorldReadable(dest);
  return dest;
}

/**
 * The arguments of the good fixture build (`fixtureArgs()`, as `npm start`
 * uses them), pointing at the copy in `fixtures` instead of action-fixtures/.
 */
export function copiedFixtureArgs(fixtures: string, output: string, logDir: string): string[] {
  return fixtureArgs(output, logDir).map((arg) =>
    arg === FIXTURES || arg.startsWith(FIXTURES + sep)
      ? fixtures + arg.slice(FIXTURES.length)
      : arg,
  );
}
