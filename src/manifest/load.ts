import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../util/errors.js';
import { parseManifestFile, type Defines } from '../formats/manifest-line.js';
import { compareBytes, nonDirectoryParents } from './path.js';
import {
  errorAt,
  formatLocation,
  TYPE_NAMES,
  type Diagnostic,
  type ManifestEntry,
  type SourceLocation,
} from './types.js';

export interface LoadedManifest {
  /** The manifest files read, in the order they were merged. */
  files: string[];
  /** Merged entries by image path (the last definition of a path wins). */
  entries: Map<string, ManifestEntry>;
  diagnostics: Diagnostic[];
}

/** What `read` gives, or undefined with an error "cannot read <what>" added. */
async function readOrReport<T>(
  read: () => Promise<T>,
  what: string,
  diagnostics: Diagnostic[],
): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    diagnostics.push({ severity: 'error', message: `cannot read ${what}: ${describeError(err)}` });
    return undefined;
  }
}

/**
 * Expands the manifest inputs: a file stands for itself, a directory for its
 * snippet files in C-locale name order (dot files are skipped).
 */
async function expandInputs(inputs: readonly string[], diagnostics: Diagnostic[]) {
  const files: string[] = [];
  for (const input of inputs) {
    const info = await readOrReport(() => stat(input), `manifest ${input}`, diagnostics);
    if (info === undefined) continue;
    if (!info.isDirectory()) {
      files.push(input);
      continue;
    }
    const names = await readOrReport(
      () => readdir(input),
      `manifest directory ${input}`,
      diagnostics,
    );
    if (names === undefined) continue;
    const snippets: string[] = [];
    for (const name of names.filter((n) => !n.startsWith('.')).sort(compareBytes)) {
      const file = join(input, name);
      const kind = await stat(file).catch(() => undefined);
      if (kind?.isFile()) snippets.push(file);
      else {
        diagnostics.push({
          severity: 'warning',
          message: `${file}: ${kind ? 'not a regular file' : 'unreadable or a dangling link'}: skipped (snippets are the files directly in ${input})`,
        });
      }
    }
    if (snippets.length === 0) {
      diagnostics.push({
        severity: 'warning',
        message: `manifest directory ${input} has no snippet files`,
      });
    }
    files.push(...snippets);
  }
  return files;
}

/** Whether two entries define the same thing (type, and mode and owner or link text). */
export function sameDefinition(a: ManifestEntry, b: ManifestEntry): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'd' || a.type === 'f') {
    const o = b as typeof a;
    return a.mode === o.mode && a.owner === o.owner && a.group === o.group;
  }
  return a.target === (b as typeof a).target;
}

const at = (loc: SourceLocation) => formatLocation(loc);

/**
 * Checks what only the merged image can show: parents that are not
 * directories, and hard links whose target is not a file of the image.
 */
function checkStructure(entries: Map<string, ManifestEntry>, diagnostics: Diagnostic[]) {
  for (const entry of entries.values()) {
    // The nearest one is reported.
    for (const p of nonDirectoryParents(entries, entry.path)) {
      const message = `${entry.path}: parent ${p.path} is a ${TYPE_NAMES[p.type]} (${at(p)}), not a directory`;
      diagnostics.push(errorAt(entry, message));
      break;
    }
    if (entry.type !== 'h') continue;
    // Follow chains of hard links to the file they end at.
    const seen = new Set<string>([entry.path]);
    let target = entries.get(entry.target);
    while (target?.type === 'h' && !seen.has(target.path)) {
      seen.add(target.path);
      target = entries.get(target.target);
    }
    if (!target) {
      diagnostics.push(
        errorAt(
          entry,
          `hard link ${entry.path}: target ${entry.target} is not in the image (no f or h entry defines it)`,
        ),
      );
    } else if (target.type === 'h') {
      diagnostics.push(
        errorAt(entry, `hard link ${entry.path}: the links from ${entry.target} form a cycle`),
      );
    } else if (target.type === 'd') {
      diagnostics.push(
        errorAt(
          entry,
          `hard link ${entry.path}: target ${target.path} is a ${TYPE_NAMES[target.type]} (${at(target)}), not a file or symlink`,
        ),
      );
    }
  }
}

/**
 * Reads and merges manifests (docs/manifest.md): every problem in every file is
 * collected before anything is built.
 */
export async function loadManifests(
  inputs: readonly string[],
  defines: Defines,
): Promise<LoadedManifest> {
  const diagnostics: Diagnostic[] = [];
  const files = await expandInputs(inputs, diagnostics);
  const entries = new Map<string, ManifestEntry>();
  for (const file of files) {
    const parsed = await parseManifestFile(file, defines);
    diagnostics.push(...parsed.diagnostics);
    for (const entry of parsed.entries) {
      const previous = entries.get(entry.path);
      if (previous && previous.type !== entry.type) {
        diagnostics.push(
          errorAt(
            entry,
            `${entry.path} is defined as a ${TYPE_NAMES[entry.type]} here and as a ` +
              `${TYPE_NAMES[previous.type]} at ${at(previous)}`,
          ),
        );
        continue;
      }
      if (previous && !sameDefinition(previous, entry)) {
        diagnostics.push({
          severity: 'warning',
          loc: entry,
          message: `${entry.path} redefined: this definition overrides ${at(previous)}`,
        });
      }
      entries.set(entry.path, entry);
    }
  }
  checkStructure(entries, diagnostics);
  if (files.length > 0 && entries.size === 0 && !diagnostics.some((d) => d.severity === 'error')) {
    diagnostics.push({
      severity: 'error',
      message: `the manifests define no entries: ${files.join(', ')}`,
    });
  }
  // Report in the order of the files and their lines, whatever found it.
  const order = new Map(files.map((file, i) => [file, i]));
  const rank = (d: Diagnostic) => (d.loc ? (order.get(d.loc.file) ?? -1) : -1);
  diagnostics.sort((a, b) => rank(a) - rank(b) || (a.loc?.line ?? 0) - (b.loc?.line ?? 0));
  return { files, entries, diagnostics };
}
