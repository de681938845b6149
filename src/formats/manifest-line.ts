import { checkImagePath } from '../manifest/path.js';
import { escapeCharacter, firstUnprintable, printable } from '../util/format.js';
import type { Diagnostic, ManifestEntry, SourceLocation } from '../manifest/types.js';
import { describeError, UserError } from '../util/errors.js';
import { forEachLine, LineError } from '../util/lines.js';

/**
 * Manifest entry lines (docs/manifest.md): the reader (one line, one file)
 * and the writer of normalized lines that `manifest merge` prints.
 */

/** Values for `$NAME` / `${NAME}` in manifests, from `--define NAME=VALUE`. */
export type Defines = ReadonlyMap<string, string>;

const VARIABLE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;
const OCTAL_MODE = /^[0-7]+$/;

/** Mode as SmartOS manifests print it: at least four octal digits. */
export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

// ---- writer ----

/**
 * One entry as a normalized manifest line: single spaces, the mode as at
 * least four octal digits, variables already substituted.
 */
export function formatEntry(entry: ManifestEntry): string {
  switch (entry.type) {
    case 'd':
    case 'f':
      return `${entry.type} ${entry.path} ${formatMode(entry.mode)} ${entry.owner} ${entry.group}`;
    case 's':
    case 'h':
      return `${entry.type} ${entry.path}=${entry.target}`;
  }
}

// ---- reader ----

// Owner and group names repeat on nearly every line of a manifest: entries
// share one string for each instead of holding tens of thousands of copies.
const sharedNames = new Map<string, string>();
function shared(name: string): string {
  const known = sharedNames.get(name);
  if (known !== undefined) return known;
  if (sharedNames.size < 1024) sharedNames.set(name, name);
  return name;
}

/**
 * Why a line with a control or invisible format character is refused: a
 * path or link text carrying one (a CR, a bidi override) would reach every
 * log line and report that names it (docs/manifest.md).
 */
const controlCharacter = (ch: string) =>
  `control or invisible format character ${escapeCharacter(ch)} (paths, link text, owners and groups may not hold one)`;

export interface ParsedLine {
  entry?: ManifestEntry;
  diagnostics: Diagnostic[];
}

/**
 * Parses one manifest line (docs/manifest.md). Comments and blank lines give neither
 * an entry nor a diagnostic.
 */
export function parseManifestLine(raw: string, loc: SourceLocation, defines: Defines): ParsedLine {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return { diagnostics: [] };
  const error = (message: string): ParsedLine => ({
    diagnostics: [
      { severity: 'error', message: `${message}: ${printable(JSON.stringify(trimmed))}`, loc },
    ],
  });
  if (line.includes('\0')) return error('NUL byte in line');
  if (line.includes('\uFFFD')) return error('not valid UTF-8');
  const unprintable = firstUnprintable(line.replace(/\t/g, ' '));
  if (unprintable !== undefined) return error(controlCharacter(unprintable));

  const fields = trimmed.split(/[ \t]+/);
  const undefinedNames = new Set<string>();
  const expanded = fields.map((field) =>
    field.replace(VARIABLE, (whole, braced?: string, bare?: string) => {
      const name = (braced ?? bare)!;
      const value = defines.get(name);
      if (value === undefined) undefinedNames.add(name);
      return value ?? whole;
    }),
  );
  if (undefinedNames.size > 0) {
    const names = [...undefinedNames];
    return error(
      `undefined variable ${names.map((n) => `$${n}`).join(', ')} ` +
        `(pass ${names.map((n) => `--define ${n}=VALUE`).join(' ')})`,
    );
  }

  // A --define value given to the engine directly is checked too.
  const inValue = firstUnprintable(expanded.join(' '));
  if (inValue !== undefined) return error(`a --define value: ${controlCharacter(inValue)}`);

  const [type, ...rest] = expanded as [string, ...string[]];
  switch (type) {
    case 'd':
    case 'f': {
      if (rest.length !== 4) {
        return error(`"${type}" takes 4 fields (path mode owner group), found ${rest.length}`);
      }
      const [written, modeText, owner, group] = rest as [string, string, string, string];
      // smartos-live's own src/manifest has `d usr/vm/node_modules/macaddr/`:
      // one trailing slash on a directory is dropped, with a warning.
      const trailing = type === 'd' && /[^/]\/$/.test(written);
      const path = trailing ? written.slice(0, -1) : written;
      const unsafe = checkImagePath(path);
      if (unsafe) return error(`unsafe path: ${unsafe}`);
      if (!OCTAL_MODE.test(modeText)) return error(`mode "${modeText}" is not octal`);
      const mode = parseInt(modeText, 8);
      if (mode > 0o7777) return error(`mode "${modeText}" is larger than 07777`);
      const diagnostics: Diagnostic[] = trailing
        ? [
            {
              severity: 'warning',
              loc,
              message: `trailing "/" dropped from directory "${written}"`,
            },
          ]
        : [];
      // Whole literals, not `...loc`: a spread builds each entry the slow way,
      // with its own property store.
      const entry = {
        type,
        path,
        mode,
        owner: shared(owner),
        group: shared(group),
        file: loc.file,
        line: loc.line,
      };
      return { entry, diagnostics };
    }
    case 's':
    case 'h': {
      if (rest.length !== 1) {
        return error(`"${type}" takes 1 field (path=target), found ${rest.length}`);
      }
      const spec = rest[0];
      const parts = spec.split('=');
      if (parts.length < 2) return error(`missing "=" in "${spec}" (expected path=target)`);
      if (parts.length > 2) return error(`more than one "=" in "${spec}"`);
      const [path, target] = parts as [string, string];
      const unsafe = checkImagePath(path);
      if (unsafe) return error(`unsafe path: ${unsafe}`);
      if (target === '') return error(`empty ${type === 's' ? 'link text' : 'link target'}`);
      if (type === 'h') {
        const unsafeTarget = checkImagePath(target);
        if (unsafeTarget) return error(`unsafe hard link target: ${unsafeTarget}`);
      }
      return { entry: { type, path, target, file: loc.file, line: loc.line }, diagnostics: [] };
    }
    default:
      return error(`unknown entry type "${type}" (expected d, f, s or h)`);
  }
}

export interface ParsedManifest {
  file: string;
  entries: ManifestEntry[];
  diagnostics: Diagnostic[];
}

/** Reads one manifest file line by line (it can be tens of thousands of lines). */
export async function parseManifestFile(file: string, defines: Defines): Promise<ParsedManifest> {
  const entries: ManifestEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  let lineNo = 0;
  try {
    await forEachLine(file, 'manifest', (text, line) => {
      lineNo = line;
      const parsed = parseManifestLine(text, { file, line }, defines);
      if (parsed.entry) entries.push(parsed.entry);
      diagnostics.push(...parsed.diagnostics);
    });
  } catch (err) {
    if (err instanceof LineError) {
      diagnostics.push({ severity: 'error', message: err.reason, loc: { file, line: err.line } });
    } else {
      diagnostics.push({
        severity: 'error',
        message:
          err instanceof UserError
            ? err.message
            : `cannot read manifest ${file}: ${describeError(err)}`,
        loc: lineNo > 0 ? { file, line: lineNo } : undefined,
      });
    }
  }
  return { file, entries, diagnostics };
}
