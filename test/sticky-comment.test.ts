/**
 * The sticky pull-request comment is ours only if the token's own identity
 * wrote it: a comment by someone else that carries our marker (a fake
 * "PASS") is never edited, and when an edit is refused a new comment is
 * made, so the pull request always shows the gate's real verdict. The real
 * @actions/github client against the loopback stand-in
 * (test/helpers/github-api-server.ts), which records authors and refuses
 * edits of others' comments as GitHub does.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  GITHUB_ACTIONS_BOT,
  OCTOCAT,
  startGithubApiServer,
  type GithubApiServer,
  type Identity,
} from './helpers/github-api-server.js';

const MAINTAINER: Identity = { login: 'maintainer', id: 77, type: 'User' };
const FAKE = 'verify-manifest: PASS (written by someone else)';

let server: GithubApiServer;
let pr: typeof import('../src/actions/common/pr-comment.js');
let marker: string;

before(async () => {
  server = await startGithubApiServer({
    writeTokens: ['write-token', 'pat-token', 'refused-token'],
    identities: { 'pat-token': MAINTAINER },
    refuseEditsBy: ['refused-token'],
    seedComments: [],
  });
  // @actions/github reads GITHUB_API_URL when it is first imported.
  Object.assign(process.env, server.env, { GITHUB_WORKFLOW: 'ci', GITHUB_JOB: 'gate' });
  pr = await import('../src/actions/common/pr-comment.js');
  marker = pr.commentMarker('verify-manifest');
});
after(() => server.close());

const target = (number: number) => ({
  owner: 'joyent-live',
  repo: 'example',
  number,
  headSha: '0123456789abcdef0123456789abcdef01234567',
});

/** A comment already on the pull request, as someone wrote it. */
function seed(issue: number, user: Identity, body: string) {
  const id = 9000 + server.comments.length;
  server.comments.push({
    id,
    issue,
    body,
    user,
    html_url: `https://github.example/joyent-live/example/pull/${issue}#issuecomment-${id}`,
    updates: 0,
  });
  return server.comments.at(-1)!;
}

const request = (token: string, failed: boolean, mode: 'auto' | 'always' = 'auto') => ({
  mode,
  token,
  gate: 'verify-manifest',
  body: failed ? 'verify-manifest: FAIL: 1 FAILED' : 'verify-manifest: PASS',
  failed,
});

test('a comment with our marker by someone else is never edited: a new one is made', async () => {
  const fake = seed(21, OCTOCAT, `${FAKE}\n\n${marker}\n`);
  const outcome = await pr.publishComment(request('write-token', true), target(21));
  assert.equal(outcome.action, 'created', JSON.stringify(outcome));
  assert.equal(fake.updates, 0);
  assert.equal(fake.body, `${FAKE}\n\n${marker}\n`);
  const mine = server.comments.filter((c) => c.issue === 21 && c.id !== fake.id);
  assert.equal(mine.length, 1);
  assert.deepEqual(mine[0].user, GITHUB_ACTIONS_BOT);
  assert.match(mine[0].body, /^verify-manifest: FAIL: 1 FAILED/);
  assert.ok(!server.requests.some((r) => r.method === 'PATCH' && r.path.endsWith(`/${fake.id}`)));

  // The next run finds its own comment, not the fake, and updates it.
  const again = await pr.publishComment(request('write-token', true), target(21));
  assert.deepEqual(again, { action: 'updated', id: mine[0].id, url: mine[0].html_url });
  assert.equal(fake.updates, 0);
});

test('a pass never leaves someone else\'s "PASS" comment looking like ours: nothing is edited', async () => {
  const fake = seed(22, OCTOCAT, `${FAKE}\n\n${marker}\n`);
  const outcome = await pr.publishComment(request('write-token', false), target(22));
  assert.equal(outcome.action, 'skipped');
  assert.equal(fake.updates, 0);
});

test('the token identity is found for a personal token too: its own comment is updated', async () => {
  const fake = seed(23, OCTOCAT, `${FAKE}\n\n${marker}\n`);
  const bot = seed(23, GITHUB_ACTIONS_BOT, `old\n\n${marker}\n`);
  const own = seed(23, MAINTAINER, `old\n\n${marker}\n`);
  const outcome = await pr.publishComment(request('pat-token', true), target(23));
  assert.deepEqual(outcome, { action: 'updated', id: own.id, url: own.html_url });
  assert.equal(own.updates, 1);
  assert.equal(fake.updates + bot.updates, 0);
});

test('an edit that is refused (403) makes a new comment, not only a warning', async () => {
  const mine = seed(24, GITHUB_ACTIONS_BOT, `verify-manifest: PASS\n\n${marker}\n`);
  const outcome = await pr.publishComment(request('refused-token', true), target(24));
  assert.equal(outcome.action, 'created', JSON.stringify(outcome));
  assert.equal(mine.updates, 0);
  const made = server.comments.filter((c) => c.issue === 24 && c.id !== mine.id);
  assert.equal(made.length, 1);
  assert.match(made[0].body, /^verify-manifest: FAIL/);
  assert.ok(
    server.requests.some(
      (r) => r.method === 'PATCH' && r.path.endsWith(`/${mine.id}`) && r.status === 403,
    ),
  );
});

test('writtenBy: by id, or by login (a bot REST login carries [bot])', () => {
  assert.ok(pr.writtenBy(GITHUB_ACTIONS_BOT, { login: 'github-actions[bot]' }));
  assert.ok(pr.writtenBy(GITHUB_ACTIONS_BOT, { login: 'github-actions' }));
  assert.ok(pr.writtenBy(GITHUB_ACTIONS_BOT, { login: 'x', id: 41898282 }));
  assert.ok(
    !pr.writtenBy(
      { login: 'github-actions', type: 'User', id: 5 },
      { login: 'github-actions[bot]', id: 41898282 },
    ),
  );
  assert.ok(!pr.writtenBy(OCTOCAT, { login: 'github-actions[bot]', id: 41898282 }));
  assert.ok(!pr.writtenBy(null, { login: 'octocat' }));
});
