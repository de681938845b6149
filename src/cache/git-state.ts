/**
 * The state of a git checkout as the proto cache key counts it
 * (docs/build-world.md, "What the key covers"): its HEAD, when tracked
 * files changed a hash of those changes, and the untracked files git does
 * not ignore, contents included (real git).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describeError, UserError } from '../util/errors.js';
import { runChecked } from '../util/process.js';
import { gitListing, hashListed, hashTree } from './tree-hash.js';

export interface ProjectState {
  /** `git rev-parse HEAD`. */
  head: string;
  /** True when `git status` shows changes to tracked files. */
  dirty: boolean;
  /** sha256 of `git status --porcelain` and `git diff HEAD` when dirty: two dirty trees differ. */
  changes?: string;
  /**
   * The untracked files git does not ignore, when there are any: how many,
   * the sha256 of their paths, types, modes and contents (a nested
   * repository by its own files), and the first UNTRACKED_NAMES_LISTED
   * of their paths, byte-ordered. What a build leaves behind is ignored
   * by the projects' .gitignore (objects, logs); anything else, a
   * GNUmakefile that make would read before the Makefile for one, is an
   * input of the build like a tracked file.
   */
  untracked?: { files: number; sha256: string; names: string[] };
}

/** How many untracked file names the inputs document lists (all are hashed). */
export const UNTRACKED_NAMES_LISTED = 100;

/** What the key leaves out of each project: illumos.sh has its own input. */
const EXCLUDED = ['illumos.sh'];

/** The untracked, not ignored files of a checkout, byte-ordered (git's own listing). */
async function untrackedFiles(dir: string): Promise<string[]> {
  return (await gitListing(dir, true, EXCLUDED)) ?? [];
}

async function untrackedState(dir: string): Promise<ProjectState['untracked']> {
  const paths = await untrackedFiles(dir);
  if (paths.length === 0) return undefined;
  const hash = createHash('sha256').update(await hashListed(dir, paths));
  // A nested repository is listed as its directory: its own files count.
  for (const nested of paths.filter((p) => p.endsWith('/'))) {
    hash.update(`${nested}\0${await hashTree(join(dir, nested))}\0`);
  }
  return {
    files: paths.length,
    sha256: hash.digest('hex'),
    names: paths.slice(0, UNTRACKED_NAMES_LISTED),
  };
}

/** HEAD and dirtiness of a git checkout. illumos.sh is not counted: it has its own input. */
export async function projectState(dir: string, label: string): Promise<ProjectState> {
  let head = '';
  try {
    await runChecked('git', ['rev-parse', '--verify', 'HEAD'], {
      cwd: dir,
      onLine: (line, stream) => {
        if (stream === 'stdout' && !head) head = line.trim();
      },
    });
  } catch (err) {
    throw new UserError(
      `${label} (${dir}) is not a git checkout with a commit (${describeError(err)}); ` +
        'the proto cache key needs its revision',
    );
  }
  const pathspec = ['--', '.', ...EXCLUDED.map((p) => `:(exclude)${p}`)];
  const untracked = await untrackedState(dir);
  // Both outputs are streamed into the hash: a large diff is never held whole.
  const hash = createHash('sha256');
  let statusBytes = 0;
  await runChecked('git', ['status', '--porcelain', '--untracked-files=no', ...pathspec], {
    cwd: dir,
    onOutput: (chunk, stream) => {
      if (stream !== 'stdout') return;
      statusBytes += chunk.length;
      hash.update(chunk);
    },
  });
  if (statusBytes === 0) return { head, dirty: false, untracked };
  await runChecked('git', ['diff', '--binary', 'HEAD', ...pathspec], {
    cwd: dir,
    onOutput: (chunk, stream) => {
      if (stream === 'stdout') hash.update(chunk);
    },
  });
  return { head, dirty: true, changes: hash.digest('hex'), untracked };
}
