/**
 * verify-manifest action: runs the engine's verifyManifest() on build logs,
 * writes its markdown report to the job summary and its JSON report under
 * RUNNER_TEMP, annotates the manifest line of each FAILED entry (capped),
 * prints every failure as a plain line, and fails when the verdict does.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import { findingLine, formatMarkdown, verdictLine } from '../../verify/report.js';
import { DEFAULT_FAIL_ON, FAIL_ON, SKIPPABLE_CHECKS } from '../../verify/types.js';
import { verifyManifest } from '../../verify/verify.js';
import { UserError } from '../../util/errors.js';
import { choiceListInput, definesInput, listInput, optionalInput } from '../common/inputs.js';
import { report, writeSummary } from '../common/report.js';
import { runAction } from '../common/run.js';

/** A whole-number input, or undefined when empty. */
function countInput(name: string): number | undefined {
  const value = optionalInput(name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new UserError(`input "${name}": "${value}" is not a whole number`);
  return Number(value);
}

await runAction('verify-manifest', async () => {
  const logs = listInput('logs');
  if (logs.length === 0) throw new UserError('input "logs" is required (one build log a line)');

  const result = await verifyManifest({
    logs,
    manifests: listInput('manifests'),
    defines: definesInput('defines'),
    platform: optionalInput('platform'),
    baseline: optionalInput('baseline'),
    allowMissing: listInput('allow-missing'),
    proto: optionalInput('proto'),
    overlays: listInput('overlays'),
    manDir: optionalInput('man-dir'),
    systemRoot: optionalInput('system-root'),
    ignoreDiff: listInput('ignore-diff'),
    shipPolicy: optionalInput('ship-policy'),
    allowDangling: listInput('allow-dangling'),
    minFree: optionalInput('min-free'),
    minFreeInodes: countInput('min-free-inodes'),
    skipChecks: choiceListInput('skip-checks', SKIPPABLE_CHECKS, []),
    failOn: choiceListInput('fail-on', FAIL_ON, DEFAULT_FAIL_ON),
  });

  const dir = await mkdtemp(join(process.env.RUNNER_TEMP || tmpdir(), 'joyent-live-verify-'));
  const reportPath = join(dir, 'verify-report.json');
  await writeFile(reportPath, JSON.stringify(result, null, 2) + '\n');
  const blocking = result.failures.filter((f) => !f.allowed);
  core.setOutput('failed-count', String(blocking.length));
  core.setOutput('verdict', result.verdict);
  core.setOutput('report', reportPath);

  const where = (f: (typeof result.failures)[number]) =>
    f.manifest ? `${f.manifest.file}:${f.manifest.line}` : `${f.log}:${f.logLine}`;
  report(
    blocking.map((f) => ({
      line: `FAILED ${f.path} (${where(f)})`,
      message:
        `${f.kind} ${f.path} is missing from the image` +
        (f.searched.length ? `; searched ${f.searched.join(', ')}` : ''),
      title: 'verify-manifest: FAILED entry',
      file: f.manifest?.file ?? f.log,
      startLine: f.manifest?.line ?? f.logLine,
    })),
    'error',
  );
  // Completeness findings: fatal ones as errors, the others as warnings.
  for (const fatal of [true, false]) {
    report(
      result.checks
        .filter((c) => c.fatal === fatal)
        .flatMap((c) => c.listed)
        .map((f) => ({
          line: findingLine(f),
          message: `${f.path ? `${f.path}: ` : ''}${f.message}`,
          title: `verify-manifest: ${f.kind}`,
          file: f.file,
          startLine: f.line,
        })),
      fatal ? 'error' : 'warning',
    );
  }
  for (const f of result.failures.filter((x) => x.allowed)) {
    core.info(`FAILED ${f.path} (${where(f)}) (allowed missing)`);
  }
  for (const note of result.notes) core.info(`note: ${note}`);
  core.info(verdictLine(result));
  core.info(`JSON report: ${reportPath}`);
  await writeSummary(formatMarkdown(result));

  if (result.verdict === 'fail') core.setFailed(verdictLine(result));
});
