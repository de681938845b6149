/**
 * The source directories build-live searches and verify-manifest maps
 * `OK (<dir>)` lines and the unshipped check to (docs/assembly.md, "Where a
 * file's content comes from"): the same four options in both.
 */
import type { SourceDirs } from '../sources/search.js';
import type { OptionNames } from './names.js';
import { list, text, type RawValue } from './values.js';

export const SOURCE_DIR_OPTIONS = ['proto', 'overlay', 'man-dir', 'system-root'] as const;
type SourceDirOption = (typeof SOURCE_DIR_OPTIONS)[number];

/** The four options as given (`system-root` undefined when not given). */
export function sourceDirs<K extends string>(
  raw: Partial<Record<SourceDirOption | K, RawValue>>,
  names: OptionNames<SourceDirOption | K>,
): SourceDirs & { overlays: string[] } {
  return {
    proto: text(raw.proto, names.name('proto')),
    overlays: list(raw.overlay),
    manDir: text(raw['man-dir'], names.name('man-dir')),
    systemRoot: text(raw['system-root'], names.name('system-root')),
  };
}
