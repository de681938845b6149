import type { Stats } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { describeError, errnoCode, UserError } from '../util/errors.js';

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
  /** Later sources that also have the path (`TAG:path`): the first one wins over them. */
  shadows: string[];
}

export interface SearchMiss {
  /** Each place looked at, `TAG:path`, with why it did not serve when it exists. */
  searched: string[];
}

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
  private readonly realDirs = new Map<string, Promise<string | undefined>>();
  /** Answers kept for one later find() of the same path (see remember()). */
  private remembered?: Map<string, FoundSource | SearchMiss>;

  private constructor(readonly roots: readonly SourceRoot[]) {}

  /** Real path of a directory in a source, or undefined when there is none. */
  private realDir(dir: string): Promise<string | undefined> {
    let real = this.realDirs.get(dir);
    if (!real) {
      real = realpath(dir).catch((err: unknown) => {
        const code = errnoCode(err);
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw err;
      });
      this.realDirs.set(dir, real);
    }
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

  /**
   * From now on each answer is kept until the same path is asked again,
   * once: a build that resolves its entries twice (the dry run that plans
   * the image, then the build itself) looks each one up once.
   */
  remember(): void {
    this.remembered ??= new Map();
  }

  /** The first source that has `path` as a regular file, or every place searched. */
  async find(path: string): Promise<FoundSource | SearchMiss> {
    const known = this.remembered?.get(path);
    if (known) {
      this.remembered!.delete(path);
      return known;
    }
    const found = await this.lookUp(path);
    this.remembered?.set(path, found);
    return found;
  }

  private async lookUp(path: string): Promise<FoundSource | SearchMiss> {
    const searched: string[] = [];
    for (const [index, root] of this.roots.entries()) {
      let rel = path;
      if (root.tag === 'M') {
        if (!path.startsWith(MAN_PREFIX)) continue;
        rel = path.slice(MAN_PREFIX.length);
      }
      const candidate = join(root.dir, rel);
      const place = `${root.tag}:${candidate}`;
      let resolved: string;
      let info: Stats;
      try {
        // The parent's real path is cached: one lstat per place in the common case.
        const parent = await this.realDir(dirname(candidate));
        if (parent === undefined) {
          searched.push(place);
          continue;
        }
        resolved = join(parent, basename(candidate));
        info = await lstat(resolved);
        if (info.isSymbolicLink()) {
          resolved = await realpath(resolved);
          info = await stat(resolved);
        }
      } catch (err) {
        const code = errnoCode(err);
        searched.push(
          code === 'ENOENT' || code === 'ENOTDIR' ? place : `${place} (${describeError(err)})`,
        );
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
      const shadows = await this.alsoIn(path, index + 1);
      return {
        tag: root.tag,
        root,
        path: candidate,
        resolved,
        viaSymlink,
        size: info.size,
        shadows,
      };
    }
    return { searched };
  }

  /** The sources after `from` that also have `path` as a file or symlink (shadowed ones). */
  private async alsoIn(path: string, from: number): Promise<string[]> {
    const out: string[] = [];
    for (const root of this.roots.slice(from)) {
      let rel = path;
      if (root.tag === 'M') {
        if (!path.startsWith(MAN_PREFIX)) continue;
        rel = path.slice(MAN_PREFIX.length);
      }
      const candidate = join(root.dir, rel);
      const parent = await this.realDir(dirname(candidate));
      if (parent === undefined) continue;
      const info = await lstat(join(parent, basename(candidate))).catch(() => undefined);
      if (info && (info.isFile() || info.isSymbolicLink())) out.push(`${root.tag}:${candidate}`);
    }
    return out;
  }
}

export function isFound(result: FoundSource | SearchMiss): result is FoundSource {
  return 'tag' in result;
}
