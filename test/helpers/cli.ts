import { spawn, type SpawnOptions } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './paths.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as an unprivileged user (uid/gid 65534) when the tests run as root. */
  unprivileged?: boolean;
}

export const isRoot = process.getuid?.() === 0;

/** Runs a program to its end, capturing what it prints. */
export function runCaptured(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `bin/joyent-live` as a user would, capturing its output. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const drop = options.unprivileged && isRoot ? { uid: 65534, gid: 65534 } : {};
  return runCaptured(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, SOURCE_DATE_EPOCH: '1323461708', ...options.env },
    ...drop,
  });
}

/**
 * A scratch directory for one test, removed afterwards. It is world-readable
 * so that an unprivileged run (see CliOptions) can use it.
 */
export async function scratchDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'joyent-live-test-'));
  await chmod(dir, 0o755);
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every path below `dir`, relative and sorted: to prove what a run wrote. */
/** Writes `data` to `<dir>/<name>` (writeFile's options) and returns that path. */
export async function fileIn(
  dir: string,
  name: string,
  data: string | Buffer,
  options?: Parameters<typeof writeFile>[2],
): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, data, options);
  return path;
}

export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      out.push(path);
      if (e.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return out.sort();
}

/** The buildstamp every run gets (runCli sets SOURCE_DATE_EPOCH=1323461708). */
export const CLI_STAMP = '20111209T201508Z';

/** A build-live run into `<dir>/out`, its log in `<dir>/log`, and where its results are. */
export interface BuildLiveRun {
  run: CliRun;
  out: string;
  logDir: string;
  /** `<out>/platform-<stamp>` */
  platform: string;
  /** `<logDir>/build_live.<stamp>.log` */
  log: string;
}

/** `build-live <args> -o <dir>/out --log-dir <dir>/log`, as most tests run it. */
export async function buildLiveIn(dir: string, args: readonly string[]): Promise<BuildLiveRun> {
  const out = join(dir, 'out');
  const logDir = join(dir, 'log');
  const run = await runCli(['build-live', ...args, '-o', out, '--log-dir', logDir]);
  return {
    run,
    out,
    logDir,
    platform: join(out, `platform-${CLI_STAMP}`),
    log: join(logDir, `build_live.${CLI_STAMP}.log`),
  };
}

/** A run as a failed assertion shows it: the exit code, stdout (its first 8,000 characters), stderr. */
export const show = (r: CliRun) =>
  `exit ${r.code}\n--- stdout\n${r.stdout.slice(0, 8000)}--- stderr\n${r.stderr}`;
