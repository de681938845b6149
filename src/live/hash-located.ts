/**
 * The md5s of a located hsfs build (docs/assembly.md, "One pass"): nothing
 * is staged, and xorriso reads each file itself, so the md5 that
 * boot_archive.manifest and the JSONL twin give comes from one read of each
 * source here, before xorriso's.
 */
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { contentPath, type ImageNode } from '../image/model.js';
import { copyWithMd5, md5OfFile, type Digest } from '../util/copy.js';
import { ioError, UserError } from '../util/errors.js';

/** Files hashed between two turns of the event loop. */
const YIELD_EVERY = 64;

/**
 * Every file of `image` that has no md5 yet is read once and hashed; hard
 * links take their file's md5. A file whose size is no longer the one the
 * assembly found changed while the build ran: an error, as in the UFS writer.
 *
 * xorriso stores one copy of the data of the disk files that are one file
 * (the same device and inode): right for the image's hard links, which
 * point at their file's source, but two image files whose sources are one
 * file (a proto symlink followed, a hard link in the proto) are two files
 * in a staged tree. Each such file after the first is copied into the
 * work directory (`stagingRoot`), from the same read that hashes it, so
 * that the image has the bytes of the staged build.
 */
export async function hashLocatedFiles(
  image: ReadonlyMap<string, ImageNode>,
  stagingRoot: string,
): Promise<void> {
  const buffer = Buffer.allocUnsafe(1 << 20);
  const seen = new Set<string>();
  let hashed = 0;
  for (const node of image.values()) {
    if (node.type !== 'f' || node.md5) continue;
    if (++hashed % YIELD_EVERY === 0) await nextTurn();
    const path = contentPath(node, stagingRoot);
    const digest = await readOnce(node, path, stagingRoot, buffer, seen).catch((err: unknown) => {
      throw err instanceof UserError ? err : ioError(err, 'read', path);
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

/** The md5 of `path`, or of its copy in `stagingRoot` when an earlier file was the same disk file. */
async function readOnce(
  node: ImageNode,
  path: string,
  stagingRoot: string,
  buffer: Buffer,
  seen: Set<string>,
): Promise<Digest> {
  const { dev, ino } = statSync(path, { bigint: true });
  const id = `${dev}:${ino}`;
  if (!seen.has(id)) {
    seen.add(id);
    return md5OfFile(path, buffer);
  }
  const copy = join(stagingRoot, node.path);
  await mkdir(dirname(copy), { recursive: true });
  const digest = await copyWithMd5(path, copy, 0o644, buffer);
  node.content = copy;
  return digest;
}
