/**
 * The frame of every action entry: run the body, and turn what it throws
 * into `core.setFailed`, through the reporter the CLI uses too
 * (src/util/failure.ts). A UserError (something the user can fix) or an
 * I/O condition (a full disk: its path and ENOSPC) fails the step with its
 * message and details, never a stack trace; anything else is a bug in this
 * project, reported as such with the stack in the debug log.
 */
import * as core from '@actions/core';
import { exitOnSignals, interruption, untilInterruptHandled } from '../../util/cleanup.js';
import { describeFailure } from '../../util/failure.js';
import { printable } from '../../util/format.js';
import { findingFromText, report } from './report.js';

export async function runAction(name: string, body: () => Promise<void>): Promise<void> {
  // INT/TERM (a cancelled job): our temporaries are removed, one error line, exit 130/143.
  exitOnSignals((line) => core.error(`${name}: ${line}`));
  try {
    await body();
  } catch (err) {
    if (interruption()) return untilInterruptHandled();
    const failure = describeFailure(err);
    if (failure.kind === 'error') {
      report(failure.details.map(findingFromText), 'error');
      core.setFailed(printable(failure.message));
    } else {
      if (failure.stack) core.debug(failure.stack);
      core.setFailed(
        printable(`${name}: unexpected error (a bug, please report it): ${failure.message}`),
      );
    }
  }
}
