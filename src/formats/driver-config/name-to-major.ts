/**
 * etc/name_to_major: `driver major` a line, read as the kernel reads it
 * (read_binding_file in modsysfile.c, through kobj_lex): `#` comments,
 * blank lines, CR or LF line ends; a major is a number up to INT_MAX
 * (decimal, `0x` hex or a leading-0 octal). Lines the kernel warns about
 * are errors at their own line, and give no entry (docs/verify.md).
 */
import { kobjValue, readKobjLines, type ConfigError } from './kobj-lex.js';

export interface MajorLine {
  driver: string;
  major: number;
  line: number;
}

export interface NameToMajor {
  entries: MajorLine[];
  errors: ConfigError[];
}

/** The kernel's token buffer for this file (MAXNAMELEN). */
const MAX_TOKEN = 255;
const INT_MAX = 0x7fffffff;

export function parseNameToMajor(text: string): NameToMajor {
  let state: 'new' | 'name' | 'value' | 'bind' = 'new';
  let driver = '';
  let major = 0;
  return readKobjLines<MajorLine>(text, MAX_TOKEN, (tok, fail, entries) => {
    if (tok.kind === 'name' || tok.kind === 'string') {
      if (state === 'new') [driver, state] = [tok.value, 'name'];
      else if (state === 'value') state = 'bind';
      else if (state === 'name')
        fail(tok.line, `"${driver}": "${tok.value}" is not a major number`);
      else fail(tok.line, `"${driver} ${major}": unexpected "${tok.value}" after the binding name`);
    } else if (tok.kind === 'decval' || tok.kind === 'hexval') {
      const value = kobjValue(tok.value);
      if (state !== 'name') {
        fail(tok.line, `major number ${tok.value} without a driver name before it`);
        state = 'new';
      } else if (value === undefined || value < 0) {
        fail(tok.line, `"${driver}": "${tok.value}" is not a major number`);
      } else if (value > INT_MAX) {
        fail(tok.line, `"${driver}": major ${tok.value} is larger than ${INT_MAX}`);
        state = 'new';
      } else {
        [major, state] = [value, 'value'];
      }
    } else if (tok.kind === 'newline' || tok.kind === 'eof') {
      if (state === 'value' || state === 'bind') entries.push({ driver, major, line: tok.line });
      else if (state === 'name') fail(tok.line, `"${driver}" has no major number`);
      state = 'new';
    } else {
      fail(tok.line, `unexpected "${tok.value}" (a line is "driver major")`);
    }
  });
}
