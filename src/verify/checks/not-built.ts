/**
 * not-built: a build that did not finish must not pass. A log whose last
 * entry never got its status (the C builder dies mid-line on a duplicate
 * entry, a missing parent, a directory where a file belongs), a joyent-live
 * log without its closing summary line, and, with manifests given, every
 * manifest entry no log reached (docs/verify.md).
 */
import { compareBytes } from '../../manifest/path.js';
import { TYPE_NAMES, type ManifestEntry } from '../../manifest/types.js';
import { entryPathOf, type LogSummary } from '../../formats/build-log.js';
import type { Finding } from '../types.js';

export interface NotBuiltInput {
  logs: readonly LogSummary[];
  /** The merged manifest entries, when manifests were given. */
  manifest?: Iterable<ManifestEntry>;
  /** Paths of `manifest` that no log has an entry line for. */
  unseen?: ReadonlySet<string>;
}

export function* notBuilt(input: NotBuiltInput): Generator<Finding, number> {
  let checked = 0;
  for (const log of input.logs) {
    checked++;
    for (const cut of log.unfinished) {
      yield {
        kind: 'not-built',
        path: entryPathOf(cut.text) ?? '',
        file: log.path,
        line: cut.line,
        message: `unfinished entry line (the builder stopped here or its output was cut): ${JSON.stringify(cut.text.slice(0, 200))}`,
      };
    }
    if (log.style === 'joyent-live' && !log.closed) {
      yield {
        kind: 'not-built',
        path: '',
        file: log.path,
        line: log.lines,
        message: 'the log has no closing "# summary:" line: the build did not finish writing it',
      };
    }
  }
  if (!input.manifest || !input.unseen) return checked;
  const missing: ManifestEntry[] = [];
  for (const entry of input.manifest) {
    checked++;
    if (input.unseen.has(entry.path)) missing.push(entry);
  }
  missing.sort((a, b) => compareBytes(a.file, b.file) || a.line - b.line);
  for (const entry of missing) {
    yield {
      kind: 'not-built',
      path: entry.path,
      file: entry.file,
      line: entry.line,
      message: `${TYPE_NAMES[entry.type]} ${entry.path} is in the manifest, but no log has an entry for it: it was never built`,
    };
  }
  return checked;
}
