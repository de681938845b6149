/**
 * Line-oriented inputs that are not ordinary: manifests and logs that are
 * FIFOs or devices (an error, never a hang) or have a line over the
 * documented limit (an error at file:line, never a crash).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileIn, runCli, scratchDir } from './helpers/cli.js';

test('a manifest that is a FIFO or a device is an error, not a hang', async (t) => {
  const dir = await scratchDir(t);
  const fifo = join(dir, 'fifo.manifest');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  for (const [manifest, kind] of [
    [fifo, 'a FIFO'],
    ['/dev/urandom', 'a device'],
  ]) {
    const run = await runCli(['build-live', '--plan', '-m', manifest, '--proto', dir]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`manifest ${manifest} is ${kind}, not a regular file`));
    const lint = await runCli(['manifest', 'lint', manifest]);
    assert.equal(lint.code, 1, lint.stderr);
    assert.match(
      lint.stdout + lint.stderr,
      new RegExp(`${manifest} is ${kind}, not a regular file`),
    );
  }
});

test('a manifest line over the line limit is an error at file:line, not a crash', async (t) => {
  const dir = await scratchDir(t);
  const manifest = await fileIn(
    dir,
    'long.manifest',
    `d etc 0755 root sys\nf ${'a'.repeat(3 << 20)} 0644 root bin\n`,
  );
  const run = await runCli(['build-live', '--plan', '-m', manifest, '--proto', dir]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`${manifest}:2: error: line longer than 1048576 characters`));
  assert.doesNotMatch(run.stderr, /RangeError|internal error/);
});

test('a log that is a FIFO, or has a line over the limit, is an error naming it', async (t) => {
  const dir = await scratchDir(t);
  const fifo = join(dir, 'fifo.log');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const fromFifo = await runCli(['verify-manifest', '--log', fifo]);
  assert.equal(fromFifo.code, 1, fromFifo.stderr);
  assert.match(fromFifo.stderr, new RegExp(`log ${fifo} is a FIFO, not a regular file`));
  const long = await fileIn(dir, 'long.log', `OK - DIR: etc\n${'x'.repeat(2 << 20)}\n`);
  const fromLong = await runCli(['verify-manifest', '--log', long]);
  assert.equal(fromLong.code, 1, fromLong.stderr);
  assert.match(fromLong.stderr, new RegExp(`${long}:2: line longer than 1048576 characters`));
});
