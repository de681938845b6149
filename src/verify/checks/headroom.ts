/**
 * low-headroom: the free blocks and inodes of a UFS boot_archive, from its
 * superblock (read once the image opened as UFS with our reader). The
 * figures are always reported; --min-free and --min-free-inodes make too
 * little a finding (docs/verify.md).
 */
import { open } from 'node:fs/promises';
import { decodeSuperblock, SBLOCK_OFFSET, FS_SBSIZE } from '../../archive/ufs/layout.js';
import { GATE_LIMITS, UfsReader } from '../../archive/ufs/read.js';
import { humanBytes, parseSize } from '../../util/format.js';
import { UsageError, UserError } from '../../util/errors.js';
import type { Finding, HeadroomFigures } from '../types.js';

/** The figures of a UFS image; undefined when `archive` is not one. */
export async function readHeadroom(archive: string): Promise<HeadroomFigures | undefined> {
  try {
    await (await UfsReader.open(archive, GATE_LIMITS)).close();
  } catch (err) {
    if (err instanceof UserError) return undefined;
    throw err;
  }
  const fh = await open(archive, 'r');
  try {
    const raw = Buffer.alloc(FS_SBSIZE);
    await fh.read(raw, 0, FS_SBSIZE, SBLOCK_OFFSET);
    const sb = decodeSuperblock(raw);
    const fsize = sb.fsize;
    const frag = sb.bsize / fsize;
    return {
      blockBytes: fsize,
      blocks: sb.dsize,
      freeBlocks: sb.cstotal.nbfree * frag + sb.cstotal.nffree,
      inodes: sb.ipg * sb.ncg,
      freeInodes: sb.cstotal.nifree,
    };
  } finally {
    await fh.close();
  }
}

/** `--min-free`: a size (`64M`) or a percentage of the data blocks (`5%`). */
export function parseMinFree(text: string): { bytes?: number; percent?: number } {
  const pct = /^(\d+(?:\.\d+)?)\s*%$/.exec(text.trim());
  if (pct && Number(pct[1]) <= 100) return { percent: Number(pct[1]) };
  const bytes = parseSize(text);
  if (bytes === undefined)
    throw new UsageError(`--min-free "${text}": not a size (64M) or a percentage (5%)`);
  return { bytes };
}

export function* lowHeadroom(
  figures: HeadroomFigures,
  archive: string,
  minFree?: string,
  minFreeInodes?: number,
): Generator<Finding, number> {
  if (minFree !== undefined) {
    const min = parseMinFree(minFree);
    const free = figures.freeBlocks * figures.blockBytes;
    const needed =
      min.bytes ?? Math.ceil(((min.percent ?? 0) / 100) * figures.blocks * figures.blockBytes);
    if (free < needed) {
      yield {
        kind: 'low-headroom',
        path: archive,
        message: `${humanBytes(free)} free, less than --min-free ${minFree} (${humanBytes(needed)})`,
      };
    }
  }
  if (minFreeInodes !== undefined && figures.freeInodes < minFreeInodes) {
    yield {
      kind: 'low-headroom',
      path: archive,
      message: `${figures.freeInodes} inodes free, fewer than --min-free-inodes ${minFreeInodes}`,
    };
  }
  return 1;
}
