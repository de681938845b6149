/**
 * Which kernel this host runs, as `uname -s` on PATH says it (so tests can
 * put a stand-in first on PATH). Never core.platform.getDetails(): it
 * throws on illumos.
 */
import { type as osType } from 'node:os';
import { UserError } from '../util/errors.js';
import { run } from '../util/process.js';

/** `uname -s` (`SunOS` on illumos, `Linux`, `Darwin`); os.type() where there is no uname. */
export async function unameS(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const result = await run('uname', ['-s'], { env });
  const name = result.stdout.trim();
  return result.status === 0 && name ? name : osType();
}

/** True on illumos (and Solaris): what the illumos build steps need. */
export function isIllumos(uname: string): boolean {
  return uname === 'SunOS';
}

/** Fails at once, naming the kernel found, unless this is an illumos host (docs/setup-host.md). */
export async function requireIllumos(what: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const uname = await unameS(env);
  if (!isIllumos(uname)) {
    throw new UserError(`${what} needs an illumos host (uname -s: ${uname}); nothing was done`);
  }
  return uname;
}
