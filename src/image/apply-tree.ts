import { constants } from 'node:fs';
import { lchown, lutimes, open } from 'node:fs/promises';
import { join } from 'node:path';
import { compareBytes } from '../manifest/path.js';
import { isSymlinkNode, type ImageNode } from './model.js';

export interface ApplyOptions {
  /** Set numeric owners too (needs root). */
  owners: boolean;
  /** Set every timestamp to this many seconds since the epoch. */
  time?: number;
}

/**
 * Puts the model's modes (and owners, times) on the staged tree. Symlinks
 * are never followed: a link's text may point anywhere on the build host.
 * Directories come last, deepest first, so their modes do not block the rest.
 */
export async function applyModelToTree(
  root: string,
  nodes: Iterable<ImageNode>,
  rootDir: { mode: number; uid: number; gid: number },
  options: ApplyOptions,
): Promise<void> {
  const dirs: ImageNode[] = [];
  const apply = async (path: string, node: Pick<ImageNode, 'mode' | 'uid' | 'gid'>) => {
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      if (options.owners) await handle.chown(node.uid, node.gid);
      await handle.chmod(node.mode);
      if (options.time !== undefined) await handle.utimes(options.time, options.time);
    } finally {
      await handle.close();
    }
  };
  for (const node of nodes) {
    const path = join(root, node.path);
    if (node.type === 'd') dirs.push(node);
    else if (!isSymlinkNode(node)) await apply(path, node);
    else {
      if (options.owners) await lchown(path, node.uid, node.gid);
      if (options.time !== undefined) await lutimes(path, options.time, options.time);
    }
  }
  for (const node of dirs.sort((a, b) => compareBytes(b.path, a.path))) {
    await apply(join(root, node.path), node);
  }
  await apply(root, rootDir);
}
