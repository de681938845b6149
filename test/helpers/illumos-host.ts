/**
 * An illumos build host as the setup-host tests see it on Linux: the
 * stand-ins of action-fixtures/illumos-host/bin (uname saying SunOS, pkgin
 * and pkg keeping a fake package list, gtar running Linux's GNU tar) first
 * on PATH, a real release file of each distribution, real git
 * repositories to clone from, and a loopback HTTP server for the man pages
 * tarball (made with real tar).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Distro } from '../../src/host/release.js';
import { REQUIRED_PACKAGES } from '../../src/host/packages.js';
import { runCaptured, scratchDir } from './cli.js';
import { FIXTURES } from './paths.js';

export const STANDIN_BIN = join(FIXTURES, 'illumos-host', 'bin');
export const releaseFile = (name: 'smartos' | 'omnios' | 'openindiana' | 'solaris') =>
  join(FIXTURES, 'illumos-host', 'release', name);
export const RELEASE_OF: Record<Distro, string> = {
  SmartOS: releaseFile('smartos'),
  OmniOS: releaseFile('omnios'),
  OpenIndiana: releaseFile('openindiana'),
};

type TestLike = Parameters<typeof scratchDir>[0];

/** Runs git, failing the test on error. */
export async function git(args: string[], cwd?: string): Promise<string> {
  const run = await runCaptured(
    'git',
    [
      '-c',
      'user.name=joyent-live test',
      '-c',
      'user.email=test@invalid',
      '-c',
      'init.defaultBranch=master',
      ...args,
    ],
    { cwd, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } },
  );
  if (run.code !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr}`);
  return run.stdout.trim();
}

/**
 * A repository with `master` (README says "master"), a branch `feature`
 * and a tag `v1` on it (README says "feature").
 */
export async function makeRepo(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await git(['init', '-q', dir]);
  await writeFile(join(dir, 'README'), 'master\n');
  await git(['add', 'README'], dir);
  await git(['commit', '-q', '-m', 'master'], dir);
  await git(['checkout', '-q', '-b', 'feature'], dir);
  await writeFile(join(dir, 'README'), 'feature\n');
  await git(['commit', '-q', '-am', 'feature'], dir);
  await git(['tag', 'v1'], dir);
  await git(['checkout', '-q', 'master'], dir);
  return dir;
}

export interface HostScene {
  dir: string;
  workspace: string;
  /** The stand-ins' fake installed-package list. */
  db: string;
  /** Every pkgin/pkg call, one a line. */
  log: string;
  repo: string;
  env: NodeJS.ProcessEnv;
  /** The pkgin/pkg calls made so far. */
  calls(): Promise<string[]>;
}

/**
 * A scratch host: `installed` packages already in the fake list (default:
 * all that `distro` requires), the stand-ins first on PATH.
 */
export async function hostScene(
  t: TestLike,
  distro: Distro,
  installed: readonly string[] = REQUIRED_PACKAGES[distro].packages,
): Promise<HostScene> {
  const dir = await scratchDir(t);
  const workspace = join(dir, 'ws');
  await mkdir(workspace);
  const db = join(dir, 'installed.txt');
  const log = join(dir, 'pkg-calls.txt');
  await writeFile(db, installed.map((p) => `${p}\n`).join(''));
  await writeFile(log, '');
  const repo = await makeRepo(join(dir, 'repo'));
  return {
    dir,
    workspace,
    db,
    log,
    repo,
    env: {
      PATH: `${STANDIN_BIN}:${process.env.PATH}`,
      PKG_STANDIN_DB: db,
      PKG_STANDIN_LOG: log,
    },
    calls: async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean),
  };
}

/**
 * A PATH of only the named programs (symlinks in a scratch bin): to run
 * without gtar or zstd, which /usr/bin on this machine may have.
 */
export async function narrowPath(dir: string, programs: Record<string, string>): Promise<string> {
  const bin = join(dir, 'narrow-bin');
  await mkdir(bin, { recursive: true });
  for (const [name, target] of Object.entries(programs)) await symlink(target, join(bin, name));
  return bin;
}

/** What the stand-ins themselves need from the system (sort, grep, touch). */
export async function standinTools(): Promise<Record<string, string>> {
  const tools: Record<string, string> = {};
  for (const name of ['sort', 'grep', 'touch', 'git']) {
    const run = await runCaptured('sh', ['-c', `command -v ${name}`]);
    tools[name] = run.stdout.trim();
  }
  return {
    ...tools,
    uname: join(STANDIN_BIN, 'uname'),
    pkg: join(STANDIN_BIN, 'pkg'),
    pkgin: join(STANDIN_BIN, 'pkgin'),
  };
}

/** A man page tarball made by real tar: man1/ls.1 and man8/init.8 under `prefix`. */
export async function makeManTarball(
  dir: string,
  prefix = '',
): Promise<{ file: string; sha256: string }> {
  const src = join(dir, 'man-src');
  const root = join(src, prefix);
  await mkdir(join(root, 'man1'), { recursive: true });
  await mkdir(join(root, 'man8'), { recursive: true });
  await writeFile(join(root, 'man1', 'ls.1'), '.TH LS 1\nls \\- list directory contents\n');
  await writeFile(join(root, 'man8', 'init.8'), '.TH INIT 8\ninit \\- process control\n');
  const file = join(dir, 'man.tgz');
  const run = await runCaptured('tar', ['-czf', file, '-C', src, '.']);
  if (run.code !== 0) throw new Error(`tar: ${run.stderr}`);
  const sha256 = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
  return { file, sha256 };
}

/**
 * A loopback HTTP server: GET /<name> serves files[name], /redirect/<name>
 * answers 302 to /<name>, anything else 404. Closed after the test.
 */
export async function serveFiles(t: TestLike, files: Record<string, string>): Promise<string> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').slice(1);
    if (path.startsWith('redirect/')) {
      res.writeHead(302, { location: `/${path.slice('redirect/'.length)}` }).end();
      return;
    }
    const file = files[path];
    if (!file) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
