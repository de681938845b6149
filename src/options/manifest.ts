/** The options of `manifest lint|merge|diff` (CLI only; there is no manifest action). */
import type { OptionNames } from './names.js';
import { bool, choice, defines, type RawValue } from './values.js';

export const MANIFEST_OPTIONS = ['define', 'strict', 'format'] as const;
export type ManifestOption = (typeof MANIFEST_OPTIONS)[number];

export const MANIFEST_FORMATS = ['text', 'json'] as const;
export type ManifestFormat = (typeof MANIFEST_FORMATS)[number];

export interface ManifestSettings {
  defines: Map<string, string>;
  strict: boolean;
  format: ManifestFormat;
}

export function parseManifestOptions(
  raw: Partial<Record<ManifestOption, RawValue>>,
  names: OptionNames<ManifestOption>,
): ManifestSettings {
  return {
    defines: defines(raw.define, (item) => names.value('define', item)),
    strict: bool(raw.strict, names.name('strict'), false),
    format: choice(raw.format, names.name('format'), MANIFEST_FORMATS, 'text'),
  };
}
