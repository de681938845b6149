// verify-manifest reads logs as a stream: on a 1,000,000-line log its peak
// resident memory stays under 100 MB (a full SmartOS build logs ~28,000
// entries; CI logs of many builds add up). The CLI runs in a child process,
// as a user runs it, with a preload that records the peak (maxRSS) at exit.
// No timing is asserted.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { VerifyReport } from '../src/verify/types.js';
import { writeBigLog } from './helpers/big-log.js';
import { runCaptured, scratchDir } from './helpers/cli.js';
import { maxRssArgs, readMaxRss } from './helpers/max-rss-run.js';
import { CLI } from './helpers/paths.js';
import { schemaErrors } from './helpers/report-schema.js';

const LINES = 1_000_000;
const LIMIT = 100 * 1000 * 1000;

const runNode = (args: readonly string[], env: NodeJS.ProcessEnv) =>
  runCaptured(process.execPath, args, { env: { ...process.env, ...env } });

test(`verify-manifest --format json on a ${LINES.toLocaleString('en')}-line log peaks under 100 MB`, async (t) => {
  const dir = await scratchDir(t);
  const log = join(dir, 'big.log');
  const stats = await writeBigLog(log, { lines: LINES });
  assert.equal(stats.lines, LINES);
  assert.ok(stats.failed > 0 && stats.byTag.S > 0 && stats.byKind.LINK > 0);

  const rssFile = join(dir, 'maxrss');
  const preload = maxRssArgs(rssFile);
  const run = await runNode(
    [...preload.args, CLI, 'verify-manifest', '--log', log, '--format', 'json'],
    preload.env,
  );
  assert.equal(run.code, 1, `exit ${run.code}\n${run.stderr}`); // it has FAILED entries
  const peak = await readMaxRss(rssFile);

  // The report is right, so the run did read the whole log.
  const report = JSON.parse(run.stdout) as VerifyReport;
  assert.equal(schemaErrors(report), '');
  assert.deepEqual(report.logs, [
    {
      path: log,
      style: 'joyent-live',
      lines: LINES,
      entries: stats.entries,
      truncatedLastLine: false,
    },
  ]);
  assert.equal(report.counts.entries, stats.entries);
  assert.equal(report.counts.failed, stats.failed);
  assert.equal(report.counts.ok, stats.ok);
  assert.deepEqual(report.counts.byTag, { ...stats.byTag, other: 0 });
  assert.deepEqual(report.counts.byKind, stats.byKind);
  assert.equal(report.failures.length, stats.failed);
  assert.deepEqual(
    report.failures.slice(0, stats.firstFailures.length).map((f) => ({
      path: f.path,
      kind: f.kind,
      line: f.logLine,
    })),
    stats.firstFailures,
  );

  t.diagnostic(
    `peak RSS ${(peak / 1e6).toFixed(1)} MB for ${(stats.bytes / 1e6).toFixed(1)} MB of log`,
  );
  assert.ok(peak < LIMIT, `peak RSS ${(peak / 1e6).toFixed(1)} MB is not under 100 MB`);
});
