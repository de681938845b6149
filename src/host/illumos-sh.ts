/**
 * projects/illumos/illumos.sh: the environment file nightly(1) reads, in
 * the shape of illumos-gate's usr/src/tools/env/illumos.sh (`export
 * NAME="value"` lines). setup-host writes it (writeIllumosSh); build-world
 * reads it (readIllumosSh) and hashes it into the proto cache key
 * (hashIllumosSh).
 *
 * Written from the inputs alone, in a fixed order, with no date or host
 * name: the same inputs give the same bytes. Values are double-quoted with
 * `\`, `"`, `$` and `` ` `` escaped, so nothing in them is expanded by the
 * shell; the reader undoes that quoting, and also reads files written by
 * hand (single quotes, bare values, `$NAME` references).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AtomicLineWriter, partialName } from '../util/atomic.js';
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

export interface IllumosShOptions {
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
export function illumosShEntries(o: IllumosShOptions): [string, string][] {
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
export async function writeIllumosSh(o: IllumosShOptions): Promise<string> {
  const entries = illumosShEntries(o);
  const path = join(o.illumos, 'illumos.sh');
  let writer: AtomicLineWriter | undefined;
  try {
    // A leftover of a killed run: removed (never written through) first.
    await rm(partialName(path), { force: true });
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

/** What build-world needs of illumos.sh: ROOT, CODEMGR_WS and the compilers. */
export interface IllumosShVars {
  file: string;
  /** Every `NAME=value` assignment, in file order, `$NAME` references expanded. */
  vars: Map<string, string>;
}

const ASSIGN = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** `$NAME` and `${NAME}` from earlier assignments; unknown names are left as written. */
function expand(text: string, vars: Map<string, string>): string {
  return text.replace(REFERENCE, (m, a, b) => vars.get((a ?? b) as string) ?? m);
}

/**
 * The inside of a "double-quoted" value: `\` before `"`, `\`, `$` or `` ` ``
 * makes that character literal (as shellQuote writes it); other `$NAME`s
 * are expanded. Undefined when the closing quote is missing.
 */
function doubleQuoted(text: string, vars: Map<string, string>): string | undefined {
  const m = /^"((?:[^"\\]|\\.)*)"/.exec(text);
  if (!m) return undefined;
  return m[1]
    .split(/(\\["\\$`])/)
    .map((part, i) => (i % 2 ? part.slice(1) : expand(part, vars)))
    .join('');
}

/** The value part of an assignment: "double", 'single' or bare, up to a `#` comment. */
function unquote(raw: string, where: string, vars: Map<string, string>): string {
  const text = raw.trim();
  if (text.startsWith('"')) {
    const value = doubleQuoted(text, vars);
    if (value === undefined) throw new UserError(`${where}: unterminated "..." value`);
    return value;
  }
  if (text.startsWith("'")) {
    const end = text.indexOf("'", 1);
    if (end < 0) throw new UserError(`${where}: unterminated '...' value`);
    return text.slice(1, end);
  }
  return expand(text.replace(/\s+#.*$/, '').replace(/;$/, ''), vars);
}

export async function readIllumosSh(file: string): Promise<IllumosShVars> {
  const vars = new Map<string, string>();
  const stream = createReadStream(file, { encoding: 'utf8' });
  let lineNo = 0;
  try {
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      lineNo++;
      const m = ASSIGN.exec(line);
      if (!m) continue;
      vars.set(m[1], unquote(m[2], `${file}:${lineNo}`, vars));
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(
      `cannot read ${file}: ${describeError(err)} (setup-illumos-host writes it)`,
    );
  }
  return { file, vars };
}

/** A compiler as illumos.sh names it; `spec` in illumos' own syntax: `gcc10,/opt/gcc-10/bin/gcc,gnu`. */
export type NamedCompiler = Pick<CompilerSpec, 'spec' | 'name' | 'path'>;

/**
 * PRIMARY_CC then each of SHADOW_CCS (space-separated), as illumos.sh names
 * them; with `cxx`, then PRIMARY_CCC and each of SHADOW_CCCS (the C++
 * drivers, which the proto cache key covers too).
 */
export function compilersOf(env: IllumosShVars, cxx = false): NamedCompiler[] {
  const listed = (name: string) => (env.vars.get(name) ?? '').split(/\s+/);
  const specs = [
    env.vars.get('PRIMARY_CC') ?? '',
    ...listed('SHADOW_CCS'),
    ...(cxx ? [env.vars.get('PRIMARY_CCC') ?? '', ...listed('SHADOW_CCCS')] : []),
  ];
  const out: NamedCompiler[] = [];
  for (const spec of new Set(specs.map((s) => s.trim()).filter(Boolean))) {
    const [name, path] = spec.split(',');
    if (!name || !path) {
      throw new UserError(
        `${env.file}: compiler "${spec}" is not in illumos' name,path,style form (gcc10,/opt/gcc-10/bin/gcc,gnu)`,
      );
    }
    out.push({ spec, name, path });
  }
  return out;
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
