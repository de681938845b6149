/**
 * Parsers of single option values, from the text the user typed: a CLI
 * option value (commander gives a string, or a list for repeatable ones)
 * or an action input (always one string; lists one item a line). Each
 * takes the option's display name for its messages; a bad value is a
 * UsageError (exit 2 in the CLI, a failed step in an action).
 */
import { UsageError } from '../util/errors.js';
import { escapeCharacter, printable } from '../util/format.js';
import { compileGlob, GlobError } from '../util/glob.js';

/** A value as typed: a string, the items of a repeatable CLI option, or nothing. */
export type RawValue = string | readonly string[] | undefined;

/** A value as messages show it: quoted, control and bidi characters escaped. */
const quote = (value: string) => printable(JSON.stringify(value));

/** A single value, trimmed; undefined when not given or blank. */
export function text(raw: RawValue, name: string): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') {
    if (raw.length > 1) throw new UsageError(`${name} takes one value, not ${raw.length}`);
    return text(raw[0], name);
  }
  const value = raw.trim();
  return value === '' ? undefined : value;
}

/**
 * A list: a repeatable CLI option's values as given, or an input's lines
 * (blank lines and lines starting with `#` ignored, each trimmed). Items are
 * never split on commas or spaces: paths may contain both.
 */
export function list(raw: RawValue): string[] {
  if (raw === undefined) return [];
  if (typeof raw !== 'string') return [...raw];
  return raw
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * A boolean: exactly `true` or `false` (no `True`, `yes` or `1`: a value a
 * reader could take either way is an error, never a silent default);
 * empty means `fallback`.
 */
export function bool(raw: RawValue, name: string, fallback: boolean): boolean {
  const value = text(raw, name);
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`${name} must be true or false, not ${quote(value)}`);
}

/** One of a fixed set of values; empty means `fallback`. */
export function choice<T extends string>(
  raw: RawValue,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = text(raw, name);
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${name} must be one of ${choices.join(', ')}, not ${quote(value)}`);
}

/**
 * A list of choices, one a line or comma-separated (`failed,unknown-owner`);
 * empty means `fallback`.
 */
export function choiceList<T extends string>(
  raw: RawValue,
  name: string,
  choices: readonly T[],
  fallback: readonly T[],
): T[] {
  const items = list(raw)
    .flatMap((line) => line.split(','))
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0) return [...fallback];
  for (const item of items) {
    if (!(choices as readonly string[]).includes(item)) {
      throw new UsageError(
        `${name}: unknown value ${quote(item)} (choose from ${choices.join(', ')})`,
      );
    }
  }
  return items as T[];
}

/** A whole number within [min, max]; undefined when empty. */
export function wholeNumber(
  raw: RawValue,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = text(raw, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(
      `${name} must be a whole number from ${min} to ${max}, not ${quote(value)}`,
    );
  }
  return Number(value);
}

/**
 * What a `NAME=VALUE` value may hold: a `word` (manifest `$NAME` variables:
 * substituted after a manifest line is split into fields, so no blank, and
 * no control or format character, which would inject lines into
 * boot_archive.manifest and the build log), or a `line` (illumos.sh
 * variables: blanks allowed, no control character but tab).
 */
export type DefineValues = 'word' | 'line';

const NOT_IN_WORD = /[\s\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const NOT_IN_LINE = /(?!\t)[\p{Cc}\p{Zl}\p{Zp}]/u;

/**
 * `NAME=VALUE` items (manifest `$NAME` variables, illumos.sh variables) as
 * a map, in the order given. `named(item)` names the option with the bad
 * item: `--define "X"`, `input "defines": "X"`.
 */
export function defines(
  raw: RawValue,
  named: (item: string) => string,
  values: DefineValues = 'word',
): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of list(raw)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(item);
    if (!m) throw new UsageError(`${named(quote(item))} is not NAME=VALUE`);
    const bad = (values === 'word' ? NOT_IN_WORD : NOT_IN_LINE).exec(m[2])?.[0];
    if (bad !== undefined) {
      const what = /\s/.test(bad) && bad.charCodeAt(0) >= 0x20 ? 'a blank' : 'a control character';
      throw new UsageError(
        `${named(quote(item))}: the value of ${m[1]} holds ${what} (${escapeCharacter(bad)})` +
          (values === 'word' ? ': a manifest variable is one word, without blanks' : ''),
      );
    }
    map.set(m[1], m[2]);
  }
  return map;
}

/**
 * A list of globs (docs/verify.md, "Globs"), each checked here so that a glob
 * the matcher refuses (an extglob, an unclosed `[`) is a usage error naming
 * the option: `--ignore-diff "X": ...`, `input "ignore-diff": "X": ...`.
 */
export function globs(raw: RawValue, named: (item: string) => string): string[] {
  const items = list(raw);
  for (const item of items) {
    try {
      compileGlob(item);
    } catch (err) {
      if (!(err instanceof GlobError)) throw err;
      throw new UsageError(`${named(quote(item))}: not a glob we take: ${err.message}`);
    }
  }
  return items;
}
