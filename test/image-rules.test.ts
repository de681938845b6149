/**
 * `manifest lint`, `build-live --plan` and the build share one set of
 * image rules (illumos name and path limits in the image, the files the
 * build writes itself): what lint passes, the build accepts, and what the
 * build refuses, lint and the plan refuse first, with the same message.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileIn, runCli, scratchDir } from './helpers/cli.js';

async function threeWays(dir: string, manifest: string, output = join(dir, 'out')) {
  const proto = join(dir, 'proto');
  await mkdir(proto, { recursive: true });
  const lint = await runCli(['manifest', 'lint', manifest]);
  const plan = await runCli(['build-live', '--plan', '-m', manifest, '--proto', proto]);
  const build = await runCli([
    'build-live',
    '-m',
    manifest,
    '--proto',
    proto,
    '-o',
    output,
    '--log-dir',
    join(dir, 'log'),
  ]);
  return { lint, plan, build, output };
}

function assertAllRefuse(runs: Awaited<ReturnType<typeof threeWays>>, message: RegExp) {
  for (const [name, run] of Object.entries({
    lint: runs.lint,
    plan: runs.plan,
    build: runs.build,
  })) {
    assert.equal(run.code, 1, `${name}: ${run.stdout}${run.stderr}`);
    assert.match(run.stdout + run.stderr, message, name);
    assert.doesNotMatch(run.stderr, /ENAMETOOLONG|internal error/, name);
  }
}

test('a name over 255 bytes: lint, --plan and the build all refuse it at file:line', async (t) => {
  const dir = await scratchDir(t);
  const manifest = await fileIn(
    dir,
    'm',
    `d opt 0755 root sys\nf opt/${'n'.repeat(256)} 0644 root bin\n`,
  );
  const runs = await threeWays(dir, manifest);
  assertAllRefuse(
    runs,
    new RegExp(`${manifest}:2: error: .*a name is 256 bytes; names are at most 255 bytes`),
  );
  assert.deepEqual(await readdir(runs.output).catch(() => []), []);
});

test('a nested path over 1022 bytes: lint, --plan and the build all refuse it, before writing', async (t) => {
  const dir = await scratchDir(t);
  const manifest = join(dir, 'm');
  const lines = [];
  let path = '';
  for (let i = 0; i < 6; i++) {
    path += (path ? '/' : '') + `${i}`.repeat(200);
    lines.push(`d ${path} 0755 root sys`);
  }
  await writeFile(manifest, lines.join('\n') + '\n');
  const runs = await threeWays(dir, manifest);
  assertAllRefuse(
    runs,
    new RegExp(
      `${manifest}:6: error: .*the path is 1205 bytes; illumos paths in the image are at most 1022 bytes`,
    ),
  );
  assert.deepEqual(await readdir(runs.output).catch(() => []), []);
});

test('s var/log/manifest=... (smartos-live-src.manifest:1167): lint refuses it as the build does', async (t) => {
  const dir = await scratchDir(t);
  const manifest = await fileIn(
    dir,
    'm',
    'd var 0755 root sys\nd var/log 0755 root sys\ns var/log/manifest=../../usr/share/manifest\n',
  );
  const runs = await threeWays(dir, manifest);
  assertAllRefuse(
    runs,
    new RegExp(
      `${manifest}:3: error: var/log/manifest is a symlink, but the build writes it as a file`,
    ),
  );
});

test(
  'an output directory too deep for the host path limit is refused up front, not half-built',
  { skip: process.platform !== 'linux' && 'the figures are Linux PATH_MAX' },
  async (t) => {
    const dir = await scratchDir(t);
    const manifest = join(dir, 'm');
    const lines = [];
    let path = '';
    for (let i = 0; i < 4; i++) {
      path += (path ? '/' : '') + `${i}`.repeat(250);
      lines.push(`d ${path} 0755 root sys`);
    }
    await writeFile(manifest, lines.join('\n') + '\n');
    let output = dir;
    for (let i = 0; i < 13; i++) output = join(output, 'o'.repeat(250));
    const runs = await threeWays(dir, manifest, output);
    assert.equal(runs.lint.code, 0, runs.lint.stdout);
    assert.equal(runs.plan.code, 0, runs.plan.stderr);
    assert.equal(runs.build.code, 1, runs.build.stderr);
    assert.match(
      runs.build.stderr,
      /is too deep for this host: .*the host's path limit of 4096 bytes/,
    );
    assert.doesNotMatch(runs.build.stderr, /ENAMETOOLONG|internal error/);
  },
);
