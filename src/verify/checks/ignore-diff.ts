/**
 * --ignore-diff: paths left out of the diff against the baseline, so that
 * `--fail-on changed` can gate a rebuild. etc/joyent_buildstamp is always
 * left out of the changes (not of added/removed): it holds the BUILDSTAMP,
 * which differs on every build by design (docs/verify.md).
 */
import { BUILDSTAMP_FILE } from '../../formats/output-layout.js';
import { UsageError } from '../../util/errors.js';
import { printable } from '../../util/format.js';
import { compileGlob, GlobError } from '../../util/glob.js';
import type { DiffEntry } from '../types.js';

export interface IgnoredPattern {
  pattern: string;
  /** Diff entries it left out. */
  paths: number;
  kinds: 'all' | 'changed';
}

/**
 * A glob for image paths (no leading `./`; docs/verify.md, "Globs"), or a
 * usage error naming the option.
 */
export function imageGlob(pattern: string, option: string): (path: string) => boolean {
  try {
    return compileGlob(pattern);
  } catch (err) {
    if (!(err instanceof GlobError)) throw err;
    throw new UsageError(
      `${option} ${printable(JSON.stringify(pattern))}: not a glob we take: ${err.message}`,
    );
  }
}

const imagePath = (path: string) => path.replace(/^\.\/?/, '');

export function ignoreDiff(
  entries: readonly DiffEntry[],
  patterns: readonly string[],
): { entries: DiffEntry[]; ignored: IgnoredPattern[] } {
  const rules = [
    ...patterns.map((pattern) => ({
      pattern,
      match: imageGlob(pattern, '--ignore-diff'),
      kinds: 'all' as const,
      paths: 0,
    })),
    {
      pattern: BUILDSTAMP_FILE,
      match: (p: string) => p === BUILDSTAMP_FILE,
      kinds: 'changed' as const,
      paths: 0,
    },
  ];
  const kept = entries.filter((entry) => {
    const path = imagePath(entry.path);
    const isChange = entry.kind !== 'added' && entry.kind !== 'removed';
    const rule = rules.find((r) => (r.kinds === 'all' || isChange) && r.match(path));
    if (rule) rule.paths++;
    return !rule;
  });
  return {
    entries: kept,
    ignored: rules.map(({ pattern, paths, kinds }) => ({ pattern, paths, kinds })),
  };
}
