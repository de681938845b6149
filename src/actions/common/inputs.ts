/**
 * The actions' one reader of inputs (as docker/build-push-action's
 * getInputs()): each action entry reads its inputs' raw text here and hands
 * it to the parser of src/options it shares with the CLI, which checks it
 * and names a bad one as `input "<name>"`.
 */
import * as core from '@actions/core';
import { inputNames, type OptionNames } from '../../options/names.js';

/** Reads one input's raw text by its name (the runner's INPUT_<NAME>, or a value the root action gives). */
export type InputReader = (name: string) => string;

/** The runner's inputs, as @actions/core reads them (trimmed). */
export const runnerInput: InputReader = (name) => core.getInput(name);

/**
 * The raw text of `options`, each read from its input (`renamed` maps an
 * option to its input's name where they differ), with the names for messages.
 */
export function getInputs<K extends string>(
  options: readonly K[],
  renamed: Partial<Record<K, string>> = {},
  read: InputReader = runnerInput,
): { raw: Record<K, string>; names: OptionNames<K> } {
  const raw = {} as Record<K, string>;
  for (const option of options) raw[option] = read(renamed[option] ?? option);
  return { raw, names: inputNames(renamed) };
}
