/**
 * The text fuzzer of test/fuzz-text.test.ts: a seeded PRNG, mutations of
 * text and binary inputs, and the readers under test run in a worker
 * thread with a memory limit, so that a hang or a runaway allocation is
 * seen (and the input that caused it named) instead of stopping the suite.
 *
 * Each case is an input and a kind; the worker writes it to a file, runs
 * the reader's public function on it and says how it ended: `ok`, `error`
 * (the reader's own clean error class, with its message) or `crash` (any
 * other exception, with its name and message). The main thread times each
 * case and terminates the worker when one runs past its limit.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export const KINDS = ['manifest', 'ship-policy', 'build-log', 'elf'] as const;
export type Kind = (typeof KINDS)[number];

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** Tokens that break parsers: line ends, NULs, workflow commands, numbers at their limits, globs. */
const TOKENS = [
  '\n',
  '\r',
  '\r\n',
  '\0',
  '\t',
  ' ',
  '#',
  '"',
  "'",
  '\\',
  '$',
  '${A}',
  '::error::x',
  '\u202e',
  '\u00ff',
  '\ud800',
  '%',
  '-1',
  '0',
  '4294967295',
  '18446744073709551615',
  '99999999999999999999999',
  '0777777777777',
  '1e309',
  'NaN',
  '*',
  '**',
  '?',
  '[',
  ']',
  '[!a-',
  '{a,b}',
  '*(a|aa)',
  '+(x)',
  '!(y)',
  '@(z)',
  '/',
  '../',
  './',
  '=',
  ',',
  ':',
  'OK - ',
  'OKP - ',
  ': [',
  ']: OK',
  'skip ',
  'f ',
  'd ',
  'l ',
  'h ',
  'root',
  'bin',
  '0555',
];

const BINARY_VALUES = [0, 1, 2, 0x7f, 0x80, 0xff];

/** One random mutation of `input`; `others` are other inputs of the same kind to splice from. */
export function mutate(rng: Rng, input: Buffer, others: readonly Buffer[]): Buffer {
  const at = (n = input.length) => rng.int(n + 1);
  switch (rng.int(9)) {
    case 0: {
      // flip bits of a few bytes
      const out = Buffer.from(input);
      for (let i = rng.int(4) + 1; i > 0 && out.length > 0; i--)
        out[rng.int(out.length)] ^= 1 << rng.int(8);
      return out;
    }
    case 1: {
      const token = Buffer.from(rng.pick(TOKENS));
      const p = at();
      return Buffer.concat([input.subarray(0, p), token, input.subarray(p)]);
    }
    case 2: {
      const p = at();
      const n = rng.int(Math.min(64, input.length - p) + 1);
      return Buffer.concat([input.subarray(0, p), input.subarray(p + n)]);
    }
    case 3: {
      // repeat a slice many times (long lines, many fields, deep paths)
      const p = at();
      const n = rng.int(Math.min(32, input.length - p)) + 1;
      const times = rng.pick([2, 10, 100, 1000]);
      const slice = input.subarray(p, p + n);
      return Buffer.concat([
        input.subarray(0, p),
        ...Array<Buffer>(times).fill(slice),
        input.subarray(p),
      ]);
    }
    case 4:
      return input.subarray(0, at());
    case 5: {
      const other = others.length ? rng.pick(others) : input;
      const p = at();
      const q = rng.int(other.length + 1);
      return Buffer.concat([input.subarray(0, p), other.subarray(q)]);
    }
    case 6: {
      // overwrite a 1, 2, 4 or 8 byte field with an edge value (binary formats)
      const out = Buffer.from(input);
      const width = rng.pick([1, 2, 4, 8]);
      if (out.length < width) return out;
      const p = rng.int(out.length - width + 1);
      const v = rng.pick(BINARY_VALUES);
      out.fill(v, p, p + width);
      return out;
    }
    case 7: {
      const p = at();
      const junk = Buffer.alloc(rng.int(16) + 1);
      for (let i = 0; i < junk.length; i++) junk[i] = rng.int(256);
      return Buffer.concat([input.subarray(0, p), junk, input.subarray(p)]);
    }
    default: {
      // swap two lines
      const lines = input.toString('latin1').split('\n');
      if (lines.length < 2) return input;
      const a = rng.int(lines.length);
      const b = rng.int(lines.length);
      [lines[a], lines[b]] = [lines[b], lines[a]];
      return Buffer.from(lines.join('\n'), 'latin1');
    }
  }
}

/** How one case ended. */
export type Outcome =
  /** `shape`: what kind of success, for growing the corpus (a log's style, ...). */
  | { result: 'ok'; shape?: string }
  | { result: 'error'; message: string }
  | { result: 'crash'; name: string; message: string; stack?: string }
  | { result: 'hang'; ms: number }
  | { result: 'worker-died'; message: string };

/** The corpus of one kind: the checked-in files, in name order. */
export async function readCorpus(dir: string): Promise<{ name: string; data: Buffer }[]> {
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (name) => ({ name, data: await readFile(join(dir, name)) })));
}

/** The short, stable name a grown corpus file gets: its content's sha1. */
export const corpusName = (data: Buffer) =>
  `grown-${createHash('sha1').update(data).digest('hex').slice(0, 12)}`;

/**
 * An outcome's kind, for growing the corpus: ok, or the error message with
 * numbers, quoted text and paths folded, so that new kinds of errors stand out.
 */
export function signature(outcome: Outcome): string {
  if (outcome.result === 'ok') return `ok ${outcome.shape ?? ''}`;
  if (outcome.result !== 'error') return outcome.result;
  return outcome.message
    .replace(/\/[^\s:]+/g, 'PATH')
    .replace(/"[^"]*"/g, 'Q')
    .replace(/\d+/g, 'N')
    .slice(0, 120);
}

/** A worker running one kind's reader; one case at a time. */
export class FuzzWorker {
  private worker: Worker;
  private dead?: string;

  /** `dir`: a scratch directory of the caller's, for the case's input file. */
  constructor(
    readonly kind: Kind,
    readonly dir: string,
    readonly memoryMb = 256,
  ) {
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const w = new Worker(new URL(import.meta.url), {
      workerData: { kind: this.kind, file: join(this.dir, `${this.kind}.input`) },
      resourceLimits: { maxOldGenerationSizeMb: this.memoryMb, maxYoungGenerationSizeMb: 32 },
      stdout: true,
      stderr: true,
    });
    w.on('error', (err) => (this.dead = err.message));
    w.unref();
    return w;
  }

  /** Runs one case; a case past `limitMs` is a hang (the worker is replaced). */
  async run(input: Buffer, limitMs: number): Promise<Outcome & { ms: number }> {
    if (this.dead) {
      this.dead = undefined;
      this.worker = this.spawn();
    }
    const started = performance.now();
    const w = this.worker;
    const outcome = await new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        cleanup();
        void w.terminate();
        this.dead = 'terminated';
        resolve({ result: 'hang', ms: limitMs });
      }, limitMs);
      const onMessage = (o: Outcome) => {
        cleanup();
        resolve(o);
      };
      const onError = (err: Error) => {
        cleanup();
        this.dead = err.message;
        resolve({ result: 'worker-died', message: `${err.name}: ${err.message}` });
      };
      const cleanup = () => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.postMessage(input);
    });
    return { ...outcome, ms: performance.now() - started };
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

// ---- inside the worker ------------------------------------------------------

/** Paths a ship policy's globs are matched against (long ones for backtracking globs). */
const POLICY_PATHS = [
  'usr/bin/ls',
  'etc/passwd',
  `usr/lib/${'a'.repeat(40)}`,
  'a'.repeat(48),
  `${'a/'.repeat(60)}b`,
];

async function runCase(kind: Kind, file: string, input: Buffer): Promise<Outcome> {
  const { UserError } = await import('../../src/util/errors.js');
  try {
    await writeFile(file, input);
    if (kind === 'manifest') {
      const { loadManifests } = await import('../../src/manifest/load.js');
      const { formatDiagnostic } = await import('../../src/manifest/types.js');
      // Problems are diagnostics (every one of every file), not exceptions.
      const { diagnostics } = await loadManifests([file], new Map([['ARCH', 'amd64']]));
      const errors = diagnostics.filter((d) => d.severity === 'error');
      if (errors.length)
        return { result: 'error', message: errors.map(formatDiagnostic).join('\n') };
    } else if (kind === 'ship-policy') {
      const { readShipPolicy } = await import('../../src/verify/checks/ship-policy.js');
      for (const rule of await readShipPolicy(file)) {
        for (const path of POLICY_PATHS) rule.match(path);
      }
    } else if (kind === 'build-log') {
      const { readBuildLog } = await import('../../src/formats/build-log.js');
      const log = await readBuildLog(file, () => undefined);
      const shape = [
        log.style,
        log.closed && 'closed',
        log.truncatedLastLine && 'truncated',
        log.unfinished.length > 0 && 'unfinished',
        log.rejoined > 0 && 'rejoined',
        log.unknownOwners > 0 && 'unknown-owners',
        log.bootArchiveSha1 && 'sha1',
      ].filter(Boolean);
      return { result: 'ok', shape: shape.join(' ') };
    } else {
      // Both public readers: a library's dynamic section, a kernel module's dependencies.
      const { readElf, readModuleDepends, ElfError } = await import('../../src/verify/elf.js');
      const read = (position: number, length: number) =>
        Promise.resolve(input.subarray(position, position + length));
      const messages: string[] = [];
      for (const reader of [readElf, readModuleDepends]) {
        try {
          await reader(read, input.length);
        } catch (err) {
          if (!(err instanceof ElfError)) throw err;
          messages.push(err.message);
        }
      }
      if (messages.length) return { result: 'error', message: messages.join('\n') };
    }
    return { result: 'ok' };
  } catch (err) {
    if (err instanceof UserError) {
      const details = (err as { details?: readonly string[] }).details ?? [];
      return { result: 'error', message: [err.message, ...details].join('\n') };
    }
    const e = err instanceof Error ? err : new Error(String(err));
    return { result: 'crash', name: e.name, message: e.message, stack: e.stack };
  }
}

if (!isMainThread && parentPort && (workerData as { kind?: Kind })?.kind) {
  const { kind, file } = workerData as { kind: Kind; file: string };
  const port = parentPort;
  port.on('message', (input: Uint8Array) => {
    void runCase(kind, file, Buffer.from(input)).then((o) => port.postMessage(o));
  });
}
