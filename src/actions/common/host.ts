/**
 * Which kernel the runner has, as `uname -s` says it. Never
 * core.platform.getDetails(): it throws on illumos.
 */
import { type as osType } from 'node:os';
import * as exec from '@actions/exec';
import { UserError } from '../../util/errors.js';

/** `uname -s` (`SunOS` on illumos, `Linux`, `Darwin`); os.type() where there is no uname. */
export async function unameS(): Promise<string> {
  try {
    const out = await exec.getExecOutput('uname', ['-s'], { silent: true, ignoreReturnCode: true });
    const name = out.stdout.trim();
    if (out.exitCode === 0 && name) return name;
  } catch {
    // no uname on this host (Windows): fall through
  }
  return osType();
}

/** True on illumos (and Solaris): what the illumos build steps need. */
export function isIllumos(uname: string): boolean {
  return uname === 'SunOS';
}

/**
 * The gate of the actions that only make sense on illumos: fails with the
 * kernel it found. Their engines are not written yet, so on illumos they
 * fail too, saying so, rather than pretend to have done the work.
 */
export async function illumosOnlyPlaceholder(action: string): Promise<never> {
  const uname = await unameS();
  if (!isIllumos(uname)) {
    throw new UserError(`${action} needs an illumos host (uname -s: ${uname})`);
  }
  throw new UserError(
    `${action}: this release does not include its engine yet (it comes in a later release); ` +
      'nothing was done',
  );
}
