/**
 * Synthetic build sources for a real SmartOS manifest: every `f` entry gets
 * a file with deterministic content in one of the four source roots of
 * docs/assembly.md, so that a build of the real manifest uses every source tag.
 *
 *   overlay/      etc/passwd, etc/group, etc/motd: the real 2011 files (A)
 *   proto/        everything else (P)
 *   man/          usr/share/man/... without that prefix (M)
 *   system-root/  a handful of files found nowhere else (S)
 *
 * Content comes from a seeded generator (same seed: same bytes) and is
 * partly compressible, like real binaries: 64-byte units that are either
 * fresh pseudo-random bytes or repeats of a small per-file vocabulary
 * (written as 32-bit words in the host's byte order: little-endian hosts,
 * which is every CI runner, agree byte for byte).
 * Sizes are skewed (many small files, a few large ones) and scaled so that
 * they add up to `totalBytes`. Files are written a chunk at a time, and a
 * stamp in `dir` lets a later call with the same manifest, size and seed
 * reuse the tree (the benchmark's is ~300 MB).
 *
 * With `elfFrom` (the completeness bench), files where an illumos image has
 * ELF objects (extension-less names and `*.so*` under bin/, lib/, usr/bin/,
 * usr/lib/, kernel/, ...) are instead copies of real ELF files from those
 * host directories, each the one nearest in size to the size drawn for it;
 * the other files share what is left of `totalBytes`. Without it the tree is
 * what it always was.
 */
import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseManifestFile } from '../../src/formats/manifest-line.js';
import { compareBytes } from '../../src/manifest/path.js';
import { SMARTOS_DATA } from './paths.js';

export type SynthTag = 'A' | 'P' | 'M' | 'S';

export interface SynthOptions {
  /** A manifest file (parsed exactly as the engine parses it). */
  manifest: string;
  /** Where the source roots, file lists and stamp go. */
  dir: string;
  /** Bytes of synthesized content in all (the real overlay files come on top). */
  totalBytes: number;
  seed?: number;
  /** Where etc/passwd, etc/group, etc/motd are copied from (default: the 2011 overlay). */
  overlayFrom?: string;
  /** How many files go only into the system root (default 5). */
  systemRootFiles?: number;
  /** Host directories whose ELF files stand in for the image's ELF objects. */
  elfFrom?: readonly string[];
}

export interface SynthSources {
  proto: string;
  manDir: string;
  systemRoot: string;
  overlay: string;
  /** Files written for manifest entries (all roots). */
  files: number;
  /** Their bytes. */
  bytes: number;
  /** How many of them are copies of real ELF files (`elfFrom`). */
  elfFiles: number;
  /** Per tag, a file listing the files of that root, relative to it, one a line. */
  lists: Record<SynthTag, string>;
  /** Image path of every `f` entry -> its tag and the source file that holds it. */
  sources: Map<string, { tag: SynthTag; file: string }>;
}

/** The build-live (and verify-manifest) options naming each root of `synth`. */
export function sourceArgs(synth: SynthSources): string[] {
  return [
    ...['--overlay', synth.overlay, '--proto', synth.proto],
    ...['--man-dir', synth.manDir, '--system-root', synth.systemRoot],
  ];
}

/** The real 2011 manifest's sources, synthesized small (4 MB in all) into `<dir>/src`. */
export function synthesize2011(dir: string, seed: number): Promise<SynthSources> {
  const manifest = join(SMARTOS_DATA, 'manifest-2011-09.txt');
  return synthesizeSources({ manifest, dir: join(dir, 'src'), totalBytes: 4e6, seed });
}

/** Files the overlay gets (tag A), from the real 2011 overlay. */
export const OVERLAY_FILES = ['etc/passwd', 'etc/group', 'etc/motd'] as const;
const MAN_PREFIX = 'usr/share/man/';
const TAGS: readonly SynthTag[] = ['A', 'P', 'M', 'S'];
/** Bump when the generator changes, so that old stamped trees are rebuilt. */
const GENERATOR = 1;
const STAMP = 'synth-stamp.json';
const CHUNK = 1 << 20;
/** Content is made of units of this many bytes (16 words). */
const UNIT_WORDS = 16;
const VOCABULARY_UNITS = 32;
/** Out of 256: how often a unit is fresh random bytes rather than a repeat. */
const FRESH_UNITS = 96;
/** Spread of the log-normal size distribution, and the largest share one file may take. */
const SIZE_SIGMA = 2.1;
const MAX_SHARE = 0.04;

/** FNV-1a over the UTF-8 bytes of `text`, mixed with `seed`: a per-path seed. */
function hashSeed(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  for (const byte of Buffer.from(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h === 0 ? 0x6b43a9b5 : h;
}

/** Marsaglia's xorshift32: small, fast and good enough for test content. */
class XorShift32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x2545f491;
    // Stir, so that near seeds do not give near first values.
    for (let i = 0; i < 8; i++) this.next();
  }

  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** Uniform in (0, 1). */
  uniform(): number {
    return (this.next() + 0.5) / 4294967296;
  }

  /** Standard normal deviate (Box-Muller). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(this.uniform())) * Math.cos(2 * Math.PI * this.uniform());
  }
}

/**
 * Writes `size` bytes of the content stream seeded by `seed` into `file`,
 * a chunk at a time through `words` (CHUNK bytes, a multiple of a unit).
 */
async function writeContent(file: string, size: number, seed: number, words: Uint32Array) {
  const rng = new XorShift32(seed);
  const vocabulary = new Uint32Array(VOCABULARY_UNITS * UNIT_WORDS);
  for (let i = 0; i < vocabulary.length; i++) vocabulary[i] = rng.next();
  const bytes = Buffer.from(words.buffer, words.byteOffset, words.byteLength);
  const handle = await open(file, 'w', 0o644);
  try {
    for (let left = size; left > 0;) {
      const n = Math.min(left, bytes.length);
      const units = Math.ceil(n / (UNIT_WORDS * 4));
      for (let u = 0, w = 0; u < units; u++, w += UNIT_WORDS) {
        const pick = rng.next();
        if ((pick & 0xff) < FRESH_UNITS) {
          for (let k = 0; k < UNIT_WORDS; k++) words[w + k] = rng.next();
        } else {
          const from = ((pick >>> 8) % VOCABULARY_UNITS) * UNIT_WORDS;
          for (let k = 0; k < UNIT_WORDS; k++) words[w + k] = vocabulary[from + k];
        }
      }
      for (let written = 0; written < n;) {
        written += (await handle.write(bytes, written, n - written)).bytesWritten;
      }
      left -= n;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Sizes for `paths` (in that order): a log-normal weight per path, from
 * the path and seed alone, scaled so that the sizes add up to `total`.
 */
function drawSizes(paths: readonly string[], total: number, seed: number): number[] {
  const weights = paths.map((p) =>
    Math.exp(SIZE_SIGMA * new XorShift32(hashSeed(p, ~seed)).normal()),
  );
  let sum = weights.reduce((a, b) => a + b, 0);
  // Clip the very largest so that one file never dominates a small tree.
  const cap = MAX_SHARE * sum;
  for (let i = 0; i < weights.length; i++) weights[i] = Math.min(weights[i], cap);
  sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.floor((w / sum) * total));
  let largest = 0;
  for (let i = 1; i < sizes.length; i++) if (sizes[i] > sizes[largest]) largest = i;
  if (sizes.length > 0) sizes[largest] += total - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}

/** Where an illumos image keeps ELF objects: `*.so*` and extension-less names there. */
const ELF_PLACE =
  /^(bin|sbin|lib|usr\/bin|usr\/sbin|usr\/lib|kernel|platform|usr\/kernel)\/(.*\/)?([^./]+|[^/]*\.so(\.[0-9]+)*)$/;

/** The regular ELF files directly in `dirs` (symlinks skipped), by size then name. */
async function hostElfFiles(dirs: readonly string[]): Promise<{ file: string; size: number }[]> {
  const found: { file: string; size: number }[] = [];
  const head = Buffer.alloc(4);
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.sort(compareBytes)) {
      const file = join(dir, name);
      const st = await lstat(file).catch(() => undefined);
      if (!st?.isFile() || st.size < 64) continue;
      const fh = await open(file, 'r').catch(() => undefined);
      if (!fh) continue;
      try {
        const { bytesRead } = await fh.read(head, 0, 4, 0);
        if (bytesRead === 4 && head.readUInt32BE(0) === 0x7f454c46)
          found.push({ file, size: st.size });
      } finally {
        await fh.close();
      }
    }
  }
  return found.sort((a, b) => a.size - b.size || compareBytes(a.file, b.file));
}

/** The entry of `pool` (sorted by size) nearest in size to `size`. */
function nearestInSize<T extends { size: number }>(pool: readonly T[], size: number): T {
  let lo = 0;
  let hi = pool.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pool[mid].size < size) lo = mid + 1;
    else hi = mid;
  }
  const below = lo > 0 ? pool[lo - 1] : pool[lo];
  return size - below.size <= pool[lo].size - size ? below : pool[lo];
}

interface Stamp {
  generator: number;
  manifest: string;
  manifestSha1: string;
  totalBytes: number;
  seed: number;
  systemRootFiles: number;
  /** Only with `elfFrom`: the host files (name and size) the copies came from. */
  elf?: string;
  files: number;
  bytes: number;
  elfFiles?: number;
}

function sameStamp(a: Stamp, b: Partial<Stamp>): boolean {
  return (
    a.generator === b.generator &&
    a.manifestSha1 === b.manifestSha1 &&
    a.totalBytes === b.totalBytes &&
    a.seed === b.seed &&
    a.systemRootFiles === b.systemRootFiles &&
    a.elf === b.elf
  );
}

/** Reads the lists back into the path -> source map. */
async function readSources(
  roots: Record<SynthTag, string>,
  lists: Record<SynthTag, string>,
): Promise<Map<string, { tag: SynthTag; file: string }>> {
  const sources = new Map<string, { tag: SynthTag; file: string }>();
  for (const tag of TAGS) {
    const text = await readFile(lists[tag], 'utf8');
    for (const rel of text.split('\n')) {
      if (!rel) continue;
      const path = tag === 'M' ? MAN_PREFIX + rel : rel;
      sources.set(path, { tag, file: join(roots[tag], rel) });
    }
  }
  return sources;
}

/**
 * Creates (or reuses) the synthetic source roots for `manifest` under
 * `dir`. Throws when the manifest has errors.
 */
export async function synthesizeSources(opts: SynthOptions): Promise<SynthSources> {
  const seed = opts.seed ?? 1;
  const systemRootFiles = opts.systemRootFiles ?? 5;
  const overlayFrom = opts.overlayFrom ?? join(SMARTOS_DATA, 'overlay-2011-09');
  const roots: Record<SynthTag, string> = {
    A: join(opts.dir, 'overlay'),
    P: join(opts.dir, 'proto'),
    M: join(opts.dir, 'man'),
    S: join(opts.dir, 'system-root'),
  };
  const listDir = join(opts.dir, 'lists');
  const lists: Record<SynthTag, string> = {
    A: join(listDir, 'overlay.txt'),
    P: join(listDir, 'proto.txt'),
    M: join(listDir, 'man.txt'),
    S: join(listDir, 'system-root.txt'),
  };
  const result = (
    files: number,
    bytes: number,
    elfFiles: number,
    sources: SynthSources['sources'],
  ) => ({
    proto: roots.P,
    manDir: roots.M,
    systemRoot: roots.S,
    overlay: roots.A,
    files,
    bytes,
    elfFiles,
    lists,
    sources,
  });

  const wanted: Omit<Stamp, 'files' | 'bytes'> = {
    generator: GENERATOR,
    manifest: basename(opts.manifest),
    manifestSha1: createHash('sha1')
      .update(await readFile(opts.manifest))
      .digest('hex'),
    totalBytes: opts.totalBytes,
    seed,
    systemRootFiles,
  };
  const elfPool = opts.elfFrom ? await hostElfFiles(opts.elfFrom) : undefined;
  if (elfPool) {
    wanted.elf = createHash('sha1')
      .update(elfPool.map((e) => `${e.file} ${e.size}\n`).join(''))
      .digest('hex');
  }
  const stampPath = join(opts.dir, STAMP);
  const old = await readFile(stampPath, 'utf8')
    .then((text) => JSON.parse(text) as Stamp)
    .catch(() => undefined);
  if (old && sameStamp(old, wanted)) {
    const sources = await readSources(roots, lists).catch(() => undefined);
    if (sources?.size === old.files)
      return result(old.files, old.bytes, old.elfFiles ?? 0, sources);
  }

  const parsed = await parseManifestFile(opts.manifest, new Map());
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    throw new Error(`${opts.manifest}: ${errors.length} errors, first: ${errors[0].message}`);
  }
  // The last definition of a path wins, as when the engine merges.
  const filePaths = [
    ...new Set(parsed.entries.filter((e) => e.type === 'f').map((e) => e.path)),
  ].sort(compareBytes);

  const overlayFiles = new Set<string>(OVERLAY_FILES);
  const tagOf = new Map<string, SynthTag>();
  const plain: string[] = [];
  for (const path of filePaths) {
    if (overlayFiles.has(path)) tagOf.set(path, 'A');
    else if (path.startsWith(MAN_PREFIX) && path.length > MAN_PREFIX.length) tagOf.set(path, 'M');
    else plain.push(path);
  }
  // A handful of plain files, chosen by the seed, live only in the system root.
  const picker = new XorShift32(hashSeed('system-root', seed));
  const chosen = new Set<string>();
  while (chosen.size < Math.min(systemRootFiles, plain.length)) {
    chosen.add(plain[picker.next() % plain.length]);
  }
  for (const path of plain) tagOf.set(path, chosen.has(path) ? 'S' : 'P');

  await rm(stampPath, { force: true });
  for (const dir of [...Object.values(roots), listDir])
    await rm(dir, { recursive: true, force: true });
  for (const dir of [...Object.values(roots), listDir]) await mkdir(dir, { recursive: true });

  const synthetic = filePaths.filter((p) => tagOf.get(p) !== 'A');
  const sizes = new Map(
    drawSizes(synthetic, opts.totalBytes, seed).map((size, i) => [synthetic[i], size]),
  );
  // ELF stand-ins first; the rest of the files then share the bytes left.
  const elfCopies = new Map<string, string>();
  if (elfPool && elfPool.length > 0) {
    let elfBytes = 0;
    for (const path of synthetic) {
      if (!ELF_PLACE.test(path)) continue;
      const pick = nearestInSize(elfPool, sizes.get(path)!);
      elfCopies.set(path, pick.file);
      elfBytes += pick.size;
    }
    const rest = synthetic.filter((p) => !elfCopies.has(p));
    const left = Math.max(rest.length, opts.totalBytes - elfBytes);
    drawSizes(rest, left, seed).forEach((size, i) => sizes.set(rest[i], size));
  }
  const words = new Uint32Array(CHUNK / 4);
  const made = new Set<string>();
  const listed: Record<SynthTag, string[]> = { A: [], P: [], M: [], S: [] };
  const sources = new Map<string, { tag: SynthTag; file: string }>();
  let bytes = 0;
  for (const path of filePaths) {
    const tag = tagOf.get(path)!;
    const rel = tag === 'M' ? path.slice(MAN_PREFIX.length) : path;
    const file = join(roots[tag], rel);
    const parent = dirname(file);
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true });
      made.add(parent);
    }
    if (tag === 'A') {
      await copyFile(join(overlayFrom, path), file);
      bytes += (await readFile(file)).length;
    } else if (elfCopies.has(path)) {
      await copyFile(elfCopies.get(path)!, file);
      bytes += (await lstat(file)).size;
    } else {
      const size = sizes.get(path)!;
      await writeContent(file, size, hashSeed(path, seed), words);
      bytes += size;
    }
    listed[tag].push(rel);
    sources.set(path, { tag, file });
  }
  // The overlay files the manifest does not list are copied all the same.
  for (const path of OVERLAY_FILES) {
    if (tagOf.has(path)) continue;
    await mkdir(dirname(join(roots.A, path)), { recursive: true });
    await copyFile(join(overlayFrom, path), join(roots.A, path));
  }
  for (const tag of TAGS) {
    await writeFile(lists[tag], listed[tag].map((rel) => `${rel}\n`).join(''));
  }
  const stamp: Stamp = {
    ...wanted,
    files: filePaths.length,
    bytes,
    ...(elfPool ? { elfFiles: elfCopies.size } : {}),
  };
  await writeFile(stampPath, JSON.stringify(stamp, null, 2) + '\n');
  return result(stamp.files, stamp.bytes, elfCopies.size, sources);
}
