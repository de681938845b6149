import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { ioError, isIoCondition } from './errors.js';

/** The temporary name a finished output is written under before its rename. */
export function partialName(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.partial`);
}

/**
 * Writes `data` to `path` under partialName(path), created exclusively
 * (`wx`) with exactly `mode`, then renamed into place. A leftover of a
 * killed run at that name is removed first, never written through (a
 * symlink planted there points nowhere we write); one planted after that
 * fails the write.
 */
export async function replaceFile(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const tmp = partialName(path);
  await rm(tmp, { force: true });
  try {
    await writeFile(tmp, data, { flag: 'wx', mode });
    await chmod(tmp, mode); // exactly, whatever the umask
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * A text file written line by line under a temporary name and renamed into
 * place by `commit()`; `abort()` removes it. Readers never see a half file.
 * The temporary file is created exclusively (`wx`: never through an
 * existing name or symlink); `tmp` puts it in a private directory of the
 * caller's (build-live's log work directory), else it is `partialName(path)`.
 */
export class AtomicLineWriter {
  private readonly stream: WriteStream;
  readonly tmp: string;
  private failure: Error | undefined;

  constructor(
    readonly path: string,
    options: { tmp?: string } = {},
  ) {
    this.tmp = options.tmp ?? partialName(path);
    this.stream = createWriteStream(this.tmp, { mode: 0o644, flags: 'wx' });
    // A full disk or a size limit names the file.
    this.stream.on('error', (err) => (this.failure = this.named(err)));
  }

  private named(err: unknown): Error {
    if (isIoCondition(err)) return ioError(err, 'write', this.path);
    return err instanceof Error ? err : new Error(String(err));
  }

  /** Writes one line; waits when the stream's buffer is full. */
  async line(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(text + '\n')) {
      await once(this.stream, 'drain').catch((err: unknown) => {
        throw this.named(err);
      });
    }
  }

  private async close(): Promise<void> {
    if (!this.stream.closed) {
      this.stream.end();
      await once(this.stream, 'close').catch(() => undefined);
    }
    if (this.failure) throw this.failure;
  }

  /** Ends the file under its temporary name (`tmp`); the caller renames it. */
  async finish(): Promise<void> {
    await this.close();
  }

  async commit(): Promise<void> {
    await this.close();
    await rename(this.tmp, this.path);
  }

  async abort(): Promise<void> {
    await this.close().catch(() => undefined);
    await rm(this.tmp, { force: true });
  }
}
