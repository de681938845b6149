/** `verify-manifest --format json`, its report parsed and checked against the schema. */
import assert from 'node:assert/strict';
import type { VerifyReport } from '../../src/verify/types.js';
import { runCli, show, type CliOptions, type CliRun } from './cli.js';
import { schemaErrors } from './report-schema.js';

export async function verifyJson(
  args: readonly string[],
  options?: CliOptions,
): Promise<{ run: CliRun; report: VerifyReport }> {
  const run = await runCli(['verify-manifest', ...args, '--format', 'json'], options);
  let report: VerifyReport;
  try {
    report = JSON.parse(run.stdout) as VerifyReport;
  } catch {
    assert.fail(`stdout is not one JSON document\n${show(run)}`);
  }
  const errors = schemaErrors(report);
  assert.equal(errors, '', `the report does not match the schema:\n${errors}\n${show(run)}`);
  return { run, report };
}
