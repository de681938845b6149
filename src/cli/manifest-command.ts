import { Command, Option } from 'commander';
import type { DiffSide } from '../manifest/diff.js';
import { formatDiagnostic, type Diagnostic } from '../manifest/types.js';
import { cliNames } from '../options/names.js';
import {
  MANIFEST_FORMATS,
  parseManifestOptions,
  type ManifestOption,
} from '../options/manifest.js';
import { UserError } from '../util/errors.js';
import { printableText } from '../util/format.js';
import { collect, flag } from './options.js';
import { writeLines } from './output.js';

const formatOption = () =>
  new Option('--format <format>', 'report format: text for people, json for tools')
    .choices(MANIFEST_FORMATS)
    .default('text');

const DEFINE_HELP = 'value for $NAME and ${NAME} in the manifests (repeatable)';

/** Writes a report on stdout (main() has made EPIPE, a reader that stops early, no error). */
const writeOut = (text: string) => process.stdout.write(text);

/** The options every manifest subcommand reads. */
/** commander's flags of the manifest subcommands (each has the ones it declares). */
interface ManifestFlags {
  define?: string[];
  strict?: boolean;
  format?: string;
}

const settings = (flags: ManifestFlags) =>
  parseManifestOptions(
    { define: flags.define, strict: flag(flags.strict), format: flags.format },
    cliNames<ManifestOption>(),
  );

const writeDiagnostics = (diagnostics: readonly Diagnostic[]) =>
  writeLines(process.stderr, diagnostics.map(formatDiagnostic));

const errorCount = (diagnostics: readonly Diagnostic[]) =>
  diagnostics.filter((d) => d.severity === 'error').length;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function lintCommand(setExitCode: (code: number) => void): Command {
  return new Command('lint')
    .summary('report manifest errors and suspicious modes, each at its file:line')
    .description(
      'check manifests: every error and warning of loading and merging them, and ' +
        'these warnings of its own, each at its file:line: a file without owner read (0400), ' +
        'a directory without owner search (0100), a setuid or setgid file not owned by root, ' +
        'a setuid directory, a world-writable file, a world-writable directory without the ' +
        'sticky bit (1000), and with --strict only, a symlink with absolute link text (SmartOS ' +
        'ships a few, e.g. usr/bin/perl=/opt/local/bin/perl). The rules apply to the merged ' +
        'entries, the definitions that win.\n\n' +
        'Text output: one `file:line: error|warning: message` line per finding, then ' +
        '`N errors, M warnings in K entries (F files)`. JSON: {errors, warnings, entries, ' +
        'files, findings: [{severity, file, line, message}]} (file and line are null for a ' +
        'finding about no line, such as an unreadable input).\n\n' +
        'Exit status: 0 no errors (warnings allowed), 1 errors (or warnings with --strict), ' +
        '2 usage.',
    )
    .argument('<manifest...>', 'manifest files, or directories of snippets (C-locale name order)')
    .option('--define <NAME=VALUE>', DEFINE_HELP, collect)
    .option('--strict', 'warnings fail too (exit 1), and absolute symlink text is a warning')
    .addOption(formatOption())
    .action(async (inputs: string[], flags: ManifestFlags) => {
      const { defines, strict, format } = settings(flags);
      const { formatLintText, lintJson, lintManifests } = await import('../manifest/lint.js');
      const result = await lintManifests(inputs, defines, { strict });
      writeOut(
        format === 'json'
          ? JSON.stringify(lintJson(result), null, 2) + '\n'
          : printableText(formatLintText(result)),
      );
      setExitCode(result.failed ? 1 : 0);
    });
}

function mergeCommand(): Command {
  return new Command('merge')
    .summary('write the merged, sorted, normalized manifest on stdout')
    .description(
      'write the merged manifest on stdout, as smartos-live tools/build_manifest and its ' +
        'sorter do, with the rules of docs/manifest.md: inputs merge in the order given (a directory as its ' +
        'snippets in C-locale name order), a later definition of a path wins with a warning ' +
        'on stderr, a path given two types is an error. Output: one normalized line per ' +
        'entry (`d|f path mode owner group` with the mode in 4 or more octal digits, `s|h path=target`), ' +
        'variables substituted, sorted by path in byte order, single spaces, no comments; ' +
        'merging it again gives the same bytes (a --define value that would break that, ' +
        'with blanks or a $NAME in it, is an error).\n\n' +
        'Exit status: 0 merged (warnings on stderr), 1 errors (reported on stderr, nothing ' +
        'on stdout), 2 usage.',
    )
    .argument('<manifest...>', 'manifest files, or directories of snippets (C-locale name order)')
    .option('--define <NAME=VALUE>', DEFINE_HELP, collect)
    .action(async (inputs: string[], flags: ManifestFlags) => {
      const { defines } = settings(flags);
      const { mergeManifests } = await import('../manifest/merged-output.js');
      const result = await mergeManifests(inputs, defines);
      writeDiagnostics(result.diagnostics);
      if (result.text === undefined) {
        throw new UserError(
          `${plural(errorCount(result.diagnostics), 'error')} in the manifests: nothing merged`,
        );
      }
      writeOut(result.text);
    });
}

function diffCommand(setExitCode: (code: number) => void): Command {
  return new Command('diff')
    .summary('compare two manifests: added, removed, changed entries')
    .description(
      'compare two manifests, each a file or a directory of snippets merged on its own: ' +
        'entries added (only in B), removed (only in A) and changed (type, mode, owner, ' +
        'group, link target), each with the file:line of each side, grouped by kind and ' +
        'sorted by path, then a summary line with the counts. Only what a line defines ' +
        'matters, not where it is written.\n\n' +
        'Text output: `+ <line>  (B file:line)` under "added (N):", `- <line>  (A file:line)` ' +
        'under "removed (N):", `~ <path>: <kind> <before> -> <after>  (A file:line, B ' +
        'file:line)` under "changed (N):" (a type change alone, else one line per field), ' +
        'then `N added, M removed, C changed (...)`. JSON: {same, a, b, counts, added: ' +
        '[{path, entry, b}], removed: [{path, entry, a}], changed: [{path, kind, before, ' +
        'after, a, b}]} with each a/b location as {file, line}.\n\n' +
        'Exit status (like diff(1)): 0 the same, 1 different, 2 trouble: usage, or an ' +
        'unreadable or invalid manifest, which is an error, not a difference: its problems ' +
        'go to stderr with "error: cannot compare", nothing to stdout, and the exit status ' +
        'is 2, never 1 (docs/exit-codes.md).',
    )
    .argument('<A>', 'the first (old) manifest file or snippet directory')
    .argument('<B>', 'the second (new) manifest file or snippet directory')
    .option('--define <NAME=VALUE>', `${DEFINE_HELP}; applies to both sides`, collect)
    .addOption(formatOption())
    .action(async (inputA: string, inputB: string, flags: ManifestFlags) =>
      asTrouble(() => diffAction(inputA, inputB, flags, setExitCode)),
    );
}

/**
 * diff(1)'s convention: 1 means different, so any error (an unreadable or
 * invalid manifest, a bad option) is 2, never 1 (docs/exit-codes.md).
 */
async function asTrouble(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!(err instanceof UserError) || err.exitCode === 2) throw err;
    throw new UserError(err.message, { exitCode: DIFF_TROUBLE, details: err.details });
  }
}

/** `manifest diff`'s status for an input it cannot compare. */
const DIFF_TROUBLE = 2;

async function diffAction(
  inputA: string,
  inputB: string,
  flags: ManifestFlags,
  setExitCode: (code: number) => void,
): Promise<void> {
  const { defines, format } = settings(flags);
  const { diffJson, diffManifests, formatDiffText, isSame } = await import('../manifest/diff.js');
  const result = await diffManifests(inputA, inputB, defines);
  writeDiagnostics(result.a.loaded.diagnostics);
  writeDiagnostics(result.b.loaded.diagnostics);
  if (!result.diff) {
    const bad = [result.a, result.b]
      .filter((s) => s.errors > 0)
      .map((s: DiffSide) => `${s.input} has ${plural(s.errors, 'error')}`);
    throw new UserError(
      `cannot compare: ${bad.join(', ')} (an error in the input, not a difference)`,
      { exitCode: DIFF_TROUBLE },
    );
  }
  writeOut(
    format === 'json'
      ? JSON.stringify(diffJson({ ...result, diff: result.diff }), null, 2) + '\n'
      : printableText(formatDiffText({ ...result, diff: result.diff })),
  );
  setExitCode(isSame(result.diff) ? 0 : 1);
}

/** `joyent-live manifest lint|merge|diff`: the manifest tools (docs/manifest.md). */
export function manifestCommand(setExitCode: (code: number) => void): Command {
  return new Command('manifest')
    .description('lint, merge and diff manifests without building anything')
    .addCommand(lintCommand(setExitCode))
    .addCommand(mergeCommand())
    .addCommand(diffCommand(setExitCode));
}
