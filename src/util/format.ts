/** Sizes for people: 1536 -> "1.5 KiB"; negative deltas keep their sign. */
export function humanBytes(bytes: number): string {
  if (bytes < 0) return `-${humanBytes(-bytes)}`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A copy of `text` that shares no memory with the string it was cut from.
 * V8 keeps a substring's whole parent alive: a path matched out of a line
 * of a 64 KiB read chunk would pin the chunk for as long as it is kept.
 */
export function ownString(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  K: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
  T: 2 ** 40,
};

/**
 * A size as people write it: bytes (`1048576`), or a whole or decimal
 * number with K, M, G or T (powers of 1024, as mkfile reads them; `512M`,
 * `1.5G`, `2GiB` and `2gb` alike). Undefined when `text` is not a size.
 */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m || (m[2] === '' && m[1].includes('.'))) return undefined;
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toUpperCase()]);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration such as `90s`, `30m` or `1h` in milliseconds; `0` alone is 0.
 * A number without a unit is refused: seconds or minutes, a reader could take it either way.
 */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const m = /^(\d+)([smh])$/.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * DURATION_UNITS[m[2]];
  // setTimeout's limit (about 24 days): longer is as good as none, and 0 says that.
  return ms <= 2 ** 31 - 1 ? ms : undefined;
}

/** Milliseconds as the largest whole unit: `30m`, `90s`, `1h`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}

/**
 * Characters that never reach a printed line raw (docs/verify.md, "Text from
 * the inputs"): C0 controls (CR and LF split a runner's log into lines that it
 * reads as workflow commands), DEL, C1 controls, the line and paragraph
 * separators, and the invisible format characters that reorder or hide text
 * (bidi embeddings, overrides and isolates, marks, zero-width characters,
 * the byte-order mark).
 */
const UNPRINTABLE_CLASS =
  '[\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff\\ufff9-\\ufffb]';
const UNPRINTABLE = new RegExp(UNPRINTABLE_CLASS, 'g');
const HAS_UNPRINTABLE = new RegExp(UNPRINTABLE_CLASS);

/** The first character of `text` that printable() escapes, if any. */
export function firstUnprintable(text: string): string | undefined {
  return HAS_UNPRINTABLE.exec(text)?.[0];
}

const NAMED_ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One character as printable() shows it: `\r`, `\x1b`, `\u202e`. */
export function escapeCharacter(ch: string): string {
  const named = NAMED_ESCAPES[ch];
  if (named) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control and invisible format character shown escaped. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escapeCharacter);
}

/**
 * One line as we print it: printable(), and never starting with `::` (what
 * a runner reads as a workflow command, after leading blanks): its first
 * colon is shown escaped.
 */
export function printableLine(line: string): string {
  return printable(line).replace(/^(\s*):(?=:)/, '$1\\x3a');
}

/** Text of several lines (split on LF; a final LF kept), each made a printableLine(). */
export function printableText(text: string): string {
  const end = text.endsWith('\n') ? '\n' : '';
  const body = end ? text.slice(0, -1) : text;
  return body.split('\n').map(printableLine).join('\n') + end;
}

/** Lines as one text: each made a printableLine() (an LF inside one is shown escaped). */
export function printableLines(lines: readonly string[]): string {
  return lines.map(printableLine).join('\n');
}
