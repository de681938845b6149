/**
 * The content check of a UFS boot_archive (ours, or one made the upstream
 * way): the image is read with our UFS reader, entry by entry, and every
 * entry of boot_archive.manifest is checked against it: md5 of files, and
 * type, mode, owner, group and link target of every entry.
 */
import type { UfsEntry, UfsReader } from '../archive/ufs/read.js';
import type { BootManifest } from '../formats/boot-manifest.js';
import { formatMode } from '../formats/manifest-line.js';
import { MANIFEST_COPY } from '../formats/output-layout.js';
import { md5OfFile } from '../util/copy.js';
import { isElf } from './elf.js';
import type { ContentCheck, ContentDifference } from './types.js';

const TYPE_WORDS = { d: 'directory', f: 'file', s: 'symlink' } as const;

/**
 * The manifest names owners and groups, the image holds ids. A name is
 * resolved through the image's own etc/passwd and etc/group (read from the
 * image, see imageIds) where they list it: an entry whose id is not that
 * one is reported, so a consistent change of an id on every inode is found.
 * A name they do not list must map to one id across the whole image (root
 * to 0, a numeric name to itself): an entry whose id disagrees with the
 * rest of its name's entries is reported.
 */
class NameIds {
  private readonly ids = new Map<string, { id: number; path: string }>();

  constructor(
    private readonly field: 'owner' | 'group',
    /** Names to ids from the image's etc/passwd (owner) or etc/group (group). */
    private readonly table: ImageIds | undefined,
  ) {}

  private known(name: string): { id: number; path: string } | undefined {
    if (/^\d+$/.test(name)) return { id: Number(name), path: '' };
    const listed = this.table?.ids.get(name);
    if (listed !== undefined) return { id: listed, path: this.table!.file };
    return name === 'root' ? { id: 0, path: '' } : this.ids.get(name);
  }

  check(name: string | undefined, id: number, path: string): ContentDifference | undefined {
    if (name === undefined) return undefined;
    const known = this.known(name);
    if (!known) {
      this.ids.set(name, { id, path });
      return undefined;
    }
    if (known.id === id) return undefined;
    const where = !known.path
      ? ''
      : known.path === this.table?.file
        ? ` (the image's ${known.path})`
        : ` (as ${known.path})`;
    return {
      path,
      field: this.field,
      expected: `${name} = ${this.field === 'owner' ? 'uid' : 'gid'} ${known.id}${where}`,
      actual: `${this.field === 'owner' ? 'uid' : 'gid'} ${id}`,
    };
  }
}

/** An etc/passwd or etc/group of the image: names to ids. */
interface ImageIds {
  file: string;
  ids: Map<string, number>;
}

/** The most of an etc/passwd or etc/group read; a larger one is not used. */
const MAX_ID_FILE = 1024 * 1024;

/**
 * Names to ids from the image's own `file` (etc/passwd, etc/group: the id
 * is the third field of both); undefined when the image has no such
 * regular file (the manifest's own md5 check covers its content).
 */
async function imageIds(reader: UfsReader, file: string): Promise<ImageIds | undefined> {
  const entry = await reader.lookup(file);
  if (entry?.type !== 'f' || entry.size > MAX_ID_FILE) return undefined;
  const ids = new Map<string, number>();
  const text = (await reader.read(entry, 0, entry.size)).toString('utf8');
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (!name || /^[+-]/.test(name) || id === undefined || !/^\d{1,10}$/.test(id)) continue;
    if (!ids.has(name)) ids.set(name, Number(id));
  }
  return { file, ids };
}

/**
 * The image's ELF candidates, gathered on the content pass so that the
 * library closure needs no second walk of the image: every regular file
 * that starts with the ELF magic number, in image order.
 */
export interface ElfCandidates {
  files: UfsEntry[];
  /** True once a whole pass has filled `files`. */
  complete: boolean;
}

/** The content check's `method` for a UFS boot_archive, whether it reads back or not. */
export const UFS_READ_METHOD = 'ufs boot_archive read with the joyent-live UFS reader';

/** Enough for the ELF magic number (and less than any ELF header). */
const HEAD = 4;

/**
 * Fills `check` from the image; `check.method` names the reader. With
 * `elf`, also gathers the image's ELF candidates.
 */
export async function checkUfsContent(
  reader: UfsReader,
  manifest: BootManifest,
  check: ContentCheck,
  elf?: ElfCandidates,
): Promise<void> {
  check.method = UFS_READ_METHOD;
  const differences: ContentDifference[] = [];
  // An md5sum listing names files only: nothing else can be checked against it.
  const full = manifest.format === 'boot_archive.manifest';
  const owners = new NameIds('owner', full ? await imageIds(reader, 'etc/passwd') : undefined);
  const groups = new NameIds('group', full ? await imageIds(reader, 'etc/group') : undefined);
  const seen = new Set<string>();
  const head = Buffer.alloc(HEAD);
  // The head comes from the md5 read when there is one, else from a read of its own.
  // A hard-linked file is hashed once, whatever number of names it has.
  const linked = new Map<number, { md5: string; head: Buffer }>();
  const md5 = async (entry: UfsEntry) => {
    const known = linked.get(entry.inode);
    if (known) {
      known.head.copy(head);
      return known.md5;
    }
    head.fill(0);
    const digest = await reader.md5(entry, head);
    if (entry.nlink > 1) linked.set(entry.inode, { md5: digest, head: Buffer.from(head) });
    return digest;
  };
  const gather = async (entry: UfsEntry, hashed: boolean) => {
    if (!elf || entry.type !== 'f' || entry.size < 16) return;
    const first = hashed ? head : await reader.read(entry, 0, HEAD);
    if (isElf(first)) elf.files.push(entry);
  };
  for await (const entry of reader.entries()) {
    const listed = manifest.entries.get(entry.path);
    if (!listed && entry.path === MANIFEST_COPY && full) {
      // The image's copy of the manifest does not list itself: it must be the manifest.
      const expected = (await md5OfFile(manifest.file)).md5;
      const actual = await md5(entry);
      await gather(entry, true);
      if (actual !== expected) check.mismatches.push({ path: entry.path, expected, actual });
      else check.checked++;
      continue;
    }
    if (!listed) {
      await gather(entry, false);
      if (full) {
        differences.push({
          path: entry.path,
          field: 'extra',
          expected: '',
          actual: TYPE_WORDS[entry.type],
        });
      }
      continue;
    }
    seen.add(entry.path);
    if (listed.type !== entry.type) {
      differences.push({
        path: entry.path,
        field: 'type',
        expected: TYPE_WORDS[listed.type],
        actual: TYPE_WORDS[entry.type],
      });
      await gather(entry, false);
      continue;
    }
    if (full) differences.push(...metadata(entry, listed, owners, groups));
    if (entry.type === 'f' && listed.md5) {
      const actual = await md5(entry);
      await gather(entry, true);
      if (actual !== listed.md5)
        check.mismatches.push({ path: entry.path, expected: listed.md5, actual });
      else check.checked++;
    } else {
      await gather(entry, false);
    }
  }
  if (elf) elf.complete = true;
  for (const path of manifest.entries.keys()) if (!seen.has(path)) check.missing.push(path);
  check.differences = differences;
}

function metadata(
  entry: UfsEntry,
  listed: { mode?: number; owner?: string; group?: string; target?: string },
  owners: NameIds,
  groups: NameIds,
): ContentDifference[] {
  const out: ContentDifference[] = [];
  const { path } = entry;
  if (entry.type === 's') {
    if (listed.target !== undefined && entry.target !== listed.target) {
      out.push({ path, field: 'target', expected: listed.target, actual: entry.target ?? '' });
    }
    return out;
  }
  const mode = formatMode(entry.mode & 0o7777);
  if (listed.mode !== undefined && listed.mode !== (entry.mode & 0o7777)) {
    out.push({ path, field: 'mode', expected: formatMode(listed.mode), actual: mode });
  }
  const owner = owners.check(listed.owner, entry.uid, path);
  if (owner) out.push(owner);
  const group = groups.check(listed.group, entry.gid, path);
  if (group) out.push(group);
  return out;
}
