import { open } from 'node:fs/promises';
import type { ImageNode, SourceCounts } from '../image/model.js';
import type { SourceTag } from '../sources/search.js';
import { UserError } from '../util/errors.js';
import { forEachLine, openRegularFile } from '../util/lines.js';
import { ownString, printable } from '../util/format.js';
import type { LogEntry } from '../verify/types.js';

/**
 * The build log, both styles: the lines build-live writes and the reader
 * verify-manifest uses, which also reads the smartos-live C builder's log.
 * The JSONL twin beside it is in jsonl-twin.ts.
 */

// ---- writer (joyent-live style) ----

/**
 * The line for one applied entry, in the order applied. Manifest paths and
 * link text hold no control character (the reader refuses them); printable()
 * keeps it so for any other caller: one entry is one line.
 */
export function formatLogLine(node: ImageNode): string {
  const status = node.status === 'ok' ? 'OK' : '*FAILED*';
  const path = printable(node.path);
  switch (node.type) {
    case 'd':
      return `${status} - DIR: ${path}`;
    case 'f':
      return node.status === 'ok' ? `OK[${node.tag}] - FILE: ${path}` : `${status} - FILE: ${path}`;
    case 's':
      return `${status} - SYMLINK: ${printable(String(node.target))} -> ${path}`;
    case 'h':
      return `${status} - LINK: ${printable(String(node.target))} -> ${path}`;
  }
}

export interface SummaryCounts extends SourceCounts {
  entries: number;
  failed: number;
  unknownOwners: number;
  bytes: number;
}

/**
 * The closing summary line, the last line of every finished log: a log
 * without it was cut short (verify-manifest says so: docs/verify.md).
 */
export function formatSummaryLine(c: SummaryCounts): string {
  return (
    `# summary: ${c.entries} entries, A=${c.A} P=${c.P} M=${c.M} S=${c.S}, ` +
    `${c.failed} FAILED, ${c.unknownOwners} unknown owners, ${c.bytes} bytes`
  );
}

/** Matches exactly the lines formatSummaryLine writes. */
export const SUMMARY_LINE =
  /^# summary: \d+ entries, A=\d+ P=\d+ M=\d+ S=\d+, \d+ FAILED, \d+ unknown owners, \d+ bytes$/;

/**
 * The line naming the boot_archive the build made, just before the
 * summary: verify-manifest uses it to tell that a log and a platform come
 * from the same build. Absent with `--archive none`.
 */
export function formatBootArchiveLine(sha1: string): string {
  return `# boot_archive sha1: ${sha1}`;
}

/** Matches exactly the lines formatBootArchiveLine writes; group 1 is the sha1. */
export const BOOT_ARCHIVE_LINE = /^# boot_archive sha1: ([0-9a-f]{40})$/;

// ---- reader (both styles) ----

type Parsed = Omit<LogEntry, 'line'> & { unknownIds?: string[] };

// joyent-live (docs/build-log.md): "OK[P] - FILE: path", "*FAILED* - DIR: path", ...
const JL_FILE_OK = /^OK\[([APMS])\] - FILE: (\S+)$/;
// `[^]`, not `.`: a CR or U+2028 inside a path must not hide the line (docs/build-log.md).
const JL_ENTRY = /^(OK|\*FAILED\*) - (DIR|FILE|SYMLINK|LINK): ([^]+)$/;
// smartos-live's C builder: "FILE: [path][0444][root/0][bin/2]: OK (dir)", ...
const SL_NODE =
  /^(DIR|FILE): \[([^\]]+)\]\[[0-7]+\]\[([^\]]*)\]\[([^\]]*)\]: (OK|FAILED)(?: \((.*)\))?$/;
const SL_LINK = /^LINK\((symlink|link)\): (\S+) => (.+): (OK|FAILED)$/;
// The C builder prints an entry's start, does the work, then its status: a
// line that stops after the start is unfinished (the builder died there), or
// was split by an error message on stderr (rejoined with its status line).
const SL_START =
  /^(?:(DIR|FILE): \[([^\]]+)\]\[[0-7]+\]\[([^\]]*)\]\[([^\]]*)\]: |LINK\((symlink|link)\): (\S+) => )/;
const SL_STATUS = /^(OK|FAILED)(?: \((.*)\))?$/;
/** The C builder's owner or group it could not resolve: `[admin/-1]`. */
const SL_UNKNOWN_ID = /\/-1$/;
/** The warning build-live writes for an owner or group the image lacks. */
const UNKNOWN_OWNER = /^# .*warning: .* is not a (user|group) of the image/;

/** Parses one log line; undefined for anything that is not an entry line. */
export function parseLogLine(text: string): Parsed | undefined {
  // Most other lines are rejected by their first character, without a regex.
  if (!'O*DFL'.includes(text.charAt(0)) || text === '') return undefined;
  let m = JL_FILE_OK.exec(text);
  if (m)
    return { status: 'OK', kind: 'FILE', path: m[2], tag: m[1] as SourceTag, style: 'joyent-live' };
  m = JL_ENTRY.exec(text);
  if (m) {
    const status = m[1] === 'OK' ? 'OK' : 'FAILED';
    const kind = m[2] as LogEntry['kind'];
    if (kind === 'DIR' || kind === 'FILE') {
      // "OK - FILE:" has no tag: not a line build-live writes.
      if (kind === 'FILE' && status === 'OK') return undefined;
      // A FAILED line is one whatever its path holds: the gate fails closed.
      if (status === 'OK' && /\s/.test(m[3])) return undefined;
      return { status, kind, path: m[3], style: 'joyent-live' };
    }
    // "<target> -> <path>": the path has no blanks, link text may.
    const arrow = m[3].lastIndexOf(' -> ');
    if (arrow <= 0) return undefined;
    const path = m[3].slice(arrow + 4);
    if ((status === 'OK' && /\s/.test(path)) || path === '') return undefined;
    return { status, kind, path, target: m[3].slice(0, arrow), style: 'joyent-live' };
  }
  m = SL_NODE.exec(text);
  if (m) {
    const unknown = [m[3], m[4]].filter((id) => SL_UNKNOWN_ID.test(id));
    return {
      status: m[5] as LogEntry['status'],
      kind: m[1] as 'DIR' | 'FILE',
      path: m[2],
      sourceDir: m[6],
      style: 'smartos-live',
      ...(unknown.length > 0 ? { unknownIds: unknown } : {}),
    };
  }
  m = SL_LINK.exec(text);
  if (m) {
    return {
      status: m[4] as LogEntry['status'],
      kind: m[1] === 'symlink' ? 'SYMLINK' : 'LINK',
      path: m[2],
      target: m[3],
      style: 'smartos-live',
    };
  }
  return undefined;
}

/**
 * An entry's start line and the status line that ended it after stderr
 * output came between: one entry line. A link's target is what its start
 * line holds up to the first ": " (what follows is the error message).
 */
function rejoin(pending: { text: string; start: string }, status: string): string {
  if (!pending.start.startsWith('LINK')) return pending.start + status;
  const tail = pending.text.slice(pending.start.length);
  const colon = tail.indexOf(': ');
  const target = (colon >= 0 ? tail.slice(0, colon) : tail).replace(/:$/, '');
  return `${pending.start}${target}: ${status}`;
}

export interface LogSummary {
  path: string;
  style: LogEntry['style'] | 'unknown';
  lines: number;
  entries: number;
  /** The file does not end with a newline. */
  truncatedLastLine: boolean;
  /** The last line, when it is truncated and is not an entry line. */
  truncatedText?: string;
  unknownOwners: number;
  /** The first MAX_LISTED unknown-owner warnings, as the log words them. */
  unknownOwnerWarnings: string[];
  /** joyent-live logs: the closing summary line was read (a finished log). */
  closed: boolean;
  /** Entry lines the builder started and never finished (the first MAX_LISTED). */
  unfinished: { line: number; text: string }[];
  /** Entry lines split by stderr output and rejoined with their status line. */
  rejoined: number;
  /** joyent-live logs: the sha1 of the boot_archive the build made (its `# boot_archive sha1:` line). */
  bootArchiveSha1?: string;
}

/** How many system-source files or owner warnings a report names. */
export const MAX_LISTED = 1000;

async function endsWithNewline(path: string, size: number): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, size - 1);
    return buffer[0] === 0x0a;
  } finally {
    await handle.close();
  }
}

/**
 * Streams a build log (either style of docs/build-log.md) line by line, handing each
 * entry to `onEntry`; nothing but the summary is kept, so a log of millions
 * of lines reads in constant memory. Every other line is ignored. An empty
 * log, or one without a single entry line, is an error: it is the wrong file.
 */
export async function readBuildLog(
  path: string,
  onEntry: (entry: LogEntry) => void,
): Promise<LogSummary> {
  const handle = await openRegularFile(path, 'log');
  const size = (await handle.stat()).size;
  await handle.close();
  if (size === 0)
    throw new UserError(`log ${path} is empty: the build wrote nothing, or this is the wrong file`);
  const summary: LogSummary = {
    path,
    style: 'unknown',
    lines: 0,
    entries: 0,
    truncatedLastLine: !(await endsWithNewline(path, size)),
    unknownOwners: 0,
    unknownOwnerWarnings: [],
    closed: false,
    unfinished: [],
    rejoined: 0,
  };
  let last = '';
  let lastWasEntry = false;
  /** A C-builder entry line without its status yet: the start and its line number. */
  let pending: { text: string; line: number; start: string } | undefined;
  const unfinished = (p: { text: string; line: number }) => {
    if (summary.unfinished.length < MAX_LISTED) {
      summary.unfinished.push({ line: p.line, text: ownString(p.text.slice(0, 400)) });
    }
  };
  const entry = (parsed: Parsed, line: number) => {
    summary.entries++;
    if (summary.style === 'unknown') summary.style = parsed.style;
    (parsed as LogEntry).line = line;
    if (parsed.unknownIds) {
      if (summary.unknownOwners++ < MAX_LISTED) {
        summary.unknownOwnerWarnings.push(
          `${path}:${line}: ${parsed.path}: ${parsed.unknownIds.join(' and ')} is not a user or group the builder knew (-1)`,
        );
      }
    }
    onEntry(parsed as LogEntry);
  };
  const handleLine = (raw: string) => {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    summary.lines++;
    last = text;
    const parsed = parseLogLine(text);
    lastWasEntry = parsed !== undefined;
    if (pending) {
      const status = parsed ? undefined : SL_STATUS.exec(text);
      if (status) {
        // The status line of an entry split by stderr: rejoin the two.
        const joined = parseLogLine(rejoin(pending, text));
        if (joined) {
          summary.rejoined++;
          entry(joined, pending.line);
          pending = undefined;
          lastWasEntry = true;
          return;
        }
      }
      if (parsed || SL_START.test(text)) {
        unfinished(pending);
        pending = undefined;
      } else return; // stderr text between an entry's start and its status
    }
    if (!parsed) {
      if (text.startsWith('#')) {
        if (UNKNOWN_OWNER.test(text) && summary.unknownOwners++ < MAX_LISTED) {
          summary.unknownOwnerWarnings.push(ownString(text.replace(/^#\s*/, '')));
        }
        if (SUMMARY_LINE.test(text)) summary.closed = true;
        const sha1 = BOOT_ARCHIVE_LINE.exec(text);
        if (sha1) summary.bootArchiveSha1 = ownString(sha1[1]);
        return;
      }
      const start = SL_START.exec(text);
      if (start) {
        if (summary.style === 'unknown') summary.style = 'smartos-live';
        pending = { text: ownString(text), line: summary.lines, start: ownString(start[0]) };
      }
      return;
    }
    entry(parsed, summary.lines);
  };
  await forEachLine(path, 'log', handleLine);
  if (pending) unfinished(pending);
  else if (summary.truncatedLastLine && !lastWasEntry && !last.startsWith('#')) {
    // Cut in the middle of a line: whatever it was, it did not finish.
    unfinished({ line: summary.lines, text: last });
  }
  if (summary.entries === 0 && summary.unfinished.length === 0) {
    throw new UserError(
      `log ${path} has no build-log entry line in ${summary.lines} lines (neither "OK[P] - FILE: ..." nor "FILE: [...]: OK"): it is probably the wrong file`,
    );
  }
  if (summary.truncatedLastLine && !lastWasEntry) summary.truncatedText = ownString(last);
  return summary;
}

/** The image path an entry line names, even an unfinished one; undefined when none. */
export function entryPathOf(text: string): string | undefined {
  const m = SL_START.exec(text);
  if (m) return m[2] ?? m[6];
  return parseLogLine(text)?.path;
}
