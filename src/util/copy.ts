import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { ioError, isIoCondition } from '../util/errors.js';

const CHUNK = 1 << 20;

export interface Digest {
  size: number;
  md5: string;
}

/** Reads `input` to the end in chunks, hashing each and passing it to `sink`. */
async function digestChunks(
  input: FileHandle,
  buffer: Buffer,
  sink?: (chunk: Buffer) => Promise<void>,
): Promise<Digest> {
  const hash = createHash('md5');
  let size = 0;
  for (;;) {
    const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    hash.update(chunk);
    if (sink) await sink(chunk);
    size += bytesRead;
  }
  return { size, md5: hash.digest('hex') };
}

/**
 * Copies `from` to a new file `to` (never over an existing one) and returns
 * its size and md5, computed from the same reads that feed the copy.
 * A copy that fails removes what it wrote of `to`: no truncated file stays.
 * A full disk, a quota, a size limit or a failing device on either side is
 * a UserError naming the path; other errors (a source
 * that cannot be opened) are thrown as they are.
 */
export async function copyWithMd5(
  from: string,
  to: string,
  mode: number,
  buffer: Buffer = Buffer.allocUnsafe(CHUNK),
): Promise<Digest> {
  let side: 'read' | 'write' = 'read';
  const input = await open(from, 'r').catch((err: unknown) => {
    throw isIoCondition(err) ? ioError(err, 'read', from) : err;
  });
  try {
    side = 'write';
    const output = await open(to, 'wx', mode);
    let done = false;
    try {
      side = 'read';
      const digest = await digestChunks(input, buffer, async (chunk) => {
        side = 'write';
        let written = 0;
        while (written < chunk.length) {
          written += (await output.write(chunk, written, chunk.length - written)).bytesWritten;
        }
        side = 'read';
      });
      side = 'write';
      await output.close();
      done = true;
      return digest;
    } finally {
      if (!done) {
        await output.close().catch(() => undefined);
        await unlink(to).catch(() => undefined);
      }
    }
  } catch (err) {
    if (isIoCondition(err)) {
      throw side === 'write' ? ioError(err, 'write', to) : ioError(err, 'read', from);
    }
    throw err;
  } finally {
    await input.close();
  }
}

/** md5 of a file already open (read from where it is to the end). */
export function md5OfOpenFile(handle: FileHandle): Promise<Digest> {
  return digestChunks(handle, Buffer.allocUnsafe(CHUNK));
}

/**
 * md5 of a file: a source found for the image, or a file the customize step
 * created or changed. Read with synchronous calls: the builds hash tens of
 * thousands of mostly small files, and a promise round trip per open, read
 * and close costs more than the reads themselves.
 */
export function md5OfFile(path: string, buffer?: Buffer): Promise<Digest> {
  // A throw in the executor rejects the promise.
  return new Promise((resolve) => resolve(md5OfFileSync(path, buffer)));
}

function md5OfFileSync(path: string, buffer: Buffer = Buffer.allocUnsafe(CHUNK)): Digest {
  const fd = openSync(path, 'r');
  try {
    // Fill the buffer first (a short read is not the end: only a 0 is).
    let size = 0;
    let ended = false;
    while (size < buffer.length && !ended) {
      const bytesRead = readSync(fd, buffer, size, buffer.length - size, null);
      size += bytesRead;
      ended = bytesRead === 0;
    }
    // A file that fits the buffer (most do) is hashed in one call, with no
    // Hash object (and its native state) left for the garbage collector.
    if (ended && oneShotHash) {
      return { size, md5: oneShotHash('md5', buffer.subarray(0, size), 'hex') };
    }
    const hash = createHash('md5').update(buffer.subarray(0, size));
    for (;;) {
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { size, md5: hash.digest('hex') };
  } finally {
    closeSync(fd);
  }
}

/** crypto.hash(), from Node 20.12; older versions take createHash(). */
const oneShotHash = (
  crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'hex') => string }
).hash;

/**
 * Runs `work` over `items` with at most `limit` in flight, keeping result
 * order. After a failure no new item starts, and the first error is thrown
 * once the ones in flight have ended (nothing still writes when it returns).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number, worker: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async (_, worker) => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await work(items[index], index, worker);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  });
  const settled = await Promise.allSettled(runners);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}
