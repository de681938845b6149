/**
 * Markdown and HTML from pull requests (paths, link text, messages quoting
 * them) in the job summaries, the pull-request comment and the check run:
 * rendered with the CommonMark reference renderer, none of it becomes
 * markup (no HTML, no comment that hides the rest, no link, no mention, no
 * entity), and a backtick run in a path never closes its code span.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HtmlRenderer, Parser } from 'commonmark';
import { buildLiveMarkdown } from '../src/actions/build-live/summary.js';
import { buildWorldSummary } from '../src/actions/build-world/step.js';
import type { BuildWorldResult } from '../src/world/build-world.js';
import { commentBody } from '../src/actions/common/verify-comment.js';
import type { BuildLiveResult } from '../src/live/build-live.js';
import { mdCode, mdText } from '../src/util/markdown.js';
import { formatMarkdown } from '../src/verify/report.js';
import type { VerifyReport } from '../src/verify/types.js';
import { failedFile } from './helpers/report-schema.js';

/** What a pull request can name a file or a link target. */
const HOSTILE = [
  'usr/bin/@octocat',
  'usr/bin/<h1>APPROVED</h1>',
  'usr/bin/</details>',
  'usr/bin/<!--',
  'usr/bin/-->',
  'usr/bin/[click](https:&#x2F;&#x2F;evil.example)',
  'usr/bin/a``b`',
  '`usr/bin/lead',
  'usr/bin/\u202egnp.exe',
  'usr/bin/https://evil.example/x',
  'usr/bin/www.evil.example',
  'usr/bin/![img](https://evil.example/i.png)',
  'usr/bin/a|b',
  'usr/bin/&amp;&lt;',
];

const render = (markdown: string) => new HtmlRenderer().render(new Parser().parse(markdown));

/** The rendered HTML with the text of every code span left out. */
const outsideCode = (html: string) => html.replace(/<code>[^]*?<\/code>/g, '<code></code>');

/** The texts of the code spans, entities decoded. */
const codeTexts = (html: string) =>
  [...html.matchAll(/<code>([^]*?)<\/code>/g)].map((m) =>
    m[1]
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&'),
  );

/** No markup of the pull request's in `markdown` as rendered; `allowedLinks` are ours. */
function assertInert(markdown: string, allowedLinks: RegExp, what: string) {
  assert.ok(!/[\u202a-\u202e\u2066-\u2069]/.test(markdown), `${what}: a raw bidi control`);
  const html = render(markdown);
  const outside = outsideCode(html);
  for (const tag of ['<h1', '<!--', '-->', '<img', '<script']) {
    assert.ok(!outside.includes(tag), `${what}: ${tag} in\n${html}`);
  }
  // Our own <details> blocks open and close in pairs: none is closed early by a path.
  assert.equal(
    (outside.match(/<details>/g) ?? []).length,
    (outside.match(/<\/details>/g) ?? []).length,
    `${what}: </details> from a path\n${html}`,
  );
  for (const m of outside.matchAll(/href="([^"]*)"/g)) {
    assert.match(m[1], allowedLinks, `${what}: a link from a path\n${html}`);
  }
  const text = outside.replace(/<[^>]*>/g, '');
  assert.doesNotMatch(text, /@octocat/, `${what}: a mention`);
  assert.doesNotMatch(text, /https:\/\/evil|www\.evil/, `${what}: an autolink`);
  assert.doesNotMatch(html, /https:\/\/?evil\.example"|&#x2F;/i, `${what}: a live link`);
}

/** Every hostile path shows whole in a code span (printable: bidi escaped). */
function assertShownWhole(markdown: string, what: string) {
  const codes = codeTexts(render(markdown));
  for (const path of HOSTILE) {
    const shown = path.replace('\u202e', '\\u202e');
    assert.ok(
      codes.some((c) => c === shown || c === ` ${shown} ` || c.replace(/\\\|/g, '|') === shown),
      `${what}: ${JSON.stringify(path)} not shown whole in a code span: ${JSON.stringify(codes)}`,
    );
  }
}

function hostileReport(): VerifyReport {
  return {
    schema: 'joyent-live/verify-report@1',
    verdict: 'fail',
    reasons: ['failed', 'broken-link'],
    failOn: ['failed', 'broken-link', 'changed'],
    logs: [],
    counts: {
      entries: HOSTILE.length,
      ok: 0,
      failed: HOSTILE.length,
      allowedMissing: 0,
      unknownOwners: 0,
      byTag: { A: 0, P: 0, M: 0, S: 0, other: 0 },
      otherDirs: {},
      byKind: { DIR: 0, FILE: HOSTILE.length, SYMLINK: 0, LINK: 0 },
    },
    failures: HOSTILE.map((path, i) =>
      failedFile(path, i + 1, { file: 'manifests/base', line: i + 1 }),
    ),
    systemFiles: [],
    unknownOwnerWarnings: [],
    diff: {
      baseline: 'b',
      ignored: [],
      added: 0,
      removed: 0,
      changed: HOSTILE.length,
      entries: HOSTILE.map((path) => ({
        kind: 'target' as const,
        path,
        before: path,
        after: '@octocat <!-- x',
      })),
    },
    checks: [
      {
        kind: 'broken-link',
        checked: HOSTILE.length,
        findings: HOSTILE.length,
        fatal: true,
        note: 'note <!-- @octocat',
        listed: HOSTILE.map((path, i) => ({
          kind: 'broken-link',
          path,
          file: 'manifests/base',
          line: i + 1,
          message: `dangles into ${path}`,
        })),
      },
    ],
    notes: HOSTILE.map((path) => `a note about ${path}`),
  } as unknown as VerifyReport;
}

test('mdCode: fenced longer than any backtick run inside, padded at a backtick', () => {
  assert.equal(mdCode('usr/bin/ls'), '`usr/bin/ls`');
  assert.equal(mdCode('a``b'), '```a``b```');
  assert.equal(mdCode('`a'), '`` `a ``');
  assert.equal(mdCode('a\r\n\u202e'), '`a\\r\\n\\u202e`');
  assert.equal(mdText('<!-- @x [a](b) &#x2F;'), '&lt;\\!-- @&#8203;x \\[a\\]\\(b\\) &amp;\\#x2F;');
  assert.equal(mdText('- 1. x'), '\\- 1. x');
});

test('the verify job summary: paths and messages from a pull request are never markup', () => {
  const markdown = formatMarkdown(hostileReport());
  assertInert(markdown, /^$/, 'formatMarkdown');
  assertShownWhole(markdown, 'formatMarkdown');
});

test('the pull-request comment and check-run text: never markup from a path', () => {
  const links = { server: 'https://github.com', repository: 'o/r', sha: 'abc', workspace: '/w' };
  const body = commentBody(hostileReport(), links, {
    title: 'verify-manifest',
    runUrl: 'https://github.com/o/r/actions/runs/1',
  });
  assertInert(body, /^https:\/\/github\.com\/o\/r\//, 'commentBody');
  assertShownWhole(body, 'commentBody');
});

test('the build-live job summary: FAILED paths, errors and warnings are never markup', () => {
  const result = {
    buildstamp: '20111209T201508Z',
    exitCode: 3,
    counts: {
      A: 0,
      P: 0,
      M: 0,
      S: 0,
      dirs: 0,
      symlinks: 0,
      hardlinks: 0,
      failed: 1,
      unknownOwners: 0,
      bytes: 0,
    },
    imageEntries: 1,
    archive: 'none',
    platformDir: '/w/output/platform-20111209T201508Z',
    log: '/w/log/build_live.20111209T201508Z.log',
    failed: HOSTILE.map((path, i) => ({
      path,
      type: 'f',
      file: '/w/manifests/base',
      line: i + 1,
      error: `cannot read ${path}`,
      searched: [`/w/proto/${path}`],
    })),
    warnings: HOSTILE.map((path) => `manifests/base:1: warning: ${path}`),
  } as unknown as BuildLiveResult;
  const env = { ...process.env };
  Object.assign(process.env, {
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'o/r',
    GITHUB_SHA: 'abc',
    GITHUB_WORKSPACE: '/w',
  });
  try {
    const markdown = buildLiveMarkdown(result, true);
    assertInert(markdown, /^https:\/\/github\.com\/o\/r\//, 'buildLiveMarkdown');
    assertShownWhole(markdown, 'buildLiveMarkdown');
  } finally {
    process.env = env;
  }
});

test('the build-world job summary: the value of a changed input is never markup', () => {
  // What describeChanges() says quotes values from the runner and the
  // workflow: a compiler's --version line, the cache-version salt, build
  // environment variables.
  const result = {
    buildstamp: '20111209T201508Z',
    cacheHit: false,
    cacheKey: 'joyent-live-world-abc',
    changes: HOSTILE.map((value) => `cache-version changed (v1 → ${value})`),
    stages: [{ stage: 'illumos', status: 'built', log: '/w/log/illumos.log' }],
    saved: 'yes',
  } as unknown as BuildWorldResult;
  const markdown = buildWorldSummary(result);
  assertInert(markdown, /^$/, 'build-world summary');
  assert.match(markdown, /Changed: cache-version changed/);
});
