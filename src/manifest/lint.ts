import { sortDiagnostics } from './diagnostic-order.js';
import { imageRuleErrors } from './image-rules.js';
import { loadManifests } from './load.js';
import { formatMode, type Defines } from '../formats/manifest-line.js';
import { formatDiagnostic, type Diagnostic, type ManifestEntry } from './types.js';

export interface LintOptions {
  /**
   * Warnings fail the lint, and absolute symlink text is reported (as a
   * warning) too: SmartOS itself ships a few absolute links, so they are
   * not reported otherwise.
   */
  strict?: boolean;
}

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

type ModeEntry = Extract<ManifestEntry, { type: 'f' | 'd' }>;

const setidName = (mode: number) =>
  (mode & (S_ISUID | S_ISGID)) === (S_ISUID | S_ISGID)
    ? 'setuid and setgid'
    : mode & S_ISUID
      ? 'setuid'
      : 'setgid';

/** The mode rules, in the order they are checked: an entry of `type` that `bad` picks out gets `says`. */
const MODE_RULES: readonly {
  type: ModeEntry['type'];
  bad: (e: ModeEntry) => boolean;
  says: (e: ModeEntry, mode: string) => string;
}[] = [
  {
    type: 'f',
    bad: (e) => (e.mode & 0o400) === 0,
    says: (_, mode) => `file mode ${mode} has no owner read bit (0400)`,
  },
  {
    type: 'f',
    bad: (e) => (e.mode & (S_ISUID | S_ISGID)) !== 0 && e.owner !== 'root',
    says: (e, mode) => `${setidName(e.mode)} file (mode ${mode}) owned by ${e.owner}, not root`,
  },
  {
    type: 'f',
    bad: (e) => (e.mode & 0o002) !== 0,
    says: (_, mode) => `world-writable file (mode ${mode})`,
  },
  {
    type: 'd',
    bad: (e) => (e.mode & 0o100) === 0,
    says: (_, mode) => `directory mode ${mode} has no owner search bit (0100)`,
  },
  {
    type: 'd',
    bad: (e) => (e.mode & S_ISUID) !== 0,
    says: (_, mode) => `setuid bit (04000) on a directory (mode ${mode}) has no meaning`,
  },
  {
    type: 'd',
    bad: (e) => (e.mode & 0o002) !== 0 && (e.mode & S_ISVTX) === 0,
    says: (_, mode) =>
      `world-writable directory without the sticky bit (mode ${mode}; 1777 is usual)`,
  },
];

/**
 * The rules of `manifest lint` beyond what loading reports (docs/manifest.md errors
 * and merge warnings): modes that are legal but almost surely wrong.
 * Returns warnings, each at the entry's file:line.
 */
export function lintEntry(entry: ManifestEntry, options: LintOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [];
  const warn = (message: string) =>
    out.push({ severity: 'warning', message, loc: { file: entry.file, line: entry.line } });
  if (entry.type === 'f' || entry.type === 'd') {
    const mode = formatMode(entry.mode);
    for (const rule of MODE_RULES) {
      if (rule.type === entry.type && rule.bad(entry))
        warn(`${entry.path}: ${rule.says(entry, mode)}`);
    }
  } else if (entry.type === 's' && options.strict && entry.target.startsWith('/')) {
    warn(`${entry.path}: symlink text "${entry.target}" is absolute`);
  }
  return out;
}

export interface LintResult {
  /** The manifest files read, in merge order. */
  files: string[];
  /** Entries of the merged manifest. */
  entries: number;
  /** Everything found, in file and line order (loc-less ones first). */
  diagnostics: Diagnostic[];
  errors: number;
  warnings: number;
  /** Errors, or warnings under strict: the lint fails (exit 1). */
  failed: boolean;
}

/**
 * Lints manifests: every error and warning that loading and merging report
 * (docs/manifest.md), plus the lint rules on the merged entries (the definition that
 * wins is the one that is built).
 */
export async function lintManifests(
  inputs: readonly string[],
  defines: Defines,
  options: LintOptions = {},
): Promise<LintResult> {
  const loaded = await loadManifests(inputs, defines);
  // The image's rules, as the build applies them: what lint passes, the build accepts.
  const diagnostics = [...loaded.diagnostics, ...imageRuleErrors(loaded.entries)];
  for (const entry of loaded.entries.values()) diagnostics.push(...lintEntry(entry, options));
  // At the same line, what loading found comes first.
  sortDiagnostics(diagnostics, loaded.files);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  return {
    files: loaded.files,
    entries: loaded.entries.size,
    diagnostics,
    errors,
    warnings,
    failed: errors > 0 || (options.strict === true && warnings > 0),
  };
}

/** The text report: one line per finding, then the summary line. */
export function formatLintText(result: LintResult): string {
  const lines = result.diagnostics.map(formatDiagnostic);
  lines.push(
    `${result.errors} errors, ${result.warnings} warnings in ${result.entries} entries ` +
      `(${result.files.length} files)`,
  );
  return lines.join('\n') + '\n';
}

export interface LintFinding {
  severity: 'error' | 'warning';
  /** null for a finding about no particular line (an unreadable input). */
  file: string | null;
  line: number | null;
  message: string;
}

export interface LintJson {
  errors: number;
  warnings: number;
  entries: number;
  files: string[];
  findings: LintFinding[];
}

/** The `--format json` report. */
export function lintJson(result: LintResult): LintJson {
  return {
    errors: result.errors,
    warnings: result.warnings,
    entries: result.entries,
    files: result.files,
    findings: result.diagnostics.map((d) => ({
      severity: d.severity,
      file: d.loc?.file ?? null,
      line: d.loc?.line ?? null,
      message: d.message,
    })),
  };
}
