import { checkImagePath } from '../manifest/path.js';
import { UserError } from '../util/errors.js';
import { forEachLine } from '../util/lines.js';

/** One line of a boot_archive.manifest (SPEC 4) or of an md5sum listing. */
export interface BootEntry {
  type: 'd' | 'f' | 's';
  /** Image path without the leading "./" ("" for the root). */
  path: string;
  mode?: string;
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
 * Reads a boot_archive.manifest in SPEC 4's format, or in md5sum's
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
          mode: node[3].padStart(4, '0'),
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
