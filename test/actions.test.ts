/**
 * The runner contract of the bundled actions: each dist/<name>/index.js is
 * run the way a GitHub runner runs a node action, with INPUT_* variables
 * (dashes kept, upper-cased) and the GITHUB_OUTPUT / GITHUB_STEP_SUMMARY /
 * GITHUB_STATE / GITHUB_ENV files, and judged by its exit code, outputs,
 * job summary and the workflow commands it prints.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, cp, mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { type as osType } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { UfsReader } from '../src/archive/ufs/read.js';
import { REQUIRED_PACKAGES } from '../src/host/packages.js';
import { runCaptured, scratchDir, type CliRun } from './helpers/cli.js';
import {
  hostScene,
  makeManTarball,
  RELEASE_OF,
  serveFiles,
  STANDIN_BIN,
} from './helpers/illumos-host.js';
import { FIXTURES, REPO_ROOT } from './helpers/paths.js';
import { startResultsServer } from './helpers/results-server.js';
import { runBundle } from './helpers/action-run.js';
import { cleanRunnerEnv, interpolate, runUses, type ActionRun } from './helpers/runner.js';
import { freshRunner, illumosPath, makeWorldWorkspace, snapshot } from './helpers/world.js';

const STAMP = '20111209T201508Z'; // SOURCE_DATE_EPOCH=1323461708
const BROKEN = join('action-fixtures', 'manifests', 'broken');
const GOOD = join('action-fixtures', 'manifests', 'good');

/** actions/<name> run as a workflow step by the runner stand-in (test/helpers/runner.ts). */
function runAction(
  t: Parameters<typeof scratchDir>[0],
  name: string,
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
  cwd = REPO_ROOT,
): Promise<ActionRun> {
  return runBundle(t, name, inputs, env, { cwd });
}

/** The fixture sources as build-live inputs (multi-line lists). */
function fixtureInputs(dir: string, manifests: string[]): Record<string, string> {
  return {
    manifests: manifests.join('\n'),
    proto: join(FIXTURES, 'proto'),
    overlays: `${join(FIXTURES, 'overlay-base')}\n${join(FIXTURES, 'overlay-site')}\n`,
    'man-dir': join(FIXTURES, 'man'),
    'system-root': join(FIXTURES, 'system-root'),
    customize: join(FIXTURES, 'customize', 'customize'),
    output: join(dir, 'output'),
    'log-dir': join(dir, 'log'),
    'upload-artifacts': 'false',
  };
}

function assertNoStack(run: CliRun) {
  assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at .+\(.*:\d+:\d+\)/, 'a stack trace');
  assert.doesNotMatch(run.stdout, /%0A\s+at /, 'a stack trace in a workflow command');
}

test('build-live: the fixture build sets every output and writes the summary', async (t) => {
  const out = await scratchDir(t);
  const run = await runAction(t, 'build-live', fixtureInputs(out, [GOOD]));
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const o = run.outputs;
  assert.equal(o.buildstamp, STAMP);
  assert.equal(o['platform-dir'], join(out, 'output', `platform-${STAMP}`));
  assert.equal(o.log, join(out, 'log', `build_live.${STAMP}.log`));
  assert.equal(o.manifest, join(o['platform-dir'], 'i86pc', 'amd64', 'boot_archive.manifest'));
  assert.ok(existsSync(o.manifest));
  assert.ok(o.tgz === '' || existsSync(o.tgz), o.tgz);
  assert.equal(o['failed-count'], '0');
  const counts = JSON.parse(o.counts) as Record<string, number>;
  assert.deepEqual(
    [counts.A, counts.P, counts.M, counts.S, counts.failed],
    [6, 7, 2, 1, 0],
    o.counts,
  );
  assert.match(run.summary, new RegExp(`build-live ${STAMP}: OK`));
  assert.match(run.summary, /\| 6 \| 7 \| 2 \| 1 \|/);
  // auto = ufs: the summary gives the image size and the inodes it used.
  assert.match(run.summary, /Archive: ufs \(\d+\.\d MiB, \d+ of \d+ inodes used\)\./);
  assert.match(run.stdout, /upload-artifacts is false/);
  assert.doesNotMatch(run.stdout, /::error/);
});

test('build-live + verify-manifest on the broken fixture: annotation at the manifest line', async (t) => {
  const out = await scratchDir(t);
  const manifests = [GOOD, BROKEN];
  const build = await runAction(t, 'build-live', fixtureInputs(out, manifests));
  // FAILED entries do not fail build-live (fail-on-missing defaults to false).
  assert.equal(build.code, 0, build.stdout + build.stderr);
  assert.equal(build.outputs['failed-count'], '1');
  assert.match(build.summary, /1 FAILED/);
  // One list per job: verify-manifest, the gate, lists the entry; build-live says so.
  assert.match(
    build.summary,
    /1 FAILED entry does not fail this step: verify-manifest, the gate, lists them/,
  );
  assert.doesNotMatch(build.summary, /#### FAILED entries/);
  // The FAILED entry is a plain line here; verify-manifest, the gate, annotates it.
  assert.match(
    build.stdout,
    /^FAILED usr\/share\/man\/man1\/missing\.1 \(.*90-missing\.manifest:3\)$/m,
  );
  assert.doesNotMatch(build.stdout, /^::warning [^\n]*90-missing\.manifest,line=3::/m);

  const verify = await runAction(t, 'verify-manifest', {
    logs: build.outputs.log,
    manifests: manifests.join('\n'),
  });
  assert.equal(verify.code, 1, verify.stdout + verify.stderr);
  assert.match(
    verify.stdout,
    /^::error title=[^\n]*file=action-fixtures\/manifests\/broken\/90-missing\.manifest,line=3::FILE usr\/share\/man\/man1\/missing\.1/m,
  );
  assert.match(
    verify.stdout,
    /^FAILED usr\/share\/man\/man1\/missing\.1 \(action-fixtures\/manifests\/broken\/90-missing\.manifest:3\)$/m,
  );
  assert.match(verify.stdout, /^::error::verify-manifest: FAIL: 1 FAILED$/m);
  assert.match(verify.summary, /❌ verify-manifest FAIL: 1 FAILED/);
  assert.match(
    verify.summary,
    /`usr\/share\/man\/man1\/missing\.1` \(FILE\) at `.*90-missing\.manifest:3`/,
  );
  assert.equal(verify.outputs['failed-count'], '1');
  assert.equal(verify.outputs.verdict, 'fail');
  assert.ok(verify.outputs.report.startsWith(verify.dir), verify.outputs.report);
  const report = JSON.parse(await readFile(verify.outputs.report, 'utf8')) as {
    verdict: string;
    failures: { path: string; manifest?: { line: number } }[];
  };
  assert.equal(report.verdict, 'fail');
  assert.deepEqual(
    report.failures.map((f) => [f.path, f.manifest?.line]),
    [['usr/share/man/man1/missing.1', 3]],
  );
  assertNoStack(verify);
});

test('build-live fail-on-missing: true fails the step on FAILED entries', async (t) => {
  const out = await scratchDir(t);
  const sha = '0123456789abcdef0123456789abcdef01234567';
  const run = await runAction(
    t,
    'build-live',
    { ...fixtureInputs(out, [GOOD, BROKEN]), 'fail-on-missing': 'true' },
    { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'o/r', GITHUB_SHA: sha },
  );
  assert.equal(run.code, 1);
  assert.match(run.stdout, /^::error title=[^\n]*90-missing\.manifest,line=3::/m);
  assert.match(run.stdout, /^::error::1 FAILED entries \(fail-on-missing is true\)$/m);
  assert.equal(run.outputs['failed-count'], '1');
  // build-live is the last word here: it lists the entry, linked to its manifest line.
  assert.ok(
    run.summary.includes(
      `(https://github.com/o/r/blob/${sha}/action-fixtures/manifests/broken/90-missing.manifest#L3)`,
    ),
    run.summary,
  );
});

test('verify-manifest passes a clean build', async (t) => {
  const out = await scratchDir(t);
  const build = await runAction(t, 'build-live', fixtureInputs(out, [GOOD]));
  assert.equal(build.code, 0, build.stdout + build.stderr);
  const verify = await runAction(t, 'verify-manifest', {
    logs: build.outputs.log,
    manifests: GOOD,
    platform: build.outputs['platform-dir'],
  });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.equal(verify.outputs['failed-count'], '0');
  assert.equal(verify.outputs.verdict, 'pass');
  assert.match(verify.summary, /✅ verify-manifest PASS/);
  assert.doesNotMatch(verify.stdout, /::error/);
});

test('verify-manifest: a missing log and a bad input fail clearly', async (t) => {
  const missing = await runAction(t, 'verify-manifest', { logs: '/nonexistent/build_live.log' });
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /^::error::.*\/nonexistent\/build_live\.log/m);
  assertNoStack(missing);
  const bad = await runAction(t, 'verify-manifest', { logs: 'x.log', 'fail-on': 'failed,bogus' });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^::error::input "fail-on": unknown value "bogus"/m);
  assertNoStack(bad);
});

for (const name of ['build-world']) {
  test(
    `${name} fails at once on a non-illumos host`,
    { skip: osType() === 'SunOS' && 'this host is illumos' },
    async (t) => {
      const run = await runAction(t, name, {});
      assert.equal(run.code, 1);
      assert.match(
        run.stdout,
        new RegExp(
          `^::error::${name} needs an illumos host \\(uname -s: ${osType()}\\); nothing was done$`,
          'm',
        ),
      );
      assertNoStack(run);
    },
  );
}

test(
  'setup-illumos-host fails at once on a non-illumos host (the uname stand-in saying Linux, and the real uname)',
  { skip: osType() === 'SunOS' && 'this host is illumos' },
  async (t) => {
    const scene = await hostScene(t, 'OmniOS');
    for (const env of [{ ...scene.env, UNAME_STANDIN_S: 'Linux' }, {}]) {
      const run = await runAction(t, 'setup-illumos-host', { workspace: scene.workspace }, env);
      assert.equal(run.code, 1);
      assert.match(
        run.stdout,
        new RegExp(
          `^::error::setup-illumos-host needs an illumos host \\(uname -s: ${osType()}\\); nothing was done$`,
          'm',
        ),
      );
      assertNoStack(run);
    }
    assert.deepEqual(await scene.calls(), []);
  },
);

test('setup-illumos-host on a stand-in OmniOS host: outputs, PATH shims, illumos.sh, summary', async (t) => {
  const scene = await hostScene(t, 'OmniOS');
  const man = await makeManTarball(scene.dir);
  const base = await serveFiles(t, { 'man.tgz': man.file });
  const run = await runAction(
    t,
    'setup-illumos-host',
    {
      workspace: scene.workspace,
      'release-file': RELEASE_OF.OmniOS,
      'primary-compiler': `gcc10,${process.execPath},gnu`,
      'shadow-compilers': '',
      'illumos-repo': scene.repo,
      'illumos-extra-repo': scene.repo,
      'illumos-extra-ref': 'v1',
      'illumos-env': 'PERL=/usr/bin/perl\n',
      compression: 'gzip',
      'man-url': `${base}/man.tgz`,
      'man-sha256': man.sha256,
    },
    scene.env,
  );
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assertNoStack(run);
  const shim = join(run.dir, 'joyent-live-bin');
  assert.equal(run.outputs.distro, 'OmniOS');
  assert.equal(run.outputs.release, 'OmniOS v11 r151026');
  assert.equal(run.outputs['gnu-tar'], join(STANDIN_BIN, 'gtar'));
  assert.equal(run.outputs.compression, 'gzip');
  assert.equal(run.outputs['shim-dir'], shim);
  assert.equal(run.outputs.proto, join(scene.workspace, 'proto'));
  const sh = join(scene.workspace, 'projects', 'illumos', 'illumos.sh');
  assert.equal(run.outputs['illumos-sh'], sh);
  assert.match(await readFile(sh, 'utf8'), /^export PERL="\/usr\/bin\/perl"$/m);
  assert.deepEqual(
    (JSON.parse(run.outputs.compilers) as { role: string; version: string }[]).map((c) => [
      c.role,
      c.version,
    ]),
    [['primary', process.version]],
  );
  assert.equal(run.githubPath, `${shim}\n`);
  assert.equal(await readlink(join(shim, 'tar')), join(STANDIN_BIN, 'gtar'));
  assert.match(run.summary, /^### setup-illumos-host: OmniOS ready$/m);
  assert.match(run.summary, /^\| cache compression \| gzip/m);
  assert.match(run.summary, /^\| projects\/illumos-extra \| cloned \|$/m);
  assert.match(run.summary, /^\| man pages \| /m);
});

test('setup-illumos-host on a stand-in SmartOS host: a package that fails to install fails the step by name', async (t) => {
  const required = REQUIRED_PACKAGES.SmartOS.packages;
  const scene = await hostScene(t, 'SmartOS', required.slice(1));
  const run = await runAction(
    t,
    'setup-illumos-host',
    {
      workspace: scene.workspace,
      'release-file': RELEASE_OF.SmartOS,
      'install-packages': 'true',
    },
    { ...scene.env, PKG_STANDIN_FAIL: required[0] },
  );
  assert.equal(run.code, 1);
  assert.match(
    run.stdout,
    new RegExp(`^::error::1 package did not install: ${required[0]} \\(pkgin exit code 0`, 'm'),
  );
  assertNoStack(run);
  const bad = await runAction(
    t,
    'setup-illumos-host',
    { workspace: scene.workspace, compression: 'xz' },
    scene.env,
  );
  assert.equal(bad.code, 1);
  assert.match(
    bad.stdout,
    /^::error::input "compression" must be one of auto, zstd, gzip, not "xz"/m,
  );
});

/** The build-world action on a fresh fixture workspace, the uname stand-in first on PATH. */
async function worldWorkspace(t: Parameters<typeof scratchDir>[0]) {
  const ws = await makeWorldWorkspace(await scratchDir(t));
  const run = (inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}) =>
    runAction(
      t,
      'build-world',
      { workspace: ws, ...inputs },
      {
        PATH: illumosPath(),
        GITHUB_WORKSPACE: ws,
        ...env,
      },
    );
  return { ws, run };
}

const stagesOf = (run: ActionRun) => JSON.parse(run.outputs.stages) as Record<string, string>;

test('build-world (stand-in illumos host, github backend against the loopback stand-in for GitHub\'s results service): the second run restores and skips every stage; after touching src the third says "src changed", rebuilds only src and saves a new entry', async (t) => {
  const server = await startResultsServer();
  t.after(() => server.close());
  const { ws, run } = await worldWorkspace(t);
  const first = await run({ 'cache-backend': 'github' }, server.env);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assertNoStack(first);
  assert.equal(first.outputs['cache-hit'], 'false');
  assert.match(first.outputs['cache-key'], /^joyent-live-proto-1-[0-9a-f]{40}$/);
  assert.equal(first.outputs.proto, join(ws, 'proto'));
  assert.deepEqual(stagesOf(first), { illumos: 'built', 'illumos-extra': 'built', src: 'built' });
  // Each stage's output is folded in a log group, with workflow commands off inside.
  assert.match(
    first.stdout,
    /^::group::build-world: illumos \(log: .*illumos\.20111209T201508Z\.log\)$/m,
  );
  assert.match(first.stdout, /^::stop-commands::[0-9a-f]{32}$/m);
  assert.match(first.stdout, /nightly \(stand-in\): done/);
  assert.equal(first.stdout.match(/^::endgroup::$/gm)?.length, 3);
  assert.match(first.summary, /\| illumos \| built \|/);
  assert.match(first.summary, /Cache save: saved/);
  assert.deepEqual(
    server.caches.map((c) => [c.key, c.finalized]),
    [[first.outputs['cache-key'], true]],
  );

  await freshRunner(ws);
  const second = await run({ 'cache-backend': 'github' }, server.env);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.equal(second.outputs['cache-hit'], 'true');
  assert.equal(second.outputs['restored-key'], first.outputs['cache-key']);
  assert.deepEqual(stagesOf(second), {
    illumos: 'from cache',
    'illumos-extra': 'from cache',
    src: 'from cache',
  });
  assert.deepEqual(await readdir(join(ws, 'log')), []);
  assert.doesNotMatch(second.stdout, /::group::/);
  assert.equal(server.caches.length, 1, 'nothing saved again on an exact hit');
  assert.match(second.summary, /cache hit, nothing built/);

  await appendFile(join(ws, 'src', 'vmadm.sh'), 'echo changed\n');
  await freshRunner(ws);
  const third = await run({ 'cache-backend': 'github' }, server.env);
  assert.equal(third.code, 0, third.stdout + third.stderr);
  assert.equal(third.outputs['cache-hit'], 'false');
  assert.match(
    third.stdout,
    /^compared with the restored entry joyent-live-proto-1-[0-9a-f]{40}: src changed$/m,
  );
  assert.deepEqual(stagesOf(third), {
    illumos: 'from cache',
    'illumos-extra': 'from cache',
    src: 'built',
  });
  assert.match(third.summary, /Changed: src changed/);
  assert.deepEqual(
    server.caches.map((c) => [c.key, c.finalized]),
    [
      [first.outputs['cache-key'], true],
      [third.outputs['cache-key'], true],
    ],
  );

  // The same workspace again: a lookup only (nothing downloaded), a hit.
  const blobReads = server.requests.filter((r) => r.kind === 'GetBlob').length;
  const fourth = await run({ 'cache-backend': 'github' }, server.env);
  assert.equal(fourth.code, 0, fourth.stdout + fourth.stderr);
  assert.equal(fourth.outputs['cache-hit'], 'true');
  assert.match(fourth.stdout, /the workspace already holds this proto: nothing to restore/);
  assert.equal(server.requests.filter((r) => r.kind === 'GetBlob').length, blobReads);
});

test("build-world (stand-in illumos host): saveCache refused by the loopback stand-in for GitHub's results service warns, or fails the step with fail-on-cache-error", async (t) => {
  const server = await startResultsServer();
  t.after(() => server.close());
  const { ws, run } = await worldWorkspace(t);
  server.refuseNext('CreateCacheEntry', { message: 'the cache of this repository is full' });
  const warned = await run({ 'cache-backend': 'github' }, server.env);
  assert.equal(warned.code, 0, warned.stdout + warned.stderr);
  assert.match(
    warned.stdout,
    /^::warning::proto cache \(github\): save failed: saveCache did not store joyent-live-proto-1-[0-9a-f]{40} \(it returned -1: .*; going on without it$/m,
  );
  assert.match(warned.summary, /Cache save: failed/);
  assert.equal(server.caches.length, 0);

  await freshRunner(ws);
  server.refuseNext('CreateCacheEntry', { message: 'the cache of this repository is full' });
  const failed = await run(
    { 'cache-backend': 'github', 'fail-on-cache-error': 'true' },
    server.env,
  );
  assert.equal(failed.code, 1);
  assert.match(
    failed.stdout,
    /^::error::proto cache \(github\): save failed: saveCache did not store .* \(fail-on-cache-error is true\)$/m,
  );
  assertNoStack(failed);
});

test('build-world (stand-in illumos host): the github backend without a cache service warns and builds, or fails with fail-on-cache-error', async (t) => {
  const { run } = await worldWorkspace(t);
  const warned = await run({ 'cache-backend': 'github' });
  assert.equal(warned.code, 0, warned.stdout + warned.stderr);
  assert.match(
    warned.stdout,
    /^::warning::proto cache \(github\): restore failed: the GitHub cache service is not available/m,
  );
  assert.deepEqual(stagesOf(warned), { illumos: 'built', 'illumos-extra': 'built', src: 'built' });
  // The same workspace, which now holds this build: the key is only looked up.
  const failed = await run({ 'cache-backend': 'github', 'fail-on-cache-error': 'true' });
  assert.equal(failed.code, 1);
  assert.match(
    failed.stdout,
    /^::error::proto cache \(github\): lookup failed: the GitHub cache service is not available .*\(fail-on-cache-error is true\)$/m,
  );
});

test('build-world (stand-in illumos host): a failing stage fails the step naming it, closes its log group, sets no cache-key', async (t) => {
  const { run } = await worldWorkspace(t);
  const failed = await run({ 'cache-backend': 'none' }, { SRC_STANDIN_FAIL: '1' });
  assert.equal(failed.code, 1);
  assert.match(
    failed.stdout,
    /^::error::build-world: stage src failed \(.*exit status 2\); log: .*src\.20111209T201508Z\.log$/m,
  );
  assert.equal(failed.stdout.match(/^::endgroup::$/gm)?.length, 3);
  assert.equal(failed.outputs['cache-key'], undefined);
  assertNoStack(failed);
});

test('build-world (stand-in illumos host, local backend): a second job restores the proto from the runner directory; bad local inputs are named', async (t) => {
  const { ws, run } = await worldWorkspace(t);
  const cacheDir = join(await scratchDir(t), 'proto-cache');
  const missing = await run({ 'cache-backend': 'local' });
  assert.equal(missing.code, 1);
  assert.match(
    missing.stdout,
    /^::error::input "cache-backend": local needs input "local-cache-dir"$/m,
  );
  const badSize = await run({
    'cache-backend': 'local',
    'local-cache-dir': cacheDir,
    'local-cache-max-gb': 'lots',
  });
  assert.equal(badSize.code, 1);
  assert.match(
    badSize.stdout,
    /^::error::input "local-cache-max-gb" must be a positive number of GiB, not "lots"$/m,
  );
  const inputs = { 'cache-backend': 'local', 'local-cache-dir': cacheDir };
  const first = await run(inputs);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.deepEqual(await readdir(cacheDir), [`${first.outputs['cache-key']}.tgz`]);
  await freshRunner(ws);
  const second = await run(inputs);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.equal(second.outputs['cache-hit'], 'true');
  assert.equal(second.outputs['cache-key'], first.outputs['cache-key']);
  assert.deepEqual(stagesOf(second), {
    illumos: 'from cache',
    'illumos-extra': 'from cache',
    src: 'from cache',
  });
});

interface ExampleStep {
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}

test("docs/examples/split-proto.yml (stand-in illumos host, loopback stand-in for GitHub's results service): the live job's restore step and unpack script get back the proto the world job's build-world saved", async (t) => {
  const example = parse(
    await readFile(join(REPO_ROOT, 'docs', 'examples', 'split-proto.yml'), 'utf8'),
  ) as {
    jobs: Record<string, { outputs?: Record<string, string>; steps: ExampleStep[] }>;
  };
  const { world, live } = example.jobs;
  const buildWorld = world.steps.find((s) => s.uses?.includes('/actions/build-world@'));
  const restore = live.steps.find((s) => s.uses?.startsWith('actions/cache/restore@'));
  const unpack = live.steps.find((s) => s.run?.includes('tar -xzf'));
  assert.ok(buildWorld?.with && restore?.with && unpack?.run, 'the example has the three steps');
  assert.equal(world.outputs?.['cache-key'], `\${{ steps.${buildWorld.id}.outputs.cache-key }}`);
  assert.equal(world.outputs?.['cache-path'], `\${{ steps.${buildWorld.id}.outputs.cache-path }}`);

  const server = await startResultsServer();
  t.after(() => server.close());
  // The world job: build-world run as a runner runs it, in GITHUB_WORKSPACE.
  const { ws } = await worldWorkspace(t);
  const saved = await runAction(
    t,
    'build-world',
    { ...buildWorld.with },
    { PATH: illumosPath(), GITHUB_WORKSPACE: ws, ...server.env },
    ws,
  );
  assert.equal(saved.code, 0, saved.stdout + saved.stderr);
  assert.equal(saved.outputs['cache-hit'], 'false');
  assert.deepEqual(
    server.caches.map((c) => [c.key, c.finalized]),
    [[saved.outputs['cache-key'], true]],
  );
  assert.equal(saved.outputs['cache-path'], join('.build-world-cache', 'proto-entry.tgz'));
  // The live job's key and path, evaluated as the runner does, from the world job's outputs.
  const needs = {
    world: {
      outputs: {
        'cache-key': saved.outputs['cache-key'],
        'cache-path': saved.outputs['cache-path'],
      },
    },
    'base-proto': { outputs: {} },
  };
  const restoreKey = interpolate(restore.with.key, { needs });
  const restorePath = interpolate(restore.with.path, { needs });
  assert.equal(restoreKey, saved.outputs['cache-key']);

  // The live job: another checkout. @actions/cache's restoreCache (what
  // actions/cache/restore runs) with the example's path and the world job's
  // key, then the example's unpack script.
  const liveDir = await scratchDir(t);
  const cacheLib = pathToFileURL(
    join(REPO_ROOT, 'node_modules', '@actions', 'cache', 'lib', 'cache.js'),
  ).href;
  const restored = await runCaptured(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const cache = await import(${JSON.stringify(cacheLib)});
       const key = await cache.restoreCache([${JSON.stringify(restorePath)}], ${JSON.stringify(restoreKey)}, []);
       process.stdout.write('\\nrestored=' + (key ?? ''));`,
    ],
    {
      cwd: liveDir,
      env: {
        ...cleanRunnerEnv(),
        ...server.env,
        PATH: illumosPath(),
        GITHUB_WORKSPACE: liveDir,
        RUNNER_TEMP: await scratchDir(t),
      },
    },
  );
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal(restored.stdout.split('\n').at(-1), `restored=${saved.outputs['cache-key']}`);
  const unpackEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(unpack.env ?? {})) unpackEnv[k] = interpolate(v, { needs });
  const unpacked = await runCaptured('bash', ['-e', '-c', unpack.run], {
    cwd: liveDir,
    env: unpackEnv,
  });
  assert.equal(unpacked.code, 0, unpacked.stderr);
  assert.deepEqual(await snapshot(join(liveDir, 'proto')), await snapshot(join(ws, 'proto')));
  assert.ok(!existsSync(join(liveDir, restorePath)), 'the entry file is removed');
});

test('build-live: uploads without a results service fail clearly', async (t) => {
  const out = await scratchDir(t);
  const run = await runAction(t, 'build-live', {
    ...fixtureInputs(out, [GOOD]),
    'upload-artifacts': 'true',
  });
  assert.notEqual(run.code, 0);
  assert.match(
    run.stdout,
    /^::error::upload-artifacts: the job has no results service \(ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL are not set\); a runner gives them to node actions only/m,
  );
  assertNoStack(run);
  // The build itself happened and was reported before the upload.
  assert.equal(run.outputs.buildstamp, STAMP);
  assert.match(run.summary, /build-live 20111209T201508Z: OK/);
});

test('build-live: archive ufs with the ufs-* inputs makes a UFS boot_archive', async (t) => {
  const out = await scratchDir(t);
  const run = await runAction(t, 'build-live', {
    ...fixtureInputs(out, [GOOD]),
    archive: 'ufs',
    'ufs-free-percent': '20',
    'ufs-free-inodes': '100',
    'ufs-max-size': '64M',
  });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.ok(existsSync(run.outputs.tgz), run.outputs.tgz);
  const image = join(run.outputs['platform-dir'], 'i86pc', 'amd64', 'boot_archive');
  const reader = await UfsReader.open(image);
  await reader.close();
  assert.match(run.stdout, /^ufs: writing a .* boot_archive/m);
});

test('build-live: ufs-* inputs are checked, and ufs-max-size fails the step before writing', async (t) => {
  const out = await scratchDir(t);
  const bad = await runAction(t, 'build-live', {
    ...fixtureInputs(out, [GOOD]),
    'ufs-free-percent': '-1',
  });
  assert.equal(bad.code, 1);
  assert.match(
    bad.stdout,
    /^::error::input "ufs-free-percent" must be a number from 0 to 1000, not "-1"$/m,
  );
  assertNoStack(bad);
  const big = await runAction(t, 'build-live', {
    ...fixtureInputs(out, [GOOD]),
    'ufs-max-size': '100K',
  });
  assert.equal(big.code, 1);
  assert.match(
    big.stdout,
    /^::error::the UFS boot_archive would be \d+ bytes .*more than the ufs-max-size limit of 102400 bytes/m,
  );
  assert.ok(!existsSync(join(out, 'output')), 'nothing written');
  assertNoStack(big);
});

test('build-live: a bad boolean input names the input', async (t) => {
  const run = await runAction(t, 'build-live', { manifests: GOOD, 'upload-artifacts': 'maybe' });
  assert.equal(run.code, 1);
  assert.match(
    run.stdout,
    /^::error::input "upload-artifacts" must be true or false, not "maybe"$/m,
  );
  assertNoStack(run);
});

test('build-live uploads its three artifacts to the loopback stand-in for GitHub results service; the tgz artifact is the tgz itself (not zipped) and its digest is tgz-sha256, the sha256sum of the file', async (t) => {
  const server = await startResultsServer();
  t.after(() => server.close());
  const out = await scratchDir(t);
  const run = await runAction(
    t,
    'build-live',
    {
      ...fixtureInputs(out, [GOOD]),
      'upload-artifacts': 'true',
      'artifact-prefix': 'fx',
      'retention-days': '3',
    },
    server.env,
  );
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assertNoStack(run);
  const names = server.artifacts.map((a) => a.name).sort();
  assert.deepEqual(names, [`fx-log-${STAMP}`, `fx-manifest-${STAMP}`, `fx-tgz-${STAMP}.tgz`]);
  const tgzArtifact = server.artifacts.find((a) => a.name === `fx-tgz-${STAMP}.tgz`)!;
  // The ids, URLs and digests as outputs, as actions/upload-artifact gives them.
  for (const kind of ['tgz', 'log', 'manifest']) {
    const id = run.outputs[`${kind}-artifact-id`];
    assert.match(id, /^\d+$/, `${kind}-artifact-id`);
    assert.equal(
      run.outputs[`${kind}-artifact-url`],
      `https://github.com/joyent-live/build-live/actions/runs/1/artifacts/${id}`,
    );
    const stored = server.artifacts.find((a) => String(a.id) === id)!;
    assert.equal(run.outputs[`${kind}-artifact-digest`], stored.digest, `${kind}-artifact-digest`);
  }
  // The tgz artifact is the tgz, byte for byte (no zip around it).
  const tgz = await readFile(run.outputs.tgz);
  assert.ok(server.blobOf(tgzArtifact)!.equals(tgz), 'the uploaded tgz is byte-identical');
  assert.equal(tgz.subarray(0, 2).toString('hex'), '1f8b', 'a gzip stream, not a zip');
  const sha256sum = spawnSync('sha256sum', [run.outputs.tgz], { encoding: 'utf8' });
  assert.equal(sha256sum.status, 0, sha256sum.stderr);
  assert.equal(run.outputs['tgz-sha256'], sha256sum.stdout.split(' ')[0]);
  assert.equal(run.outputs['tgz-artifact-digest'], `sha256:${run.outputs['tgz-sha256']}`);
  // The summary gives the sizes of the tgz, the boot_archive and each artifact.
  assert.match(run.summary, /^#### Sizes$/m);
  assert.match(run.summary, new RegExp(`^\\| tgz \`platform-${STAMP}\\.tgz\` \\| \\d`, 'm'));
  assert.match(run.summary, /^\| boot_archive \| \d/m);
  assert.match(run.summary, new RegExp(`^\\| artifact \\[\`fx-log-${STAMP}\`\\]\\(`, 'm'));
});

test('build-live on GitHub Enterprise Server: no artifact is uploaded, one warning says why and what to use, the build succeeds', async (t) => {
  const server = await startResultsServer();
  t.after(() => server.close());
  const out = await scratchDir(t);
  const run = await runAction(
    t,
    'build-live',
    { ...fixtureInputs(out, [GOOD]), 'upload-artifacts': 'true' },
    { ...server.env, GITHUB_SERVER_URL: 'https://ghes.example.com' },
  );
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const warnings = run.stdout.match(/^::warning::.*$/gm) ?? [];
  assert.equal(warnings.length, 1, run.stdout);
  assert.match(warnings[0], /GitHub Enterprise Server \(https:\/\/ghes\.example\.com\)/);
  assert.match(warnings[0], /actions\/upload-artifact \(v3 on GHES\)/);
  assert.equal(server.artifacts.length, 0);
  assert.equal(run.outputs['tgz-artifact-id'], undefined);
});

test('build-live: an artifact upload the results service refuses fails the step clearly', async (t) => {
  const server = await startResultsServer();
  t.after(() => server.close());
  server.refuseNext('CreateArtifact', { message: 'artifact storage is full' });
  const out = await scratchDir(t);
  const run = await runAction(
    t,
    'build-live',
    { ...fixtureInputs(out, [GOOD]), 'upload-artifacts': 'true' },
    server.env,
  );
  assert.notEqual(run.code, 0);
  assert.match(
    run.stdout,
    /^::error::cannot upload artifact platform-tgz-20111209T201508Z\.tgz: .*artifact storage is full/m,
  );
  assertNoStack(run);
});

// The root action.yml (`uses: joyent-live/build-live@v1`), run by the runner
// stand-in (test/helpers/runner.ts) as the runner runs a node action.

const ROOT = 'joyent-live/build-live@v1';

/** The root action in a scratch job. */
async function runRoot(
  t: Parameters<typeof scratchDir>[0],
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
): Promise<RootRun> {
  const dir = await scratchDir(t);
  return runUses(ROOT, inputs, { dir, env: { SOURCE_DATE_EPOCH: '1323461708', ...env } });
}
type RootRun = Awaited<ReturnType<typeof runUses>>;

test('root action (runner stand-in): build-live then verify-manifest pass on the good fixture, one summary, the verdict last', async (t) => {
  const dir = await scratchDir(t);
  const run = await runRoot(t, fixtureInputs(dir, [GOOD]));
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assertNoStack(run);
  assert.equal(run.outputs.buildstamp, STAMP);
  assert.equal(run.outputs.verdict, 'pass');
  assert.equal(run.outputs['failed-count'], '0');
  assert.ok(run.outputs.report.endsWith('verify-report.json'), run.outputs.report);
  assert.match(run.outputs['tgz-sha256'], /^[0-9a-f]{64}$/);
  // build-live's summary first, verify-manifest's verdict after it.
  const built = run.summary.indexOf(`build-live ${STAMP}: OK`);
  const verdict = run.summary.indexOf('verify-manifest PASS');
  assert.ok(built >= 0 && verdict > built, run.summary);
  assert.doesNotMatch(run.stdout, /^::error/m);
});

test('root action (runner stand-in): verify-manifest fails on the broken fixture with an annotation at the manifest line; the verdict is the last error', async (t) => {
  const dir = await scratchDir(t);
  const run = await runRoot(t, fixtureInputs(dir, [GOOD, BROKEN]));
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.equal(run.outputs['failed-count'], '1', 'the build-live count, not verify-manifest');
  assert.equal(run.outputs.verdict, 'fail');
  assert.match(
    run.stdout,
    /^::error [^:]*file=action-fixtures\/manifests\/broken\/90-missing\.manifest,line=3[^:]*::.*usr\/share\/man\/man1\/missing\.1/m,
  );
  assert.match(run.stdout, /^FAILED usr\/share\/man\/man1\/missing\.1 /m);
  const errors = run.stdout.match(/^::error.*$/gm) ?? [];
  assert.equal(errors.at(-1), '::error::verify-manifest: FAIL: 1 FAILED');
  assertNoStack(run);
});

test('root action (runner stand-in): verify: yes (and every other bad boolean) is an error naming the input, before anything runs; verify: true gates', async (t) => {
  const dir = await scratchDir(t);
  const yes = await runRoot(t, { ...fixtureInputs(dir, [GOOD, BROKEN]), verify: 'yes' });
  assert.equal(yes.code, 1);
  assert.match(yes.stdout, /^::error::input "verify" must be true or false, not "yes"$/m);
  assert.ok(!existsSync(join(dir, 'output')), 'nothing built');
  assertNoStack(yes);
  for (const [input, value] of [
    ['upload-artifacts', 'True'],
    ['overwrite', 'yes'],
    ['install-packages', 'TRUE'],
  ]) {
    const other = await runRoot(t, { ...fixtureInputs(dir, [GOOD]), [input]: value });
    assert.equal(other.code, 1, `${input}: ${value}`);
    assert.match(
      other.stdout,
      new RegExp(`^::error::input "${input}" must be true or false, not "${value}"$`, 'm'),
    );
    assert.ok(!existsSync(join(dir, 'output')), 'nothing built');
  }
  const gated = await runRoot(t, { ...fixtureInputs(dir, [GOOD, BROKEN]), verify: 'true' });
  assert.equal(gated.code, 1);
  assert.equal(gated.outputs.verdict, 'fail');
  const ungated = await runRoot(t, { ...fixtureInputs(dir, [GOOD, BROKEN]), verify: 'false' });
  assert.equal(ungated.code, 0, ungated.stdout);
  assert.equal(ungated.outputs.verdict, undefined);
});

/** The image of the world fixture's proto: every file, link and directory nightly and the Makefiles install. */
const WORLD_MANIFEST = `# The world fixture's proto (action-fixtures/world), as build-world installs it.
d kernel 0755 root sys
d kernel/amd64 0755 root sys
d usr 0755 root sys
d usr/bin 0755 root bin
d usr/lib 0755 root bin
d usr/sbin 0755 root bin
d usr/share 0755 root sys
d usr/share/doc 0755 root bin
d usr/share/doc/bash 0755 root bin
f kernel/amd64/unix 0755 root sys
f usr/bin/ls 0555 root bin
f usr/bin/bash 0555 root bin
f usr/lib/libc.so.1 0755 root bin
f usr/sbin/vmadm 0555 root bin
f usr/share/doc/bash/README 0444 root bin
h usr/bin/dir=usr/bin/ls
s usr/bin/sh=../../sbin/sh
`;

interface JsonlRecord {
  path: string;
  tag: string | null;
  source: string | null;
  md5: string | null;
  status: string;
}

test('root action (runner stand-in) on a stand-in SmartOS host, build-world true: setup-illumos-host → build-world → build-live → verify-manifest in one step; the image is made of the world proto; a second job restores the proto from the local cache and skips every stage', async (t) => {
  // The stand-ins: uname (SunOS), pkgin with every package SmartOS needs, gtar.
  const scene = await hostScene(t, 'SmartOS');
  // The "remote" illumos and illumos-extra repositories, made (real git) from
  // action-fixtures/world/projects/*; the job's workspace gets only src/.
  const fixture = await makeWorldWorkspace(join(scene.dir, 'fixture'));
  const ws = scene.workspace;
  await cp(join(fixture, 'src'), join(ws, 'src'), { recursive: true });
  const manifest = join(scene.dir, 'world.manifest');
  await writeFile(manifest, WORLD_MANIFEST);
  const cacheDir = join(scene.dir, 'proto-cache');
  const proto = join(ws, 'proto');

  // Everything the chain writes goes to the scratch dir: the workspace, the
  // cache, the output and log directories, RUNNER_TEMP (the shims).
  const job = async (name: string) => {
    const dir = join(scene.dir, name);
    await mkdir(dir);
    const run = await runUses(
      ROOT,
      {
        'build-world': 'true',
        workspace: ws,
        'release-file': RELEASE_OF.SmartOS,
        'primary-compiler': `gcc10,${join(fixture, 'tools', 'gcc')},gnu`,
        'illumos-repo': join(fixture, 'projects', 'illumos'),
        'illumos-extra-repo': join(fixture, 'projects', 'illumos-extra'),
        'illumos-env': 'PERL=/usr/bin/perl',
        'cache-backend': 'local',
        'local-cache-dir': cacheDir,
        manifests: manifest,
        'no-system-root': 'true',
        output: join(dir, 'output'),
        'log-dir': join(dir, 'log'),
        'upload-artifacts': 'false',
      },
      { dir, env: { ...scene.env, GITHUB_WORKSPACE: ws, SOURCE_DATE_EPOCH: '1323461708' } },
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assertNoStack(run);
    const records = (await readFile(join(dir, 'log', `build_live.${STAMP}.jsonl`), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as JsonlRecord);
    return { run, records, dir };
  };

  const first = await job('job1');
  // One summary, in the order the steps ran, the verdict last.
  const order = [
    '### setup-illumos-host: SmartOS ready',
    '### build-world ',
    `build-live ${STAMP}: OK`,
    'verify-manifest PASS',
  ].map((heading) => first.run.summary.indexOf(heading));
  assert.ok(
    order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1])),
    first.run.summary,
  );
  assert.match(first.run.summary, /^\| projects\/illumos \| cloned \|$/m);
  assert.match(
    await readFile(join(ws, 'projects', 'illumos', 'illumos.sh'), 'utf8'),
    /^export PERL="\/usr\/bin\/perl"$/m,
  );
  assert.match(first.run.summary, /^\| illumos \| built \|/m);
  assert.match(first.run.summary, /^\| src \| built \|/m);
  const entries = await readdir(cacheDir);
  assert.equal(entries.length, 1);
  assert.match(entries[0], /^joyent-live-proto-1-[0-9a-f]{40}\.tgz$/);
  assert.equal(first.run.outputs['failed-count'], '0');
  assert.equal(first.run.outputs.verdict, 'pass');
  // Only the root's documented outputs: the sub-steps' own (distro, cache-key, ...) are not set.
  assert.equal(first.run.outputs.distro, undefined);
  assert.equal(first.run.outputs['cache-key'], undefined);
  // Every file of the image came from the proto build-world made (tag P).
  const files = first.records.filter((r) => r.source !== null);
  assert.deepEqual(files.map((r) => r.path).sort(), [
    'kernel/amd64/unix',
    'usr/bin/bash',
    'usr/bin/ls',
    'usr/lib/libc.so.1',
    'usr/sbin/vmadm',
    'usr/share/doc/bash/README',
  ]);
  for (const r of files) {
    assert.equal(r.tag, 'P', r.path);
    assert.equal(r.source, join(proto, r.path));
    assert.equal(r.status, 'OK');
    const md5 = createHash('md5')
      .update(await readFile(join(proto, r.path)))
      .digest('hex');
    assert.equal(r.md5, md5, r.path);
  }
  assert.match(
    await readFile(join(first.dir, 'log', `build_live.${STAMP}.log`), 'utf8'),
    /kernel\/amd64\/unix/,
  );
  const manifest1 = await readFile(first.run.outputs.manifest, 'utf8');

  // A new job on another runner of the same pool: the checkout (with the
  // projects now present) but no proto, stamps or logs.
  await freshRunner(ws);
  const second = await job('job2');
  assert.match(second.run.summary, /^\| projects\/illumos \| existing \|$/m);
  assert.match(second.run.summary, /cache hit, nothing built/);
  assert.match(second.run.summary, /^\| illumos \| from cache \|/m);
  assert.match(second.run.stdout, /cache hit: restored /);
  assert.doesNotMatch(second.run.stdout, /nightly \(stand-in\)/, 'nightly did not run');
  assert.deepEqual(await readdir(cacheDir), entries);
  assert.ok(!existsSync(join(ws, 'log')) || (await readdir(join(ws, 'log'))).length === 0);
  assert.equal(second.run.outputs.verdict, 'pass');
  assert.deepEqual(
    second.records.map((r) => [r.path, r.tag, r.md5]),
    first.records.map((r) => [r.path, r.tag, r.md5]),
  );
  assert.equal(await readFile(second.run.outputs.manifest, 'utf8'), manifest1);
});
