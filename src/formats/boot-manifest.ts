import type { ImageIdentities } from '../image/owners.js';
import { ROOT_DIR, type ImageNode } from '../image/model.js';
import { checkImagePath, compareBytes } from '../manifest/path.js';
import { UserError } from '../util/errors.js';
import { forEachLine } from '../util/lines.js';
import { formatMode } from './manifest-line.js';

// ---- writer ----

/**
 * The lines of boot_archive.manifest (docs/boot-archive-manifest.md) for the final image, sorted by
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

// ---- reader ----

/** One line of a boot_archive.manifest (docs/boot-archive-manifest.md) or of an md5sum listing. */
export interface BootEntry {
  type: 'd' | 'f' | 's';
  /** Image path without the leading "./" ("" for the root). */
  path: string;
  /** Permission bits, as a number (formatted only when printed). */
  mode?: number;
  owner?: string;
  group?: string;
  md5?: string;
  target?: string;
}

export interface BootManifest {
  file: string;
  format: 'boot_archive.manifest' | 'md5sum';
  entries: Map<string, BootEntry>;
}

const SPEC_NODE = /^([df]) (\.(?:\/\S+)?) ([0-7]{3,5}) (\S+) (\S+)(?: ([0-9a-f]{32}))?$/;
const SPEC_LINK = /^s (\.\/[^=\s]+)=(.+)$/;
const MD5SUM = /^([0-9a-f]{32}) [ *](\.\/.+|\.)$/;

const imagePath = (dotted: string) => (dotted === '.' ? '' : dotted.replace(/^\.\//, ''));

/**
 * Reads a boot_archive.manifest in our format (docs/boot-archive-manifest.md), or in md5sum's
 * (`<md5>  ./path`, which smartos-live ships); the first entry line decides.
 */
export async function readBootManifest(file: string): Promise<BootManifest> {
  const entries = new Map<string, BootEntry>();
  let format: BootManifest['format'] | undefined;
  await forEachLine(file, 'boot_archive.manifest', (raw, lineNo) => {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    const md5sum = MD5SUM.exec(text);
    format ??= md5sum ? 'md5sum' : 'boot_archive.manifest';
    let entry: BootEntry | undefined;
    if (format === 'md5sum') {
      if (md5sum) entry = { type: 'f', path: imagePath(md5sum[2]), md5: md5sum[1] };
    } else {
      const node = SPEC_NODE.exec(text);
      const link = SPEC_LINK.exec(text);
      if (node && (node[1] === 'f') === (node[6] !== undefined)) {
        entry = {
          type: node[1] as 'd' | 'f',
          path: imagePath(node[2]),
          mode: parseInt(node[3], 8),
          owner: node[4],
          group: node[5],
          md5: node[6],
        };
      } else if (link) {
        entry = { type: 's', path: imagePath(link[1]), target: link[2] };
      }
    }
    if (!entry) {
      throw new UserError(
        `${file}:${lineNo}: not a ${format} line: ${JSON.stringify(text.slice(0, 200))}`,
      );
    }
    // Paths are read below the image root: one that climbs out or is
    // absolute is refused before anything touches the file system.
    const unsafe = entry.path === '' ? undefined : checkImagePath(entry.path);
    if (unsafe) throw new UserError(`${file}:${lineNo}: unsafe path: ${unsafe}`);
    entries.set(entry.path, entry);
  });
  if (!format) throw new UserError(`${file} is empty: not a boot_archive.manifest`);
  return { file, format, entries };
}
