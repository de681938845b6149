/**
 * The one error reporter of the CLI and of every action: what a thrown
 * error is to the person reading the run (docs/exit-codes.md). A UserError
 * is its message and details; an I/O condition (a full disk, a size limit,
 * a read-only file system, EIO) met where no UserError named it is still
 * an error of the run, never "a bug": the path when the error has one, the
 * condition and its code; anything else is a bug in this project, reported
 * as such, with its stack for whoever debugs.
 */
import { describeError, errnoCode, isIoCondition, UserError } from './errors.js';

export type Failure =
  | { kind: 'error'; message: string; details: readonly string[]; exitCode: number }
  | { kind: 'bug'; message: string; stack: string | undefined };

export function describeFailure(err: unknown): Failure {
  if (err instanceof UserError) {
    return { kind: 'error', message: err.message, details: err.details, exitCode: err.exitCode };
  }
  if (isIoCondition(err)) {
    const path = (err as { path?: unknown }).path;
    const where = typeof path === 'string' ? `${path}: ` : '';
    const message = `${where}${describeError(err)} (${errnoCode(err)})`;
    return { kind: 'error', message, details: [], exitCode: 1 };
  }
  if (err instanceof Error) return { kind: 'bug', message: err.message, stack: err.stack };
  return { kind: 'bug', message: String(err), stack: undefined };
}
