/**
 * etc/driver_aliases: `driver "alias" ...` a line, read as the kernel reads
 * it (parse_aliases in modsysfile.c, through kobj_lex): a driver name, then
 * one or more aliases, each a quoted string or a name (`pci8086,1234`
 * unquoted is three tokens joined at the commas); `#` comments. A driver
 * with no alias after it, or a token out of place, is an error at its line
 * (docs/verify.md).
 */
import { readKobjLines, type ConfigError } from './kobj-lex.js';

export interface AliasLine {
  driver: string;
  alias: string;
  line: number;
}

export interface DriverAliases {
  entries: AliasLine[];
  errors: ConfigError[];
}

/** The kernel's token buffer for this file (MAXPATHLEN). */
const MAX_TOKEN = 1023;

type State = 'new' | 'driver' | 'driver-comma' | 'alias' | 'alias-comma';

export function parseDriverAliases(text: string): DriverAliases {
  let state: State = 'new';
  let driver = '';
  let current = '';
  return readKobjLines<AliasLine>(text, MAX_TOKEN, (tok, fail, entries) => {
    if (tok.kind === 'name' || tok.kind === 'string') {
      if (state === 'new') [current, state] = [tok.value, 'driver'];
      else if (state === 'driver-comma' || state === 'alias-comma') {
        current += tok.value;
        state = state === 'driver-comma' ? 'driver' : 'alias';
      } else {
        if (state === 'driver') driver = current;
        else entries.push({ driver, alias: current, line: tok.line });
        [current, state] = [tok.value, 'alias'];
      }
    } else if (tok.kind === 'comma' && (state === 'driver' || state === 'alias')) {
      current += ',';
      state = state === 'driver' ? 'driver-comma' : 'alias-comma';
    } else if (tok.kind === 'newline' || tok.kind === 'eof') {
      if (state === 'alias') entries.push({ driver, alias: current, line: tok.line });
      else if (state !== 'new') fail(tok.line, `driver "${current}" has no alias after it`);
      state = 'new';
    } else {
      fail(tok.line, `unexpected "${tok.value}" (a line is: driver "alias" ...)`);
    }
  });
}
