/**
 * The proto cache key: a hash of every input of the world build (README.md, `joyent-live build-world`).
 * The inputs are kept as a JSON document (`cache-key-inputs.json` beside
 * the proto, and inside every cache entry) so that a later run can say in
 * words which of them changed, and which stages that invalidates.
 */
import { spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { compareBytes } from '../manifest/path.js';
import { describeError, UserError } from '../util/errors.js';

export interface ProjectState {
  /** `git rev-parse HEAD`. */
  head: string;
  /**
   * True when `git status` shows changes to tracked files. Untracked files
   * are not counted: builds leave many in the tree (objects, logs).
   */
  dirty: boolean;
  /** sha256 of `git status --porcelain` and `git diff HEAD` when dirty: two dirty trees differ. */
  changes?: string;
}

export interface KeyInputs {
  /** The layout of this document and of cache entries. */
  format: 1;
  /** This tool's version (src/version.ts). */
  tool: string;
  /** The user's `cache-version`. */
  salt: string;
  illumos: ProjectState;
  'illumos-extra': ProjectState;
  /**
   * sha256 of the src/ tree: paths, types, modes, symlink texts, contents
   * (no .git); `git:<sha256>` over the files git does not ignore when src/
   * is in a git work tree.
   */
  src: string;
  /** sha256 of projects/illumos/illumos.sh without its job counts (see hashIllumosSh). */
  'illumos.sh': string;
  /** First line of `<compiler> --version` for each compiler illumos.sh names, by spec. */
  compilers: Record<string, string>;
}

/** JSON with keys in byte order at every level: equal inputs, equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareBytes(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const KEY_PREFIX = 'joyent-live-proto-';

/** `joyent-live-proto-<salt>-` : what every key of this salt starts with. */
export function restorePrefix(salt: string): string {
  return `${KEY_PREFIX}${salt}-`;
}

export function cacheKey(inputs: KeyInputs): string {
  const hash = createHash('sha256').update(canonicalJson(inputs)).digest('hex');
  return `${restorePrefix(inputs.salt)}${hash.slice(0, 40)}`;
}

/** A cache-version usable inside a key (keys are also file names of the local backend). */
export function checkSalt(salt: string, name = 'cache-version'): string {
  if (!/^[A-Za-z0-9._]{1,64}$/.test(salt)) {
    throw new UserError(
      `${name} may hold only letters, digits, "." and "_" (1 to 64 of them), not ${JSON.stringify(salt)}`,
    );
  }
  return salt;
}

/** Runs a command; its stdout goes to `onData` (streamed); rejects with stderr's tail on failure. */
export function runTool(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; onData?: (chunk: Buffer) => void } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => options.onData?.(chunk));
    child.stderr
      .setEncoding('utf8')
      .on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} ${signal ? `was killed by ${signal}` : `exited ${code}`}${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`,
          ),
        );
    });
  });
}

async function firstLine(
  command: string,
  args: string[],
  cwd?: string,
  env?: NodeJS.ProcessEnv,
): Promise<string> {
  let text = '';
  await runTool(command, args, {
    cwd,
    env,
    onData: (chunk) => {
      if (text.length < 4096) text += chunk.toString('utf8');
    },
  });
  return text.split('\n')[0].trim();
}

/** HEAD and dirtiness of a git checkout (real git). illumos.sh is not counted: it has its own input. */
export async function projectState(dir: string, label: string): Promise<ProjectState> {
  let head: string;
  try {
    head = await firstLine('git', ['rev-parse', '--verify', 'HEAD'], dir);
  } catch (err) {
    throw new UserError(
      `${label} (${dir}) is not a git checkout with a commit (${describeError(err)}); ` +
        'the proto cache key needs its revision',
    );
  }
  const pathspec = ['--', '.', ':(exclude)illumos.sh'];
  let status = '';
  await runTool('git', ['status', '--porcelain', '--untracked-files=no', ...pathspec], {
    cwd: dir,
    onData: (chunk) => (status += chunk.toString('utf8')),
  });
  if (status === '') return { head, dirty: false };
  const hash = createHash('sha256').update(status);
  await runTool('git', ['diff', '--binary', 'HEAD', ...pathspec], {
    cwd: dir,
    onData: (chunk) => hash.update(chunk),
  });
  return { head, dirty: true, changes: hash.digest('hex') };
}

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
 * sha256 of a tree, streamed: each entry in byte order of its path gives its
 * type, permission bits and path, then its symlink text or its size and
 * contents. `.git` is skipped at every level. When the tree is in a git
 * work tree (smartos-live's src/ is), the files git would not ignore are
 * hashed (tracked and untracked alike): what the build leaves in the tree
 * (objects, its .gitignore'd outputs) does not change the hash.
 */
export async function hashTree(root: string): Promise<string> {
  const hash = createHash('sha256');
  let listed = '';
  const inGit = await runTool(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '.'],
    { cwd: root, onData: (chunk) => (listed += chunk.toString('utf8')) },
  ).then(
    () => true,
    () => false,
  );
  if (inGit) {
    const paths = [...new Set(listed.split('\0').filter(Boolean))].sort(compareBytes);
    for (const path of paths) {
      // A tracked file deleted in the work tree is simply absent.
      await hashPath(hash, root, path).catch(() => hashEntry(hash, path, '0', 'deleted'));
    }
    return `git:${hash.digest('hex')}`;
  }
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
 * Variables of illumos.sh that say how many jobs make may run at once.
 * setup-illumos-host writes them from the runner's CPU count; they change
 * how fast the proto is built, never what is in it.
 */
export const JOB_COUNT_VARIABLES: readonly string[] = ['MAX_JOBS', 'DMAKE_MAX_JOBS'];

const JOB_COUNT_LINE = new RegExp(`^\\s*(?:export\\s+)?(?:${JOB_COUNT_VARIABLES.join('|')})=`);

/**
 * sha256 of illumos.sh, streamed line by line, with the assignments of the
 * job counts (JOB_COUNT_VARIABLES) left out: two runners with different
 * CPU counts build the same proto, so they must share a cache entry (and
 * the illumos stage stamp, which records this same hash). Every other line,
 * comments included, is in the hash.
 */
export async function hashIllumosSh(path: string): Promise<string> {
  const hash = createHash('sha256');
  const input = createReadStream(path, { encoding: 'utf8' });
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (!JOB_COUNT_LINE.test(line)) hash.update(`${line}\n`);
  }
  return hash.digest('hex');
}

/** `<compiler> --version`'s first line, or why there is none (a missing compiler fails the build itself). */
export async function compilerVersion(path: string, env?: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await firstLine(path, ['--version'], undefined, env)) || '(no version output)';
  } catch (err) {
    return `unavailable: ${describeError(err)}`;
  }
}

const short = (rev: string) => rev.slice(0, 12);

function projectChange(name: string, before: ProjectState, after: ProjectState): string[] {
  const out: string[] = [];
  if (before.head !== after.head) {
    out.push(`${name} HEAD changed (${short(before.head)} → ${short(after.head)})`);
  }
  if (before.dirty !== after.dirty) {
    out.push(
      `${name} working tree ${after.dirty ? 'has uncommitted changes now' : 'is clean now'}`,
    );
  } else if (before.changes !== after.changes) {
    out.push(`${name} uncommitted changes changed`);
  }
  return out;
}

/** Which inputs differ, in words ("src changed", "illumos HEAD changed (abc → def)", ...). */
export function describeChanges(before: KeyInputs, after: KeyInputs): string[] {
  const out: string[] = [];
  if (before.format !== after.format) out.push('cache entry format changed');
  if (before.tool !== after.tool)
    out.push(`joyent-live version changed (${before.tool} → ${after.tool})`);
  if (before.salt !== after.salt)
    out.push(`cache-version changed (${before.salt} → ${after.salt})`);
  out.push(...projectChange('illumos', before.illumos, after.illumos));
  out.push(...projectChange('illumos-extra', before['illumos-extra'], after['illumos-extra']));
  if (before['illumos.sh'] !== after['illumos.sh']) out.push('illumos.sh changed');
  const specs = [...new Set([...Object.keys(before.compilers), ...Object.keys(after.compilers)])];
  for (const spec of specs.sort(compareBytes)) {
    const was = before.compilers[spec];
    const now = after.compilers[spec];
    if (was === now) continue;
    const name = spec.split(',')[0];
    if (was === undefined) out.push(`compiler ${name} added (${now})`);
    else if (now === undefined) out.push(`compiler ${name} removed`);
    else out.push(`compiler ${name} changed (${was} → ${now})`);
  }
  if (before.src !== after.src) out.push('src changed');
  return out;
}

/** Reads a KeyInputs document; undefined when it is not one (an older or foreign file). */
export function parseKeyInputs(text: string): KeyInputs | undefined {
  try {
    const value = JSON.parse(text) as Partial<KeyInputs>;
    if (
      value &&
      value.format === 1 &&
      typeof value.tool === 'string' &&
      typeof value.salt === 'string' &&
      typeof value.src === 'string' &&
      typeof value['illumos.sh'] === 'string' &&
      typeof value.illumos?.head === 'string' &&
      typeof value['illumos-extra']?.head === 'string' &&
      value.compilers &&
      typeof value.compilers === 'object'
    ) {
      return value as KeyInputs;
    }
  } catch {
    // not JSON
  }
  return undefined;
}
