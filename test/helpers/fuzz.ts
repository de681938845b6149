/**
 * Generic helpers of the seeded fuzz tests (docs/ufs.md, "Crafted images"): a
 * deterministic PRNG, byte mutations recorded as edits (so a case is kept
 * as a few bytes, not a copy of its input), and the corpus of cases a run
 * found, checked in as small JSON files. Nothing here knows a format.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A seeded PRNG (mulberry32): the same seed, the same cases, on every machine. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** One change to an input: `hex` bytes written at `offset`. */
export interface Edit {
  offset: number;
  hex: string;
}

/** Integers that sit on the edges of size and count checks. */
export const EDGE_INT32 = [
  0,
  1,
  -1,
  2,
  -5,
  255,
  256,
  511,
  512,
  4096,
  8191,
  8192,
  65535,
  65536,
  2 ** 24,
  1_000_000,
  0x3fffffff,
  0x7fffffff,
  -0x80000000,
];

/** The mutation operators: each makes one edit at `at` of `data`. */
export const MUTATIONS: Record<string, (data: Buffer, at: number, rng: Rng) => Buffer> = {
  flipBit: (data, at, rng) => Buffer.from([data[at] ^ (1 << rng.int(8))]),
  randomByte: (_data, _at, rng) => Buffer.from([rng.int(256)]),
  edgeInt32: (_data, _at, rng) => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(rng.pick(EDGE_INT32));
    return b;
  },
  edgeUint16: (_data, _at, rng) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(rng.pick([0, 1, 8, 12, 255, 256, 511, 512, 0x7fff, 0xffff]));
    return b;
  },
  addSmall: (data, at, rng) => {
    const b = Buffer.alloc(4);
    if (at + 4 <= data.length) b.writeInt32LE((data.readInt32LE(at) + rng.int(33) - 16) | 0);
    return b;
  },
  zeros: (_data, _at, rng) => Buffer.alloc(1 + rng.int(64)),
  randomRun: (_data, _at, rng) =>
    Buffer.from(Array.from({ length: 1 + rng.int(32) }, () => rng.int(256))),
  copyFrom: (data, _at, rng) => {
    const from = rng.int(Math.max(1, data.length - 64));
    return Buffer.from(data.subarray(from, from + 4 + rng.int(60)));
  },
};

/**
 * 1 to `max` edits of `data`, each at one of `offsets` (where the format
 * keeps what a reader trusts), aligned to 4 bytes for the integer
 * operators. The input itself is not changed: see applyEdits().
 */
export function mutate(data: Buffer, offsets: readonly number[], rng: Rng, max = 3): Edit[] {
  const names = Object.keys(MUTATIONS);
  const edits: Edit[] = [];
  for (let n = 1 + rng.int(max); n > 0; n--) {
    const name = rng.pick(names);
    let at = rng.pick(offsets);
    if (name.startsWith('edge') || name === 'addSmall') at &= ~(name === 'edgeUint16' ? 1 : 3);
    const bytes = MUTATIONS[name](data, at, rng).subarray(0, Math.max(0, data.length - at));
    if (bytes.length > 0) edits.push({ offset: at, hex: bytes.toString('hex') });
  }
  return edits;
}

/** A copy of `data` with `edits` applied in order. */
export function applyEdits(data: Buffer, edits: readonly Edit[]): Buffer {
  const out = Buffer.from(data);
  for (const e of edits) Buffer.from(e.hex, 'hex').copy(out, e.offset);
  return out;
}

/** A case kept in the corpus: how it was made and what it did. */
export interface CorpusCase {
  seed: number;
  edits: Edit[];
  /** The outcome's signature when it was found (numbers and paths left out). */
  outcome: string;
}

/** Every case of a corpus directory, in name order. */
export async function readCorpus(dir: string): Promise<{ name: string; case: CorpusCase }[]> {
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.endsWith('.json'))
    .sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      case: JSON.parse(await readFile(join(dir, name), 'utf8')) as CorpusCase,
    })),
  );
}

/** Adds a case to a corpus directory (named by its seed). */
export async function addToCorpus(dir: string, c: CorpusCase): Promise<string> {
  await mkdir(dir, { recursive: true });
  const name = `seed-${c.seed}.json`;
  await writeFile(join(dir, name), JSON.stringify(c, null, 1) + '\n');
  return name;
}

/** An outcome text without what varies from case to case (numbers, paths): a signature. */
export function signature(text: string): string {
  return text
    .replace(/\/[^\s:()]+/g, '<path>')
    .replace(/-?\d+/g, 'N')
    .replace(/0xN[0-9a-f]*/g, '0xN')
    .slice(0, 160);
}
