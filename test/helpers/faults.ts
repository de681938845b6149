/**
 * The fault-injection harness (test/faults.test.ts): small tmpfs mounts
 * that fill up, sources big enough for a build to take a moment, and a
 * run of the CLI under a file size limit. Mounting needs root (CI runs as
 * root); the tests that need it skip with that reason otherwise.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, runCaptured, type CliRun } from './cli.js';
import { CLI } from './paths.js';

export const needsRoot = { skip: !isRoot && 'needs root (tmpfs mounts, setpriv): CI runs as root' };

/**
 * Mounts a tmpfs of `bytes` on a new directory of its own (so that no other
 * cleanup removes it while it is mounted); unmounted and removed when the
 * test ends. Returns the mount point.
 */
export async function mountTmpfs(
  t: { after: (fn: () => Promise<void>) => void },
  bytes: number,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'joyent-live-tmpfs-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir]);
  if (mount.status !== 0) throw new Error(`mount tmpfs on ${dir}: ${mount.stderr.toString()}`);
  t.after(async () => {
    spawnSync('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

export interface BigSources {
  manifest: string;
  proto: string;
  files: number;
  bytes: number;
}

/**
 * A manifest of `files` files of `fileBytes` each (deterministic, barely
 * compressible content) under a few directories, and a proto that has them.
 */
export async function bigSources(
  dir: string,
  files: number,
  fileBytes: number,
): Promise<BigSources> {
  const proto = join(dir, 'proto');
  const lines = ['d etc 0755 root sys', 'd opt 0755 root sys'];
  let seed = 12345;
  const chunk = Buffer.alloc(fileBytes);
  for (let d = 0; d < Math.ceil(files / 100); d++) {
    lines.push(`d opt/d${d} 0755 root sys`);
    await mkdir(join(proto, 'opt', `d${d}`), { recursive: true });
  }
  for (let i = 0; i < files; i++) {
    for (let j = 0; j < fileBytes; j += 4) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      chunk.writeUInt32LE(seed, j - (j + 4 > fileBytes ? 4 - (fileBytes - j) : 0));
    }
    const path = `opt/d${Math.floor(i / 100)}/f${i}`;
    await writeFile(join(proto, path), chunk);
    lines.push(`f ${path} 0644 root bin`);
  }
  const manifest = join(dir, 'big.manifest');
  await writeFile(manifest, lines.join('\n') + '\n');
  return { manifest, proto, files, bytes: files * fileBytes };
}

/** Runs the CLI with a file size limit (`ulimit -f`, in 512-byte blocks). */
export function runCliLimited(
  args: readonly string[],
  blocks: number,
  env: NodeJS.ProcessEnv = {},
): Promise<CliRun> {
  return runCaptured(
    '/bin/sh',
    ['-c', `ulimit -f ${blocks} && exec "$0" "$@"`, process.execPath, CLI, ...args],
    { env: { ...process.env, SOURCE_DATE_EPOCH: '1323461708', ...env } },
  );
}

/** build-live of `src` (bigSources) into `output`, its log in `logDir`, at the tests' BUILDSTAMP. */
export function buildArgs(
  src: { manifest: string; proto: string },
  output: string,
  logDir: string,
): string[] {
  const stamp = '20111209T201508Z';
  return [
    'build-live',
    '-m',
    src.manifest,
    '--proto',
    src.proto,
    '--buildstamp',
    stamp,
    '-o',
    output,
    '--log-dir',
    logDir,
  ];
}
