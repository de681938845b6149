import { printableLine } from '../util/format.js';

/** Where a manifest line came from: shown to users as `file:line`. */
export interface SourceLocation {
  file: string;
  line: number;
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}`;
}

interface EntryBase extends SourceLocation {
  /** Image-relative path, validated: no leading `/`, no `.`/`..`/empty component. */
  path: string;
}

export interface DirEntry extends EntryBase {
  type: 'd';
  mode: number;
  owner: string;
  group: string;
}

export interface FileEntry extends EntryBase {
  type: 'f';
  mode: number;
  owner: string;
  group: string;
}

export interface SymlinkEntry extends EntryBase {
  type: 's';
  /** Literal link text; never resolved on the build host. */
  target: string;
}

export interface HardlinkEntry extends EntryBase {
  type: 'h';
  /** Image path of the existing file this entry links to. */
  target: string;
}

export type ManifestEntry = DirEntry | FileEntry | SymlinkEntry | HardlinkEntry;
export type EntryType = ManifestEntry['type'];

export const TYPE_NAMES: Record<EntryType, string> = {
  d: 'directory',
  f: 'file',
  s: 'symlink',
  h: 'hard link',
};

/** A problem found in a manifest; errors stop the build, warnings do not. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  message: string;
  loc?: SourceLocation;
}

/** An error at a manifest line (`loc`: the entry, or its file:line). */
export function errorAt(loc: SourceLocation, message: string): Diagnostic {
  return { severity: 'error', loc, message };
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.loc ? `${formatLocation(d.loc)}: ` : '';
  return printableLine(`${where}${d.severity}: ${d.message}`);
}
