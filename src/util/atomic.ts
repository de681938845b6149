import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { ioError, isIoCondition } from './errors.js';

/** The temporary name a finished output is written under before its rename. */
export function partialName(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.partial`);
}

/**
 * A text file written line by line under a temporary name and renamed into
 * place by `commit()`; `abort()` removes it. Readers never see a half file.
 */
export class AtomicLineWriter {
  private readonly stream: WriteStream;
  private readonly tmp: string;
  private failure: Error | undefined;

  constructor(readonly path: string) {
    this.tmp = partialName(path);
    this.stream = createWriteStream(this.tmp, { mode: 0o644 });
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

  async commit(): Promise<void> {
    await this.close();
    await rename(this.tmp, this.path);
  }

  async abort(): Promise<void> {
    await this.close().catch(() => undefined);
    await rm(this.tmp, { force: true });
  }
}
