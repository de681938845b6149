/**
 * The proto cache key: a hash of every input of the world build
 * (docs/build-world.md, "What the key covers").
 * The inputs are kept as a JSON document (`cache-key-inputs.json` beside
 * the proto, and inside every cache entry) so that a later run can say in
 * words which of them changed, and which stages that invalidates.
 */
import { createHash } from 'node:crypto';
import { compareBytes } from '../manifest/path.js';
import { UserError } from '../util/errors.js';
import type { ProjectState } from './git-state.js';

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
  /** sha256 of projects/illumos/illumos.sh without its job counts (see hashIllumosSh in src/host/illumos-sh.ts). */
  'illumos.sh': string;
  /**
   * The whole output of `<compiler> --version` (compilerVersion in
   * src/host/compilers.ts) for each C and C++ compiler illumos.sh names, by spec.
   */
  compilers: Record<string, string>;
  /**
   * The build environment variables that are set, by name (buildEnvironment
   * in src/cache/build-env.ts). Absent in documents of earlier versions.
   */
  env?: Record<string, string>;
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
  const was = before.untracked;
  const now = after.untracked;
  if (was?.sha256 !== now?.sha256) {
    const count = (n: number) => `${n} untracked file${n === 1 ? '' : 's'} not ignored by git`;
    if (!now) out.push(`${name} has no untracked files now`);
    else if (!was) out.push(`${name} has ${count(now.files)} now`);
    else out.push(`${name} untracked files changed (${count(now.files)})`);
  }
  return out;
}

/** Which build environment variables were set, unset or changed: names only (values may be long). */
function envChanges(before: KeyInputs, after: KeyInputs): string[] {
  const was = before.env ?? {};
  const now = after.env ?? {};
  const verb = (name: string) =>
    was[name] === undefined ? 'set' : now[name] === undefined ? 'unset' : 'changed';
  const names = [...new Set([...Object.keys(was), ...Object.keys(now)])]
    .filter((name) => was[name] !== now[name])
    .sort(compareBytes);
  return names.length
    ? [`build environment: ${names.map((n) => `${n} ${verb(n)}`).join(', ')}`]
    : [];
}

/** A compiler's version for a message: its first line, the rest said to differ when only it does. */
function compilerChange(spec: string, was: string | undefined, now: string | undefined): string {
  const [name, path] = spec.split(',');
  const shown = `compiler ${name} (${path})`;
  const first = (text: string) => text.split('\n')[0];
  if (was === undefined) return `${shown} added (${first(now ?? '')})`;
  if (now === undefined) return `${shown} removed`;
  if (first(was) === first(now))
    return `${shown} changed (its --version output differs after its first line)`;
  return `${shown} changed (${first(was)} → ${first(now)})`;
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
    if (was !== now) out.push(compilerChange(spec, was, now));
  }
  out.push(...envChanges(before, after));
  if (before.src !== after.src) out.push('src changed');
  return out;
}
