/**
 * The cache entry's inputs file (docs/output-layout.md): the cache key's
 * inputs as pretty-printed JSON with keys in byte order, kept beside the
 * proto and packed into every cache entry, so that a later miss can say
 * which input changed.
 */
import { readFile } from 'node:fs/promises';
import { canonicalJson, type KeyInputs } from '../cache/key.js';

export const KEY_INPUTS_FILE = 'cache-key-inputs.json';

/** The file's text: keys in byte order at every level, two-space indent, final newline. */
export function formatKeyInputs(inputs: KeyInputs): string {
  return JSON.stringify(JSON.parse(canonicalJson(inputs)), null, 2) + '\n';
}

/** Reads an inputs file; undefined when it is absent, unreadable or not ours. */
export async function readKeyInputsFile(file: string): Promise<KeyInputs | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseKeyInputs(text);
}

/** Reads a KeyInputs document; undefined when it is not one (an older or foreign file). */
export function parseKeyInputs(text: string): KeyInputs | undefined {
  try {
    const value = JSON.parse(text) as Partial<KeyInputs>;
    if (
      value &&
      value.format === 1 &&
      typeof value.tool === 'string' &&
      typeof value.salt === 'string' &&
      typeof value.src === 'string' &&
      typeof value['illumos.sh'] === 'string' &&
      typeof value.illumos?.head === 'string' &&
      typeof value['illumos-extra']?.head === 'string' &&
      value.compilers &&
      typeof value.compilers === 'object' &&
      (value.env === undefined || (typeof value.env === 'object' && value.env !== null))
    ) {
      return value as KeyInputs;
    }
  } catch {
    // not JSON
  }
  return undefined;
}
