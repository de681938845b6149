/**
 * Action inputs, read with @actions/core and checked here so that a wrong
 * value fails the step with a message naming the input (a UserError: no
 * stack trace), not deep inside the engine.
 */
import * as core from '@actions/core';
import { UserError } from '../../util/errors.js';

/** A single-line input, or undefined when it is empty or unset. */
export function optionalInput(name: string): string | undefined {
  const value = core.getInput(name).trim();
  return value === '' ? undefined : value;
}

/**
 * A list input: one item a line (YAML `|` block), blank lines and lines
 * starting with `#` ignored, each item trimmed. Items are never split on
 * commas or spaces: paths may contain both.
 */
export function listInput(name: string): string[] {
  return core
    .getInput(name)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];

/** A boolean input (YAML 1.2 core schema spellings); empty means `fallback`. */
export function booleanInput(name: string, fallback: boolean): boolean {
  const value = core.getInput(name).trim();
  if (value === '') return fallback;
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  throw new UserError(`input "${name}" must be true or false, not ${JSON.stringify(value)}`);
}

/** One of a fixed set of values; empty means `fallback`. */
export function choiceInput<T extends string>(name: string, choices: readonly T[], fallback: T): T {
  const value = core.getInput(name).trim();
  if (value === '') return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UserError(
    `input "${name}" must be one of ${choices.join(', ')}, not ${JSON.stringify(value)}`,
  );
}

/** A whole number within [min, max], or undefined when empty. */
export function integerInput(name: string, min: number, max: number): number | undefined {
  const value = optionalInput(name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UserError(
      `input "${name}" must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

/** `NAME=VALUE` lines (manifest `$NAME` variables) as a map. */
export function definesInput(name: string): Map<string, string> {
  const defines = new Map<string, string>();
  for (const item of listInput(name)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(item);
    if (!m) throw new UserError(`input "${name}": ${JSON.stringify(item)} is not NAME=VALUE`);
    defines.set(m[1], m[2]);
  }
  return defines;
}

/**
 * A list whose items may be given one a line or comma-separated on one line
 * (`fail-on: failed,unknown-owner`), each checked against `choices`.
 */
export function choiceListInput<T extends string>(
  name: string,
  choices: readonly T[],
  fallback: readonly T[],
): T[] {
  const items = listInput(name)
    .flatMap((line) => line.split(','))
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0) return [...fallback];
  for (const item of items) {
    if (!(choices as readonly string[]).includes(item)) {
      throw new UserError(
        `input "${name}": unknown value ${JSON.stringify(item)} (choose from ${choices.join(', ')})`,
      );
    }
  }
  return items as T[];
}
