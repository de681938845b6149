/**
 * Path resolution inside a finished image, from its boot_archive.manifest
 * (every entry after customize): symlinks are followed as the image's own
 * kernel would, absolute targets from the image root, relative ones from the
 * link's directory, never on the build host (docs/verify.md).
 */
import type { BootEntry } from '../formats/boot-manifest.js';

/** What the image holds, by path without a leading `./` ('' is the root). */
export type ImageTree = ReadonlyMap<string, BootEntry>;

/** illumos' MAXSYMLINKS: more links than this on one lookup is a loop. */
export const MAX_SYMLINKS = 40;

/** What resolution needs of an entry: boot_archive.manifest's, or the image view's. */
type TreeEntry = Pick<BootEntry, 'type' | 'target'>;

export type Resolved<E extends TreeEntry = BootEntry> =
  | { kind: 'found'; path: string; entry: E }
  /** `at`: the first path that does not exist (with the rest of the lookup after it). */
  | { kind: 'missing'; at: string }
  | { kind: 'loop'; at: string }
  | { kind: 'not-a-directory'; at: string };

/**
 * Resolves `path` (image-absolute, with or without the leading `/`); with
 * `from`, a relative path is taken from that directory.
 */
export function resolveInImage<E extends TreeEntry = BootEntry>(
  tree: ReadonlyMap<string, E>,
  path: string,
  from = '',
): Resolved<E> {
  const queue = path.split('/');
  const current = path.startsWith('/') || from === '' ? [] : from.split('/');
  let links = 0;
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      current.pop();
      continue;
    }
    current.push(name);
    const here = current.join('/');
    const entry = tree.get(here);
    if (!entry) return { kind: 'missing', at: [here, ...queue.filter(Boolean)].join('/') };
    if (entry.type === 's') {
      if (++links > MAX_SYMLINKS) return { kind: 'loop', at: here };
      const target = entry.target ?? '';
      current.pop();
      if (target.startsWith('/')) current.length = 0;
      queue.unshift(...target.split('/'));
      continue;
    }
    if (entry.type !== 'd' && queue.some((n) => n !== '' && n !== '.')) {
      return { kind: 'not-a-directory', at: here };
    }
  }
  const at = current.join('/');
  return { kind: 'found', path: at, entry: tree.get(at)! };
}

/** The directory of an image path ('' for the root and its children). */
export const imageDir = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/')));
