import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ImageNode } from '../image/model.js';
import type { SourceTag } from '../sources/search.js';
import { describeError, UserError } from '../util/errors.js';
import { ownString } from '../util/format.js';
import type { LogEntry } from '../verify/types.js';

/**
 * The build log, both styles: the lines build-live writes and the reader
 * verify-manifest uses, which also reads the smartos-live C builder's log.
 * The JSONL twin beside it is in jsonl-twin.ts.
 */

// ---- writer (joyent-live style) ----

/** The line for one applied entry, in the order applied. */
export function formatLogLine(node: ImageNode): string {
  const status = node.status === 'ok' ? 'OK' : '*FAILED*';
  switch (node.type) {
    case 'd':
      return `${status} - DIR: ${node.path}`;
    case 'f':
      return node.status === 'ok'
        ? `OK[${node.tag}] - FILE: ${node.path}`
        : `${status} - FILE: ${node.path}`;
    case 's':
      return `${status} - SYMLINK: ${node.target} -> ${node.path}`;
    case 'h':
      return `${status} - LINK: ${node.target} -> ${node.path}`;
  }
}

// ---- reader (both styles) ----

type Parsed = Omit<LogEntry, 'line'>;

// joyent-live (docs/build-log.md): "OK[P] - FILE: path", "*FAILED* - DIR: path", ...
const JL_FILE_OK = /^OK\[([APMS])\] - FILE: (\S+)$/;
const JL_ENTRY = /^(OK|\*FAILED\*) - (DIR|FILE|SYMLINK|LINK): (.+)$/;
// smartos-live's C builder: "FILE: [path][0444][root/0][bin/2]: OK (dir)", ...
const SL_NODE =
  /^(DIR|FILE): \[([^\]]+)\]\[[0-7]+\]\[[^\]]*\]\[[^\]]*\]: (OK|FAILED)(?: \((.*)\))?$/;
const SL_LINK = /^LINK\((symlink|link)\): (\S+) => (.+): (OK|FAILED)$/;
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
      return /\s/.test(m[3]) ? undefined : { status, kind, path: m[3], style: 'joyent-live' };
    }
    // "<target> -> <path>": the path has no blanks, link text may.
    const arrow = m[3].lastIndexOf(' -> ');
    if (arrow <= 0) return undefined;
    const path = m[3].slice(arrow + 4);
    if (/\s/.test(path) || path === '') return undefined;
    return { status, kind, path, target: m[3].slice(0, arrow), style: 'joyent-live' };
  }
  m = SL_NODE.exec(text);
  if (m) {
    return {
      status: m[3] as LogEntry['status'],
      kind: m[1] as 'DIR' | 'FILE',
      path: m[2],
      sourceDir: m[4],
      style: 'smartos-live',
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
  let size: number;
  try {
    const handle = await open(path, 'r');
    size = (await handle.stat()).size;
    await handle.close();
  } catch (err) {
    throw new UserError(`cannot read log ${path}: ${describeError(err)}`);
  }
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
  };
  let last = '';
  let lastWasEntry = false;
  const handleLine = (raw: string) => {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    summary.lines++;
    last = text;
    const parsed = parseLogLine(text);
    lastWasEntry = parsed !== undefined;
    if (!parsed) {
      if (text.startsWith('#') && UNKNOWN_OWNER.test(text)) {
        if (summary.unknownOwners++ < MAX_LISTED) {
          summary.unknownOwnerWarnings.push(ownString(text.replace(/^#\s*/, '')));
        }
      }
      return;
    }
    summary.entries++;
    if (summary.style === 'unknown') summary.style = parsed.style;
    (parsed as LogEntry).line = summary.lines;
    onEntry(parsed as LogEntry);
  };
  // Split by hand rather than with readline: fewer objects per line, which
  // keeps the peak memory of a million-line log low.
  let rest = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8' }) as AsyncIterable<string>) {
    let start = 0;
    let end = chunk.indexOf('\n');
    if (end >= 0 && rest) {
      handleLine(rest + chunk.slice(0, end));
      rest = '';
      start = end + 1;
      end = chunk.indexOf('\n', start);
    }
    while (end >= 0) {
      handleLine(chunk.slice(start, end));
      start = end + 1;
      end = chunk.indexOf('\n', start);
    }
    rest += chunk.slice(start);
  }
  if (rest) handleLine(rest);
  if (summary.entries === 0) {
    throw new UserError(
      `log ${path} has no build-log entry line in ${summary.lines} lines (neither "OK[P] - FILE: ..." nor "FILE: [...]: OK"): it is probably the wrong file`,
    );
  }
  if (summary.truncatedLastLine && !lastWasEntry) summary.truncatedText = ownString(last);
  return summary;
}
