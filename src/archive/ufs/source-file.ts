import { closeSync, openSync, readSync } from 'node:fs';
import { ioError, UserError } from '../../util/errors.js';

/**
 * A file whose bytes go into the image (a staged file, or a source file
 * the build did not stage), opened at the size the plan gave it. Every
 * reader of such a file (the plan's look for holes, the writer) reads
 * through readFully(): a read that returns fewer bytes than asked for is
 * continued, never taken as the file's end; only a read of 0 bytes is the
 * end, and an end before the plan's size is a file that changed since it
 * was planned (docs/ufs.md, "Reading the content"). Synchronous calls:
 * tens of thousands of small files, from the page cache, where a promise
 * round trip per call costs more than the copy.
 */
export class SourceFile {
  private constructor(
    readonly path: string,
    readonly size: number,
    private readonly fd: number,
  ) {}

  static open(path: string, size: number): SourceFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw ioError(err, 'read', path);
    }
    return new SourceFile(path, size, fd);
  }

  /** Opens `path`, runs `read` on it, closes it whatever happens. */
  static with<T>(path: string, size: number, read: (file: SourceFile) => T): T {
    const file = SourceFile.open(path, size);
    try {
      return read(file);
    } finally {
      file.close();
    }
  }

  /**
   * Fills `into` with the file's bytes from `position` on (within the
   * planned size); the one error when the file ends before.
   */
  readFully(into: Buffer, position: number): Buffer {
    if (position + into.length > this.size) {
      throw new Error(`internal error: a read past the planned size of ${this.path}`);
    }
    let got = 0;
    while (got < into.length) {
      const bytesRead = this.read(into, got, position + got);
      if (bytesRead === 0) throw this.changed();
      got += bytesRead;
    }
    return into;
  }

  /** The file has no byte after its planned size; the one error when it grew. */
  expectEnd(): void {
    if (this.read(Buffer.alloc(1), 0, this.size) !== 0) throw this.changed();
  }

  close(): void {
    closeSync(this.fd);
  }

  private read(into: Buffer, offset: number, position: number): number {
    try {
      return readSync(this.fd, into, offset, into.length - offset, position);
    } catch (err) {
      throw ioError(err, 'read', this.path);
    }
  }

  /** The one message for a file whose size is not the planned one. */
  private changed(): UserError {
    return new UserError(
      `${this.path}: the file is no longer ${this.size} bytes (it changed while the image was made)`,
    );
  }
}
