/**
 * Validates a verify-manifest `--format json` report against
 * schemas/verify-report.schema.json (draft 2020-12) with Ajv, a validator
 * we did not write.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { FailureReport } from '../../src/verify/types.js';
import { REPO_ROOT } from './paths.js';

// ajv/dist/2020.js is CommonJS: under NodeNext its default import is
// module.exports, whose `default` is the class.
const Ajv2020 = Ajv2020Module.default;

export const REPORT_SCHEMA_FILE = join(REPO_ROOT, 'schemas', 'verify-report.schema.json');

const ajv = new Ajv2020({ allErrors: true, strict: true });
const validate = ajv.compile(JSON.parse(readFileSync(REPORT_SCHEMA_FILE, 'utf8')) as object);

/** The schema's complaints about `report`, one a line; empty when it is valid. */
export function schemaErrors(report: unknown): string {
  if (validate(report)) return '';
  return ajv.errorsText(validate.errors, { separator: '\n', dataVar: 'report' });
}

/**
 * A FAILED file as a report lists it (for report fixtures): searched for in
 * the overlay only, at `logLine` of the log and `manifest` file:line.
 */
export function failedFile(
  path: string,
  logLine: number,
  manifest: { file: string; line: number },
): FailureReport {
  const searched = [`A overlay/${path}`];
  return {
    path,
    kind: 'FILE',
    log: 'log',
    logLine,
    manifest,
    searched,
    allowed: false,
    notInManifest: false,
  };
}
