/**
 * A BootImageView (src/verify/checks/boot-image.ts) of the real 2011
 * SmartOS image, without building one: its entries are the 2011 manifest's
 * (hard links as the files they share), and the files with content are the
 * real 2011 overlay's, plus any a test gives. Other files of the manifest
 * are in the tree but have no content here (read gives undefined).
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BootEntry } from '../../src/formats/boot-manifest.js';
import { parseManifestFile } from '../../src/formats/manifest-line.js';
import type { ManifestEntry } from '../../src/manifest/types.js';
import type { BootImageView } from '../../src/verify/checks/boot-image.js';
import { SMARTOS_DATA } from './paths.js';

export const OVERLAY_2011 = join(SMARTOS_DATA, 'overlay-2011-09');
export const MANIFEST_2011 = join(SMARTOS_DATA, 'manifest-2011-09.txt');

export interface ViewChanges {
  /** Files added or replaced: image path -> content (mode 0755 unless `modes` says). */
  files?: Record<string, string | Buffer>;
  modes?: Record<string, number>;
  /** Image paths taken out of the image. */
  remove?: string[];
}

/** The 2011 image's entries (every manifest line), by path. */
export async function tree2011(): Promise<{
  tree: Map<string, BootEntry>;
  manifest: Map<string, ManifestEntry>;
}> {
  const parsed = await parseManifestFile(MANIFEST_2011, new Map());
  const tree = new Map<string, BootEntry>();
  const manifest = new Map<string, ManifestEntry>();
  for (const e of parsed.entries) {
    manifest.set(e.path, e);
    if (e.type === 's') tree.set(e.path, { type: 's', path: e.path, target: e.target });
    else if (e.type === 'h') {
      const file = tree.get(e.target);
      tree.set(e.path, { ...(file ?? { type: 'f' }), path: e.path });
    } else
      tree.set(e.path, {
        type: e.type,
        path: e.path,
        mode: e.mode,
        owner: e.owner,
        group: e.group,
      });
  }
  return { tree, manifest };
}

/** A view of the real 2011 image (see above), with `changes` applied. */
export async function view2011(changes: ViewChanges = {}): Promise<BootImageView> {
  const { tree, manifest } = await tree2011();
  const extra = new Map(Object.entries(changes.files ?? {}));
  for (const [path] of extra) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!tree.has(dir)) tree.set(dir, { type: 'd', path: dir, mode: 0o755 });
    }
    tree.set(path, { type: 'f', path, mode: changes.modes?.[path] ?? 0o755 });
  }
  for (const path of changes.remove ?? []) tree.delete(path);
  const read = async (path: string, maxBytes: number) => {
    if (tree.get(path)?.type !== 'f') return undefined;
    const given = extra.get(path);
    if (given !== undefined) return Buffer.from(given).subarray(0, maxBytes);
    const handle = await open(join(OVERLAY_2011, path), 'r').catch(() => undefined);
    if (!handle) return undefined;
    try {
      const buffer = Buffer.alloc(maxBytes);
      const { bytesRead } = await handle.read(buffer, 0, maxBytes, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  };
  return { tree, read, manifest };
}

/** A real overlay file's text. */
export const overlayText = (path: string) => readFile(join(OVERLAY_2011, path), 'latin1');
