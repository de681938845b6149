/**
 * missing-library, bad-runpath, bad-elf: every ELF object of the finished
 * image is read (never run). Its PT_INTERP must be a file in the image, and
 * each DT_NEEDED must resolve in the image through DT_RUNPATH (DT_RPATH when
 * there is no RUNPATH, `$ORIGIN` expanded), then the illumos default
 * directories for its class, following the image's own symlinks.
 * missing-module: a kernel module (ET_REL under kernel/, platform/,
 * usr/kernel/) names in `_depends_on` modules the module path does not hold
 * (docs/verify.md).
 */
import { resolve } from 'node:path';
import type { ManifestEntry } from '../../manifest/types.js';
import { ElfError, isElf, readDependsOn, readElf, type ElfInfo, type ReadAt } from '../elf.js';
import { imageDir, resolveInImage, type ImageTree } from '../image-tree.js';
import type { Finding } from '../types.js';

/** What the runtime linker searches after the runpath (ld.so.1's defaults). */
export const DEFAULT_DIRS = { 64: ['/lib/64', '/usr/lib/64'], 32: ['/lib', '/usr/lib'] } as const;

/** Where the kernel looks for modules, in order (the 64-bit ones in an amd64/ below). */
export const MODULE_PATH = ['platform/i86pc/kernel', 'kernel', 'usr/kernel'] as const;
const MODULE_TREE = /^(kernel|platform|usr\/kernel)\//;
const ET_REL = 1;

/** Where a module named `misc/mac` in `_depends_on` may be, in search order. */
export function moduleCandidates(name: string, cls: 32 | 64): string[] {
  const slash = name.lastIndexOf('/');
  const sub = cls === 64 ? `${name.slice(0, slash + 1)}amd64/${name.slice(slash + 1)}` : name;
  return MODULE_PATH.map((dir) => `/${dir}/${sub}`);
}

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
  files: AsyncIterable<ImageFile>;
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
  let checked = 0;
  for await (const file of input.files) {
    if (file.size < 16) continue;
    const head = await file.read(0, 4);
    if (!isElf(head)) continue;
    checked++;
    const loc = input.manifest?.get(file.path);
    const where = loc ? { file: loc.file, line: loc.line } : {};
    let elf: ElfInfo;
    let depends: string | undefined;
    try {
      elf = await readElf(file.read, file.size);
      if (elf.type === ET_REL && MODULE_TREE.test(file.path))
        depends = await readDependsOn(file.read, file.size);
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
    for (const name of depends?.split(/\s+/) ?? []) {
      if (name === '') continue;
      const searched = moduleCandidates(name, elf.class);
      if (searched.some((path) => isFile(tree, path))) continue;
      yield {
        kind: 'missing-module',
        path: file.path,
        ...where,
        message: `needs module ${name} (_depends_on): not in the image; searched ${searched.join(', ')}`,
      };
    }
    if (elf.interp !== undefined && !isFile(tree, elf.interp)) {
      yield {
        kind: 'missing-library',
        path: file.path,
        ...where,
        message: `its interpreter ${elf.interp} (PT_INTERP) is not a file in the image`,
      };
    }
    if (!elf.dynamic || elf.needed.length === 0) continue;
    const origin = '/' + imageDir(file.path);
    const runpath = elf.runpath ?? elf.rpath;
    const tag = elf.runpath !== undefined ? 'DT_RUNPATH' : 'DT_RPATH';
    const dirs: string[] = [];
    for (const raw of runpath?.split(':') ?? []) {
      if (raw === '') continue;
      const dir = expand(raw, origin);
      const build = !dir.startsWith('/')
        ? 'is relative (taken from the current directory at run time)'
        : BUILD_PATHS.some((re) => re.test(dir)) ||
            (proto && (dir === proto || dir.startsWith(proto + '/')))
          ? 'is a build-host path'
          : !isDir(tree, dir)
            ? 'is not a directory in the image'
            : undefined;
      if (build) {
        yield {
          kind: 'bad-runpath',
          path: file.path,
          ...where,
          message: `${tag} entry ${raw}${raw !== dir ? ` (${dir})` : ''} ${build}`,
        };
      }
      dirs.push(dir);
    }
    const searched = [...dirs, ...DEFAULT_DIRS[elf.class]];
    for (const name of elf.needed) {
      const found = name.includes('/')
        ? isFile(tree, name.startsWith('/') ? name : `${origin}/${name}`)
        : searched.some((dir) => dir.startsWith('/') && isFile(tree, `${dir}/${name}`));
      if (found) continue;
      yield {
        kind: 'missing-library',
        path: file.path,
        ...where,
        message: `needs ${name} (DT_NEEDED): not in the image; searched ${name.includes('/') ? name : searched.join(', ')}`,
      };
    }
  }
  return checked;
}
