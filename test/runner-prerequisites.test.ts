/**
 * setup-illumos-host checks the runner's prerequisites before anything else
 * (docs/runners.md): a stand-in `node` first on PATH that reports
 * v18 makes it fail with one message that names it and says what to install.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runBundle } from './helpers/action-run.js';
import { hostScene, RELEASE_OF } from './helpers/illumos-host.js';

test('setup-illumos-host on a stand-in OmniOS host whose node on PATH is v18: fails clearly, naming it and what to install, and does nothing', async (t) => {
  const scene = await hostScene(t, 'OmniOS');
  const bin = join(scene.dir, 'old-node');
  await mkdir(bin);
  // A stand-in for an old pkgsrc node: only --version is asked of it.
  await writeFile(join(bin, 'node'), '#!/bin/sh\necho v18.20.4\n');
  await chmod(join(bin, 'node'), 0o755);
  const run = await runBundle(
    t,
    'setup-illumos-host',
    { workspace: scene.workspace, 'release-file': RELEASE_OF.OmniOS },
    { ...scene.env, PATH: `${bin}:${scene.env.PATH}` },
  );
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const errors = run.stdout.match(/^::error::.*$/gm) ?? [];
  assert.equal(errors.length, 1, run.stdout);
  assert.ok(
    errors[0].includes(
      `node on PATH (${join(bin, 'node')}) is v18.20.4, not 20 or later (github-act-runner runs node actions with it)`,
    ),
    errors[0],
  );
  assert.match(errors[0], /pkgin install nodejs/);
  assert.match(errors[0], /ooce\/runtime\/node-22/);
  assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at .+:\d+:\d+\)/, 'no stack trace');
  assert.deepEqual(await scene.calls(), [], 'no package manager was called');
});

test('setup-illumos-host with a good node on PATH goes on past the check (and warns once when the job has a results service but no v2 cache service)', async (t) => {
  const scene = await hostScene(t, 'OmniOS');
  const run = await runBundle(
    t,
    'setup-illumos-host',
    { workspace: scene.workspace, 'release-file': RELEASE_OF.OmniOS },
    { ...scene.env, ACTIONS_RESULTS_URL: 'http://127.0.0.1:9/' },
  );
  assert.doesNotMatch(run.stdout, /the runner lacks what this suite needs/);
  assert.equal(
    (run.stdout.match(/^::warning::ACTIONS_CACHE_SERVICE_V2 is not set.*$/gm) ?? []).length,
    1,
  );
});

test("setup-illumos-host: ACTIONS_CACHE_SERVICE_V2=True (as GitHub's runner and github-act-runner set it) or any other non-empty value draws no warning", async (t) => {
  const scene = await hostScene(t, 'OmniOS');
  for (const value of ['True', 'true', '1']) {
    const run = await runBundle(
      t,
      'setup-illumos-host',
      { workspace: scene.workspace, 'release-file': RELEASE_OF.OmniOS },
      { ...scene.env, ACTIONS_RESULTS_URL: 'http://127.0.0.1:9/', ACTIONS_CACHE_SERVICE_V2: value },
    );
    assert.doesNotMatch(run.stdout, /ACTIONS_CACHE_SERVICE_V2/, value);
  }
});
