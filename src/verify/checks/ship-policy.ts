/**
 * The ship policy (`--ship-policy <file>`): what a proto holds that is not
 * expected in a live image (`skip <glob>`), and which files of the image may
 * be setuid or setgid (`setuid <glob>`). One rule a line (image paths, no
 * leading `/`); `#` starts a comment; blank lines are ignored
 * (docs/verify.md).
 */
import { readFile } from 'node:fs/promises';
import { describeError, UserError } from '../../util/errors.js';
import { printable } from '../../util/format.js';
import { compileGlob, GlobError } from '../../util/glob.js';
import type { Finding } from '../types.js';

export const POLICY_VERBS = ['skip', 'setuid'] as const;

export interface PolicyRule {
  verb: (typeof POLICY_VERBS)[number];
  glob: string;
  match: (path: string) => boolean;
  file: string;
  line: number;
  /** Proto paths it skipped (skip), image files it covered (setuid). */
  used: number;
  /** The first path it skipped that the manifest ships, if any. */
  shipped?: string;
}

/** A rule of the policy that is stale (matches nothing, or what it should not), at its line. */
export function staleRule(rule: PolicyRule, message: string): Finding {
  return { kind: 'stale-policy', path: rule.glob, file: rule.file, line: rule.line, message };
}

/** Errors listed one by one; beyond, counted (a policy of thousands of bad lines is one mistake). */
export const MAX_ERRORS_LISTED = 100;

export async function readShipPolicy(file: string): Promise<PolicyRule[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(`--ship-policy ${file}: ${describeError(err)}`);
  }
  const rules: PolicyRule[] = [];
  const errors: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw
      .replace(/\r$/, '')
      .replace(/(^|\s)#.*$/, '')
      .trim();
    if (line === '') return;
    const [verb, ...rest] = line.split(/\s+/);
    const where = `${file}:${i + 1}`;
    if (verb !== 'skip' && verb !== 'setuid') {
      errors.push(
        `${where}: unknown verb "${printable(verb)}" (a rule is "skip <glob>" or "setuid <glob>")`,
      );
      return;
    }
    if (rest.length !== 1) {
      errors.push(`${where}: "${verb}" takes one glob, not ${rest.length}`);
      return;
    }
    const glob = rest[0].replace(/^\//, '');
    try {
      rules.push({ verb, glob, match: compileGlob(glob), file, line: i + 1, used: 0 });
    } catch (err) {
      if (!(err instanceof GlobError)) throw err;
      errors.push(`${where}: ${verb} ${printable(glob)}: not a glob we take: ${err.message}`);
    }
  });
  if (errors.length > 0) {
    const more = errors.length - MAX_ERRORS_LISTED;
    throw new UserError(`${errors.length} error(s) in the ship policy ${file}`, {
      details: [
        ...errors.slice(0, MAX_ERRORS_LISTED),
        ...(more > 0
          ? [`... and ${more} more error(s) (the first ${MAX_ERRORS_LISTED} are listed)`]
          : []),
      ],
    });
  }
  return rules;
}
