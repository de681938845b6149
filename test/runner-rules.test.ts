/**
 * The actions under the runner stand-in (test/helpers/runner.ts), which
 * follows the runner's rules: node actions get the job's runtime variables,
 * a composite's `run:` steps do not. What a user gets from
 * `uses: joyent-live/build-live@v1` with its defaults, through the loopback
 * results service (test/helpers/results-server.ts) and the REST stand-in
 * (test/helpers/github-api-server.ts): uploads, re-runs with one
 * BUILDSTAMP, matrix legs' pull-request comments, and the results service's
 * failures.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBundle } from './helpers/action-run.js';
import { type CliRun, fileIn, scratchDir } from './helpers/cli.js';
import { startGithubApiServer } from './helpers/github-api-server.js';
import { FIXTURES } from './helpers/paths.js';
import { startResultsServer, type ResultsServer } from './helpers/results-server.js';
import { oldCompositeRoot, runAction, runUses, type ActionRun } from './helpers/runner.js';

type Context = Parameters<typeof scratchDir>[0];
const STAMP = '20111209T201508Z'; // SOURCE_DATE_EPOCH=1323461708
const GOOD = join(FIXTURES, 'manifests', 'good');

/** Only the manifests and the sources: everything else is the action's default. */
const SOURCES = {
  manifests: GOOD,
  proto: join(FIXTURES, 'proto'),
  overlays: `${join(FIXTURES, 'overlay-base')}\n${join(FIXTURES, 'overlay-site')}`,
  'man-dir': join(FIXTURES, 'man'),
  'system-root': join(FIXTURES, 'system-root'),
};

/** A fresh runner's job (its own workspace, the working directory), in one workflow run of `server`. */
async function job(t: Context, server: ResultsServer, env: NodeJS.ProcessEnv = {}) {
  const dir = await scratchDir(t);
  const workspace = join(dir, 'workspace');
  await mkdir(workspace);
  return {
    dir,
    workspace,
    cwd: workspace,
    env: { ...server.env, SOURCE_DATE_EPOCH: '1323461708', ...env },
  };
}

function assertNoStack(run: CliRun) {
  assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at .+\(.*:\d+:\d+\)/, 'a stack trace');
}

const live = (server: ResultsServer) =>
  server.artifacts
    .filter((a) => a.finalized && !a.deleted)
    .map((a) => a.name)
    .sort();

const NAMES = [`platform-log-${STAMP}`, `platform-manifest-${STAMP}`, `platform-tgz-${STAMP}.tgz`];

test('uses: joyent-live/build-live@v1 with only the manifests and the sources uploads its three artifacts and passes; the composite root of before fails its upload under the same rules', async (t) => {
  const server = await startResultsServer();
  t.after(() => server.close());
  const rootJob = await job(t, server);
  const root = await runUses('joyent-live/build-live@v1', SOURCES, rootJob);
  assert.equal(root.code, 0, root.stdout + root.stderr);
  assert.deepEqual(live(server), NAMES);
  assert.equal(root.outputs.verdict, 'pass');
  const tgz = server.artifacts.find((a) => a.name === NAMES[2])!;
  assert.equal(root.outputs['tgz-artifact-digest'], tgz.digest);
  // The default output directory, `output`, is relative to the workspace.
  assert.equal(root.outputs.tgz, join('output', `platform-${STAMP}.tgz`));
  const tgzFile = join(rootJob.workspace, root.outputs.tgz);
  assert.ok(server.blobOf(tgz)!.equals(await readFile(tgzFile)), 'the tgz itself');
  const sha256sum = spawnSync('sha256sum', [tgzFile], { encoding: 'utf8' });
  assert.equal(sha256sum.status, 0, sha256sum.stderr);
  assert.equal(root.outputs['tgz-sha256'], sha256sum.stdout.split(' ')[0]);

  // The same job with the composite root.
  const before = await startResultsServer();
  t.after(() => before.close());
  const old = await job(t, before);
  const composite = await runAction(await oldCompositeRoot(old.dir), SOURCES, old);
  assert.notEqual(composite.code, 0, 'the composite fails');
  assert.deepEqual(
    composite.steps.map((s) => [s.id, s.code]),
    [
      ['inputs', 0],
      ['build', 1],
    ],
  );
  // Its run: steps get no runtime variables: the bundle (today's) says so.
  assert.match(
    composite.stdout,
    /^::error::upload-artifacts: the job has no results service \(ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL are not set\)/m,
  );
  assert.equal(before.artifacts.length, 0);
});

test('the same job twice with one BUILDSTAMP (a re-run): both green, the artifacts replaced under the same names; with overwrite: false the second is a clear 409', async (t) => {
  const server = await startResultsServer();
  t.after(() => server.close());
  const first = await runUses('joyent-live/build-live@v1', SOURCES, await job(t, server));
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const firstIds = server.artifacts.map((a) => a.id);
  const second = await runUses('joyent-live/build-live@v1', SOURCES, await job(t, server));
  assert.equal(second.code, 0, second.stdout + second.stderr);
  assert.deepEqual(live(server), NAMES, 'the same names');
  for (const name of NAMES) {
    const all = server.artifacts.filter((a) => a.name === name);
    assert.deepEqual(
      all.map((a) => a.deleted),
      [true, false],
      `${name}: the first deleted, the second kept`,
    );
    assert.match(
      second.stdout,
      new RegExp(
        `^overwrite: deleted the earlier artifact ${name.replace(/\./g, '\\.')} \\(id \\d+\\)`,
        'm',
      ),
    );
  }
  assert.ok(
    [second.outputs['tgz-artifact-id'], second.outputs['log-artifact-id']].every(
      (id) => !firstIds.includes(Number(id)),
    ),
  );

  const refused = await runUses(
    'joyent-live/build-live@v1',
    { ...SOURCES, overwrite: 'false' },
    await job(t, server),
  );
  assert.equal(refused.code, 1);
  assert.match(
    refused.stdout,
    /^::error::cannot upload artifact platform-tgz-20111209T201508Z\.tgz: the results service answered 409 Conflict, an artifact of that name exists in this run .*set overwrite: true/m,
  );
  assertNoStack(refused);
});

/** build-live alone, uploading: the results service's answers under test. */
async function buildLive(
  t: Context,
  server: ResultsServer,
  inputs: Record<string, string> = {},
  env: NodeJS.ProcessEnv = {},
): Promise<ActionRun> {
  const j = await job(t, server, env);
  return runUses('joyent-live/build-live/actions/build-live@v1', { ...SOURCES, ...inputs }, j);
}

test('results service: 500 then 200 is retried and passes; 409 twice (overwrite true) fails naming the service and the cause', async (t) => {
  const server = await startResultsServer();
  t.after(() => server.close());
  server.refuseNext('CreateArtifact', { status: 500, message: 'a passing fault' });
  const retried = await buildLive(t, server);
  assert.equal(retried.code, 0, retried.stdout + retried.stderr);
  assert.match(retried.stdout, /Attempt 1 of \d+ failed with error: .*500.*Retrying/);
  assert.deepEqual(live(server), NAMES);

  const conflict = await startResultsServer();
  t.after(() => conflict.close());
  conflict.refuseNext('CreateArtifact', { status: 409, times: 2, message: 'already exists' });
  const run = await buildLive(t, conflict);
  assert.equal(run.code, 1);
  const errors = run.stdout.match(/^::error::.*$/gm) ?? [];
  assert.equal(errors.length, 1, run.stdout);
  assert.match(
    errors[0],
    /cannot upload artifact platform-tgz-20111209T201508Z\.tgz: the results service answered 409 Conflict twice/,
  );
  assertNoStack(run);
});

test('a runtime token without an Actions.Results scope (scp): one clear message, nothing uploaded', async (t) => {
  const server = await startResultsServer();
  t.after(() => server.close());
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const token = `${b64({ typ: 'JWT', alg: 'none' })}.${b64({ iss: 'x', exp: 9999999999 })}.sig`;
  const run = await buildLive(t, server, {}, { ACTIONS_RUNTIME_TOKEN: token });
  assert.equal(run.code, 1);
  const errors = run.stdout.match(/^::error::.*$/gm) ?? [];
  assert.equal(errors.length, 1, run.stdout);
  assert.match(
    errors[0],
    /ACTIONS_RUNTIME_TOKEN\) carries no "Actions\.Results:<run>:<job>" scope/,
  );
  assert.equal(server.requests.length, 0);
  assertNoStack(run);
});

test('retention-days: 0 is the repository default (no expiry sent), 3 sends one; overwrite: yes and retention-days: 500 name the input', async (t) => {
  const server = await startResultsServer();
  t.after(() => server.close());
  const zero = await buildLive(t, server, { 'retention-days': '0' });
  assert.equal(zero.code, 0, zero.stdout + zero.stderr);
  assert.ok(server.artifacts.every((a) => a.expiresAt === undefined));
  const three = await buildLive(t, server, { 'retention-days': '3' });
  assert.equal(three.code, 0, three.stdout + three.stderr);
  assert.ok(server.artifacts.filter((a) => !a.deleted).every((a) => a.expiresAt !== undefined));
  for (const [input, value, message] of [
    ['overwrite', 'yes', 'input "overwrite" must be true or false, not "yes"'],
    ['retention-days', '500', 'input "retention-days" must be a whole number from 0 to 400'],
  ]) {
    const bad = await buildLive(t, server, { [input]: value });
    assert.equal(bad.code, 1);
    assert.ok(bad.stdout.includes(`::error::${message}`), bad.stdout);
    assertNoStack(bad);
  }
});

/** A smartos-live style log with one FAILED file, and its manifest. */
async function failedLog(dir: string): Promise<{ log: string; manifest: string }> {
  const log = await fileIn(dir, 'build.log', 'FILE: [usr/bin/tool][0555][root/0][bin/2]: FAILED\n');
  const manifest = await fileIn(dir, 'manifest', 'f usr/bin/tool 0555 root bin\n');
  return { log, manifest };
}

test('two matrix legs of one job keep two pull-request comments, each updated in place (comment-key defaults to the matrix values); a comment-key with a newline or "-->" is refused', async (t) => {
  const api = await startGithubApiServer({ writeTokens: ['write-token'] });
  t.after(() => api.close());
  const dir = await scratchDir(t);
  const { log, manifest } = await failedLog(dir);
  const event = await fileIn(
    dir,
    'event.json',
    JSON.stringify({ pull_request: { number: 7, head: { sha: 'a'.repeat(40) } } }),
  );
  const env = {
    ...api.env,
    GITHUB_EVENT_PATH: event,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_WORKFLOW: 'pr-gating',
    GITHUB_JOB: 'build',
  };
  const inputs = { logs: log, manifests: manifest, 'github-token': 'write-token' };
  const leg = (archive: string) =>
    runBundle(t, 'verify-manifest', inputs, env, { matrix: { archive, os: 'omnios' } });
  for (const round of [1, 2]) {
    for (const archive of ['ufs', 'hsfs']) {
      const run = await leg(archive);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        round === 1 ? /commented on pull request #7/ : /updated the comment on pull request #7/,
      );
    }
  }
  assert.equal(api.comments.length, 2, 'one comment per leg');
  assert.deepEqual(
    api.comments.map((c) => c.updates),
    [1, 1],
  );
  assert.ok(api.comments[0].body.includes(':build:ufs%2Comnios -->'), api.comments[0].body);
  assert.ok(api.comments[1].body.includes(':build:hsfs%2Comnios -->'), api.comments[1].body);

  for (const key of ['a\nb', 'x --> <img src=y>']) {
    const bad = await runBundle(t, 'verify-manifest', { ...inputs, 'comment-key': key }, env);
    assert.equal(bad.code, 1);
    const errors = bad.stdout.match(/^::error::.*$/gm) ?? [];
    assert.equal(errors.length, 1, bad.stdout);
    assert.match(errors[0], /^::error::input "comment-key" (must be one line|may not hold "-->")/);
    assertNoStack(bad);
  }
  assert.equal(api.comments.length, 2, 'nothing written with a bad key');
});

test('the build-live summary gives the tgz, boot_archive and artifact sizes, and with a baseline the change of each', async (t) => {
  const server = await startResultsServer();
  t.after(() => server.close());
  const before = await buildLive(t, server, { 'upload-artifacts': 'false' });
  assert.equal(before.code, 0, before.stdout + before.stderr);
  assert.match(before.summary, /^\| \| size \|$/m);
  const baseline = join(before.dir, 'workspace', before.outputs.manifest);
  // A larger free-space floor: a larger boot_archive than the baseline's.
  const after = await buildLive(t, server, { baseline, 'ufs-min-free': '32M' });
  assert.equal(after.code, 0, after.stdout + after.stderr);
  assert.match(after.summary, /^\| \| size \| baseline \| change \|$/m);
  assert.match(
    after.summary,
    /^\| boot_archive \| [\d.]+ (KiB|MiB) \| [\d.]+ (KiB|MiB) \| \+[\d.]+ (B|KiB|MiB) \(\+[\d.]+%\) \|$/m,
  );
  assert.match(
    after.summary,
    new RegExp(`^\\| tgz \`platform-${STAMP}\\.tgz\` \\| .+ \\| .+ \\| [+-±]`, 'm'),
  );
  assert.match(
    after.summary,
    new RegExp(`^\\| artifact \\[\`platform-tgz-${STAMP}\\.tgz\`\\]`, 'm'),
  );
  assert.match(after.summary, new RegExp(`^tgz sha256: \`${after.outputs['tgz-sha256']}\`$`, 'm'));
});

test('the runner stand-in itself: a node action gets the runtime variables and INPUT_<NAME> (upper-cased, spaces to _, hyphens kept) with defaults from the matrix; a composite run: step does not get them; GITHUB_PATH holds for later steps', async (t) => {
  const dir = await scratchDir(t);
  const node = join(dir, 'node-action');
  const composite = join(dir, 'composite-action');
  await mkdir(node);
  await mkdir(composite);
  await writeFile(
    join(node, 'action.yml'),
    `name: probe
description: probe
inputs:
  my input-name:
    description: x
  from-matrix:
    description: x
    default: \${{ join(matrix.*, '+') }}
runs:
  using: node24
  main: main.mjs
`,
  );
  await writeFile(
    join(node, 'main.mjs'),
    `import { appendFileSync } from 'node:fs';
const out = (k, v) => appendFileSync(process.env.GITHUB_OUTPUT, k + '=' + v + '\\n');
out('token', process.env.ACTIONS_RUNTIME_TOKEN ?? 'none');
out('v2', process.env.ACTIONS_CACHE_SERVICE_V2 ?? 'none');
out('input', process.env['INPUT_MY_INPUT-NAME'] ?? 'none');
out('matrix', process.env['INPUT_FROM-MATRIX'] ?? 'none');
out('path', process.env.PATH.split(':')[0]);
`,
  );
  await writeFile(
    join(composite, 'action.yml'),
    `name: probe
description: probe
inputs:
  value:
    description: x
    default: given
outputs:
  script-token:
    description: x
    value: \${{ steps.script.outputs.token }}
  node-token:
    description: x
    value: \${{ steps.node.outputs.token }}
  node-input:
    description: x
    value: \${{ steps.node.outputs.input }}
  node-path:
    description: x
    value: \${{ steps.node.outputs.path }}
runs:
  using: composite
  steps:
    - id: script
      shell: bash
      run: |
        echo "token=\${ACTIONS_RUNTIME_TOKEN:-none}" >> "$GITHUB_OUTPUT"
        echo "/added/by/script" >> "$GITHUB_PATH"
    - id: node
      uses: ${node}
      with:
        my input-name: \${{ inputs.value }}
`,
  );
  const env = { ACTIONS_RUNTIME_TOKEN: 'job-token', ACTIONS_CACHE_SERVICE_V2: 'True' };
  const direct = await runAction(
    node,
    { 'my input-name': 'x' },
    { dir, env, matrix: { a: '1', b: '2' } },
  );
  assert.equal(direct.code, 0, direct.stderr);
  assert.deepEqual(
    [direct.outputs.token, direct.outputs.v2, direct.outputs.input, direct.outputs.matrix],
    ['job-token', 'True', 'x', '1+2'],
  );
  const composed = await runAction(composite, {}, { dir, env });
  assert.equal(composed.code, 0, composed.stderr);
  assert.equal(composed.outputs['script-token'], 'none', 'a run: step gets no runtime token');
  assert.equal(composed.outputs['node-token'], 'job-token');
  assert.equal(composed.outputs['node-input'], 'given');
  assert.equal(composed.outputs['node-path'], '/added/by/script');
  await assert.rejects(runAction(node, { 'no-such-input': 'x' }, { dir, env }), /unexpected input/);
});
