/**
 * Interrupts and the customize step's lifetime (issue 11 items 8, 12a,
 * 12d; docs/exit-codes.md "Interrupted", docs/assembly.md): SIGINT and
 * SIGTERM mid-build and mid-customize, the customize timeout, a background
 * writer outliving its script, verify-manifest interrupted while it reads a
 * tgz, a script that removes the image root or hard-links a file outside
 * the image. Every run is the real CLI; every signal is sent while the run
 * is under way (the test waits for the temporary it must remove to exist).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseBuildLiveOptions } from '../src/options/build-live.js';
import { BUILD_LIVE_INPUTS } from '../src/options/build-live.js';
import { inputNames } from '../src/options/names.js';
import { errnoCode, UsageError } from '../src/util/errors.js';
import { type CliRun, fileIn, isRoot, listTree, runCli, scratchDir } from './helpers/cli.js';
import { bigSources } from './helpers/faults.js';
import { CLI } from './helpers/paths.js';

const STAMP = '20111209T201508Z';
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

// A build of a few thousand files: long enough (seconds) to be interrupted mid-way.
const sharedDir = await mkdtemp(join(tmpdir(), 'joyent-live-test-'));
await chmod(sharedDir, 0o755); // an unprivileged run reads the sources too
after(() => rm(sharedDir, { recursive: true, force: true }));
const shared = { big: await bigSources(sharedDir, 3000, 4096) };

interface Started {
  pid: number;
  done: Promise<CliRun>;
}

/** Starts the CLI (not awaited), to signal it while it runs. */
function startCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  unprivileged = false,
): Started {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, SOURCE_DATE_EPOCH: '1323461708', ...env },
    ...(unprivileged && { uid: 65534, gid: 65534 }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { pid: child.pid!, done };
}

/** Waits until `check` holds (polling), failing after `ms`. */
async function waitFor(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(25)) {
    if (await check()) return;
  }
  throw new Error(`timed out waiting for ${what}`);
}

const namesIn = (dir: string) => readdir(dir).catch(() => [] as string[]);

/** True when `pid` is gone (or a zombie nobody has reaped yet: it runs no more). */
async function processGone(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return errnoCode(err) === 'ESRCH';
  }
  const state = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return state === '' || /^\d+ \(.*\) Z/s.test(state);
}

async function assertGone(pid: number, what: string): Promise<void> {
  // SIGKILL is delivered at once, but the kernel takes a moment to tear a process down.
  for (let i = 0; i < 40 && !(await processGone(pid)); i++) await sleep(50);
  assert.ok(await processGone(pid), `${what} (pid ${pid}) is still running`);
}

/** The interrupt line and nothing that looks like an error. */
function assertOneInterruptLine(run: CliRun, signal: 'SIGINT' | 'SIGTERM') {
  const lines = run.stderr.split('\n').filter((l) => /interrupt|error|^\s+at /.test(l));
  assert.deepEqual(
    lines.map((l) => l.replace(/: (stopped|removed).*/, '')),
    [`joyent-live: interrupted by ${signal}`],
    run.stderr,
  );
  assert.match(run.stderr, /removed temporary files/);
}

const md5 = async (path: string) =>
  createHash('md5')
    .update(await readFile(path))
    .digest('hex');

/** Every path and each file's md5 below `dir`: what a previous build left. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const path of await listTree(dir)) {
    const st = await stat(join(dir, path));
    out.push(st.isFile() ? `${path} ${await md5(join(dir, path))}` : path);
  }
  return out;
}

/** A previous good build, small, with the same stamp; returns the output and log dirs. */
async function previousBuild(dir: string, unprivileged = false) {
  const proto = join(dir, 'small-proto');
  await mkdir(join(proto, 'etc'), { recursive: true });
  await writeFile(join(proto, 'etc/motd'), 'previous\n');
  const manifest = await fileIn(
    dir,
    'small.manifest',
    'd etc 0755 root sys\nf etc/motd 0644 root sys\n',
  );
  const output = join(dir, 'out');
  const logDir = join(dir, 'log');
  const args = ['-m', manifest, '--proto', proto, '-o', output, '--log-dir', logDir];
  if (unprivileged) {
    for (const d of [output, logDir]) {
      await mkdir(d);
      await chown(d, 65534, 65534);
    }
  }
  const run = await runCli(['build-live', ...args, '--buildstamp', STAMP], { unprivileged });
  assert.equal(run.code, 0, run.stderr);
  return { output, logDir, before: [...(await snapshot(output)), ...(await snapshot(logDir))] };
}

/** Writes `<dir>/customize`, executable, for --customize. */
const customizeScript = (dir: string, text: string) =>
  fileIn(dir, 'customize', text, { mode: 0o755 });

/** After previousBuild(), a staged build (`--archive none`) into `dir`/out2 that runs `script` as its customize step. */
async function customizedRebuild(dir: string, script: string): Promise<CliRun> {
  const prev = await previousBuild(dir);
  const extra = ['--archive', 'none', '--customize', script];
  return runCli(smallArgs(dir, join(dir, 'out2'), prev.logDir, '20111209T201509Z', extra));
}

/** build-live of the small sources previousBuild() wrote under `dir`. */
function smallArgs(dir: string, output: string, logDir: string, stamp: string, extra: string[]) {
  const sources = ['-m', join(dir, 'small.manifest'), '--proto', join(dir, 'small-proto')];
  return [
    'build-live',
    ...sources,
    '-o',
    output,
    '--log-dir',
    logDir,
    '--buildstamp',
    stamp,
    ...extra,
  ];
}

function bigArgs(output: string, logDir: string, extra: string[] = []) {
  const { manifest, proto } = shared.big;
  return [
    'build-live',
    '-m',
    manifest,
    '--proto',
    proto,
    '-o',
    output,
    '--log-dir',
    logDir,
    '--buildstamp',
    STAMP,
    ...extra,
  ];
}

for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  test(`${signal} mid-build: exit ${code}, one line, no temporaries left, the previous outputs intact`, async (t) => {
    const dir = await scratchDir(t);
    const prev = await previousBuild(dir);
    const build = startCli(bigArgs(prev.output, prev.logDir));
    await waitFor('the build to start writing', async () =>
      (await namesIn(prev.output)).some((n) => n.startsWith('.work-')),
    );
    await sleep(300);
    process.kill(build.pid, signal);
    const run = await build.done;
    assert.equal(run.code, code, run.stderr);
    assertOneInterruptLine(run, signal);
    assert.deepEqual(
      [...(await snapshot(prev.output)), ...(await snapshot(prev.logDir))],
      prev.before,
      'the interrupted build left a temporary or changed the previous outputs',
    );
  });

  test(`${signal} mid-customize: the script and the process it forked are stopped, exit ${code}, nothing left`, async (t) => {
    const dir = await scratchDir(t);
    const prev = await previousBuild(dir);
    const pidFile = join(dir, 'forked.pid');
    const script = await customizeScript(
      dir,
      '#!/bin/sh\n' +
        `sleep 20 & echo $! > ${pidFile}.tmp; mv ${pidFile}.tmp ${pidFile}\n` +
        // Bounded, so that a build that does not stop it (the bug) does not hang the suite.
        'i=0; while [ $i -lt 400 ]; do echo x >> "$1/etc/writer"; sleep 0.05; i=$((i+1)); done\n',
    );
    const build = startCli(bigArgs(prev.output, prev.logDir, ['--customize', script]));
    await waitFor('the customize script to fork', async () =>
      (await namesIn(dir)).includes('forked.pid'),
    );
    const forked = Number(await readFile(pidFile, 'utf8'));
    await sleep(200);
    process.kill(build.pid, signal);
    const run = await build.done;
    assert.equal(run.code, code, run.stderr);
    assertOneInterruptLine(run, signal);
    await assertGone(forked, 'the process the customize script forked');
    assert.deepEqual(
      [...(await snapshot(prev.output)), ...(await snapshot(prev.logDir))],
      prev.before,
      'the interrupted build left a temporary or changed the previous outputs',
    );
  });
}

test(
  'SIGTERM as an unprivileged user after the customize step made a 0555 directory: the tree is still removed',
  { skip: !isRoot && 'needs root to run the build as uid 65534 (CI runs as root)' },
  async (t) => {
    const dir = await scratchDir(t);
    const prev = await previousBuild(dir, true);
    const script = join(dir, 'customize');
    const ready = join(dir, 'ready');
    await mkdir(ready);
    await chown(ready, 65534, 65534);
    await writeFile(
      script,
      '#!/bin/sh\n' +
        'mkdir "$1/ro" && echo x > "$1/ro/file" && chmod 0555 "$1/ro" "$1/etc"\n' +
        `touch ${ready}/now\nsleep 20\n`,
      { mode: 0o755 },
    );
    const build = startCli(bigArgs(prev.output, prev.logDir, ['--customize', script]), {}, true);
    await waitFor('the customize script to lock its directories', async () =>
      (await namesIn(ready)).includes('now'),
    );
    process.kill(build.pid, 'SIGTERM');
    const run = await build.done;
    assert.equal(run.code, 143, run.stderr);
    assertOneInterruptLine(run, 'SIGTERM');
    assert.deepEqual(
      [...(await snapshot(prev.output)), ...(await snapshot(prev.logDir))],
      prev.before,
      'the 0555 directories kept the temporary tree from being removed',
    );
  },
);

test('a customize script over --customize-timeout is stopped with its group: exit 1 naming the script and the limit', async (t) => {
  const dir = await scratchDir(t);
  const prev = await previousBuild(dir);
  const pidFile = join(dir, 'forked.pid');
  const script = await customizeScript(
    dir,
    `#!/bin/sh\nsleep 20 & echo $! > ${pidFile}\nsleep 30\n`,
  );
  const started = Date.now();
  const run = await runCli(
    smallArgs(dir, prev.output, prev.logDir, STAMP, [
      '--customize',
      script,
      '--customize-timeout',
      '1s',
    ]),
  );
  const seconds = (Date.now() - started) / 1000;
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    new RegExp(`error: customize script ${script} did not finish within 1s; stopped it`),
  );
  assert.doesNotMatch(run.stderr, /internal error|^\s+at /m);
  assert.ok(seconds < 20, `took ${seconds} s: the script's sleep 30 was not stopped`);
  await assertGone(Number(await readFile(pidFile, 'utf8')), 'the forked sleep');
  assert.deepEqual(
    [...(await snapshot(prev.output)), ...(await snapshot(prev.logDir))],
    prev.before,
  );
});

test('a background writer outliving its customize script is stopped before the image is read back', async (t) => {
  const dir = await scratchDir(t);
  const pidFile = join(dir, 'writer.pid');
  const script = await customizeScript(
    dir,
    '#!/bin/sh\n' +
      // Bounded, so that a build that does not stop it (the bug) does not hang the suite.
      '( i=0; while [ $i -lt 500 ]; do echo x >> "$1/etc/late"; sleep 0.02; i=$((i+1)); done ) &\n' +
      `echo $! > ${pidFile}\nsleep 0.3\n`,
  );
  const run = await customizedRebuild(dir, script);
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stderr,
    /warning: customize script \S+ left processes running in its process group; they were stopped/,
  );
  await assertGone(Number(await readFile(pidFile, 'utf8')), 'the background writer');
  // Nothing writes into the kept image any more, and what it holds is what the manifest lists.
  const late = join(dir, 'out2', 'image-20111209T201509Z', 'etc', 'late');
  const size = (await stat(late)).size;
  await sleep(300);
  assert.equal((await stat(late)).size, size, 'something still writes into the image');
  const manifest = await readFile(
    join(dir, 'out2', 'platform-20111209T201509Z/i86pc/amd64/boot_archive.manifest'),
    'utf8',
  );
  assert.match(manifest, new RegExp(`^f \\./etc/late 0644 \\S+ \\S+ ${await md5(late)}$`, 'm'));
});

test('verify-manifest on a tgz interrupted by SIGTERM leaves no joyent-live-verify-* in TMPDIR', async (t) => {
  const dir = await scratchDir(t);
  const output = join(dir, 'out');
  const logDir = join(dir, 'log');
  const built = await runCli(bigArgs(output, logDir));
  assert.equal(built.code, 0, built.stderr);
  const tmp = join(dir, 'tmp');
  await mkdir(tmp);
  const verify = startCli(
    [
      'verify-manifest',
      '--log',
      join(logDir, `build_live.${STAMP}.log`),
      '--platform',
      join(output, `platform-${STAMP}.tgz`),
    ],
    { TMPDIR: tmp },
  );
  await waitFor('verify-manifest to unpack', async () =>
    (await namesIn(tmp)).some((n) => n.startsWith('joyent-live-verify-')),
  );
  await sleep(100);
  process.kill(verify.pid, 'SIGTERM');
  const run = await verify.done;
  assert.equal(run.code, 143, run.stderr);
  assertOneInterruptLine(run, 'SIGTERM');
  assert.deepEqual(await namesIn(tmp), [], 'verify-manifest left its temporary directory');
});

test('a customize script that removes the image root: one clear message, exit 1', async (t) => {
  const dir = await scratchDir(t);
  const prev = await previousBuild(dir);
  const script = await customizeScript(dir, '#!/bin/sh\nrm -rf "$1"\n');
  const run = await runCli(
    smallArgs(dir, prev.output, prev.logDir, STAMP, ['--customize', script]),
  );
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /^joyent-live: error: the customize step removed the image root \S+\/root \(customize script \S+\)$/m,
  );
  assert.doesNotMatch(run.stderr, /ENOENT|scandir|internal error/);
  assert.deepEqual(
    [...(await snapshot(prev.output)), ...(await snapshot(prev.logDir))],
    prev.before,
  );
});

test(
  'a customize hard link to a file outside the image: the outside file keeps its owner, mode and times',
  { skip: !isRoot && 'needs root: owners are applied to the kept tree only as root' },
  async (t) => {
    const dir = await scratchDir(t);
    const outside = await fileIn(dir, 'outside-file', 'not the image\n', { mode: 0o600 });
    await chown(outside, 4321, 4321);
    await utimes(outside, 978307200, 978307200);
    const script = await customizeScript(
      dir,
      `#!/bin/sh\nrm -f "$1/etc/motd"\nln ${outside} "$1/etc/motd"\n`,
    );
    const run = await customizedRebuild(dir, script);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /etc\/motd: the customize step hard-linked it with a file outside/);
    const st = await stat(outside);
    assert.deepEqual(
      [st.uid, st.gid, st.mode & 0o7777, st.mtimeMs, st.nlink],
      [4321, 4321, 0o600, 978307200000, 1],
      'the outside file was changed',
    );
    const inImage = await stat(join(dir, 'out2', 'image-20111209T201509Z', 'etc', 'motd'));
    // The mode the customize step gave it (the outside file's), on the image's own copy, owned as the manifest says.
    assert.deepEqual([inImage.uid, inImage.mode & 0o7777], [0, 0o600]);
    assert.equal(
      await readFile(join(dir, 'out2', 'image-20111209T201509Z', 'etc', 'motd'), 'utf8'),
      'not the image\n',
    );
  },
);

test('--customize-timeout abc: one usage message, exit 2; the action input likewise', async (t) => {
  const dir = await scratchDir(t);
  const run = await runCli([
    'build-live',
    '-m',
    join(dir, 'none.manifest'),
    '-o',
    join(dir, 'out'),
    '--log-dir',
    join(dir, 'log'),
    '--customize-timeout',
    'abc',
  ]);
  assert.equal(run.code, 2, run.stderr);
  assert.equal(
    run.stderr,
    'joyent-live: error: --customize-timeout must be a duration such as 90s, 30m or 1h (0: no limit), not "abc"\n',
  );
  assert.deepEqual(await listTree(dir), [], 'a bad option wrote something');
  for (const bad of ['abc', '30', '1.5h', '-1s']) {
    assert.throws(
      () =>
        parseBuildLiveOptions(
          { manifest: 'm', 'customize-timeout': bad },
          inputNames(BUILD_LIVE_INPUTS),
          undefined,
        ),
      (err: unknown) =>
        err instanceof UsageError &&
        err.message ===
          `input "customize-timeout" must be a duration such as 90s, 30m or 1h (0: no limit), not ${JSON.stringify(bad)}`,
    );
  }
  const ok = (value: string) =>
    parseBuildLiveOptions(
      { manifest: 'm', 'customize-timeout': value },
      inputNames(BUILD_LIVE_INPUTS),
      undefined,
    ).customizeTimeout;
  assert.deepEqual(
    ['90s', '30m', '1h', '0', ''].map(ok),
    [90_000, 1_800_000, 3_600_000, 0, 1_800_000],
  );
});
