/**
 * The state of a git checkout as the proto cache key counts it: its HEAD,
 * and when tracked files changed, a hash of those changes (real git).
 */
import { createHash } from 'node:crypto';
import { describeError, UserError } from '../util/errors.js';
import { runChecked } from '../util/process.js';

export interface ProjectState {
  /** `git rev-parse HEAD`. */
  head: string;
  /**
   * True when `git status` shows changes to tracked files. Untracked files
   * are not counted: builds leave many in the tree (objects, logs).
   */
  dirty: boolean;
  /** sha256 of `git status --porcelain` and `git diff HEAD` when dirty: two dirty trees differ. */
  changes?: string;
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
  const pathspec = ['--', '.', ':(exclude)illumos.sh'];
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
  if (statusBytes === 0) return { head, dirty: false };
  await runChecked('git', ['diff', '--binary', 'HEAD', ...pathspec], {
    cwd: dir,
    onOutput: (chunk, stream) => {
      if (stream === 'stdout') hash.update(chunk);
    },
  });
  return { head, dirty: true, changes: hash.digest('hex') };
}
