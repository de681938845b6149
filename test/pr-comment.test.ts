/**
 * verify-manifest on a pull request: its dist bundle run as a runner runs it,
 * with GITHUB_EVENT_PATH naming a pull_request event, against the loopback
 * stand-in of the REST endpoints (test/helpers/github-api-server.ts) that the
 * real @actions/github client talks to. Also the annotation budget of a step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runBundle } from './helpers/action-run.js';
import { fileIn, scratchDir } from './helpers/cli.js';
import { startGithubApiServer } from './helpers/github-api-server.js';
import { FIXTURES } from './helpers/paths.js';

const GOOD = join('action-fixtures', 'manifests', 'good');
const BROKEN = join('action-fixtures', 'manifests', 'broken');
const HEAD_SHA = '0123456789abcdef0123456789abcdef01234567';

type Context = Parameters<typeof scratchDir>[0];

/** A build-live log of the good and broken fixtures (one FAILED entry, line 3 of 90-missing.manifest). */
async function brokenBuildLog(t: Context): Promise<string> {
  const out = await scratchDir(t);
  const build = await runBundle(t, 'build-live', {
    manifests: `${GOOD}\n${BROKEN}`,
    proto: join(FIXTURES, 'proto'),
    overlays: `${join(FIXTURES, 'overlay-base')}\n${join(FIXTURES, 'overlay-site')}`,
    'man-dir': join(FIXTURES, 'man'),
    'system-root': join(FIXTURES, 'system-root'),
    customize: join(FIXTURES, 'customize', 'customize'),
    output: join(out, 'output'),
    'log-dir': join(out, 'log'),
    'upload-artifacts': 'false',
  });
  assert.equal(build.code, 0, build.stdout + build.stderr);
  return build.outputs.log;
}

async function pullRequestEvent(t: Context): Promise<string> {
  const file = join(await scratchDir(t), 'event.json');
  await writeFile(
    file,
    JSON.stringify({
      action: 'synchronize',
      number: 7,
      pull_request: { number: 7, head: { sha: HEAD_SHA } },
    }),
  );
  return file;
}

test('verify-manifest on a pull request (REST stand-in, real @actions/github): the first run creates one comment whose first line is the verdict, the second updates it, a read-only token warns once and the gate still fails', async (t) => {
  const server = await startGithubApiServer({
    writeTokens: ['write-token'],
    // Someone else's comment on the same pull request is left alone.
    seedComments: [{ issue: 7, body: 'LGTM once the build is green' }],
  });
  t.after(() => server.close());
  const log = await brokenBuildLog(t);
  const event = await pullRequestEvent(t);
  const env = {
    ...server.env,
    GITHUB_EVENT_PATH: event,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_WORKFLOW: 'pr-gating',
    GITHUB_JOB: 'build',
    GITHUB_RUN_ID: '4242',
    GITHUB_SHA: 'ffffffffffffffffffffffffffffffffffffffff', // the merge commit: not linked
  };
  const inputs = {
    logs: log,
    manifests: `${GOOD}\n${BROKEN}`,
    'github-token': 'write-token',
    'check-run': 'true',
  };

  const first = await runBundle(t, 'verify-manifest', inputs, env);
  assert.equal(first.code, 1, first.stdout + first.stderr);
  assert.equal(first.outputs.verdict, 'fail');
  const ours = () => server.comments.filter((c) => c.body.includes('<!-- joyent-live:'));
  assert.equal(ours().length, 1, JSON.stringify(server.requests));
  const comment = ours()[0];
  assert.equal(comment.issue, 7);
  const body = comment.body.split('\n');
  assert.equal(body[0], '❌ **verify-manifest: FAIL: 1 FAILED**');
  assert.match(comment.body, /\| entries \| FAILED \|/);
  // The failure, linked to its manifest line at the pull request's head commit.
  assert.ok(
    comment.body.includes(
      `[\`${BROKEN}/90-missing.manifest:3\`](https://github.example/joyent-live/example/blob/${HEAD_SHA}/${BROKEN}/90-missing.manifest#L3)`,
    ),
    comment.body,
  );
  assert.match(comment.body, /`usr\/share\/man\/man1\/missing\.1`/);
  assert.match(
    comment.body,
    /https:\/\/github\.example\/joyent-live\/example\/actions\/runs\/4242/,
  );
  assert.match(first.stdout, /commented on pull request #7: https:\/\/github\.example\//);
  // The check run: on the head commit, failed, the FAILED line annotated.
  assert.equal(server.checkRuns.length, 1);
  const check = server.checkRuns[0];
  assert.equal(check.head_sha, HEAD_SHA);
  assert.equal(check.conclusion, 'failure');
  assert.equal(check.title, 'verify-manifest: FAIL: 1 FAILED');
  assert.deepEqual(
    check.annotations.map((a) => [a.path, a.start_line, a.annotation_level]),
    [
      [`${BROKEN}/90-missing.manifest`, 3, 'failure'],
      // etc/motd is in both overlays: the shadowed check reports it, not fatal.
      [`${GOOD}/10-files.manifest`, 5, 'warning'],
    ],
  );

  const second = await runBundle(t, 'verify-manifest', inputs, env);
  assert.equal(second.code, 1);
  assert.equal(ours().length, 1, 'the second run makes no second comment');
  assert.equal(ours()[0].id, comment.id);
  assert.equal(ours()[0].updates, 1);
  assert.match(second.stdout, /updated the comment on pull request #7/);
  assert.equal(server.comments.length, 2, 'the other comment is untouched');
  assert.equal(server.comments[0].body, 'LGTM once the build is green');

  // A fork's pull request: the token may read, not write.
  const forked = await runBundle(
    t,
    'verify-manifest',
    { ...inputs, 'github-token': 'read-token', 'check-run': 'false' },
    env,
  );
  assert.equal(forked.code, 1, 'the gate still fails the step');
  const warnings = forked.stdout.match(/^::warning::.*$/gm) ?? [];
  assert.equal(warnings.length, 1, forked.stdout);
  assert.match(
    warnings[0],
    /cannot comment on pull request #7: the token may not write here \(HTTP 403/,
  );
  assert.match(warnings[0], /read-only GITHUB_TOKEN/);
  assert.match(forked.stdout, /^::error::verify-manifest: FAIL: 1 FAILED$/m);
  assert.equal(ours()[0].updates, 1, 'nothing written with the read-only token');
  assert.doesNotMatch(forked.stdout + forked.stderr, /\n\s+at .+:\d+:\d+\)/, 'no stack trace');
});

test('verify-manifest without a pull request: comment auto says so in the log, on-failure warns once; the gate decides the exit code', async (t) => {
  const server = await startGithubApiServer();
  t.after(() => server.close());
  const log = await brokenBuildLog(t);
  const env = { ...server.env, GITHUB_EVENT_NAME: 'push' };
  const inputs = { logs: log, manifests: `${GOOD}\n${BROKEN}`, 'github-token': 'write-token' };
  const auto = await runBundle(t, 'verify-manifest', inputs, env);
  assert.equal(auto.code, 1);
  assert.doesNotMatch(auto.stdout, /::warning::/);
  assert.match(auto.stdout, /this run is not for a pull request \(event push\): no comment/);
  const onFailure = await runBundle(
    t,
    'verify-manifest',
    { ...inputs, comment: 'on-failure' },
    env,
  );
  assert.equal(
    (onFailure.stdout.match(/^::warning::.*not for a pull request.*$/gm) ?? []).length,
    1,
  );
  const bad = await runBundle(t, 'verify-manifest', { ...inputs, comment: 'sometimes' }, env);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stdout,
    /^::error::input "comment" must be one of auto, always, on-failure, never, not "sometimes"$/m,
  );
  assert.equal(server.requests.length, 0, 'no request without a pull request');
});

test('verify-manifest with 15 FAILED entries: the step makes at most 10 error annotations and the verdict is one of them', async (t) => {
  const dir = await scratchDir(t);
  // A smartos-live C builder log with 15 FAILED files.
  const log = join(dir, 'build.log');
  const lines = [];
  for (let i = 1; i <= 15; i++) lines.push(`FILE: [usr/bin/tool${i}][0555][root/0][bin/2]: FAILED`);
  await writeFile(log, lines.join('\n') + '\n');
  const manifest = await fileIn(
    dir,
    'manifest',
    Array.from({ length: 15 }, (_, i) => `f usr/bin/tool${i + 1} 0555 root bin`).join('\n') + '\n',
  );
  const run = await runBundle(t, 'verify-manifest', {
    logs: log,
    manifests: manifest,
    comment: 'never',
  });
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const errors = run.stdout.match(/^::error.*$/gm) ?? [];
  assert.equal(errors.length, 10, errors.join('\n'));
  assert.equal(errors.at(-1), '::error::verify-manifest: FAIL: 15 FAILED');
  // Every failure is still a plain log line.
  assert.equal((run.stdout.match(/^FAILED usr\/bin\/tool\d+ /gm) ?? []).length, 15);
  assert.match(run.stdout, /6 more errors are not annotated .*one is kept for the verdict/);
});
