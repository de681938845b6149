/**
 * How an option is named in a message: the CLI says `--log`, an action says
 * `input "logs"`. Every parser of src/options takes one of these, so one
 * check gives each user the name they typed.
 */
export interface OptionNames<K extends string = string> {
  /** The option as the user wrote it; `arg` is the CLI's placeholder (`--local-cache-dir <dir>`). */
  name(option: K, arg?: string): string;
  /** The option with a value (already quoted as wanted): `--define "X"`, `input "defines": "X"`. */
  value(option: K, value: string): string;
}

/** The CLI's names: `--<option>`, or `-m/--manifest` for an option in `short`. */
export function cliNames<K extends string>(short: Partial<Record<K, string>> = {}): OptionNames<K> {
  return {
    name: (option, arg) =>
      `${short[option] ? `-${short[option]}/` : ''}--${option}${arg ? ` ${arg}` : ''}`,
    value: (option, value) => `--${option} ${value}`,
  };
}

/**
 * An action's names: `input "<name>"`, where `renamed` maps the options
 * whose input has another name (`log` is input `logs`).
 */
export function inputNames<K extends string>(
  renamed: Partial<Record<K, string>> = {},
): OptionNames<K> {
  const input = (option: K) => `input "${renamed[option] ?? option}"`;
  return {
    name: (option) => input(option),
    value: (option, value) => `${input(option)}: ${value}`,
  };
}

/**
 * The renames of an action whose list options are plural inputs (the CLI's
 * repeatable `--manifest` is the input `manifests`, one item a line).
 */
export function pluralInputs<K extends string>(...lists: K[]): Partial<Record<K, string>> {
  return Object.fromEntries(lists.map((option) => [option, `${option}s`])) as Partial<
    Record<K, string>
  >;
}
