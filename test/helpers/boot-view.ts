/**
 * A BootImageView (src/verify/checks/boot-image.ts) of the real 2011
 * SmartOS image, without building one: its entries are the 2011 manifest's
 * (hard links as the files they share), and the files with content are the
 * real 2011 overlay's, plus any a test gives. Other files of the manifest
 * are in the tree with size 0: no content here.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifestFile } from '../../src/formats/manifest-line.js';
import type { ManifestEntry } from '../../src/manifest/types.js';
import { resolveInImage } from '../../src/verify/image-tree.js';
import { MAX_IMAGE_READ, type ImageEntry, type ImageView } from '../../src/verify/image-view.js';
import { SMARTOS_DATA } from './paths.js';

export const OVERLAY_2011 = join(SMARTOS_DATA, 'overlay-2011-09');
export const MANIFEST_2011 = join(SMARTOS_DATA, 'manifest-2011-09.txt');
/**
 * The drivers the real 2011 image ships without an etc/name_to_major line
 * (each checked with `comm` against the real files; docs/verify.md).
 */
export const DRIVERS_WITHOUT_MAJOR_2011 = [
  'kernel/drv/amd64/dprov',
  'kernel/drv/amd64/eibnx',
  'kernel/drv/amd64/usbecm',
  'kernel/drv/amd64/usbskel',
  'kernel/drv/amd64/vscan',
  'platform/i86pc/kernel/drv/amd64/dr',
];

export interface ViewChanges {
  /** Files added or replaced: image path -> content (mode 0755 unless `modes` says). */
  files?: Record<string, string | Buffer>;
  modes?: Record<string, number>;
  /** Image paths taken out of the image. */
  remove?: string[];
}

/** The 2011 image's entries (every manifest line), by path; sizes of the overlay's files. */
export async function tree2011(): Promise<{
  entries: Map<string, ImageEntry>;
  manifest: Map<string, ManifestEntry>;
}> {
  const parsed = await parseManifestFile(MANIFEST_2011, new Map());
  const entries = new Map<string, ImageEntry>();
  const manifest = new Map<string, ManifestEntry>();
  let id = 1;
  for (const e of parsed.entries) {
    manifest.set(e.path, e);
    if (e.type === 's') {
      entries.set(e.path, {
        path: e.path,
        type: 's',
        mode: 0o777,
        size: 0,
        target: e.target,
        id: id++,
      });
    } else if (e.type === 'h') {
      const file = entries.get(e.target);
      if (file) entries.set(e.path, { ...file, path: e.path });
    } else {
      const size =
        e.type === 'f'
          ? ((await stat(join(OVERLAY_2011, e.path)).catch(() => undefined))?.size ?? 0)
          : 0;
      entries.set(e.path, { path: e.path, type: e.type, mode: e.mode, size, id: id++ });
    }
  }
  return { entries, manifest };
}

/** A view of the real 2011 image (see above), with `changes` applied. */
export async function view2011(changes: ViewChanges = {}): Promise<ImageView> {
  const { entries, manifest } = await tree2011();
  const extra = new Map(Object.entries(changes.files ?? {}).map(([p, c]) => [p, Buffer.from(c)]));
  let id = 1_000_000;
  for (const [path, content] of extra) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!entries.has(dir))
        entries.set(dir, { path: dir, type: 'd', mode: 0o755, size: 0, id: id++ });
    }
    const mode = changes.modes?.[path] ?? 0o755;
    entries.set(path, { path, type: 'f', mode, size: content.length, id: id++ });
  }
  for (const path of changes.remove ?? []) entries.delete(path);
  const read = async (entry: ImageEntry, position: number, length: number) => {
    const n = Math.max(0, Math.min(length, MAX_IMAGE_READ, entry.size - position));
    const given = extra.get(entry.path);
    if (given !== undefined) return given.subarray(position, position + n);
    const handle = await open(join(OVERLAY_2011, entry.path), 'r');
    try {
      const buffer = Buffer.alloc(n);
      const { bytesRead } = await handle.read(buffer, 0, n, position);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  };
  return {
    entries,
    resolve: (path, from) => resolveInImage(entries, path, from),
    read,
    where: (path) => {
      const loc = manifest.get(path);
      return loc ? { file: loc.file, line: loc.line } : {};
    },
    mayDangle: () => false,
  };
}

/** A real overlay file's text. */
export const overlayText = (path: string) => readFile(join(OVERLAY_2011, path), 'latin1');
