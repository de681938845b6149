/**
 * projects/illumos/illumos.sh: the environment file nightly(1) reads, in
 * the shape of illumos-gate's usr/src/tools/env/illumos.sh (`export
 * NAME="value"` lines). Written from the inputs alone, in a fixed order,
 * with no date or host name: the same inputs give the same bytes (the file
 * is part of build-world's cache key, all but MAX_JOBS and DMAKE_MAX_JOBS:
 * see hashIllumosSh in src/cache/key.ts). Values are double-quoted with `\`,
 * `"`, `$` and `` ` `` escaped, so nothing in them is expanded by the shell.
 */
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { AtomicLineWriter } from '../util/atomic.js';
import { describeError, UserError } from '../util/errors.js';
import { cxxSpec, type CompilerSpec } from './compilers.js';

/**
 * smartos-live's defaults without debug: -C (check cstyle), -i (incremental:
 * the proto also holds illumos-extra and src), -L (no lint), -m (no mail),
 * -M (no protocmp), -N (no package checks), -n (no bringover), -t (build
 * the tools first).
 */
export const DEFAULT_NIGHTLY_OPTIONS = '-CiLmMNnt';
export const DEFAULT_GATE = 'joyent-live';

export interface IllumosEnvOptions {
  workspace: string;
  /** projects/illumos (CODEMGR_WS). */
  illumos: string;
  proto: string;
  gate?: string;
  nightlyOptions?: string;
  maxJobs?: number;
  primary: CompilerSpec;
  shadows: readonly CompilerSpec[];
  onClosedBins?: string;
  /** Further NAME=VALUE lines, appended in the order given. */
  extra?: ReadonlyMap<string, string>;
}

/** The CPU count nightly's make may use. */
export function defaultMaxJobs(): number {
  return typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `"value"` safe for sh: no expansion, no word splitting. */
export function shellQuote(value: string): string {
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/** The variables, in the order written. */
export function illumosEnvEntries(o: IllumosEnvOptions): [string, string][] {
  const entries: [string, string][] = [
    ['GATE', o.gate ?? DEFAULT_GATE],
    ['CODEMGR_WS', o.illumos],
    ['SRC', join(o.illumos, 'usr', 'src')],
    ['ROOT', o.proto],
    ['PARENT_ROOT', o.proto],
    ['MULTI_PROTO', 'no'],
    ['NIGHTLY_OPTIONS', o.nightlyOptions ?? DEFAULT_NIGHTLY_OPTIONS],
    ['ATLOG', join(o.illumos, 'log')],
    ['LOGFILE', join(o.illumos, 'log', 'nightly.log')],
    ['MAX_JOBS', String(o.maxJobs ?? defaultMaxJobs())],
    ['DMAKE_MAX_JOBS', String(o.maxJobs ?? defaultMaxJobs())],
    ['__GNUC', ''],
    ['PRIMARY_CC', o.primary.spec],
    ['PRIMARY_CCC', cxxSpec(o.primary)],
    ['SHADOW_CCS', o.shadows.map((c) => c.spec).join(' ')],
    ['SHADOW_CCCS', o.shadows.map(cxxSpec).join(' ')],
  ];
  if (o.onClosedBins) entries.push(['ON_CLOSED_BINS', o.onClosedBins]);
  const seen = new Set(entries.map(([k]) => k));
  for (const [name, value] of o.extra ?? []) {
    if (!NAME.test(name))
      throw new UserError(`illumos.sh: ${JSON.stringify(name)} is not a variable name`);
    if (seen.has(name)) {
      throw new UserError(
        `illumos.sh: ${name} is set by its own option; do not set it again as an extra variable`,
      );
    }
    seen.add(name);
    entries.push([name, value]);
  }
  for (const [name, value] of entries) {
    if (/[\n\r\0]/.test(value)) {
      throw new UserError(
        `illumos.sh: the value of ${name} holds a line break or NUL; it must be one line`,
      );
    }
  }
  return entries;
}

/** Writes <illumos>/illumos.sh atomically; returns its path. */
export async function writeIllumosEnv(o: IllumosEnvOptions): Promise<string> {
  const entries = illumosEnvEntries(o);
  const path = join(o.illumos, 'illumos.sh');
  let writer: AtomicLineWriter | undefined;
  try {
    writer = new AtomicLineWriter(path);
    await writer.line('# illumos.sh: the nightly(1) environment of this workspace.');
    await writer.line('# Written by joyent-live setup-host from its inputs; a rerun replaces it,');
    await writer.line('# so change the inputs rather than this file.');
    for (const [name, value] of entries) await writer.line(`export ${name}=${shellQuote(value)}`);
    await writer.commit();
  } catch (err) {
    await writer?.abort();
    throw new UserError(`cannot write ${path}: ${describeError(err)}`);
  }
  return path;
}
