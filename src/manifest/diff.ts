import { loadManifests, type LoadedManifest } from './load.js';
import { formatEntry, formatMode, type Defines } from '../formats/manifest-line.js';
import { compareBytes } from './path.js';
import { formatLocation, type ManifestEntry, type SourceLocation } from './types.js';

/** What can differ between two definitions of one path. */
export const CHANGE_KINDS = ['type', 'mode', 'owner', 'group', 'target'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** A path only the second side defines. */
export interface AddedEntry {
  path: string;
  /** The entry as a normalized manifest line. */
  entry: string;
  b: SourceLocation;
}

/** A path only the first side defines. */
export interface RemovedEntry {
  path: string;
  entry: string;
  a: SourceLocation;
}

/**
 * One difference of a path both sides define. A type change is reported
 * alone (before/after are then whole manifest lines); otherwise each field
 * that differs is one change.
 */
export interface ChangedEntry {
  path: string;
  kind: ChangeKind;
  before: string;
  after: string;
  a: SourceLocation;
  b: SourceLocation;
}

export interface ManifestDiff {
  added: AddedEntry[];
  removed: RemovedEntry[];
  /** Sorted by path, then in the order of CHANGE_KINDS. */
  changed: ChangedEntry[];
}

const where = (e: ManifestEntry): SourceLocation => ({ file: e.file, line: e.line });

function changesOf(a: ManifestEntry, b: ManifestEntry): ChangedEntry[] {
  const change = (kind: ChangeKind, before: string, after: string): ChangedEntry => ({
    path: b.path,
    kind,
    before,
    after,
    a: where(a),
    b: where(b),
  });
  if (a.type !== b.type) return [change('type', formatEntry(a), formatEntry(b))];
  const out: ChangedEntry[] = [];
  if ((a.type === 'd' || a.type === 'f') && (b.type === 'd' || b.type === 'f')) {
    if (a.mode !== b.mode) out.push(change('mode', formatMode(a.mode), formatMode(b.mode)));
    if (a.owner !== b.owner) out.push(change('owner', a.owner, b.owner));
    if (a.group !== b.group) out.push(change('group', a.group, b.group));
  } else if ((a.type === 's' || a.type === 'h') && (b.type === 's' || b.type === 'h')) {
    if (a.target !== b.target) out.push(change('target', a.target, b.target));
  }
  return out;
}

/**
 * Compares two merged manifests path by path. Where a line is written does
 * not matter, only what it defines.
 */
export function diffEntries(
  a: ReadonlyMap<string, ManifestEntry>,
  b: ReadonlyMap<string, ManifestEntry>,
): ManifestDiff {
  const diff: ManifestDiff = { added: [], removed: [], changed: [] };
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort(compareBytes);
  for (const path of paths) {
    const before = a.get(path);
    const after = b.get(path);
    if (!before) diff.added.push({ path, entry: formatEntry(after!), b: where(after!) });
    else if (!after) diff.removed.push({ path, entry: formatEntry(before), a: where(before) });
    else diff.changed.push(...changesOf(before, after));
  }
  return diff;
}

export interface DiffCounts extends Record<ChangeKind, number> {
  added: number;
  removed: number;
  /** Paths with at least one change. */
  changed: number;
}

export function diffCounts(diff: ManifestDiff): DiffCounts {
  const counts: DiffCounts = {
    added: diff.added.length,
    removed: diff.removed.length,
    changed: new Set(diff.changed.map((c) => c.path)).size,
    type: 0,
    mode: 0,
    owner: 0,
    group: 0,
    target: 0,
  };
  for (const c of diff.changed) counts[c.kind]++;
  return counts;
}

export const isSame = (diff: ManifestDiff) =>
  diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;

export interface DiffSide {
  /** The FILE|DIR given. */
  input: string;
  loaded: LoadedManifest;
  errors: number;
}

export interface DiffResult {
  a: DiffSide;
  b: DiffSide;
  /** Undefined when either side has errors: then there is nothing to compare. */
  diff?: ManifestDiff;
}

/**
 * `manifest diff A B`: each side is a manifest file or snippet directory,
 * loaded and merged on its own (docs/manifest.md), then compared.
 */
export async function diffManifests(
  inputA: string,
  inputB: string,
  defines: Defines,
): Promise<DiffResult> {
  const side = async (input: string): Promise<DiffSide> => {
    const loaded = await loadManifests([input], defines);
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error').length;
    return { input, loaded, errors };
  };
  const a = await side(inputA);
  const b = await side(inputB);
  if (a.errors > 0 || b.errors > 0) return { a, b };
  return { a, b, diff: diffEntries(a.loaded.entries, b.loaded.entries) };
}

const at = formatLocation;

/** The text report: added, removed, changed, each sorted by path; then a summary line. */
export function formatDiffText(result: DiffResult & { diff: ManifestDiff }): string {
  const { diff } = result;
  const counts = diffCounts(diff);
  const lines: string[] = [];
  if (diff.added.length > 0) {
    lines.push(`added (${counts.added}):`);
    for (const e of diff.added) lines.push(`  + ${e.entry}  (B ${at(e.b)})`);
  }
  if (diff.removed.length > 0) {
    lines.push(`removed (${counts.removed}):`);
    for (const e of diff.removed) lines.push(`  - ${e.entry}  (A ${at(e.a)})`);
  }
  if (diff.changed.length > 0) {
    lines.push(`changed (${counts.changed}):`);
    for (const c of diff.changed) {
      lines.push(
        `  ~ ${c.path}: ${c.kind} ${c.before} -> ${c.after}  (A ${at(c.a)}, B ${at(c.b)})`,
      );
    }
  }
  const summary = `${counts.added} added, ${counts.removed} removed, ${counts.changed} changed`;
  if (isSame(diff)) {
    lines.push(`${summary}: the manifests are the same (${result.a.loaded.entries.size} entries)`);
  } else {
    const kinds = CHANGE_KINDS.filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${k}`);
    lines.push(kinds.length > 0 ? `${summary} (${kinds.join(', ')})` : summary);
  }
  return lines.join('\n') + '\n';
}

export interface DiffJsonSide {
  input: string;
  files: string[];
  entries: number;
}

export interface DiffJson {
  same: boolean;
  a: DiffJsonSide;
  b: DiffJsonSide;
  counts: DiffCounts;
  added: AddedEntry[];
  removed: RemovedEntry[];
  changed: ChangedEntry[];
}

/** The `--format json` report. */
export function diffJson(result: DiffResult & { diff: ManifestDiff }): DiffJson {
  const side = (s: DiffSide): DiffJsonSide => ({
    input: s.input,
    files: s.loaded.files,
    entries: s.loaded.entries.size,
  });
  return {
    same: isSame(result.diff),
    a: side(result.a),
    b: side(result.b),
    counts: diffCounts(result.diff),
    ...result.diff,
  };
}
