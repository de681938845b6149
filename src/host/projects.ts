/**
 * The source trees smartos-live builds from: <workspace>/projects/illumos
 * and <workspace>/projects/illumos-extra. An existing checkout (or a
 * symlink to one) is used as it is; a missing one is cloned with git from
 * the repository and ref given. A clone is made under a temporary name and
 * renamed into place only once checked out, so a failed or interrupted
 * clone never stays behind looking complete.
 */
import { lstat, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, errnoCode, UserError } from '../util/errors.js';
import { lastLine, run } from '../util/process.js';

export interface ProjectSource {
  /** `illumos` or `illumos-extra`: the directory under projects/. */
  name: string;
  repo?: string;
  ref?: string;
  /** The input/option names, for messages. */
  repoOption: string;
}

export interface ProjectState {
  name: string;
  path: string;
  /** `existing` (a directory or a symlink to one, used as is) or `cloned` (this run). */
  state: 'existing' | 'cloned';
  /** For a symlink: where it points. */
  symlink?: boolean;
}

async function existing(path: string): Promise<ProjectState['state'] | 'missing'> {
  const link = await lstat(path).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new UserError(`cannot look at ${path}: ${describeError(err)}`);
  });
  if (!link) return 'missing';
  const target = await stat(path).catch((err: unknown) => {
    throw new UserError(
      `${path} is a symlink whose target cannot be used (${describeError(err)}); ` +
        'point it at a checkout or remove it',
    );
  });
  if (!target.isDirectory()) {
    throw new UserError(
      `${path} exists but is not a directory; move it away or make it a checkout`,
    );
  }
  return 'existing';
}

/** Clones repo@ref into projects/<name>, under a temporary name first. */
async function clone(
  source: ProjectSource,
  projects: string,
  env: NodeJS.ProcessEnv,
  onInfo?: (message: string) => void,
): Promise<void> {
  const final = join(projects, source.name);
  const tmp = join(projects, `.${source.name}.partial`);
  const gitEnv = { ...env, GIT_TERMINAL_PROMPT: '0' };
  const what = `${source.repo}${source.ref ? `@${source.ref}` : ''}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    onInfo?.(`cloning ${what} into ${final}`);
    const cloneArgs = [
      'clone',
      '--quiet',
      ...(source.ref ? ['--no-checkout'] : []),
      '--',
      source.repo!,
      tmp,
    ];
    let result = await run('git', cloneArgs, { env: gitEnv });
    if (result.status !== 0) throw new UserError(`cannot clone ${what}: ${lastLine(result)}`);
    if (source.ref) {
      result = await run('git', ['-C', tmp, 'checkout', '--quiet', source.ref, '--'], {
        env: gitEnv,
      });
      if (result.status !== 0) {
        throw new UserError(
          `cannot check out ${source.ref} of ${source.repo}: ${lastLine(result)}`,
        );
      }
    }
    await rename(tmp, final);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot clone ${what} into ${final}: ${describeError(err)}`);
  }
}

export async function ensureProjects(
  workspace: string,
  sources: readonly ProjectSource[],
  options: { env?: NodeJS.ProcessEnv; onInfo?: (message: string) => void } = {},
): Promise<ProjectState[]> {
  const env = options.env ?? process.env;
  const projects = join(workspace, 'projects');
  const states: ProjectState[] = [];
  for (const source of sources) {
    const path = join(projects, source.name);
    const found = await existing(path);
    if (found !== 'missing') {
      const symlink = (await lstat(path)).isSymbolicLink();
      states.push({ name: source.name, path, state: 'existing', ...(symlink ? { symlink } : {}) });
      continue;
    }
    if (!source.repo) {
      throw new UserError(
        `${path} does not exist and no ${source.repoOption} was given to clone it from`,
      );
    }
    try {
      await mkdir(projects, { recursive: true });
    } catch (err) {
      throw new UserError(`cannot create ${projects}: ${describeError(err)}`);
    }
    await clone(source, projects, env, options.onInfo);
    states.push({ name: source.name, path, state: 'cloned' });
  }
  return states;
}
