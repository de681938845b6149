/**
 * One build at a time per workspace: a lock file holding the builder's pid,
 * created exclusively. A second build fails at once naming the lock and
 * its holder; a lock left by a process that is gone is taken over.
 */
import { open, readFile, rm, stat } from 'node:fs/promises';
import { onInterrupt } from '../util/cleanup.js';
import { describeError, errnoCode, UserError } from '../util/errors.js';

export interface WorkspaceLock {
  path: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return errnoCode(err) === 'EPERM';
  }
}

/** Who takes a lock, for its messages: the command and what it locks. */
export interface LockOwner {
  command: string;
  place: string;
}

const WORKSPACE: LockOwner = { command: 'build-world', place: 'workspace' };

export async function lockWorkspace(
  path: string,
  onWarning: (message: string) => void,
  owner: LockOwner = WORKSPACE,
): Promise<WorkspaceLock> {
  const { command, place } = owner;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      // An interrupt releases it too (src/util/cleanup.ts).
      const undo = onInterrupt(() => rm(path, { force: true }));
      return { path, release: () => rm(path, { force: true }).finally(undo) };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') {
        throw new UserError(`cannot create the ${place} lock ${path}: ${describeError(err)}`);
      }
    }
    const text = await readFile(path, 'utf8').catch(() => '');
    const pid = Number(text.trim());
    // A lock with no pid yet may be one another build has just created and
    // not written: only an old one is stale.
    if (text === '') {
      const made = await stat(path).then(
        (s) => s.mtimeMs,
        () => 0,
      );
      if (made > Date.now() - 10_000) {
        throw new UserError(
          `another ${command} is starting in this ${place}: ${path} was just created; try again`,
        );
      }
    }
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      throw new UserError(
        `another ${command} (pid ${pid}) is using this ${place}: ${path} is locked; ` +
          'wait for it to finish (remove the lock only if that process is not a build)',
      );
    }
    onWarning(
      `taking over the stale ${place} lock ${path} (${pid > 0 ? `pid ${pid} is gone` : 'it names no pid'})`,
    );
    await rm(path, { force: true });
  }
  throw new UserError(`cannot take the ${place} lock ${path}: other builds keep taking it`);
}
