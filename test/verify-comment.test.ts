/**
 * The pull-request comment body (src/actions/common/verify-comment.ts) of a
 * verify report: verdict first, the cause before what is only reported, links
 * to manifest lines at the commit, gate-failing diff entries never only in a
 * collapsed <details>, and finding kinds it has never heard of.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commentBody, lineLink } from '../src/actions/common/verify-comment.js';
import type { Finding, VerifyReport } from '../src/verify/types.js';
import { failedFile } from './helpers/report-schema.js';

const LINKS = { server: 'https://github.com', repository: 'o/r', sha: 'abc', workspace: '/w' };

function report(): VerifyReport {
  return {
    schema: 'joyent-live/verify-report@1',
    verdict: 'fail',
    reasons: ['failed', 'removed'],
    failOn: ['failed', 'removed'],
    logs: [],
    counts: {
      entries: 120,
      ok: 118,
      failed: 2,
      allowedMissing: 1,
      unknownOwners: 0,
      byTag: { A: 3, P: 100, M: 10, S: 0, other: 0 },
      otherDirs: {},
      byKind: { DIR: 1, FILE: 1, SYMLINK: 0, LINK: 0 },
    },
    failures: [failedFile('usr/bin/foo', 3, { file: '/w/manifests/base', line: 12 })],
    systemFiles: [],
    unknownOwnerWarnings: [],
    diff: {
      baseline: 'b',
      ignored: [],
      added: 1,
      removed: 1,
      changed: 1,
      entries: [
        { kind: 'added', path: 'etc/new' },
        { kind: 'removed', path: 'etc/old' },
        { kind: 'mode', path: 'etc/motd', before: '0644', after: '0444' },
      ],
    },
    // The completeness checks' findings: kinds this renderer has no code for.
    checks: [
      {
        kind: 'broken-link',
        checked: 10,
        findings: 1,
        fatal: false,
        listed: [
          {
            kind: 'broken-link',
            path: 'usr/bin/x',
            file: 'manifests/base',
            line: 77,
            message: 'dangling',
          },
          { kind: 'not-a-finding' } as unknown as Finding,
        ],
      },
    ],
    notes: [],
  };
}

test('comment body: verdict first, the cause (failed) before a kind that is only reported, links at the commit', () => {
  const body = commentBody(report(), LINKS, { title: 'verify-manifest', runUrl: 'https://x/run' });
  const lines = body.split('\n');
  assert.equal(lines[0], '❌ **verify-manifest: FAIL: 1 FAILED, 1 removed**');
  const failed = lines.indexOf('#### failed (1)');
  const broken = lines.indexOf('#### broken-link (1) — reported, not fatal');
  assert.ok(failed > 0 && broken > failed, body);
  assert.ok(
    body.includes('[`/w/manifests/base:12`](https://github.com/o/r/blob/abc/manifests/base#L12)'),
    body,
  );
  assert.ok(body.includes('(https://github.com/o/r/blob/abc/manifests/base#L77) — dangling'));
  assert.doesNotMatch(body, /not-a-finding/);
  // `removed` fails the gate: its entry is shown; the mode change (not fatal) is folded.
  const details = body.indexOf('<details>');
  assert.ok(body.indexOf('`etc/old` removed') < details, body);
  assert.ok(body.indexOf('`etc/motd` mode: 0644 → 0444') > details, body);
});

test('lineLink: no link for a file outside the checkout or without a commit', () => {
  assert.equal(lineLink('/elsewhere/m', 3, LINKS), undefined);
  assert.equal(lineLink('m', 3, { ...LINKS, sha: undefined }), undefined);
  assert.equal(lineLink('dir/a b', 3, LINKS), 'https://github.com/o/r/blob/abc/dir/a%20b#L3');
});
