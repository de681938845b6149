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
 * xorriso stores one copy of the data of the disk files that are one file
 * (the same device and inode): right for the image's hard links, which
 * point at their file's source, but two image files whose sources are one
 * file (a proto symlink followed, a hard link in the proto) are two files
 * in a staged tree. Each such file after the first is copied into the work
 * directory (`stagingRoot`), and hashed from the same read, so that the
 * image has the bytes of the staged build. The others are only looked at.
 */
export async function separateSharedSources(
  image: ReadonlyMap<string, ImageNode>,
  stagingRoot: string,
): Promise<void> {
  const seen = new Set<string>();
  for await (const { node, path } of unhashedFiles(image, stagingRoot)) {
    const { dev, ino } = statOrFail(path);
    const id = `${dev}:${ino}`;
    if (!seen.has(id)) {
      seen.add(id);
      continue;
    }
    const copy = join(stagingRoot, node.path);
    await mkdir(dirname(copy), { recursive: true });
    const digest = await copyWithMd5(path, copy, 0o644).catch((err: unknown) => {
      throw err instanceof UserError ? err : ioError(err, 'read', path);
    });
    checkSize(node, path, digest);
    Object.assign(node, { content: copy, md5: digest.md5 });
  }
}

/** Each file with no md5 yet and the path of its content; the event loop turns now and then. */
async function* unhashedFiles(image: ReadonlyMap<string, ImageNode>, stagingRoot: string) {
  let count = 0;
  for (const node of image.values()) {
    if (node.type !== 'f' || node.md5) continue;
    if (++count % YIELD_EVERY === 0) await nextTurn();
    yield { node, path: contentPath(node, stagingRoot) };
  }
}

function statOrFail(path: string) {
  try {
    return statSync(path, { bigint: true });
  } catch (err) {
    throw ioError(err, 'read', path);
  }
}

/** A file whose size is no longer the one the assembly found changed while the build ran. */
function checkSize(node: ImageNode, path: string, digest: Digest): void {
  if (node.size !== undefined && digest.size !== node.size) {
    throw new UserError(
      `${path}: the file is no longer ${node.size} bytes (it changed while the image was made)`,
    );
  }
}

/**
 * Every file of `image` that has no md5 yet is read once and hashed; hard
 * links take their file's md5.
 */
export async function hashLocatedFiles(
  image: ReadonlyMap<string, ImageNode>,
  stagingRoot: string,
): Promise<void> {
  const buffer = Buffer.allocUnsafe(1 << 20);
  for await (const { node, path } of unhashedFiles(image, stagingRoot)) {
    const digest = await md5OfFile(path, buffer).catch((err: unknown) => {
      throw ioError(err, 'read', path);
    });
    checkSize(node, path, digest);
    node.md5 = digest.md5;
  }
  for (const node of image.values()) {
    if (node.type === 'h' && node.linkText === undefined)
      node.md5 = image.get(node.linkedFile!)!.md5;
  }
}
