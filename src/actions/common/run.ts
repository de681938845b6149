/**
 * The frame of every action entry: run the body, and turn what it throws
 * into `core.setFailed`. A UserError (something the user can fix) fails the
 * step with its message and details, never a stack trace; anything else is
 * a bug in this project, reported as such with the stack in the debug log.
 */
import * as core from '@actions/core';
import { exitOnSignals, interruption, untilInterruptHandled } from '../../util/cleanup.js';
import { UserError } from '../../util/errors.js';
import { printable } from '../../util/format.js';
import { findingFromText, report } from './report.js';

export async function runAction(name: string, body: () => Promise<void>): Promise<void> {
  // INT/TERM (a cancelled job): our temporaries are removed, one error line, exit 130/143.
  exitOnSignals((line) => core.error(`${name}: ${line}`));
  try {
    await body();
  } catch (err) {
    if (interruption()) return untilInterruptHandled();
    if (err instanceof UserError) {
      report(err.details.map(findingFromText), 'error');
      core.setFailed(printable(err.message));
    } else {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof Error && err.stack) core.debug(err.stack);
      core.setFailed(printable(`${name}: unexpected error (a bug, please report it): ${message}`));
    }
  }
}
