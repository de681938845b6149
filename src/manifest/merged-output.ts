import { sortDiagnostics } from './diagnostic-order.js';
import { loadManifests, sameDefinition, type LoadedManifest } from './load.js';
import { formatEntry, parseManifestLine, type Defines } from '../formats/manifest-line.js';
import { compareBytes } from './path.js';
import { errorAt, type Diagnostic, type ManifestEntry } from './types.js';

const NO_DEFINES: Defines = new Map();

function sameEntry(a: ManifestEntry, b: ManifestEntry): boolean {
  return a.path === b.path && sameDefinition(a, b);
}

/** Entries sorted by path in byte order (C locale). */
export function sortedEntries(entries: Iterable<ManifestEntry>): ManifestEntry[] {
  return [...entries].sort((a, b) => compareBytes(a.path, b.path));
}

export interface MergedText {
  /** The merged manifest, one line per entry, final newline. */
  text: string;
  /**
   * Entries that a manifest line cannot carry back (a `--define` value with
   * blanks or a `$NAME` in it): errors, because the output would not
   * round-trip.
   */
  diagnostics: Diagnostic[];
}

/**
 * Writes merged entries as a manifest: sorted by path in byte order, one
 * normalized line each, no comments. Every line is parsed back (without
 * defines) and must give the same entry, so the output merges to itself.
 */
export function formatMerged(entries: Iterable<ManifestEntry>): MergedText {
  const lines: string[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const entry of sortedEntries(entries)) {
    const line = formatEntry(entry);
    const loc = { file: entry.file, line: entry.line };
    const back = parseManifestLine(line, loc, NO_DEFINES).entry;
    if (!back || !sameEntry(entry, back)) {
      diagnostics.push(
        errorAt(
          loc,
          `${JSON.stringify(line)} cannot be written back as a manifest line (a --define value with blanks, "=" or "$NAME" in it?)`,
        ),
      );
      continue;
    }
    lines.push(line);
  }
  return { text: lines.length > 0 ? lines.join('\n') + '\n' : '', diagnostics };
}

export interface MergeResult {
  loaded: LoadedManifest;
  /** Every diagnostic of loading and writing, in file and line order. */
  diagnostics: Diagnostic[];
  /** The merged manifest; undefined when there were errors. */
  text?: string;
}

/**
 * `manifest merge`: loads and merges manifests (docs/manifest.md: later definitions
 * win with a warning, type conflicts are errors) and writes the result as
 * one manifest. Any error leaves `text` undefined.
 */
export async function mergeManifests(
  inputs: readonly string[],
  defines: Defines,
): Promise<MergeResult> {
  const loaded = await loadManifests(inputs, defines);
  const merged = formatMerged(loaded.entries.values());
  const diagnostics = sortDiagnostics([...loaded.diagnostics, ...merged.diagnostics], loaded.files);
  const failed = diagnostics.some((d) => d.severity === 'error');
  return { loaded, diagnostics, text: failed ? undefined : merged.text };
}
