/**
 * etc/minor_perm: `driver:minor mode owner group` a line, read as devfsadm
 * reads it (i_devfs_read_minor_perm in libdevinfo): text from `#` on is a
 * comment, blank lines are skipped, the minor name follows the first `:`,
 * the mode is a number (`0666`: a leading 0 is octal), owner and group may
 * be left out (root and sys). A line without a mode, or with one that is
 * not a number, is ignored by devfsadm and is an error here, at its line
 * (docs/verify.md).
 */
import { kobjValue, type ConfigError } from './kobj-lex.js';

export interface MinorPermLine {
  driver: string;
  minor?: string;
  mode: number;
  owner?: string;
  group?: string;
  line: number;
}

export interface MinorPerm {
  entries: MinorPermLine[];
  errors: ConfigError[];
}

export function parseMinorPerm(text: string): MinorPerm {
  const entries: MinorPermLine[] = [];
  const errors: ConfigError[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const hash = raw.indexOf('#');
    const words = (hash >= 0 ? raw.slice(0, hash) : raw).split(/[ \t\r\f\v]+/).filter(Boolean);
    if (words.length === 0) return;
    const colon = words[0].indexOf(':');
    const driver = colon >= 0 ? words[0].slice(0, colon) : words[0];
    const minor = colon >= 0 ? words[0].slice(colon + 1) : undefined;
    if (driver === '') {
      errors.push({ line, message: `"${words[0]}" names no driver before the ":"` });
      return;
    }
    if (words.length < 2) {
      errors.push({
        line,
        message: `"${words[0]}" has no mode (a line is "driver:minor mode owner group")`,
      });
      return;
    }
    const mode = kobjValue(words[1]);
    if (mode === undefined || mode < 0 || mode > 0o7777) {
      errors.push({ line, message: `"${words[0]}": "${words[1]}" is not a mode (e.g. 0666)` });
      return;
    }
    entries.push({ driver, minor, mode, owner: words[2], group: words[3], line });
  });
  return { entries, errors };
}
