import type { RawValue } from '../options/values.js';

/** Commander accumulator for repeatable options. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A commander flag (`--keep-staging`) as the text the shared parsers read. */
export const flag = (value: boolean | undefined) => (value ? 'true' : undefined);

/** commander's key of an option: `--man-dir` is `manDir`. */
const commanderKey = (option: string) =>
  option.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Commander's parsed flags as the raw values the shared parsers of
 * src/options read, one per option named in `options` (`flags.manDir` is
 * `man-dir`; a boolean flag is 'true' or absent).
 */
export function rawFlags<K extends string>(
  options: readonly K[],
  flags: object,
): Partial<Record<K, RawValue>> {
  const raw: Partial<Record<K, RawValue>> = {};
  for (const option of options) {
    const value: unknown = (flags as Record<string, unknown>)[commanderKey(option)];
    raw[option] =
      typeof value === 'boolean' ? flag(value) : (value as string | string[] | undefined);
  }
  return raw;
}
