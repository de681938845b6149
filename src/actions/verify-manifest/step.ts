/**
 * The verify-manifest step: runs the engine's verifyManifest() on build logs,
 * writes its markdown report to the job summary and its JSON report under
 * RUNNER_TEMP, annotates the manifest line of each FAILED entry (capped),
 * prints every failure as a plain line, and fails when the verdict does.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeOnInterrupt } from '../../util/cleanup.js';
import { findingLine, formatMarkdown, verdictLine } from '../../verify/report.js';
import {
  parseVerifyOptions,
  VERIFY_INPUTS,
  VERIFY_OPTIONS,
} from '../../options/verify-manifest.js';
import { verifyManifest } from '../../verify/verify.js';
import { getInputs } from '../common/inputs.js';
import { report, say, writeSummary } from '../common/report.js';
import type { StepEnd, StepIo } from '../common/step.js';
import { publishVerifyReport, readPublishOptions } from '../common/verify-publish.js';

export async function verifyManifestStep(io: StepIo): Promise<StepEnd> {
  // format and output are the CLI's: the action writes the summary and a JSON report.
  // max-unpack is the CLI's too (a runner verifies its own builds).
  const inputs = getInputs(
    VERIFY_OPTIONS.filter((o) => o !== 'format' && o !== 'output' && o !== 'max-unpack'),
    VERIFY_INPUTS,
    io.input,
  );
  const { verify } = parseVerifyOptions(inputs.raw, inputs.names);
  const publish = readPublishOptions(io.input);
  const result = await verifyManifest(verify);

  const dir = await mkdtemp(join(process.env.RUNNER_TEMP || tmpdir(), 'joyent-live-verify-'));
  const reportPath = join(dir, 'verify-report.json');
  // Interrupted before the report is whole: no half report is left (src/util/cleanup.ts).
  const undoReport = removeOnInterrupt(dir);
  await writeFile(reportPath, JSON.stringify(result, null, 2) + '\n');
  undoReport();
  const blocking = result.failures.filter((f) => !f.allowed);
  io.output('failed-count', String(blocking.length));
  io.output('verdict', result.verdict);
  io.output('report', reportPath);

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
    say(`FAILED ${f.path} (${where(f)}) (allowed missing)`);
  }
  for (const note of result.notes) say(`note: ${note}`);
  say(verdictLine(result));
  say(`JSON report: ${reportPath}`);
  await writeSummary(formatMarkdown(result));
  await publishVerifyReport(result, publish);

  return result.verdict === 'fail' ? { failure: verdictLine(result) } : {};
}
