/**
 * inode.c: the block addresses of an inode. chkrange (a run of fragments
 * inside one block of one group's data), iblock (the pointers of an
 * indirect block, as ckinode walks them), and the logical-to-fragment map
 * pass 2 reads directories through.
 */
import type { Dinode } from '../layout.js';
import { mapBlock } from '../image-io.js';
import type { Image } from './image.js';

/** chkrange: a run of `cnt` fragments at `blk` that lies inside one block of one group's data. */
export function inRange(image: Image, blk: number, cnt: number): boolean {
  const { fs } = image;
  if (cnt <= 0 || blk <= 0 || blk >= fs.size || cnt - 1 > fs.size - blk) return false;
  if (cnt > fs.frag || (blk % fs.frag) + cnt > fs.frag) return false;
  const c = Math.floor(blk / fs.fpg);
  if (blk < image.cgdmin(c)) return blk + cnt <= image.cgsblock(c);
  return blk + cnt <= image.cgbase(c + 1);
}

/** Gets each block an inode holds; false when the block is out of range (not to be followed). */
export type VisitBlock = (blk: number, cnt: number) => boolean;

/**
 * iblock: the pointers of an indirect block at `level` (0: single) that
 * cover `count` logical blocks from `lbnBase`; `visit` gets each block.
 * Returns the first logical block that is a hole, or -1.
 */
export async function walkIndirect(
  image: Image,
  addr: number,
  level: number,
  count: number,
  lbnBase: number,
  visit: VisitBlock,
): Promise<number> {
  const { fs } = image;
  const block = await image.read(addr, fs.bsize);
  const per = fs.nindir ** level;
  let firstHole = -1;
  const pointers = Math.min(fs.nindir, Math.ceil(count / per));
  for (let i = 0; i < fs.nindir; i++) {
    const p = block.readInt32LE(4 * i);
    const lbn = lbnBase + i * per;
    // Pointers past the size are not followed (fsck does not): their blocks show in pass 5.
    if (i >= pointers) continue;
    if (p === 0) {
      if (firstHole < 0) firstHole = lbn;
      continue;
    }
    if (!visit(p, fs.frag) || level === 0) continue;
    const rest = Math.min(per, count - i * per);
    const hole = await walkIndirect(image, p, level - 1, rest, lbn, visit);
    if (hole >= 0 && firstHole < 0) firstHole = hole;
  }
  return firstHole;
}

/**
 * The fragment address of logical block `lbn` of `d` (0 for a hole, or past
 * the triple indirect block); an indirect block out of range reads as a hole
 * (pass 1 has reported it).
 */
export async function blockOf(image: Image, d: Dinode, lbn: number): Promise<number> {
  const { fs } = image;
  const frag = await mapBlock(d, lbn, fs.nindir, async (addr, _level, index) => {
    if (!inRange(image, addr, fs.frag)) return 0;
    return (await image.read(addr, 4, index * 4)).readInt32LE(0);
  });
  return frag ?? 0;
}
