/**
 * missing-library, bad-runpath, bad-elf: every ELF object of the finished
 * image is read (never run). Its PT_INTERP must be a file in the image, and
 * each DT_NEEDED must resolve in the image through DT_RUNPATH (DT_RPATH when
 * there is no RUNPATH, `$ORIGIN` expanded), then the illumos default
 * directories for its class, following the image's own symlinks.
 * missing-module: each kernel module's dependencies, as krtld resolves
 * them (src/verify/checks/modules.ts). Crafted objects cost a bounded
 * amount: at most MAX_RUNPATH runpath entries and MAX_NEEDED DT_NEEDED
 * entries are used, the rest counted in one finding (docs/verify.md).
 */
import { resolve } from 'node:path';
import type { ManifestEntry } from '../../manifest/types.js';
import {
  ElfError,
  isElf,
  MAX_NEEDED,
  readElf,
  readModuleDepends,
  type ElfInfo,
  type ReadAt,
} from '../elf.js';
import { imageDir, resolveInImage, type ImageTree } from '../image-tree.js';
import type { Finding } from '../types.js';
import { KernelModules } from './modules.js';

export { MODULE_PATH } from './modules.js';

/** What the runtime linker searches after the runpath (ld.so.1's defaults). */
export const DEFAULT_DIRS = { 64: ['/lib/64', '/usr/lib/64'], 32: ['/lib', '/usr/lib'] } as const;

/** Runpath entries used per object; real objects have a handful. */
export const MAX_RUNPATH = 64;
/** Directories named in one finding's message; the rest are counted. */
const MAX_SEARCHED_SHOWN = 12;
/** Characters of one name from the object printed in a message. */
const MAX_NAME_SHOWN = 200;

const shown = (text: string) =>
  text.length > MAX_NAME_SHOWN
    ? `${text.slice(0, MAX_NAME_SHOWN)}... (${text.length} characters)`
    : text;

const listed = (dirs: readonly string[]) =>
  dirs.length > MAX_SEARCHED_SHOWN
    ? `${dirs.slice(0, MAX_SEARCHED_SHOWN).map(shown).join(', ')} and ${dirs.length - MAX_SEARCHED_SHOWN} more`
    : dirs.map(shown).join(', ');

/** Runpaths that name the build host, never the image. */
const BUILD_PATHS = [/^\/tmp(\/|$)/, /^\/opt(\/|$)/, /(^|\/)proto(\/|$)/];

export interface ImageFile {
  path: string;
  size: number;
  read: ReadAt;
}

export interface LibrariesInput {
  tree: ImageTree;
  /** The image's regular files with a way to read them. */
  files: AsyncIterable<ImageFile> | Iterable<ImageFile>;
  manifest?: ReadonlyMap<string, ManifestEntry>;
  /** The proto area the build took files from: a runpath into it is a build path. */
  proto?: string;
}

const isFile = (tree: ImageTree, path: string) => {
  const r = resolveInImage(tree, path);
  return r.kind === 'found' && r.entry.type === 'f';
};
const isDir = (tree: ImageTree, path: string) => {
  const r = resolveInImage(tree, path);
  return r.kind === 'found' && r.entry.type === 'd';
};

/** `$ORIGIN` and `${ORIGIN}` as the object's own directory. */
const expand = (dir: string, origin: string) => dir.replace(/\$(ORIGIN\b|\{ORIGIN\})/g, origin);

export async function* libraries(input: LibrariesInput): AsyncGenerator<Finding, number> {
  const { tree } = input;
  const proto = input.proto === undefined ? undefined : resolve(input.proto);
  const modules = new KernelModules(tree);
  let checked = 0;
  for await (const file of input.files) {
    if (file.size < 16) continue;
    const head = await file.read(0, 4);
    if (!isElf(head)) continue;
    checked++;
    const loc = input.manifest?.get(file.path);
    const where = loc ? { file: loc.file, line: loc.line } : {};
    let elf: ElfInfo;
    try {
      elf = await readElf(file.read, file.size);
      const elfHead = { class: elf.class, type: elf.type, machine: elf.machine };
      modules.noteElf(file.path, elfHead);
      if (KernelModules.isModule(file.path, elfHead)) {
        const depends = await readModuleDepends(file.read, file.size);
        if (depends) modules.addModule({ path: file.path, head: elfHead, depends, where });
      }
    } catch (err) {
      if (!(err instanceof ElfError)) throw err;
      yield {
        kind: 'bad-elf',
        path: file.path,
        ...where,
        message: `not a readable ELF object: ${err.message}`,
      };
      continue;
    }
    if (elf.interp !== undefined && !isFile(tree, elf.interp)) {
      yield {
        kind: 'missing-library',
        path: file.path,
        ...where,
        message: `its interpreter ${shown(elf.interp)} (PT_INTERP) is not a file in the image`,
      };
    }
    if (!elf.dynamic || elf.neededTotal === 0) continue;
    yield* closure(file.path, elf, where, tree, proto);
  }
  yield* modules.findings();
  return checked;
}

/** One object's runpath and DT_NEEDED entries resolved in the image. */
function* closure(
  path: string,
  elf: ElfInfo,
  where: { file?: string; line?: number },
  tree: ImageTree,
  proto: string | undefined,
): Generator<Finding> {
  const finding = (kind: Finding['kind'], message: string): Finding => ({
    kind,
    path,
    ...where,
    message,
  });
  const origin = '/' + imageDir(path);
  const runpath = elf.runpath ?? elf.rpath;
  const tag = elf.runpath !== undefined ? 'DT_RUNPATH' : 'DT_RPATH';
  // Each distinct entry once, at most MAX_RUNPATH of them: a crafted object costs little.
  const entries = [...new Set((runpath?.split(':') ?? []).filter((raw) => raw !== ''))];
  const dirs: string[] = [];
  for (const raw of entries.slice(0, MAX_RUNPATH)) {
    const dir = expand(raw, origin);
    const why = runpathProblem(dir, tree, proto);
    if (why) {
      const as = raw !== dir ? ` (${shown(dir)})` : '';
      yield finding('bad-runpath', `${tag} entry ${shown(raw)}${as} ${why}`);
    }
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  if (entries.length > MAX_RUNPATH) {
    yield finding(
      'bad-runpath',
      `${tag} has ${entries.length} distinct entries: only the first ${MAX_RUNPATH} were used`,
    );
  }
  const searched = [...dirs, ...DEFAULT_DIRS[elf.class]];
  for (const name of elf.needed) {
    const found = name.includes('/')
      ? isFile(tree, name.startsWith('/') ? name : `${origin}/${name}`)
      : searched.some((dir) => dir.startsWith('/') && isFile(tree, `${dir}/${name}`));
    if (found) continue;
    yield finding(
      'missing-library',
      `needs ${shown(name)} (DT_NEEDED): not in the image; searched ${name.includes('/') ? shown(name) : listed(searched)}`,
    );
  }
  if (elf.neededTotal > elf.needed.length) {
    yield finding(
      'bad-elf',
      `${elf.neededTotal} DT_NEEDED entries: only the first ${MAX_NEEDED} were resolved`,
    );
  }
}

/** Why a runpath directory cannot serve the image, or undefined when it can. */
function runpathProblem(dir: string, tree: ImageTree, proto: string | undefined) {
  if (!dir.startsWith('/')) return 'is relative (taken from the current directory at run time)';
  if (
    BUILD_PATHS.some((re) => re.test(dir)) ||
    (proto && (dir === proto || dir.startsWith(proto + '/')))
  )
    return 'is a build-host path';
  return isDir(tree, dir) ? undefined : 'is not a directory in the image';
}
