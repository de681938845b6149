/**
 * Lines a person reads on stdout or stderr. Paths, link text and messages
 * come from the inputs: each line is printableLine()d (src/util/format.ts),
 * so none carries a raw control or bidi character or starts with `::`
 * (docs/verify.md, "Text from the inputs").
 */
import { printableLines } from '../util/format.js';

export function writeLines(stream: NodeJS.WritableStream, lines: readonly string[]): void {
  if (lines.length > 0) stream.write(printableLines(lines) + '\n');
}

/** One line (an LF inside it is shown escaped). */
export const writeLine = (stream: NodeJS.WritableStream, line: string) =>
  writeLines(stream, [line]);
