/**
 * The ship policy (`--ship-policy <file>`): what a proto holds that is not
 * expected in a live image (`skip <glob>`), and which files of the image may
 * be setuid or setgid (`setuid <glob>`). One rule a line (image paths, no
 * leading `/`); `#` starts a comment; blank lines are ignored
 * (docs/verify.md).
 */
import { readFile } from 'node:fs/promises';
import { describeError, UserError } from '../../util/errors.js';
import { imageGlob } from './ignore-diff.js';

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
      errors.push(`${where}: unknown verb "${verb}" (a rule is "skip <glob>" or "setuid <glob>")`);
      return;
    }
    if (rest.length !== 1) {
      errors.push(`${where}: "${verb}" takes one glob, not ${rest.length}`);
      return;
    }
    const glob = rest[0].replace(/^\//, '');
    try {
      rules.push({ verb, glob, match: imageGlob(glob, verb), file, line: i + 1, used: 0 });
    } catch (err) {
      errors.push(`${where}: ${(err as Error).message}`);
    }
  });
  if (errors.length > 0) {
    throw new UserError(`${errors.length} error(s) in the ship policy ${file}`, {
      details: errors,
    });
  }
  return rules;
}
