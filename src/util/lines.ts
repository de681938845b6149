/**
 * Line-oriented inputs (manifests, build logs, boot_archive.manifest):
 * opened only when they are regular files, and read line by line with a
 * limit on a line's length, so that a FIFO, a device or a file with no
 * newline in gigabytes is an error naming `file:line`, not a hang or a
 * crash (docs/verify-cli.md, "Limits").
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { describeError, UserError } from './errors.js';

/** The longest line any reader accepts: 1 MiB (a manifest line is a few hundred bytes). */
export const MAX_LINE_LENGTH = 1 << 20;

function kindOf(stats: {
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
  isDirectory(): boolean;
}): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Opens `path` for reading only if it is a regular file (without blocking
 * on a FIFO). `what` names it in messages ("manifest", "log").
 */
export async function openRegularFile(path: string, what: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new UserError(`cannot read ${what} ${path}: ${describeError(err)}`);
  }
  const stats = await handle.stat();
  if (!stats.isFile()) {
    await handle.close();
    throw new UserError(`${what} ${path} is ${kindOf(stats)}, not a regular file`);
  }
  return handle;
}

/** A line over the limit: `path:line: reason`. */
export class LineError extends UserError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

export interface LinesRead {
  /** Lines handed to onLine. */
  lines: number;
}

/**
 * Hands each line of the regular file `path` (without its "\n"; a final
 * line without one included) to `onLine`, with its number. A line longer
 * than MAX_LINE_LENGTH is a UserError at `path:line`. Split by hand rather
 * than with readline: fewer objects per line, for million-line logs.
 */
export async function forEachLine(
  path: string,
  what: string,
  onLine: (text: string, line: number) => void,
  maxLine = MAX_LINE_LENGTH,
): Promise<LinesRead> {
  const handle = await openRegularFile(path, what);
  let lines = 0;
  const tooLong = () =>
    new LineError(
      path,
      lines + 1,
      `line longer than ${maxLine} characters (the limit for a ${what} line): is this the right file?`,
    );
  let rest = '';
  const stream = handle.createReadStream({ encoding: 'utf8', autoClose: false });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let start = 0;
      let end = chunk.indexOf('\n');
      if (end >= 0 && rest) {
        if (rest.length + end > maxLine) throw tooLong();
        onLine(rest + chunk.slice(0, end), ++lines);
        rest = '';
        start = end + 1;
        end = chunk.indexOf('\n', start);
      }
      while (end >= 0) {
        if (end - start > maxLine) throw tooLong();
        onLine(chunk.slice(start, end), ++lines);
        start = end + 1;
        end = chunk.indexOf('\n', start);
      }
      if (rest.length + chunk.length - start > maxLine) throw tooLong();
      rest += chunk.slice(start);
    }
    if (rest) onLine(rest, ++lines);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot read ${what} ${path}: ${describeError(err)}`);
  } finally {
    stream.destroy();
    await handle.close();
  }
  return { lines };
}
