import { compareBytes } from '../manifest/path.js';
import type { BootEntry, BootManifest } from '../formats/boot-manifest.js';
import { formatMode } from '../formats/manifest-line.js';
import type { DiffEntry } from './types.js';

const show = (e: BootEntry) => (e.path === '' ? '.' : `./${e.path}`);

/**
 * Compares two boot_archive manifests entry by entry: added, removed, and
 * for paths in both, each kind of change once (type; else content, mode,
 * owner, link target). What one side does not record (an md5sum listing has
 * no modes) is not compared.
 */
export function diffBootManifests(before: BootManifest, after: BootManifest): DiffEntry[] {
  const out: DiffEntry[] = [];
  const paths = new Set([...before.entries.keys(), ...after.entries.keys()]);
  for (const path of [...paths].sort(compareBytes)) {
    const a = before.entries.get(path);
    const b = after.entries.get(path);
    if (!a) {
      out.push({ kind: 'added', path: show(b!), after: describe(b!) });
      continue;
    }
    if (!b) {
      // An md5sum baseline lists files only: a directory or link is not "removed".
      out.push({ kind: 'removed', path: show(a), before: describe(a) });
      continue;
    }
    if (a.type !== b.type) {
      out.push({ kind: 'type', path: show(b), before: describe(a), after: describe(b) });
      continue;
    }
    if (a.md5 && b.md5 && a.md5 !== b.md5)
      out.push({ kind: 'content', path: show(b), before: a.md5, after: b.md5 });
    if (a.mode !== undefined && b.mode !== undefined && a.mode !== b.mode)
      out.push({
        kind: 'mode',
        path: show(b),
        before: formatMode(a.mode),
        after: formatMode(b.mode),
      });
    const ownerA = a.owner && `${a.owner}:${a.group}`;
    const ownerB = b.owner && `${b.owner}:${b.group}`;
    if (ownerA && ownerB && ownerA !== ownerB)
      out.push({ kind: 'owner', path: show(b), before: ownerA, after: ownerB });
    if (a.type === 's' && a.target !== b.target)
      out.push({ kind: 'target', path: show(b), before: a.target, after: b.target });
  }
  if (before.format === 'md5sum') {
    // Only files can be compared with an md5sum listing.
    return out.filter(
      (d) => d.kind !== 'added' || after.entries.get(d.path.replace(/^\.\/?/, ''))?.type === 'f',
    );
  }
  return out;
}

function describe(e: BootEntry): string {
  switch (e.type) {
    case 'd':
      return `d ${e.mode === undefined ? '' : formatMode(e.mode)} ${e.owner ?? ''}:${e.group ?? ''}`.trim();
    case 'f':
      return e.mode === undefined
        ? `f ${e.md5}`
        : `f ${formatMode(e.mode)} ${e.owner}:${e.group} ${e.md5}`;
    case 's':
      return `s ${e.target}`;
  }
}
