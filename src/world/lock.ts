/**
 * One build at a time per workspace: a lock file holding the builder's pid,
 * created exclusively. A second build fails at once naming the lock and
 * its holder; a lock left by a process that is gone is taken over.
 */
import { open, readFile, rm, stat } from 'node:fs/promises';
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

export async function lockWorkspace(
  path: string,
  onWarning: (message: string) => void,
): Promise<WorkspaceLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { path, release: () => rm(path, { force: true }) };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') {
        throw new UserError(`cannot create the workspace lock ${path}: ${describeError(err)}`);
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
          `another build-world is starting in this workspace: ${path} was just created; try again`,
        );
      }
    }
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      throw new UserError(
        `another build-world (pid ${pid}) is using this workspace: ${path} is locked; ` +
          'wait for it to finish (remove the lock only if that process is not a build)',
      );
    }
    onWarning(
      `taking over the stale workspace lock ${path} (${pid > 0 ? `pid ${pid} is gone` : 'it names no pid'})`,
    );
    await rm(path, { force: true });
  }
  throw new UserError(`cannot take the workspace lock ${path}: other builds keep taking it`);
}
