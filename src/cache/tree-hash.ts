/**
 * The hash of a source tree (smartos-live's src/) for the proto cache key.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { compareBytes } from '../manifest/path.js';
import { run } from '../util/process.js';

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

function hashEntry(hash: Hash, path: string, mode: string, kind: string, extra = ''): void {
  hash.update(`${kind} ${mode} ${path}\0${extra}`);
}

/** Adds one path (relative to root) of any type; false when it is a directory to descend into. */
async function hashPath(hash: Hash, root: string, path: string): Promise<boolean> {
  const abs = join(root, path);
  const st = await lstat(abs);
  const mode = (st.mode & 0o7777).toString(8);
  if (st.isDirectory()) {
    hashEntry(hash, path, mode, 'd');
    return false;
  }
  if (st.isSymbolicLink()) hashEntry(hash, path, mode, 's', `${await readlink(abs)}\0`);
  else if (st.isFile()) {
    hashEntry(hash, path, mode, 'f', `${st.size}\0`);
    await hashFile(abs, hash);
  } else hashEntry(hash, path, mode, 'o');
  return true;
}

/**
 * The files git would not ignore under `root` (with `untrackedOnly`, only
 * those it does not track either), less `pathspec` exclusions; undefined
 * when `root` is not in a git work tree.
 */
export async function gitListing(
  root: string,
  untrackedOnly = false,
  exclude: readonly string[] = [],
): Promise<string[] | undefined> {
  const chunks: Buffer[] = [];
  const which = untrackedOnly ? ['--others'] : ['--cached', '--others'];
  const pathspec = ['--', '.', ...exclude.map((p) => `:(exclude)${p}`)];
  const listed = await run('git', ['ls-files', '-z', ...which, '--exclude-standard', ...pathspec], {
    cwd: root,
    onOutput: (chunk, stream) => {
      if (stream === 'stdout') chunks.push(chunk);
    },
  });
  if (listed.status !== 0) return undefined;
  const paths = Buffer.concat(chunks).toString('utf8').split('\0').filter(Boolean);
  return [...new Set(paths)].sort(compareBytes);
}

/**
 * sha256 of a tree, streamed: each entry in byte order of its path gives its
 * type, permission bits and path, then its symlink text or its size and
 * contents. `.git` is skipped at every level. When the tree is in a git
 * work tree (smartos-live's src/ is), the files git would not ignore are
 * hashed (tracked and untracked alike): what the build leaves in the tree
 * (objects, its .gitignore'd outputs) does not change the hash.
 */
export async function hashTree(root: string): Promise<string> {
  const inGit = await gitListing(root);
  if (inGit) return `git:${await hashListed(root, inGit)}`;
  const hash = createHash('sha256');
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort(compareBytes)) {
      if (name === '.git') continue;
      const path = rel ? `${rel}/${name}` : name;
      if (!(await hashPath(hash, root, path))) await walk(path);
    }
  };
  await walk('');
  return hash.digest('hex');
}

/**
 * sha256 of the listed paths (relative to `root`, in the order given) as
 * hashTree counts each: type, permission bits, path, then symlink text or
 * size and contents; a path gone since it was listed counts as deleted.
 */
export async function hashListed(root: string, paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) {
    await hashPath(hash, root, path).catch(() => hashEntry(hash, path, '0', 'deleted'));
  }
  return hash.digest('hex');
}
