/**
 * Fault injection (issue: nothing written outside, nothing lost, nothing
 * half-done that looks finished): full file systems, size limits, kills,
 * signals, planted symlinks and concurrent builds, each against the real
 * CLI. Bounded: every build here is a few MB, and each test is its own
 * small number of trials. Tests that need root (tmpfs mounts) skip
 * otherwise; CI runs as root.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathExists } from '../src/util/exists.js';
import { copyWithMd5 } from '../src/util/copy.js';
import { UserError } from '../src/util/errors.js';
import { describeFailure } from '../src/util/failure.js';
import { fileIn, listTree, runCli, scratchDir } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';
import { runActionEntry } from './helpers/action-run.js';
import { bigSources, mountTmpfs, needsRoot, runCliLimited, buildArgs } from './helpers/faults.js';

const STAMP = '20111209T201508Z';

/** Nothing in `output` or `logDir` that looks like a finished build. */
async function assertNothingFinished(output: string, logDir: string) {
  const finished = [
    ...(await readdir(output).catch(() => [])).filter((n) => /^(platform|image)-/.test(n)),
    ...(await readdir(logDir).catch(() => [])).filter((n) => /^build_live\./.test(n)),
  ];
  assert.deepEqual(finished, [], 'a failed build left something that looks finished');
}

test(
  'a full output disk during the copy is an error naming the path, never FAILED',
  needsRoot,
  async (t) => {
    const dir = await scratchDir(t);
    const src = await bigSources(dir, 40, 128 << 10);
    const output = await mountTmpfs(t, 2 << 20);
    const logDir = join(dir, 'log');
    const run = await runCli([...buildArgs(src, output, logDir), '--archive', 'none']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /no space left on device \(ENOSPC\)/);
    assert.match(run.stderr, new RegExp(`cannot write ${output}/\\S+`));
    assert.doesNotMatch(run.stderr, /FAILED|internal error/);
    await assertNothingFinished(output, logDir);
  },
);

test(
  'a full log disk is an error naming the log, and no log is published',
  needsRoot,
  async (t) => {
    const dir = await scratchDir(t);
    const src = await bigSources(dir, 600, 16);
    const logDir = await mountTmpfs(t, 16 << 10);
    const output = join(dir, 'out');
    const run = await runCli(buildArgs(src, output, logDir));
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /no space left on device \(ENOSPC\)/);
    assert.match(run.stderr, new RegExp(`${logDir}/build_live\\.${STAMP}\\.(log|jsonl)`));
    assert.doesNotMatch(run.stderr, /internal error/);
    await assertNothingFinished(output, logDir);
  },
);

test('a file size limit (EFBIG) during the copy is an error, exit 1, no image left', async (t) => {
  const dir = await scratchDir(t);
  const src = await bigSources(dir, 10, 64 << 10);
  const output = join(dir, 'out');
  const logDir = join(dir, 'log');
  const run = await runCliLimited([...buildArgs(src, output, logDir), '--archive', 'none'], 64);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /file too large .*\(EFBIG\)/);
  assert.match(run.stderr, new RegExp(`cannot write ${output}/\\S+/opt/d0/f\\d`));
  assert.doesNotMatch(run.stderr, /FAILED|internal error/);
  await assertNothingFinished(output, logDir);
});

test('a failed copy never leaves its truncated file', needsRoot, async (t) => {
  const dir = await scratchDir(t);
  const src = await bigSources(dir, 1, 256 << 10);
  const small = await mountTmpfs(t, 64 << 10);
  const to = join(small, 'copy');
  await assert.rejects(
    copyWithMd5(join(src.proto, 'opt/d0/f0'), to, 0o644),
    (err: unknown) => err instanceof UserError && /ENOSPC/.test(err.message),
  );
  assert.equal(await pathExists(to), false, 'the partial copy is still there');
  assert.deepEqual(await listTree(small), []);
});

test('two builds into one output directory: the second is refused naming the first, the first completes', async (t) => {
  const dir = await scratchDir(t);
  const src = await bigSources(dir, 20, 4096);
  const script = await fileIn(dir, 'slow-customize', '#!/bin/sh\nsleep 3\n', { mode: 0o755 });
  const output = join(dir, 'out');
  const args = [...buildArgs(src, output, join(dir, 'log')), '--customize', script];
  const first = runCli(args);
  // Give the first build time to take its locks.
  await new Promise((done) => setTimeout(done, 1500));
  const second = await runCli([
    ...buildArgs(src, output, join(dir, 'log2')),
    '--customize',
    script,
  ]);
  assert.equal(second.code, 1, second.stderr);
  assert.match(
    second.stderr,
    /another build-live \(pid \d+\) is using this output directory: \S+\.build-live\.lock is locked/,
  );
  assert.doesNotMatch(second.stderr, /internal error|at .*\.js/);
  const done = await first;
  assert.equal(done.code, 0, done.stderr);
  assert.ok(await pathExists(join(output, `platform-${STAMP}.tgz`)));
  assert.equal(await pathExists(join(output, '.build-live.lock')), false, 'the lock is released');
});

test(
  'a full disk in the build-live action (its job summary): the step fails naming the path and ENOSPC, not as a bug',
  needsRoot,
  async (t) => {
    const dir = await scratchDir(t);
    const full = await mountTmpfs(t, 64 << 10);
    // The runner makes the summary file; then the disk fills: what the step writes next has no room.
    const summary = join(full, 'summary.md');
    await writeFile(summary, '');
    await writeFile(join(full, 'filler'), Buffer.alloc(64 << 10)).catch(() => undefined);
    const run = await runActionEntry(
      t,
      'build-live',
      {
        manifests: join(FIXTURES, 'manifests', 'good'),
        proto: join(FIXTURES, 'proto'),
        output: join(dir, 'out'),
        'log-dir': join(dir, 'log'),
        archive: 'none',
        'upload-artifacts': 'false',
      },
      { GITHUB_STEP_SUMMARY: summary },
    );
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const failed = run.stdout.split('\n').filter((l) => l.startsWith('::error::'));
    assert.equal(failed.length, 1, run.stdout);
    assert.match(failed[0], new RegExp(`${summary}: no space left on device \\(ENOSPC\\)`));
    assert.doesNotMatch(run.stdout + run.stderr, /a bug|unexpected error|internal error/);
  },
);

test('the one error reporter (CLI and actions): an I/O condition names its path and code, not a bug', () => {
  const full = Object.assign(new Error('ENOSPC: no space left on device, open'), {
    code: 'ENOSPC',
    path: '/out/x',
  });
  assert.deepEqual(describeFailure(full), {
    kind: 'error',
    message: '/out/x: no space left on device (ENOSPC)',
    details: [],
    exitCode: 1,
  });
  assert.equal(describeFailure(new UserError('bad', { exitCode: 2 })).kind, 'error');
  const bug = describeFailure(new TypeError('x is undefined'));
  assert.equal(bug.kind, 'bug');
  assert.equal(bug.message, 'x is undefined');
});
