/**
 * unshipped, proto-mismatch, stale-policy: the other direction of the
 * manifest check. Every regular file and symlink under the proto and the
 * overlays that no manifest entry ships is `unshipped`, unless a ship
 * policy rule skips it; a rule that skips nothing, or skips what the
 * manifest ships, is `stale-policy` at its line (validate_pkg's exception
 * list checks). An `f` entry whose proto path is a symlink or a directory,
 * and an `s` entry whose text differs from the proto's link, are
 * `proto-mismatch` (smartos-live's tzcheck). See docs/verify.md.
 */
import type { Dirent } from 'node:fs';
import { opendir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { compareBytes } from '../../manifest/path.js';
import type { ManifestEntry } from '../../manifest/types.js';
import { describeError, UserError } from '../../util/errors.js';
import type { Finding } from '../types.js';
import { staleRule, type PolicyRule } from './ship-policy.js';

export interface UnshippedInput {
  /** The source roots to walk, in build order (overlays, then the proto). */
  roots: readonly { dir: string; what: 'overlay' | 'proto' }[];
  manifest: ReadonlyMap<string, ManifestEntry>;
  policy: PolicyRule[];
}

async function sortedEntries(dir: string): Promise<Dirent[]> {
  const out: Dirent[] = [];
  try {
    for await (const entry of await opendir(dir)) out.push(entry);
  } catch (err) {
    throw new UserError(`cannot read ${dir}: ${describeError(err)}`);
  }
  return out.sort((a, b) => compareBytes(a.name, b.name));
}

export async function* unshipped(input: UnshippedInput): AsyncGenerator<Finding, number> {
  let checked = 0;
  // The proto (or overlay) does not have what the manifest entry says.
  const mismatch = (path: string, e: ManifestEntry, message: string): Finding => ({
    kind: 'proto-mismatch',
    path,
    file: e.file,
    line: e.line,
    message,
  });
  for (const root of input.roots) {
    // Depth first, one directory's names in memory per level.
    const walk = async function* (rel: string): AsyncGenerator<Finding> {
      for (const dirent of await sortedEntries(rel ? join(root.dir, rel) : root.dir)) {
        const path = rel ? `${rel}/${dirent.name}` : dirent.name;
        const entry = input.manifest.get(path);
        if (dirent.isDirectory()) {
          if (entry?.type === 'f') {
            yield mismatch(
              path,
              entry,
              `the manifest ships a file, the ${root.what} ${root.dir} has a directory`,
            );
          }
          yield* walk(path);
          continue;
        }
        if (!dirent.isFile() && !dirent.isSymbolicLink()) continue;
        checked++;
        if (entry && entry.type !== 'd') {
          for (const rule of input.policy) {
            if (rule.shipped === undefined && rule.match(path)) rule.shipped = path;
          }
          if (dirent.isSymbolicLink() && (entry.type === 'f' || entry.type === 's')) {
            const text = await readlink(join(root.dir, path));
            if (entry.type === 'f') {
              yield mismatch(
                path,
                entry,
                `the manifest ships a file, the ${root.what} ${root.dir} has a symlink (-> ${text})`,
              );
            } else if (text !== entry.target) {
              yield mismatch(
                path,
                entry,
                `the manifest's link text is ${entry.target}, the ${root.what}'s link is -> ${text}`,
              );
            }
          }
          continue;
        }
        const rule = input.policy.find((r) => r.match(path));
        if (rule) {
          rule.used++;
          continue;
        }
        yield {
          kind: 'unshipped',
          path,
          message: `a ${dirent.isSymbolicLink() ? 'symlink' : 'file'} in the ${root.what} ${root.dir} that no manifest entry ships${entry ? ' (the manifest has a directory there)' : ''}`,
        };
      }
    };
    yield* walk('');
  }
  for (const rule of input.policy) {
    // A rule is stale when it matches nothing, or matches what the manifest ships.
    if (rule.shipped === undefined && rule.used > 0) continue;
    yield staleRule(
      rule,
      rule.shipped === undefined
        ? `skip ${rule.glob} matches nothing in the proto or overlays`
        : `skip ${rule.glob} matches ${rule.shipped}, which the manifest ships`,
    );
  }
  return checked;
}
