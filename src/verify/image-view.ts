/**
 * The finished image as the boot checks see it (docs/verify.md, "What
 * boots"): every entry with its type, mode, size, link target and hard-link
 * identity, path resolution through the image's own symlinks, and a bounded
 * reader of regular files. Built from a UFS boot_archive (one walk of its
 * metadata, no file content read), or from the staged tree an
 * `--archive none` build keeps.
 */
import { constants } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { UfsEntry, UfsReader } from '../archive/ufs/read.js';
import { compareBytes } from '../manifest/path.js';
import type { ImageFile } from './checks/libraries.js';
import type { ManifestEntry } from '../manifest/types.js';
import { resolveInImage, type Resolved } from './image-tree.js';
import type { CheckKind, Finding } from './types.js';

/** One entry of the image ('' is the root; paths have no leading `/`). */
export interface ImageEntry {
  path: string;
  type: 'd' | 'f' | 's';
  /** Permission bits with setuid/setgid/sticky (mode & 07777). */
  mode: number;
  size: number;
  target?: string;
  /** Hard-link identity: entries with the same id are one file (the UFS inode number). */
  id: number;
}

/** The most one read of an image file returns, whatever length is asked for. */
export const MAX_IMAGE_READ = 1 << 20;

export interface ImageView {
  /** Every entry of the image, by path, in byte order of the paths. */
  entries: ReadonlyMap<string, ImageEntry>;
  /**
   * Resolves `path` (image-absolute, with or without the leading `/`)
   * through the image's symlinks; with `from`, relative paths start there.
   */
  resolve(path: string, from?: string): Resolved<ImageEntry>;
  /**
   * Up to `length` bytes (at most MAX_IMAGE_READ) of a regular file at
   * `position`; fewer at its end. An I/O or image error is a UserError.
   */
  read(entry: ImageEntry, position: number, length: number): Promise<Buffer>;
  /** The manifest entry that ships `path` (file and line), when the manifests were given. */
  where(path: string): { file?: string; line?: number };
  /** True when a link or path may dangle into `path` (run-time paths, --allow-dangling). */
  mayDangle(path: string): boolean;
}

/** What a view knows beyond the image: the manifest (for `where`) and where links may dangle. */
export interface ViewContext {
  manifest: ReadonlyMap<string, ManifestEntry> | undefined;
  mayDangle: (path: string) => boolean;
}

/** A finding about an image path, pointing where the manifest ships that path. */
export function imageFinding(
  view: Pick<ImageView, 'where'>,
  kind: CheckKind,
  path: string,
  message: string,
): Finding {
  return { kind, path, ...view.where(path), message };
}

/** The image view of a UFS boot_archive: one walk of its directories and inodes. */
export async function ufsImageView(reader: UfsReader, context: ViewContext): Promise<ImageView> {
  const entries = new Map<string, ImageEntry>();
  const raw = new Map<ImageEntry, UfsEntry>();
  for await (const entry of reader.entries()) {
    const view: ImageEntry = {
      path: entry.path,
      type: entry.type,
      mode: entry.mode & 0o7777,
      size: entry.size,
      id: entry.inode,
      ...(entry.target !== undefined ? { target: entry.target } : {}),
    };
    entries.set(entry.path, view);
    if (entry.type === 'f') raw.set(view, entry);
  }
  const read = async (entry: ImageEntry, position: number, length: number) => {
    const file = raw.get(entry);
    if (!file) return Buffer.alloc(0);
    const n = Math.max(0, Math.min(length, MAX_IMAGE_READ, file.size - position));
    return n === 0 ? Buffer.alloc(0) : reader.read(file, position, n);
  };
  return viewOf(entries, read, context);
}

/** An image view of `entries`, read through `read`. */
function viewOf(
  entries: Map<string, ImageEntry>,
  read: ImageView['read'],
  context: ViewContext,
): ImageView {
  return {
    entries,
    resolve: (path, from) => resolveInImage(entries, path, from),
    read,
    where: (path) => {
      const loc = context.manifest?.get(path);
      return loc ? { file: loc.file, line: loc.line } : {};
    },
    mayDangle: context.mayDangle,
  };
}

/** A staged tree (`image-<STAMP>/` beside the platform of an `--archive none` build) as an image. */
export interface StagedImage {
  view: ImageView;
  /** Its regular files, each readable whole (for the ELF pass). */
  files: () => Generator<ImageFile>;
}

/** The staged tree kept beside `platformDir` (docs/output-layout.md), if there is one. */
export async function stagedTreeOf(platformDir: string): Promise<string | undefined> {
  const name = basename(platformDir);
  if (!name.startsWith('platform-')) return undefined;
  const dir = join(dirname(platformDir), `image-${name.slice('platform-'.length)}`);
  const info = await lstat(dir).catch(() => undefined);
  return info?.isDirectory() ? dir : undefined;
}

/**
 * The image view of a staged tree: one walk with lstat (links never
 * followed on the host), files read through handles opened without
 * following a final symlink.
 */
export async function stagedImage(root: string, context: ViewContext): Promise<StagedImage> {
  const entries = new Map<string, ImageEntry>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const names = (await readdir(dir)).sort(compareBytes);
    for (const name of names) {
      const path = prefix === '' ? name : `${prefix}/${name}`;
      const full = join(dir, name);
      const info = await lstat(full);
      const type = info.isDirectory()
        ? 'd'
        : info.isSymbolicLink()
          ? 's'
          : info.isFile()
            ? 'f'
            : undefined;
      if (!type) continue;
      entries.set(path, {
        path,
        type,
        mode: info.mode & 0o7777,
        size: info.size,
        id: info.ino,
        ...(type === 's' ? { target: await readlink(full) } : {}),
      });
      if (type === 'd') await walk(full, path);
    }
  };
  await walk(root, '');
  // Byte order of the whole paths, as the UFS reader gives them.
  const sorted = [...entries.keys()].sort(compareBytes);
  const ordered = new Map(sorted.map((path) => [path, entries.get(path)!]));
  entries.clear();
  for (const [path, entry] of ordered) entries.set(path, entry);
  const readFrom = async (entry: ImageEntry, position: number, length: number) => {
    const n = Math.max(0, Math.min(length, entry.size - position));
    if (entry.type !== 'f' || n === 0) return Buffer.alloc(0);
    const handle = await open(join(root, entry.path), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const buf = Buffer.alloc(n);
      const { bytesRead } = await handle.read(buf, 0, n, position);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  };
  const view = viewOf(
    entries,
    (entry, position, length) => readFrom(entry, position, Math.min(length, MAX_IMAGE_READ)),
    context,
  );
  function* files(): Generator<ImageFile> {
    for (const entry of entries.values()) {
      if (entry.type !== 'f') continue;
      yield { path: entry.path, size: entry.size, read: (p, l) => readFrom(entry, p, l) };
    }
  }
  return { view, files };
}
