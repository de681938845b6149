import type { ManifestEntry } from './types.js';

/**
 * Image paths as docs/manifest.md allows them: relative to the image root, with no
 * leading `/`, no `.` or `..` component and no empty component. Returns the
 * reason a path is unsafe, or undefined when it is fine.
 */
export function checkImagePath(path: string): string | undefined {
  if (path.length === 0) return 'empty path';
  if (path.startsWith('/')) return `absolute path "${path}" (paths are relative to the image root)`;
  for (const component of path.split('/')) {
    if (component === '') return `empty component in "${path}"`;
    if (component === '.' || component === '..') {
      return `"${component}" component in "${path}"`;
    }
  }
  return undefined;
}

/** Parent of an image path, or undefined for a top-level name. */
export function parentPath(path: string): string | undefined {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? undefined : path.slice(0, slash);
}

/** The ancestors of `path` that `entries` define as something other than a directory, nearest first. */
export function* nonDirectoryParents(
  entries: ReadonlyMap<string, ManifestEntry>,
  path: string,
): Generator<ManifestEntry> {
  for (let p = parentPath(path); p; p = parentPath(p)) {
    const entry = entries.get(p);
    if (entry && entry.type !== 'd') yield entry;
  }
}

/** Byte-order comparison (C locale), the order of every listing we write. */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order equals UTF-8 byte order except around surrogate pairs.
    if (x < 0xd800 && y < 0xd800) return x - y;
    return Buffer.compare(Buffer.from(a.slice(i)), Buffer.from(b.slice(i)));
  }
  return a.length - b.length;
}
