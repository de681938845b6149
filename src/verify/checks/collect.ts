/**
 * Runs one completeness check into its line of the report: every finding
 * is counted, the first MAX_LISTED_FINDINGS are kept (so a check that finds
 * hundreds of thousands of things still runs in bounded memory).
 */
import type { CheckKind, CheckResult, FailOn, Finding } from '../types.js';

/** Findings kept per check; the count is always exact. */
export const MAX_LISTED_FINDINGS = 10_000;

/**
 * A check: yields its findings, returns how many things it looked at. The
 * kinds it yields must be among `kinds` (one line of the table per kind).
 */
export type Check = AsyncGenerator<Finding, number> | Generator<Finding, number>;

export function emptyResult(kind: CheckKind, failOn: readonly FailOn[]): CheckResult {
  return { kind, checked: 0, findings: 0, fatal: failOn.includes(kind), listed: [] };
}

/** Drains `check` into one result per kind; `checked` goes to each of them. */
export async function collectCheck(
  check: Check,
  kinds: readonly CheckKind[],
  failOn: readonly FailOn[],
): Promise<CheckResult[]> {
  const results = new Map(kinds.map((kind) => [kind, emptyResult(kind, failOn)]));
  for (;;) {
    const step = await check.next();
    if (step.done) {
      for (const result of results.values()) result.checked = step.value;
      break;
    }
    const result = results.get(step.value.kind);
    if (!result) throw new Error(`a ${kinds.join('/')} check yielded a ${step.value.kind} finding`);
    if (result.findings++ < MAX_LISTED_FINDINGS) result.listed.push(step.value);
  }
  return [...results.values()];
}
