import { rename, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import * as zlib from 'node:zlib';
import { partialName } from '../util/atomic.js';
import { syncFileStream } from '../util/sync-file-stream.js';

/** Input is cut into blocks of this size, each compressed on its own thread. */
export const BLOCK = 1 << 20;
/** The window each block may refer back into (DEFLATE's maximum). */
export const WINDOW = 32 << 10;
/** The compression level of every gzip we write. */
export const LEVEL = 6;

// zlib.crc32 came in Node 20.15 / 22.2; older 20.x take this table.
let table: Uint32Array | undefined;
export function crc32(data: Buffer, crc: number): number {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(data, crc);
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (const byte of data) c = table[(c ^ byte) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * One block deflated: the pieces the stream hands back, in order. Not
 * zlib.deflateRaw: that joins the pieces (usually two per block, the
 * write's and the flush's) into a new buffer, a second allocation per
 * block of a size that varies, and over the hundreds of blocks of a
 * boot_archive those fragment malloc's heap: some 20 MiB more resident
 * memory for the build.
 */
export function deflateBlock(block: Buffer, options: zlib.ZlibOptions): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const stream = zlib.createDeflateRaw(options);
    const pieces: Buffer[] = [];
    stream.on('data', (piece: Buffer) => pieces.push(piece));
    stream.once('error', reject);
    stream.once('end', () => {
      stream.close();
      resolve(pieces);
    });
    stream.end(block);
  });
}

/**
 * The options of one block's deflate: the 32 KiB before it as dictionary
 * (none for the first block), a sync flush at its end, a finish for the
 * last. Every block of every stream is deflated with these, wherever it is
 * deflated, so that the bytes depend on the input alone.
 */
export function blockOptions(
  dictionary: Buffer | undefined,
  final: boolean,
  level = LEVEL,
): zlib.ZlibOptions {
  const options: zlib.ZlibOptions = {
    // Room for the whole output of a block: zlib's default 16 KiB would
    // come back to the main thread some thirty times per block.
    chunkSize: BLOCK + (BLOCK >> 3),
    level,
    finishFlush: final ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
  };
  if (dictionary) options.dictionary = dictionary;
  return options;
}

/** A block and a dictionary of zeros: the free space of an image, deflated once per process. */
const ZEROS = Buffer.alloc(BLOCK);
let zeroBlock: Promise<Buffer[]> | undefined;

/** True when `data` is all zero bytes. */
function allZero(data: Buffer): boolean {
  return ZEROS.compare(data, 0, data.length, 0, data.length) === 0;
}

/**
 * One block of a stream deflated with blockOptions. A whole block of zeros
 * after 32 KiB of zeros (the free space of an image) deflates to the same
 * bytes every time: it is deflated once and those bytes serve again.
 */
export function deflateStreamBlock(
  block: Buffer,
  dictionary: Buffer | undefined,
  final: boolean,
  level = LEVEL,
): Promise<Buffer[]> {
  const zeros =
    !final &&
    level === LEVEL &&
    block.length === BLOCK &&
    dictionary?.length === WINDOW &&
    allZero(dictionary) &&
    allZero(block);
  if (!zeros) return deflateBlock(block, blockOptions(dictionary, final, level));
  zeroBlock ??= deflateBlock(ZEROS, blockOptions(ZEROS.subarray(0, WINDOW), false));
  return zeroBlock;
}

/**
 * Blocks of a stream deflated before the stream reached them (the image,
 * while it is written: src/archive/early-deflate.ts). `take` returns the
 * deflated pieces of block `index` (counted from 0, BLOCK bytes each) when
 * it has them for exactly these bytes and this dictionary, else undefined
 * and the stream deflates the block itself. Never asked for the last block.
 */
export interface PremadeBlocks {
  take(index: number, dictionary: Buffer | undefined, block: Buffer): Promise<Buffer[]> | undefined;
  /** The pieces `take` gave are written out: their memory may serve again. */
  release?(pieces: Buffer[]): void;
}

/**
 * gzip of `input` into `output`, compressed in parallel the way pigz does
 * it: fixed-size blocks, each deflated on libuv's thread pool with the 32 KiB
 * before it as dictionary and ended by a sync flush, the last one final. The
 * blocks form one valid DEFLATE stream. Fixed block boundaries and a header
 * with no name, no time and OS "unknown" make the bytes depend on the input
 * alone. Returns the compressed size.
 */
export async function parallelGzip(
  input: AsyncIterable<Buffer>,
  output: Writable,
  options: { level?: number; threads?: number; premade?: PremadeBlocks } = {},
): Promise<number> {
  const level = options.level ?? LEVEL;
  // One block more than there are cores: a thread that finishes finds the
  // next block queued instead of waiting for the main thread to read it.
  const inFlight = Math.max(1, options.threads ?? availableParallelism() + 1);
  const pending: { deflated: Promise<Buffer[]>; block: Buffer; premade: boolean }[] = [];
  // Input blocks whose deflate is done, for the next ones (but the last
  // one launched: the next launch takes its dictionary from it).
  const spare: Buffer[] = [];
  let lastLaunched: Buffer | undefined;
  let written = 0;
  let crc = 0;
  let size = 0;

  const write = async (chunk: Buffer, onWritten?: () => void) => {
    written += chunk.length;
    if (!output.write(chunk, onWritten)) await once(output, 'drain');
  };
  const drainTo = async (limit: number) => {
    while (pending.length > limit) {
      const { deflated, block, premade } = pending.shift()!;
      const pieces = await deflated;
      for (const [i, piece] of pieces.entries()) {
        const last = premade && i === pieces.length - 1;
        await write(piece, last ? () => options.premade?.release?.(pieces) : undefined);
      }
      if (block !== lastLaunched && block.length === BLOCK) spare.push(block);
    }
  };

  let previous: Buffer | undefined; // the last full block, held until we know it is not final
  let dictionary: Buffer | undefined;
  let index = 0;
  const launch = (block: Buffer, final: boolean) => {
    const premade = final ? undefined : options.premade?.take(index, dictionary, block);
    index++;
    const deflated = premade ?? deflateStreamBlock(block, dictionary, final, level);
    // Awaited in turn, once the blocks before it are written; a failure it
    // meets before then is not an unhandled rejection (it is this stream's).
    deflated.catch(() => undefined);
    pending.push({ deflated, block, premade: premade !== undefined });
    lastLaunched = block;
    dictionary = block.subarray(Math.max(0, block.length - WINDOW));
  };

  // Header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown.
  await write(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]));
  let fill: Buffer = Buffer.allocUnsafe(BLOCK);
  let used = 0;
  for await (const data of input) {
    crc = crc32(data, crc);
    size += data.length;
    let offset = 0;
    while (offset < data.length) {
      const n = Math.min(BLOCK - used, data.length - offset);
      data.copy(fill, used, offset, offset + n);
      used += n;
      offset += n;
      if (used === BLOCK) {
        if (previous) launch(previous, false);
        previous = fill;
        fill = spare.pop() ?? Buffer.allocUnsafe(BLOCK);
        used = 0;
        await drainTo(inFlight);
      }
    }
  }
  if (used > 0) {
    if (previous) launch(previous, false);
    launch(fill.subarray(0, used), true);
  } else {
    launch(previous ?? Buffer.alloc(0), true);
  }
  await drainTo(0);
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(size >>> 0, 4);
  await write(trailer);
  return written;
}

/**
 * parallelGzip of `input` into the file `path`: written under its partial
 * name (a leftover of a killed run removed first, then created
 * exclusively, never written through), renamed into place once complete,
 * removed on failure.
 */
export async function gzipToFile(
  input: AsyncIterable<Buffer>,
  path: string,
  options: Parameters<typeof parallelGzip>[2] = {},
): Promise<void> {
  const tmp = partialName(path);
  await rm(tmp, { force: true });
  const output = syncFileStream(tmp);
  try {
    await parallelGzip(input, output, options);
    output.end();
    await finished(output);
    await rename(tmp, path);
  } catch (err) {
    output.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}
