/**
 * A smartos-live workspace for the build-world tests, made from
 * action-fixtures/world (stand-ins for nightly, illumos-extra's and src's
 * Makefiles, the compiler) with real git repositories in projects/.
 */
import { spawnSync } from 'node:child_process';
import { cp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { FIXTURES } from './paths.js';

/** PATH with the uname stand-in (an illumos host) first. */
export const illumosPath = () =>
  `${join(FIXTURES, 'illumos-host', 'bin')}${delimiter}${process.env.PATH}`;

function git(cwd: string, ...args: string[]): string {
  const run = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'test',
      GIT_AUTHOR_EMAIL: 'test@example.invalid',
      GIT_COMMITTER_NAME: 'test',
      GIT_COMMITTER_EMAIL: 'test@example.invalid',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    },
  });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr}`);
  return run.stdout.trim();
}

/** Commits everything in a project (real git); returns the new HEAD. */
export function commitAll(project: string, message: string): string {
  git(project, 'add', '-A');
  git(project, 'commit', '-q', '-m', message);
  return git(project, 'rev-parse', 'HEAD');
}

/** `git init` in `dir` (real git); returns `dir`. */
export function initRepo(dir: string): string {
  git(dir, 'init', '-q');
  return dir;
}

/** Copies the fixture workspace to `<dir>/ws`, fills in illumos.sh, git-inits the projects. */
export async function makeWorldWorkspace(dir: string): Promise<string> {
  const ws = join(dir, 'ws');
  await cp(join(FIXTURES, 'world'), ws, { recursive: true, verbatimSymlinks: true });
  const env = join(ws, 'projects', 'illumos', 'illumos.sh');
  await writeFile(env, (await readFile(env, 'utf8')).replaceAll('@WORKSPACE@', ws));
  for (const project of ['illumos', 'illumos-extra']) {
    commitAll(initRepo(join(ws, 'projects', project)), 'fixture');
  }
  return ws;
}

/** What a new job's checkout lacks: the proto, the stamps, cache-key-inputs.json, the logs. */
export async function freshRunner(ws: string): Promise<void> {
  for (const name of await readdir(ws)) {
    if (['proto', 'log', 'cache-key-inputs.json'].includes(name) || /^0-.*-stamp$/.test(name)) {
      await rm(join(ws, name), { recursive: true, force: true });
    }
  }
}

/** Every file below `dir` with its content (symlinks as `-> text`), to compare protos. */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath, e.name);
    const rel = path.slice(dir.length + 1);
    if (e.isSymbolicLink()) out.set(rel, `-> ${await readlink(path)}`);
    else if (e.isFile()) out.set(rel, await readFile(path, 'utf8'));
    else if (e.isDirectory()) out.set(rel, '<dir>');
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
