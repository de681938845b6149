import { constants } from 'node:fs';
import { copyFile, lstat, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Stats, BigIntStats } from 'node:fs';
import { md5OfFile } from '../util/copy.js';
import { UserError } from '../util/errors.js';
import { escapeCharacter, firstUnprintable, printable } from '../util/format.js';
import type { ImageIdentities } from './owners.js';
import type { ImageNode } from './model.js';

interface Fingerprint {
  ino: bigint;
  ctimeNs: bigint;
  mode: bigint;
}

export type StagingSnapshot = Map<string, Fingerprint>;

/** Records how each staged node looks before the customize step runs. */
export async function snapshotStaging(
  nodes: ReadonlyMap<string, ImageNode>,
  stagingRoot: string,
): Promise<StagingSnapshot> {
  const snapshot: StagingSnapshot = new Map();
  for (const node of nodes.values()) {
    if (node.status !== 'ok') continue;
    const st = await lstat(join(stagingRoot, node.path), { bigint: true }).catch(() => undefined);
    if (st) snapshot.set(node.path, { ino: st.ino, ctimeNs: st.ctimeNs, mode: st.mode });
  }
  return snapshot;
}

/**
 * A name (or link text) the customize step made that boot_archive.manifest
 * cannot list: one line per entry, no control or invisible format
 * character (docs/manifest.md), as in the manifests themselves.
 */
function unlistable(path: string, what: 'name' | 'link text', text = path): void {
  const ch = firstUnprintable(text);
  if (ch === undefined) return;
  throw new UserError(
    `the customize step made ${printable(path)}, whose ${what} holds the control or invisible ` +
      `format character ${escapeCharacter(ch)}: boot_archive.manifest cannot list it`,
  );
}

/** The type a node has on disk: hard links are files, or symlinks when they link one. */
function diskType(node: ImageNode): ImageNode['type'] {
  if (node.type !== 'h') return node.type;
  return node.linkText === undefined ? 'f' : 's';
}

function typeOf(st: Stats | BigIntStats): ImageNode['type'] | undefined {
  if (st.isDirectory()) return 'd';
  if (st.isFile()) return 'f';
  if (st.isSymbolicLink()) return 's';
  return undefined;
}

/**
 * The image after the customize step: walks the staging tree, keeps what
 * the scripts left alone as it was recorded (no second read), re-reads what
 * they changed, adds what they created and drops what they removed.
 * Returns the nodes of the final image, and warnings for what it skipped.
 */
export async function rescanAfterCustomize(
  nodes: ReadonlyMap<string, ImageNode>,
  snapshot: StagingSnapshot,
  stagingRoot: string,
  ids: ImageIdentities,
  warnings: string[],
): Promise<Map<string, ImageNode>> {
  const final = new Map<string, ImageNode>();
  const asRoot = process.getuid?.() === 0;
  // Each inode with more than one link: how many it has, and which of them are in the image.
  const shared = new Map<string, { nlink: bigint; type: 'f' | 's'; paths: string[] }>();
  const walk = async (dir: string): Promise<void> => {
    const names = await readdir(join(stagingRoot, dir));
    for (const name of names) {
      const path = dir ? `${dir}/${name}` : name;
      unlistable(path, 'name');
      const st = await lstat(join(stagingRoot, path), { bigint: true });
      const type = typeOf(st);
      if (!type) {
        warnings.push(`${path}: the customize step made a special file; it is left out`);
        continue;
      }
      if ((type === 'f' || type === 's') && st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const links = shared.get(key) ?? { nlink: st.nlink, type, paths: [] };
        links.paths.push(path);
        shared.set(key, links);
      }
      const before = snapshot.get(path);
      const known = nodes.get(path);
      const untouched = known && before && before.ino === st.ino && before.ctimeNs === st.ctimeNs;
      if (untouched) {
        final.set(path, known);
      } else {
        const node: ImageNode =
          known && known.status === 'ok' && diskType(known) === type
            ? { ...known, type }
            : {
                path,
                type,
                origin: 'customize',
                mode: 0,
                owner: '',
                group: '',
                uid: asRoot ? Number(st.uid) : 0,
                gid: asRoot ? Number(st.gid) : 0,
                status: 'ok',
              };
        if (node.origin === 'customize') {
          node.mode = Number(st.mode & 0o7777n);
          node.owner = ids.users.nameOf(node.uid) ?? String(node.uid);
          node.group = ids.groups.nameOf(node.gid) ?? String(node.gid);
        } else if (before && before.mode !== st.mode) {
          node.mode = Number(st.mode & 0o7777n);
        }
        if (type === 'f') Object.assign(node, await md5OfFile(join(stagingRoot, path)));
        if (type === 's') {
          node.target = await readlink(join(stagingRoot, path));
          unlistable(path, 'link text', node.target);
          node.mode = 0o777;
        }
        delete node.linkedFile;
        delete node.linkText;
        final.set(path, node);
      }
      if (type === 'd') await walk(path);
    }
  };
  await walk('');
  for (const links of shared.values()) {
    if (links.nlink > BigInt(links.paths.length)) {
      for (const path of links.paths) {
        await unshare(stagingRoot, path, links.type);
        warnings.push(
          `${path}: the customize step hard-linked it with a file outside the image; ` +
            'the image has its own copy now (modes, owners and times are never set on the outside file)',
        );
      }
    }
  }
  return final;
}

/**
 * Gives `path` an inode of its own: a copy under a new name, renamed over
 * it. The other links to the old inode (outside the image) keep it as it was.
 */
async function unshare(stagingRoot: string, path: string, type: 'f' | 's'): Promise<void> {
  const file = join(stagingRoot, path);
  const tmp = join(dirname(file), `.${basename(file)}.unshared`);
  await rm(tmp, { force: true });
  try {
    if (type === 'f') await copyFile(file, tmp, constants.COPYFILE_EXCL);
    else await symlink(await readlink(file), tmp);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
