import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { describeError, UserError } from '../util/errors.js';
import { isNotThere } from '../util/exists.js';

/** Where a file's content came from (docs/assembly.md). */
export type SourceTag = 'A' | 'P' | 'M' | 'S';
export const SOURCE_TAGS: readonly SourceTag[] = ['A', 'P', 'M', 'S'];

export interface SourceRoot {
  tag: SourceTag;
  /** The directory as the user named it (shown in logs). */
  dir: string;
  /** Its real path, against which symlinks are checked. */
  real: string;
}

export interface FoundSource {
  tag: SourceTag;
  root: SourceRoot;
  /** `root.dir` joined with the path looked up. */
  path: string;
  /** The real file read. */
  resolved: string;
  /** True when a symlink (the file or a parent) was followed to reach it. */
  viaSymlink: boolean;
  size: number;
  /** Bytes the file takes on disk (st_blocks x 512). */
  diskBytes: number;
  /** Later sources that also have the path (`TAG:path`): the first one wins over them. */
  shadows: string[];
}

export interface SearchMiss {
  /** Each place looked at, `TAG:path`, with why it did not serve when it exists. */
  searched: string[];
}

/**
 * What one search found for each path it was asked about: a dry run's
 * answers, handed to the build that follows it so that each path is looked
 * up once.
 */
export type FoundSources = ReadonlyMap<string, FoundSource | SearchMiss>;

export const MAN_PREFIX = 'usr/share/man/';

/** True when `path` is `root` or below it (both real, absolute paths). */
export function isInside(path: string, root: string): boolean {
  const prefix = root.endsWith(sep) ? root : root + sep;
  return path === root || path.startsWith(prefix);
}

export interface SourceDirs {
  overlays: readonly string[];
  proto?: string;
  manDir?: string;
  systemRoot?: string;
}

/** `path` relative to a source root; undefined where it cannot be (the man root has only man/). */
function pathInRoot(root: SourceRoot, path: string): string | undefined {
  if (root.tag !== 'M') return path;
  return path.startsWith(MAN_PREFIX) ? path.slice(MAN_PREFIX.length) : undefined;
}

async function openRoot(tag: SourceTag, dir: string, what: string): Promise<SourceRoot> {
  let info;
  try {
    info = await stat(dir);
  } catch (err) {
    throw new UserError(`${what} ${dir}: ${describeError(err)}`);
  }
  if (!info.isDirectory()) throw new UserError(`${what} ${dir} is not a directory`);
  return { tag, dir, real: await realpath(dir) };
}

/**
 * The ordered source search (docs/assembly.md): overlays (A) in order, proto (P),
 * man dir (M, only under usr/share/man/), system root (S).
 */
export class SourceSearch {
  private readonly realDirs = new Map<string, string | undefined>();

  private constructor(readonly roots: readonly SourceRoot[]) {}

  /** Real path of a directory in a source, or undefined when there is none. */
  private realDir(dir: string): string | undefined {
    if (this.realDirs.has(dir)) return this.realDirs.get(dir);
    let real: string | undefined;
    try {
      real = realpathSync(dir);
    } catch (err) {
      if (!isNotThere(err)) throw err;
    }
    this.realDirs.set(dir, real);
    return real;
  }

  static async open(dirs: SourceDirs): Promise<SourceSearch> {
    const roots: SourceRoot[] = [];
    for (const overlay of dirs.overlays) roots.push(await openRoot('A', overlay, 'overlay'));
    if (dirs.proto !== undefined) roots.push(await openRoot('P', dirs.proto, 'proto area'));
    if (dirs.manDir !== undefined) roots.push(await openRoot('M', dirs.manDir, 'man directory'));
    if (dirs.systemRoot !== undefined) {
      roots.push(await openRoot('S', dirs.systemRoot, 'system root'));
    }
    return new SourceSearch(roots);
  }

  /** The first source that has `path` as a regular file, or every place searched. */
  find(path: string): Promise<FoundSource | SearchMiss> {
    // A throw in the executor rejects the promise.
    return new Promise((resolve) => resolve(this.lookUp(path)));
  }

  /**
   * Synchronous calls: a build looks up tens of thousands of paths, most of
   * them misses in the earlier sources, and a promise round trip per lstat
   * costs several times the call itself.
   */
  private lookUp(path: string): FoundSource | SearchMiss {
    const searched: string[] = [];
    for (const [index, root] of this.roots.entries()) {
      const rel = pathInRoot(root, path);
      if (rel === undefined) continue;
      const candidate = join(root.dir, rel);
      const place = `${root.tag}:${candidate}`;
      let resolved: string;
      let info: Stats;
      try {
        // The parent's real path is cached: one lstat per place in the common case.
        const parent = this.realDir(dirname(candidate));
        const found = parent === undefined ? undefined : join(parent, basename(candidate));
        const link = found === undefined ? undefined : lstatSync(found, { throwIfNoEntry: false });
        if (found === undefined || link === undefined) {
          searched.push(place);
          continue;
        }
        resolved = found;
        info = link;
        if (info.isSymbolicLink()) {
          resolved = realpathSync(resolved);
          info = statSync(resolved);
        }
      } catch (err) {
        searched.push(isNotThere(err) ? place : `${place} (${describeError(err)})`);
        continue;
      }
      // A symlink in a source is followed only while it stays in that source.
      if (!isInside(resolved, root.real)) {
        searched.push(`${place} (resolves to ${resolved}, outside ${root.dir}: not used)`);
        continue;
      }
      if (!info.isFile()) {
        searched.push(`${place} (${info.isDirectory() ? 'a directory' : 'not a regular file'})`);
        continue;
      }
      const viaSymlink = resolved !== join(root.real, rel);
      const shadows = this.alsoIn(path, index + 1);
      return {
        tag: root.tag,
        root,
        path: candidate,
        resolved,
        viaSymlink,
        size: info.size,
        diskBytes: info.blocks * 512,
        shadows,
      };
    }
    return { searched };
  }

  /** The sources after `from` that also have `path` as a file or symlink (shadowed ones). */
  private alsoIn(path: string, from: number): string[] {
    const out: string[] = [];
    for (const root of this.roots.slice(from)) {
      const rel = pathInRoot(root, path);
      if (rel === undefined) continue;
      const candidate = join(root.dir, rel);
      const parent = this.realDir(dirname(candidate));
      if (parent === undefined) continue;
      let info: Stats | undefined;
      try {
        info = lstatSync(join(parent, basename(candidate)), { throwIfNoEntry: false });
      } catch {
        info = undefined;
      }
      if (info && (info.isFile() || info.isSymbolicLink())) out.push(`${root.tag}:${candidate}`);
    }
    return out;
  }
}

export function isFound(result: FoundSource | SearchMiss): result is FoundSource {
  return 'tag' in result;
}
