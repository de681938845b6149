import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

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
 */
export async function copyWithMd5(
  from: string,
  to: string,
  mode: number,
  buffer: Buffer = Buffer.allocUnsafe(CHUNK),
): Promise<Digest> {
  const input = await open(from, 'r');
  try {
    const output = await open(to, 'wx', mode);
    try {
      return await digestChunks(input, buffer, async (chunk) => {
        let written = 0;
        while (written < chunk.length) {
          written += (await output.write(chunk, written, chunk.length - written)).bytesWritten;
        }
      });
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/** md5 of a file (for files the customize step created or changed). */
export async function md5OfFile(
  path: string,
  buffer: Buffer = Buffer.allocUnsafe(CHUNK),
): Promise<Digest> {
  const input = await open(path, 'r');
  try {
    return await digestChunks(input, buffer);
  } finally {
    await input.close();
  }
}

/** Runs `work` over `items` with at most `limit` in flight, keeping result order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number, worker: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async (_, worker) => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index, worker);
    }
  });
  await Promise.all(runners);
  return results;
}
