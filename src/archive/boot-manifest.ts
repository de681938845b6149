import { compareBytes } from '../manifest/path.js';
import { formatMode } from '../manifest/types.js';
import type { ImageNode } from '../image/model.js';
import type { ImageIdentities } from '../image/owners.js';

/** Mode and owner of the image root (`d . ...`). */
export const ROOT_DIR = { mode: 0o755, uid: 0, gid: 0 } as const;

/**
 * The lines of boot_archive.manifest (SPEC 4) for the final image, sorted by
 * path in byte order. Owners are the image's names for the ids applied.
 */
export function* bootManifestLines(
  nodes: Iterable<ImageNode>,
  ids: ImageIdentities,
): Generator<string> {
  const user = (uid: number) => ids.users.nameOf(uid) ?? String(uid);
  const group = (gid: number) => ids.groups.nameOf(gid) ?? String(gid);
  yield `d . ${formatMode(ROOT_DIR.mode)} ${user(ROOT_DIR.uid)} ${group(ROOT_DIR.gid)}`;
  const sorted = [...nodes].sort((a, b) => compareBytes(a.path, b.path));
  for (const node of sorted) {
    const owner = `${formatMode(node.mode)} ${user(node.uid)} ${group(node.gid)}`;
    switch (node.type) {
      case 'd':
        yield `d ./${node.path} ${owner}`;
        break;
      case 'f':
      case 'h':
        if (node.linkText !== undefined) yield `s ./${node.path}=${node.linkText}`;
        else yield `f ./${node.path} ${owner} ${node.md5}`;
        break;
      case 's':
        yield `s ./${node.path}=${node.target}`;
        break;
    }
  }
}
