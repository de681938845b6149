/**
 * A proto cache entry: one tar.gz made by us holding the proto area (under
 * its directory name), the stage stamps and cache-key-inputs.json. Both
 * backends store and return this same file, so it is checked the same way
 * before anything is trusted: every member must stay inside the proto or
 * be one of the state files (the shared tar checker, then a list of
 * allowed names), the gzip CRC and length and the tar structure must hold
 * (a corrupt or truncated entry fails to unpack), and it is unpacked into
 * a temporary directory and renamed into place only when complete.
 *
 * Why gzip here rather than a plain tar handed to @actions/cache (which
 * compresses itself): the local backend stores the same file, and gzip's
 * CRC-32 and length trailer is what detects a corrupt or truncated entry
 * on either backend; src/archive/gzip.ts compresses on every core.
 */
import { mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { extract } from 'tar';
import { gzipToFile } from '../archive/gzip.js';
import { KEY_INPUTS_FILE, readKeyInputsFile } from '../formats/cache-inputs.js';
import { compareBytes } from '../manifest/path.js';
import { describeError, errnoCode, UserError } from '../util/errors.js';
import { checkTarMembers } from '../util/tar-safety.js';
import type { KeyInputs } from './key.js';
import { protoTar } from './proto-tar.js';

/** An entry that must not be used: corrupt, truncated, escaping, or not ours. */
export class EntryRejected extends Error {}

/**
 * Writes the entry for `proto` and the `stateFiles` beside it (names in
 * dirname(proto)) to `out`, under a temporary name renamed when complete.
 */
export async function packEntry(
  proto: string,
  stateFiles: readonly string[],
  out: string,
): Promise<void> {
  const cwd = dirname(proto);
  // Owners are not kept (a proto is built by the build user); mtimes are,
  // so that make sees restored files as they were (src/cache/proto-tar.ts).
  await gzipToFile(protoTar(cwd, [basename(proto), ...stateFiles]), out);
}

export interface UnpackedEntry {
  /** Temporary directory (beside the proto) holding the unpacked entry. */
  dir: string;
  /** The proto's directory name inside it. */
  protoName: string;
  inputs: KeyInputs;
  /** Stamp files the entry holds. */
  stamps: string[];
}

const trim = (p: string) => p.replace(/^(\.\/)+/, '').replace(/\/+$/, '');

/**
 * Checks and unpacks an entry into a new temporary directory in `parent`
 * (the proto's parent, so that installing it is a rename). Throws
 * EntryRejected, leaving nothing behind, when it must not be used.
 */
export async function unpackEntry(
  file: string,
  parent: string,
  stampFiles: readonly string[],
): Promise<UnpackedEntry> {
  try {
    await checkTarMembers(file, {
      into: 'the proto area',
      gzip: { expected: 'a build-world cache entry (tar.gz)' },
      allowOutwardSymlinks: true,
    });
  } catch (err) {
    throw new EntryRejected(err instanceof Error ? err.message : String(err));
  }
  const allowed = new Set([...stampFiles, KEY_INPUTS_FILE]);
  let protoName: string | undefined;
  let bad: string | undefined;
  const inside = (path: string) => {
    const top = path.split('/')[0];
    if (path === top && allowed.has(top)) return true;
    protoName ??= top;
    return top === protoName && !allowed.has(top);
  };
  const dir = await mkdtemp(join(parent, '.build-world-restore-'));
  try {
    await extract({
      file,
      cwd: dir,
      strict: true,
      preserveOwner: false,
      filter: (path, entry) => {
        const p = trim(path);
        const link = 'linkpath' in entry && entry.type === 'Link' ? entry.linkpath : undefined;
        if (!inside(p) || (link !== undefined && !inside(trim(link)))) {
          bad ??= path;
          return false;
        }
        return true;
      },
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new EntryRejected(
      `${file} does not unpack (corrupt or truncated): ${describeError(err)}`,
    );
  }
  const fail = async (why: string): Promise<never> => {
    await rm(dir, { recursive: true, force: true });
    throw new EntryRejected(why);
  };
  if (bad !== undefined) {
    return fail(
      `${file}: member ${bad} is neither in the proto area nor a build-world state file; refusing it`,
    );
  }
  if (protoName === undefined) return fail(`${file} holds no proto area`);
  const inputs = await readKeyInputsFile(join(dir, KEY_INPUTS_FILE));
  if (!inputs) return fail(`${file} has no readable ${KEY_INPUTS_FILE}`);
  const names = await readdir(dir);
  return {
    dir,
    protoName,
    inputs,
    stamps: stampFiles.filter((s) => names.includes(s)).sort(compareBytes),
  };
}

/**
 * Moves an unpacked entry into place: the proto replaces `proto` (the old
 * one is moved aside first and removed after), the state files replace
 * those in the proto's parent (stamps the entry lacks are removed).
 */
export async function installEntry(
  entry: UnpackedEntry,
  proto: string,
  stampFiles: readonly string[],
): Promise<void> {
  const parent = dirname(proto);
  const aside = join(entry.dir, '.previous-proto');
  try {
    await rename(proto, aside);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') {
      throw new UserError(`cannot move the old proto ${proto} aside: ${describeError(err)}`);
    }
  }
  await rename(join(entry.dir, entry.protoName), proto);
  for (const stamp of stampFiles) {
    if (entry.stamps.includes(stamp)) await rename(join(entry.dir, stamp), join(parent, stamp));
    else await rm(join(parent, stamp), { force: true });
  }
  await rename(join(entry.dir, KEY_INPUTS_FILE), join(parent, KEY_INPUTS_FILE));
  await rm(entry.dir, { recursive: true, force: true });
}
