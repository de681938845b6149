/**
 * The md5s of a located hsfs build (docs/assembly.md, "One pass"): nothing
 * is staged, and xorriso reads each file itself, so the md5 that
 * boot_archive.manifest and the JSONL twin give comes from one read of each
 * source here, before xorriso's.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { contentPath, type ImageNode } from '../image/model.js';
import { md5OfFile } from '../util/copy.js';
import { ioError, UserError } from '../util/errors.js';

/** Files hashed between two turns of the event loop. */
const YIELD_EVERY = 64;

/**
 * Every file of `image` that has no md5 yet is read once and hashed; hard
 * links take their file's md5. A file whose size is no longer the one the
 * assembly found changed while the build ran: an error, as in the UFS writer.
 */
export async function hashLocatedFiles(
  image: ReadonlyMap<string, ImageNode>,
  stagingRoot: string,
): Promise<void> {
  const buffer = Buffer.allocUnsafe(1 << 20);
  let hashed = 0;
  for (const node of image.values()) {
    if (node.type !== 'f' || node.md5) continue;
    if (++hashed % YIELD_EVERY === 0) await nextTurn();
    const path = contentPath(node, stagingRoot);
    const digest = await md5OfFile(path, buffer).catch((err: unknown) => {
      throw ioError(err, 'read', path);
    });
    if (node.size !== undefined && digest.size !== node.size) {
      throw new UserError(
        `${path}: the file is no longer ${node.size} bytes (it changed while the image was made)`,
      );
    }
    node.md5 = digest.md5;
  }
  for (const node of image.values()) {
    if (node.type === 'h' && node.linkText === undefined)
      node.md5 = image.get(node.linkedFile!)!.md5;
  }
}
