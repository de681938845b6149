/**
 * What every reader of a UFS image shares (docs/ufs.md): opening the image,
 * exact reads, yielding in long loops, and the map from a file's logical
 * block to a fragment address through its direct and indirect pointers.
 *
 * The readers are read.ts (the tree and contents, every figure checked),
 * fsck/ (illumos fsck's passes) and boot-read.ts (illumos's boot-time reader,
 * which trusts the image). The walk of the pointers is the same in all three
 * (illumos's bmap and the boot reader's sbmap compute the same thing); how
 * an indirect block is read, and what a bad address means, is each reader's
 * own and stays with it.
 */
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import { describeError, UserError } from '../../util/errors.js';
import { NDADDR, NIADDR } from './layout.js';

/**
 * Turns of a long loop between two yields to the event loop, so that SIGINT
 * and SIGTERM are handled while a crafted image is read
 * (docs/exit-codes.md, "Interrupted").
 */
export const YIELD_EVERY = 256;
export const nextTurn = (): Promise<void> => setImmediate();

/** Opens a UFS image for reading; a failure is a UserError naming the path. */
export async function openImage(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw new UserError(`${path}: cannot open the UFS image: ${describeError(err)}`);
  }
}

/** Reads `buf.length` bytes at `position`; a short read throws `short()`, never leaves old bytes. */
export function readExact(
  fh: FileHandle,
  buf: Buffer,
  position: number,
  short: () => UserError,
): Promise<void> {
  // Synchronous: the image is a local file read a block at a time, and an
  // asynchronous read per block spends most of a pass waiting on the thread
  // pool. The readers' loops yield on their own (signals still get through).
  try {
    for (let got = 0; got < buf.length;) {
      const bytesRead = readSync(fh.fd, buf, got, buf.length - got, position + got);
      if (bytesRead === 0) throw short();
      got += bytesRead;
    }
    return Promise.resolve();
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/** An inode's block pointers (struct icommon's ic_db and ic_ib). */
export interface BlockPointers {
  readonly db: readonly number[];
  readonly ib: readonly number[];
}

/**
 * The pointer at `index` of the indirect block at fragment `addr`, which is
 * at `level` (0: its pointers are data blocks). The reader reads the block
 * its own way and decides what a bad `addr` is (an error, or 0: a hole).
 */
export type ReadPointer = (addr: number, level: number, index: number) => Promise<number>;

/**
 * bmap/sbmap: the fragment address of logical block `lbn` (0: a hole), or
 * undefined when `lbn` is beyond what the triple indirect block maps.
 */
export async function mapBlock(
  ip: BlockPointers,
  lbn: number,
  nindir: number,
  pointer: ReadPointer,
): Promise<number | undefined> {
  if (lbn < NDADDR) return ip.db[lbn];
  let x = lbn - NDADDR;
  let level = 0;
  while (level < NIADDR && x >= nindir ** (level + 1)) {
    x -= nindir ** (level + 1);
    level++;
  }
  if (level >= NIADDR) return undefined;
  let addr = ip.ib[level];
  for (let l = level; l >= 0 && addr !== 0; l--) {
    const per = nindir ** l;
    addr = await pointer(addr, l, Math.floor(x / per));
    x %= per;
  }
  return addr;
}
