/**
 * The publish phase of build-live (docs/output-layout.md): a build's whole
 * set of outputs (platform directory, tgz, image directory, JSONL, log)
 * goes into place only once every one of them is complete, and a reader
 * never sees a mix of two builds. The log is the commit record: the old
 * one is set aside first and the new one renamed in last, so at any
 * moment there is the old set with its log, no log at all, or the new set
 * with its log.
 */
import { mkdir, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describeError, errnoCode, UserError } from '../util/errors.js';
import { pathExists } from '../util/exists.js';

/** One output of the set. */
export interface Published {
  /** Its final name. */
  to: string;
  /** The complete new one; absent when this build has none (the old one just goes). */
  from?: string;
  /** A directory of ours on the same file system, where the old one is moved. */
  aside: string;
}

/**
 * Publishes `set`, in its order (the commit record last): the previous
 * outputs are moved aside, the commit record first, then the new ones are
 * renamed in. A failure puts back what it can and is an error naming the
 * path. The caller removes the aside directories afterwards.
 */
export async function publishSet(set: readonly Published[]): Promise<void> {
  const setAside: { from: string; to: string }[] = [];
  const placed: { from: string; to: string }[] = [];
  let current = '';
  try {
    for (const item of [...set].reverse()) {
      current = item.to;
      if (!(await pathExists(item.to))) continue;
      await mkdir(item.aside, { recursive: true });
      const moved = join(item.aside, basename(item.to));
      await rename(item.to, moved);
      setAside.push({ from: moved, to: item.to });
    }
    for (const item of set) {
      if (item.from === undefined) continue;
      current = item.to;
      await rename(item.from, item.to);
      placed.push({ from: item.to, to: item.from });
    }
  } catch (err) {
    // Back to the previous set, as far as the file system lets us.
    for (const move of [...placed.reverse(), ...setAside.reverse()]) {
      await rename(move.from, move.to).catch(() => undefined);
    }
    const code = errnoCode(err);
    throw new UserError(
      `cannot publish ${current}: ${describeError(err)}${code ? ` (${code})` : ''}`,
    );
  }
}
