import { UsageError } from '../util/errors.js';

/** Commander accumulator for repeatable options. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--define NAME=VALUE` values as a map; anything else is a usage error. */
export function parseDefines(values: readonly string[], flag = '--define'): Map<string, string> {
  const defines = new Map<string, string>();
  for (const value of values) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(value);
    if (!m) throw new UsageError(`${flag} "${value}" is not NAME=VALUE`);
    defines.set(m[1], m[2]);
  }
  return defines;
}
