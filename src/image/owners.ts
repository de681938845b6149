import type { Diagnostic } from '../manifest/types.js';
import { IdentityTable } from './identity.js';
import { contentPath, type ImageNode } from './model.js';

export interface ImageIdentities {
  users: IdentityTable;
  groups: IdentityTable;
}

/** Reads the image's etc/passwd and etc/group (staged or at their source), when the image has them. */
export async function readImageIdentities(
  nodes: ReadonlyMap<string, ImageNode>,
  stagingRoot: string,
): Promise<ImageIdentities> {
  const staged = (path: string) => {
    const node = nodes.get(path);
    return node?.status === 'ok' ? contentPath(node, stagingRoot) : undefined;
  };
  return {
    users: await IdentityTable.read('user', staged('etc/passwd')),
    groups: await IdentityTable.read('group', staged('etc/group')),
  };
}

/**
 * Gives every node numeric ids from the image's own users and groups
 * (docs/manifest.md). A name the image does not define gets id 0 and a warning with
 * the manifest's file:line; the count of such entries is returned. Hard
 * links then take mode, owner and content of the file they share.
 */
export function resolveOwners(
  nodes: ReadonlyMap<string, ImageNode>,
  ids: ImageIdentities,
  warnings: Diagnostic[],
): number {
  let unknown = 0;
  const all = [...nodes.values()];
  for (const node of all) {
    if (node.type === 's' || node.type === 'h') continue;
    const uid = ids.users.idOf(node.owner);
    const gid = ids.groups.idOf(node.group);
    node.uid = uid ?? 0;
    node.gid = gid ?? 0;
    const missing = [
      uid === undefined ? `owner "${node.owner}" is not a user of the image (etc/passwd)` : '',
      gid === undefined ? `group "${node.group}" is not a group of the image (etc/group)` : '',
    ].filter(Boolean);
    if (missing.length > 0) {
      unknown++;
      warnings.push({
        severity: 'warning',
        loc: node.loc,
        message: `${node.path}: ${missing.join(' and ')}: using id 0`,
      });
    }
  }
  for (const node of all) {
    if (node.type !== 'h' || !node.linkedFile) continue;
    const file = nodes.get(node.linkedFile);
    if (!file) continue;
    Object.assign(node, {
      mode: file.mode,
      owner: file.owner,
      group: file.group,
      uid: file.uid,
      gid: file.gid,
    });
    if (node.status === 'ok') Object.assign(node, { size: file.size, md5: file.md5 });
  }
  return unknown;
}
