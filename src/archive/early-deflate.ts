/**
 * Compression while the image is written (docs/output-layout.md, "The tgz
 * while the image is written"). The tgz is one gzip stream cut into blocks
 * of BLOCK bytes, each deflated on its own with the WINDOW bytes before it
 * as dictionary (src/archive/gzip.ts): a block can be deflated as soon as
 * those bytes are final, in any order. The boot_archive is the first file
 * of the tgz, so most of the stream is the image; while the writer writes
 * it, it says which bytes are final (`settled`), and the blocks that are
 * wholly final are deflated on the thread pool with the cores the writer
 * leaves idle. Their output cannot go to the tgz yet (the image's first
 * blocks, the superblock and the cylinder groups, are written last), so it
 * goes to a spill file, and the tgz step (writePlatformTgz with `premade`)
 * takes it from there instead of deflating the block again: the same
 * bytes, byte for byte, as when it deflates every block itself.
 */
import { closeSync, openSync, readSync, writevSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ioError } from '../util/errors.js';
import { BLOCK, crc32, deflateStreamBlock, WINDOW, type PremadeBlocks } from './gzip.js';

/** A range of image bytes, [from, to). */
export type ByteRange = readonly [from: number, to: number];

/**
 * What the writer says of its image at a turn of the event loop: every
 * byte below `below` is final (on disk, never written again) except those
 * in `except`, which may be final at a later turn.
 */
export interface SettledImage {
  below: number;
  except: readonly ByteRange[];
}

/** One block of the stream deflated (or being deflated) ahead of it. */
interface Early {
  /** crc32 of the dictionary and the block, to check against the stream's bytes. */
  crc: number;
  state: 'queued' | 'deflating' | 'spilled' | 'taken';
  /** While deflating: its pieces. */
  deflated?: Promise<Buffer[]>;
  /** Once spilled: where its pieces are in the spill file. */
  offset?: number;
  length?: number;
}

export interface EarlyDeflateOptions {
  /** The image file, as the writer writes it (opened at the first `settled`). */
  image: string;
  /** Its size (Infinity when not known ahead): bytes from here on belong to the members after it. */
  imageBytes: number;
  /** Where the image's first byte is in the tar stream (after the headers before it). */
  imageOffset: number;
  /** A new file (created exclusively) for the deflated blocks; the caller removes it. */
  spill: string;
  /** Blocks deflated at once; default as many as there are cores (the writer keeps the main thread). */
  threads?: number;
}

export class EarlyDeflate implements PremadeBlocks {
  private readonly blocks = new Map<number, Early>();
  private readonly queue: number[] = [];
  /** Blocks below `next` some bytes of which were not final yet, by the last word. */
  private waiting: number[] = [];
  private next = 0;
  private inFlight = 0;
  private imageFd = -1;
  private spillFd = -1;
  private spillEnd = 0;
  private stopped = false;
  private disposed = false;
  private failure?: Error;
  private readonly limit: number;
  private readonly buffers: Buffer[] = [];
  /** Buffers for the blocks read back from the spill file, given back by `release`. */
  private readonly readBuffers: Buffer[] = [];
  /**
   * Blocks found final while the image was written, taken by the stream
   * from here, and whose bytes were not the stream's (never, unless the
   * writer's word was wrong).
   */
  readonly counts = { ready: 0, taken: 0, mismatched: 0 };

  constructor(private readonly options: EarlyDeflateOptions) {
    this.limit = Math.max(1, options.threads ?? availableParallelism());
  }

  /**
   * The writer's word on its image: every block of the stream whose bytes
   * (and the WINDOW before them) are now final is queued and deflated.
   */
  settled({ below, except }: SettledImage): void {
    if (this.stopped || this.failure !== undefined) return;
    const { imageOffset, imageBytes } = this.options;
    const end = imageOffset + Math.min(below, imageBytes);
    const candidates = this.waiting;
    for (; (this.next + 1) * BLOCK <= end; this.next++) candidates.push(this.next);
    this.waiting = [];
    for (const index of candidates) {
      const from = index * BLOCK - WINDOW - imageOffset;
      const to = (index + 1) * BLOCK - imageOffset;
      // The first block holds the tar headers and the superblock: the stream's.
      if (from < 0) continue;
      if (except.some(([a, b]) => a < to && b > from)) {
        this.waiting.push(index);
        continue;
      }
      this.blocks.set(index, { crc: 0, state: 'queued' });
      this.queue.push(index);
      this.counts.ready++;
    }
    this.pump();
  }

  /** No more blocks are started here; the stream deflates what is left. */
  stop(): void {
    this.stopped = true;
  }

  take(
    index: number,
    dictionary: Buffer | undefined,
    block: Buffer,
  ): Promise<Buffer[]> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const early = this.blocks.get(index);
    if (!early || early.state === 'queued') return undefined;
    this.blocks.delete(index);
    const crc = crc32(block, dictionary ? crc32(dictionary, 0) : 0);
    if (crc !== early.crc) {
      this.counts.mismatched++;
      return undefined;
    }
    this.counts.taken++;
    if (early.state === 'deflating') {
      early.state = 'taken';
      return early.deflated!;
    }
    return Promise.resolve([this.readSpill(early)]);
  }

  release(pieces: Buffer[]): void {
    // A block read back from the spill file is one piece, a whole buffer of ours.
    const [piece] = pieces;
    if (pieces.length === 1 && piece.byteOffset === 0 && this.readBuffers.length < READ_BUFFERS) {
      this.readBuffers.push(Buffer.from(piece.buffer));
    }
  }

  /** Closes the files (the spill file is the caller's to remove). */
  dispose(): void {
    this.stopped = this.disposed = true;
    for (const fd of [this.imageFd, this.spillFd]) if (fd >= 0) closeSync(fd);
    this.imageFd = this.spillFd = -1;
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < this.limit && this.queue.length > 0) {
      const index = this.queue.shift()!;
      const early = this.blocks.get(index);
      if (early?.state !== 'queued') continue;
      try {
        this.launch(index, early);
      } catch (err) {
        this.fail(err);
        return;
      }
    }
  }

  private launch(index: number, early: Early): void {
    const { image, imageOffset } = this.options;
    if (this.imageFd < 0) this.imageFd = openSync(image, 'r');
    const input = this.buffers.pop() ?? Buffer.allocUnsafe(WINDOW + BLOCK);
    const position = index * BLOCK - WINDOW - imageOffset;
    readFullySync(this.imageFd, input, position, image);
    const dictionary = input.subarray(0, WINDOW);
    const block = input.subarray(WINDOW);
    early.crc = crc32(block, crc32(dictionary, 0));
    early.state = 'deflating';
    early.deflated = deflateStreamBlock(block, dictionary, false);
    this.inFlight++;
    early.deflated.then(
      (pieces) => {
        this.inFlight--;
        this.buffers.push(input);
        if (early.state === 'deflating' && !this.disposed) this.spillOut(early, pieces);
        this.pump();
      },
      (err: unknown) => {
        this.inFlight--;
        this.fail(err);
      },
    );
  }

  /** A deflated block the stream has not asked for yet goes to the spill file. */
  private spillOut(early: Early, pieces: Buffer[]): void {
    const { spill } = this.options;
    try {
      if (this.spillFd < 0) this.spillFd = openSync(spill, 'wx+', 0o600);
      const length = pieces.reduce((sum, p) => sum + p.length, 0);
      let done = 0;
      while (done < length) {
        const n = writevSync(this.spillFd, skip(pieces, done), this.spillEnd + done);
        if (n === 0) throw new Error(`short write at ${this.spillEnd + done}`);
        done += n;
      }
      early.offset = this.spillEnd;
      early.length = length;
      early.deflated = undefined;
      early.state = 'spilled';
      this.spillEnd += length;
    } catch (err) {
      this.fail(ioError(err, 'write', spill));
    }
  }

  private readSpill(early: Early): Buffer {
    const length = early.length!;
    const index = this.readBuffers.findIndex((b) => b.length >= length);
    const buffer =
      index >= 0
        ? this.readBuffers.splice(index, 1)[0]
        : Buffer.allocUnsafe(Math.max(length, BLOCK));
    const out = buffer.subarray(0, length);
    readFullySync(this.spillFd, out, early.offset!, this.options.spill);
    return out;
  }

  private fail(err: unknown): void {
    this.failure ??= err instanceof Error ? err : new Error(String(err));
    this.stopped = true;
  }
}

/** Read-back buffers kept for reuse (the stream has a few blocks in hand at a time). */
const READ_BUFFERS = 4;

/** `pieces` without their first `bytes` bytes. */
function skip(pieces: readonly Buffer[], bytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (const piece of pieces) {
    if (bytes >= piece.length) {
      bytes -= piece.length;
      continue;
    }
    out.push(bytes > 0 ? piece.subarray(bytes) : piece);
    bytes = 0;
  }
  return out;
}

/** All of `into` from `position` of an open file; its end before that is an error. */
function readFullySync(fd: number, into: Buffer, position: number, path: string): void {
  let got = 0;
  while (got < into.length) {
    let n: number;
    try {
      n = readSync(fd, into, got, into.length - got, position + got);
    } catch (err) {
      throw ioError(err, 'read', path);
    }
    if (n === 0) throw new Error(`internal error: ${path} ends before byte ${position + got}`);
    got += n;
  }
}
