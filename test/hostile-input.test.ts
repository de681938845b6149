/**
 * Hostile inputs to verify-manifest and to every line reader: archives
 * that unpack to far more than they weigh, boot_archive.manifest paths
 * that climb out of the image, huge failure lists, and manifests or logs
 * that are FIFOs, devices or have no end of line.
 */
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { test } from 'node:test';
import { fileIn, runCaptured, runCli, scratchDir } from './helpers/cli.js';
import { maxRssArgs, readMaxRss } from './helpers/max-rss-run.js';
import { CLI, fixtureArgs } from './helpers/paths.js';
import { header } from './helpers/raw-tar.js';

const STAMP = '20111209T201508Z';
const PLATFORM = `platform-${STAMP}`;

/** A tgz of `parts` (buffers, or a count of zero bytes), streamed through gzip. */
async function writeTgz(path: string, parts: (Buffer | number)[]): Promise<void> {
  function* chunks() {
    for (const part of parts) {
      if (typeof part !== 'number') {
        yield part;
        continue;
      }
      const zeros = Buffer.alloc(1 << 20);
      for (let left = part; left > 0; left -= zeros.length) {
        yield left >= zeros.length ? zeros : zeros.subarray(0, left);
      }
    }
  }
  await pipeline(Readable.from(chunks()), createGzip({ level: 9 }), createWriteStream(path));
}

const dirMember = (name: string) => header({ name, type: '5' }, 0);

/** A tiny log that passes, for runs that are about the platform. */
async function passingLog(dir: string): Promise<string> {
  const log = await fileIn(
    dir,
    'ok.log',
    '# joyent-live build-live\nOK - DIR: etc\n# summary: 1 entries\n',
  );
  return log;
}

async function verifyPeak(dir: string, args: string[]) {
  const rssFile = join(dir, 'maxrss');
  const preload = maxRssArgs(rssFile);
  const started = performance.now();
  const run = await runCaptured(
    process.execPath,
    [...preload.args, CLI, 'verify-manifest', ...args],
    {
      env: { ...process.env, ...preload.env },
    },
  );
  return { run, peak: await readMaxRss(rssFile), seconds: (performance.now() - started) / 1000 };
}

test('a tgz bomb is refused before anything is unpacked, in bounded memory and time', async (t) => {
  const dir = await scratchDir(t);
  const bomb = join(dir, `${PLATFORM}.tgz`);
  // 256 MiB of zeros weigh ~250 KB gzipped: far beyond the 32M limit given.
  const size = 256 << 20;
  await writeTgz(bomb, [
    header({ name: `${PLATFORM}/i86pc/amd64/boot_archive` }, size),
    size,
    1024,
  ]);
  const { run, peak, seconds } = await verifyPeak(dir, [
    '--log',
    await passingLog(dir),
    '--platform',
    bomb,
    '--max-unpack',
    '32M',
  ]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /unpacks to more than 33554432 bytes .*--max-unpack raises the limit/);
  assert.doesNotMatch(run.stderr, /internal error|at .*\.js/);
  assert.ok(peak < 200 * 1024 * 1024, `peak memory ${peak} bytes`);
  assert.ok(seconds < 30, `${seconds} s`);
});

test('a tgz member declared larger than the unpack limit is refused at its header', async (t) => {
  const dir = await scratchDir(t);
  const bomb = join(dir, `${PLATFORM}.tgz`);
  // The header declares 5 GiB (the default limit is 4 GiB); no data is needed to refuse it.
  await writeTgz(bomb, [header({ name: `${PLATFORM}/big` }, 5 * 1024 ** 3), 4096]);
  const run = await runCli(['verify-manifest', '--log', await passingLog(dir), '--platform', bomb]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /unpacks to more than 4294967296 bytes/);
});

test('a boot_archive far larger than its own UFS superblock declares is refused', async (t) => {
  const dir = await scratchDir(t);
  const tgz = join(dir, `${PLATFORM}.tgz`);
  // A superblock that declares 1 MiB (1024 fragments of 1 KiB), then 40 MiB.
  const head = Buffer.alloc(16384);
  head.writeInt32LE(1024, 8192 + 36);
  head.writeInt32LE(1024, 8192 + 52);
  head.writeInt32LE(0x011954, 8192 + 1372);
  const size = 40 << 20;
  await writeTgz(tgz, [
    header({ name: `${PLATFORM}/i86pc/amd64/boot_archive` }, size),
    head,
    size - head.length,
    1024,
  ]);
  const run = await runCli(['verify-manifest', '--log', await passingLog(dir), '--platform', tgz]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /boot_archive is 41943040 bytes, far more than the 1048576 its own header declares/,
  );
});

test('a relative hard link member in a platform tgz is refused by name, not "does not exist"', async (t) => {
  const dir = await scratchDir(t);
  const tgz = join(dir, `${PLATFORM}.tgz`);
  await writeTgz(tgz, [
    dirMember(`${PLATFORM}/`),
    header({ name: `${PLATFORM}/x`, type: '1', linkname: 'y' }, 0),
    1024,
  ]);
  const run = await runCli(['verify-manifest', '--log', await passingLog(dir), '--platform', tgz]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /member platform-\S+\/x is a Link, and the platform directory holds only files and directories/,
  );
  assert.doesNotMatch(run.stderr, /does not exist/);
});

test('a boot_archive.manifest path that climbs out of the image is refused before anything is read', async (t) => {
  const dir = await scratchDir(t);
  const output = join(dir, 'out');
  const build = await runCli([...fixtureArgs(output, join(dir, 'log')), '--archive', 'none']);
  assert.equal(build.code, 0, build.stderr);
  const manifest = join(output, PLATFORM, 'i86pc', 'amd64', 'boot_archive.manifest');
  const lines = (await readFile(manifest, 'utf8')).split('\n');
  lines.splice(
    3,
    0,
    'f ./../../../../etc/hostname 0444 root root 0123456789abcdef0123456789abcdef',
  );
  await writeFile(manifest, lines.join('\n'));
  const run = await runCli([
    'verify-manifest',
    '--log',
    join(dir, 'log', `build_live.${STAMP}.log`),
    '--platform',
    join(output, PLATFORM),
  ]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    new RegExp(`boot_archive\\.manifest:4: unsafe path: "\\.\\." component`),
  );
});

test('a log with 125,000 FAILED entries is reported without overflowing the stack', async (t) => {
  const dir = await scratchDir(t);
  const log = join(dir, 'many.log');
  const lines = ['# joyent-live build-live'];
  for (let i = 0; i < 125_000; i++) lines.push(`*FAILED* - FILE: opt/f${i}`);
  lines.push('# summary: 125000 entries');
  await writeFile(log, lines.join('\n') + '\n');
  const run = await runCli(['verify-manifest', '--log', log, '--format', 'json']);
  assert.equal(run.code, 1, run.stderr);
  assert.doesNotMatch(run.stderr, /Maximum call stack|internal error/);
  const report = JSON.parse(run.stdout) as { counts: { failed: number } };
  assert.equal(report.counts.failed, 125_000);
});
