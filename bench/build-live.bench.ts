/**
 * `npm run bench`: build-live on the 2011 SmartOS manifest against a
 * synthesized ~300 MB source tree (BENCH_MB overrides the size), timed
 * against the same work done with standard tools, in the same run:
 *
 *   ours      node bin/joyent-live build-live ...   (the default, --archive ufs)
 *   standard  tar -cf - -T list | tar -xf -   (the listed files, per source root)
 *             md5sum of them
 *             makefs -t ffs -o version=1,bsize=8192,fsize=1024 -B little (NetBSD's, from Debian)
 *             tar -czf of the platform directory holding that image
 *
 * Each is run twice, the standard tools first, and the best run counts; the
 * ratio of the two is the headline. Also printed: our build's peak resident
 * memory; our UFS writer alone (the time from its `ufs:` progress line to its
 * `kernel:` line) next to makefs on the same content; a floor (md5sum of every
 * source byte read once, and pigz of the image with every core: the least
 * any builder must do); and, when xorriso is there, --archive hsfs against
 * copy + md5sum + tar -czf of the tree. makefs and pigz are installed from
 * Debian when missing (as root), or the bench says it cannot run.
 * Every run writes to its own directories and nothing is removed until the
 * end: on ext4, creating files is many times slower for a few minutes after
 * many files were deleted (the inode allocator skips recently deleted
 * inodes), which would otherwise make whichever step follows a removal look
 * slow. BENCH_SETTLE=<seconds> waits that long after each mass removal
 * before timing the next step (e.g. 300); without it the bench only warns.
 * Then the scale rows (bench/scale.ts): the default build of the 2011
 * manifest scaled 4x (every entry under four top-level prefixes, the same
 * bytes per file) next to the 1x build, time and peak memory per entry;
 * and `--plan` of it scaled to at least 500,000 entries.
 * The synthesized sources stay in .bench/sources for the next run, the
 * scaled ones (hard links to them) in .bench/sources-scaled.
 * BENCH_CPU_PROF=<dir> runs our build under `node --cpu-prof` into <dir>.
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { which } from '../src/util/which.js';
import { maxRssArgs, readMaxRss } from '../test/helpers/max-rss-run.js';
import { CLI, REPO_ROOT, SMARTOS_DATA, hasSharedData } from '../test/helpers/paths.js';
import { sourceArgs, synthesizeSources, type SynthSources } from '../test/helpers/synth-proto.js';
import { scaledManifest, scaledSourceArgs, scaledSources } from './scale.js';

const BUILDSTAMP = '20111209T201508Z';
const SOURCE_DATE_EPOCH = '1323461708';
const RUNS = 2;
const SEED = 2011;

const BENCH = join(REPO_ROOT, '.bench');
const SOURCES = join(BENCH, 'sources');
const OUT = join(BENCH, 'out');
const LOG = join(BENCH, 'log');
const SCRATCH = join(BENCH, 'scratch');
const REMOVED_STAMP = join(BENCH, 'outputs-removed-at');

interface Timed {
  seconds: number;
  code: number | null;
  stderr: string;
  /** stderr lines with the seconds since the start at which they arrived. */
  lines: { at: number; text: string }[];
}

/** Runs a command, timing it (wall clock) and collecting stderr by line. */
function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let partial = '';
    const lines: Timed['lines'] = [];
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      const at = (performance.now() - started) / 1000;
      stderr += text;
      const parts = (partial + text).split('\n');
      partial = parts.pop()!;
      for (const line of parts) lines.push({ at, text: line });
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (partial) lines.push({ at: seconds, text: partial });
      resolve({ seconds, code, stderr, lines });
    });
  });
}

const bash = (script: string) => run('bash', ['-c', `set -euo pipefail\n${script}`]);

/** Single-quotes a word for bash. */
const sh = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

function fail(message: string, details = ''): never {
  process.stderr.write(`bench: ${message}\n${details ? details.trimEnd() + '\n' : ''}`);
  process.exit(1);
}

/** Our build, as a user runs it, into run-<n> directories of its own. */
function ours(
  manifest: string,
  sources: string[],
  archive: 'hsfs' | 'ufs' | 'none',
  name: string,
  extra: string[] = [],
  maxRssFile?: string,
) {
  const prof = process.env.BENCH_CPU_PROF;
  const rss = maxRssFile ? maxRssArgs(maxRssFile) : { args: [], env: {} };
  const nodeArgs = [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), ...rss.args];
  return run(
    process.execPath,
    [
      ...nodeArgs,
      CLI,
      'build-live',
      '-m',
      manifest,
      ...sources,
      '--archive',
      archive,
      '--buildstamp',
      BUILDSTAMP,
      '-o',
      join(OUT, name),
      '--log-dir',
      join(LOG, name),
      ...extra,
    ],
    { SOURCE_DATE_EPOCH, ...rss.env },
  );
}

/** Where each source root's files go in the copied tree (as in the image). */
function copyPlan(synth: SynthSources, tree: string) {
  return [
    { root: synth.overlay, list: synth.lists.A, dest: tree },
    { root: synth.proto, list: synth.lists.P, dest: tree },
    { root: synth.manDir, list: synth.lists.M, dest: join(tree, 'usr/share/man') },
    { root: synth.systemRoot, list: synth.lists.S, dest: tree },
  ];
}

/**
 * Phases of our build, from its progress lines on stderr (not a terminal:
 * one line when each phase starts); each marker names what runs after it.
 */
const MARKERS: { prefix: string; name: string }[] = [
  { prefix: 'directories:', name: 'directories' },
  { prefix: 'files:', name: 'files (find, copy + md5, log lines)' },
  { prefix: 'symlinks:', name: 'symlinks' },
  { prefix: 'hard links:', name: 'hard links, owners, jsonl, manifest' },
  { prefix: 'hsfs:', name: 'xorriso' },
  { prefix: 'ufs:', name: 'UFS plan + write' },
  { prefix: 'kernel:', name: 'kernel copy, platform modes' },
  { prefix: 'tgz:', name: 'tgz (+ sha1 of the boot_archive), rename' },
];

function phases(
  result: Timed,
  archive: 'hsfs' | 'ufs' | 'none',
): { name: string; seconds: number }[] {
  // A ufs or hsfs build with no customize step stages nothing: it finds
  // every file while its inputs are checked; the UFS writer takes each
  // file's md5 from the reads that place it, an hsfs build hashes each
  // source while xorriso builds its tree (docs/assembly.md, "One pass"); the
  // tgz's blocks are deflated behind the UFS writer (docs/output-layout.md).
  const located: Record<string, string> = { 'files:': 'files (find, open)' };
  const names: Record<typeof archive, Record<string, string>> = {
    ufs: {
      ...located,
      'hard links:': 'hard links, plan, log lines, owners',
      'ufs:': 'UFS plan + write (+ md5 of every file; tgz blocks deflated behind it)',
      'kernel:': 'kernel copy, platform modes, jsonl',
      'tgz:': 'tgz: blocks left, sha1 of the boot_archive, rename',
    },
    hsfs: {
      ...located,
      'hard links:': 'hard links, log lines, owners, stat of every file',
      'hsfs:': 'xorriso (+ md5 of every file meanwhile), manifest, jsonl',
    },
    none: {},
  };
  const out: { name: string; seconds: number }[] = [];
  let name = 'node start, load manifest, open sources';
  let last = 0;
  for (const marker of MARKERS) {
    const line = result.lines.find((l) => l.text.startsWith(marker.prefix));
    if (!line) continue;
    out.push({ name, seconds: line.at - last });
    name = names[archive][marker.prefix] ?? marker.name;
    last = line.at;
  }
  if (archive === 'none') name += ', modes, keep staging';
  out.push({ name, seconds: result.seconds - last });
  return out;
}

const fmt = (s: number) => s.toFixed(2).padStart(8);
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

const SETTLE_NOTE_SECONDS = 300;

/** Removes the outputs, noting when (see the header: ext4 and removals). */
async function removeOutputs(): Promise<void> {
  for (const dir of [OUT, LOG, SCRATCH]) await rm(dir, { recursive: true, force: true });
  await writeFile(REMOVED_STAMP, `${Date.now()}\n`);
}

/** After many files were removed: wait BENCH_SETTLE seconds, when asked to. */
async function settle(why: string): Promise<void> {
  const seconds = Number(process.env.BENCH_SETTLE ?? 0);
  if (!(seconds > 0)) return;
  console.log(`settle: waiting ${seconds} s after ${why}`);
  await new Promise((done) => setTimeout(done, seconds * 1000));
}

/** Seconds from the first stderr line starting with `from` to the first starting with `to`. */
function between(result: Timed, from: string, to: string): number | undefined {
  const start = result.lines.find((l) => l.text.startsWith(from));
  const end = result.lines.find((l) => l.text.startsWith(to));
  return start && end ? end.at - start.at : undefined;
}

const mbps = (bytes: number, seconds: number) => `${(bytes / 1e6 / seconds).toFixed(1)} MB/s`;

/** Runs a standard step; a failure stops the bench with its stderr. */
async function step(what: string, script: string): Promise<number> {
  const result = await bash(script);
  if (result.code !== 0) fail(`${what} failed`, result.stderr);
  return result.seconds;
}

interface StandardRun {
  copy: number;
  md5: number;
  /** tar -czf of the copied tree (what the hsfs build is compared with). */
  treeTgz: number;
  /** NetBSD's makefs writing a UFS image of the copied tree. */
  makefs: number;
  /** tar -czf of the platform directory holding that image. */
  imageTgz: number;
  imageBytes: number;
}

/**
 * The same work with standard tools, into scratch/<name>: copy the listed
 * files, md5sum them, then (for the ufs comparison) makefs and tar -czf of
 * the platform directory, and (for the hsfs one) tar -czf of the tree.
 */
async function standard(synth: SynthSources, name: string): Promise<StandardRun> {
  const tree = join(SCRATCH, name, 'tree');
  const platform = join(SCRATCH, name, `platform-${BUILDSTAMP}`);
  const archiveDir = join(platform, 'i86pc', 'amd64');
  const image = join(archiveDir, 'boot_archive');
  const plan = copyPlan(synth, tree);
  const mkdirs = [...new Set([...plan.map((p) => p.dest), archiveDir].map(sh))].join(' ');
  const copy = await step(
    'standard copy',
    `mkdir -p ${mkdirs}\n` +
      plan
        .map((p) => `tar -C ${sh(p.root)} -cf - -T ${sh(p.list)} | tar -C ${sh(p.dest)} -xf -`)
        .join('\n'),
  );
  const md5 = await step(
    'md5sum',
    plan
      .map((p) => `(cd ${sh(p.dest)} && xargs -d '\\n' -a ${sh(p.list)} md5sum) >/dev/null`)
      .join('\n'),
  );
  const makefs = await step(
    'makefs',
    `makefs -t ffs -o version=1,bsize=8192,fsize=1024 -B little ${sh(image)} ${sh(tree)} >/dev/null`,
  );
  const imageTgz = await step(
    'tar -czf of the platform',
    `tar -C ${sh(join(SCRATCH, name))} -czf ${sh(`${platform}.tgz`)} ${sh(`platform-${BUILDSTAMP}`)}`,
  );
  const treeTgz = await step(
    'tar -czf of the tree',
    `tar -C ${sh(tree)} -czf ${sh(join(SCRATCH, name, 'tree.tgz'))} .`,
  );
  return { copy, md5, treeTgz, makefs, imageTgz, imageBytes: (await stat(image)).size };
}

/**
 * The floor: what any builder must do here at the least. Read every source
 * byte once and md5 it (md5sum straight from the source roots), and
 * compress the image once with every core (pigz).
 */
async function floor(synth: SynthSources, image: string) {
  const md5 = await step(
    'md5sum of the sources',
    copyPlan(synth, '')
      .map((p) => `(cd ${sh(p.root)} && xargs -d '\\n' -a ${sh(p.list)} md5sum) >/dev/null`)
      .join('\n'),
  );
  const gzip = await step('pigz', `pigz -p ${cpus().length} -c ${sh(image)} >/dev/null`);
  return { md5, gzip };
}

/** Debian's makefs and pigz, installed when missing and possible (root). */
async function ensureTools(): Promise<string[]> {
  const missing: string[] = [];
  for (const [tool, pkg] of [
    ['makefs', 'makefs'],
    ['pigz', 'pigz'],
  ] as const) {
    if (!(await which(tool))) missing.push(pkg);
  }
  if (missing.length > 0 && process.getuid?.() === 0 && (await which('apt-get'))) {
    console.log(`installing ${missing.join(', ')} from Debian for the comparison`);
    await bash(
      `export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq --no-install-recommends ` +
        `${missing.join(' ')} >/dev/null 2>&1 || ` +
        `{ apt-get update -qq && apt-get install -y -qq --no-install-recommends ${missing.join(' ')}; } >/dev/null 2>&1`,
    );
  }
  const still: string[] = [];
  for (const tool of ['makefs', 'pigz']) if (!(await which(tool))) still.push(tool);
  return still;
}

/** The manifest scaled this many times for the build row (bench/scale.ts). */
const SCALE = 4;
/** Entries the `--plan` row is scaled to, at the least. */
const PLAN_ENTRIES = 500_000;

/**
 * The scale rows: the default build of the 2011 manifest scaled SCALE
 * times (same bytes per file) next to 1x, time and peak memory; and
 * `--plan` of it scaled to PLAN_ENTRIES entries.
 */
async function scaleRows(
  real: string,
  synth: SynthSources,
  one: { seconds: number; peak: number },
) {
  const entries1 = await scaledManifest(real, 1, join(BENCH, 'manifest-1x.txt'));
  const planCopies = Math.ceil(PLAN_ENTRIES / entries1);
  const manifest = join(BENCH, `manifest-${SCALE}x.txt`);
  const entries = await scaledManifest(real, SCALE, manifest);
  const planManifest = join(BENCH, `manifest-${planCopies}x.txt`);
  const planEntries = await scaledManifest(real, planCopies, planManifest);
  const roots = await scaledSources(synth, join(BENCH, 'sources-scaled'), planCopies);
  const builds: Timed[] = [];
  const peaks: number[] = [];
  const plans: Timed[] = [];
  const planPeaks: number[] = [];
  for (let i = 1; i <= RUNS; i++) {
    const rss = join(BENCH, `maxrss-${SCALE}x-${i}`);
    const result = await ours(
      manifest,
      scaledSourceArgs(roots),
      'ufs',
      `ufs-${SCALE}x-${i}`,
      [],
      rss,
    );
    if (result.code !== 0) fail(`our ${SCALE}x build failed (exit ${result.code})`, result.stderr);
    builds.push(result);
    peaks.push(await readMaxRss(rss));
    const planRss = join(BENCH, `maxrss-plan-${i}`);
    const plan = await ours(
      planManifest,
      scaledSourceArgs(roots),
      'ufs',
      `plan-${i}`,
      ['--plan'],
      planRss,
    );
    if (plan.code !== 0)
      fail(`our --plan at ${planEntries} entries failed (exit ${plan.code})`, plan.stderr);
    plans.push(plan);
    planPeaks.push(await readMaxRss(planRss));
  }
  const best = Math.min(...builds.map((r) => r.seconds));
  const peak = Math.max(...peaks);
  const perEntry = (bytes: number, n: number) => `${(bytes / 1024 / n).toFixed(2)} KiB/entry`;
  console.log('');
  console.log(
    `scale: the 2011 manifest under ${SCALE} prefixes (same bytes per file), best of ${RUNS}`,
  );
  const line = (name: string, seconds: number, bytes: number, n: number) =>
    console.log(
      `  ${name.padEnd(44)}${fmt(seconds)} s  peak ${mib(bytes).padStart(10)}  ${perEntry(bytes, n)}`,
    );
  line(`1x (${entries1} entries), --archive ufs`, one.seconds, one.peak, entries1);
  line(`${SCALE}x (${entries} entries), --archive ufs`, best, peak, entries);
  const ratio = best / one.seconds;
  console.log(
    `  time ${SCALE}x/1x: ${ratio.toFixed(2)} (goal <= ${(SCALE * 1.1).toFixed(1)}: ` +
      `${ratio <= SCALE * 1.1 ? 'met' : 'NOT met'}); memory per entry ${SCALE}x/1x: ` +
      `${(peak / entries / (one.peak / entries1)).toFixed(2)} (goal <= 1.0)`,
  );
  line(
    `--plan at ${planEntries} entries (${planCopies}x)`,
    Math.min(...plans.map((r) => r.seconds)),
    Math.max(...planPeaks),
    planEntries,
  );
}

async function main() {
  if (!hasSharedData) fail(`no SmartOS data at ${SMARTOS_DATA} (set JOYENT_LIVE_SHARED)`);
  const mb = Number(process.env.BENCH_MB ?? 300);
  if (!Number.isFinite(mb) || mb <= 0) {
    fail(`BENCH_MB=${process.env.BENCH_MB} is not a positive number`);
  }
  const real = join(SMARTOS_DATA, 'manifest-2011-09.txt');
  await mkdir(BENCH, { recursive: true });
  const missingTools = await ensureTools();
  if (missingTools.length > 0) {
    fail(
      `${missingTools.join(' and ')} not found and could not be installed ` +
        `(apt-get install makefs pigz): the comparison needs them`,
    );
  }

  // Leftovers of an interrupted run go first; then the sources.
  const leftovers = await Promise.all([OUT, LOG, SCRATCH].map((d) => stat(d).catch(() => null)));
  if (leftovers.some(Boolean)) {
    await removeOutputs();
    await settle('removing the leftovers of an earlier run');
  }
  const removedAt = Number(await readFile(REMOVED_STAMP, 'utf8').catch(() => '0'));
  const synthStarted = performance.now();
  const synth = await synthesizeSources({
    manifest: real,
    dir: SOURCES,
    totalBytes: Math.round(mb * 1e6),
    seed: SEED,
  });
  const synthSeconds = (performance.now() - synthStarted) / 1000;
  console.log(
    `sources: ${SOURCES} (${synth.files} files, ${mib(synth.bytes)}; ` +
      `${synthSeconds < 1 ? 'reused' : `synthesized in ${synthSeconds.toFixed(1)} s`})`,
  );
  // A new tree (and the old one it replaced) is still being written back.
  if (synthSeconds >= 1) await settle('synthesizing the sources');
  const sinceRemoval = (Date.now() - removedAt) / 1000;
  if (sinceRemoval < SETTLE_NOTE_SECONDS && !(Number(process.env.BENCH_SETTLE) > 0)) {
    console.log(
      `note: the last bench removed its outputs ${sinceRemoval.toFixed(0)} s ago; on ext4 file ` +
        `creation stays slow for a few minutes after that (BENCH_SETTLE=300 waits)`,
    );
  }
  const hsfs = Boolean(await which('xorriso'));
  if (!hsfs) console.log('note: no xorriso on PATH: the hsfs rows are left out');
  console.log(`node ${process.version}, ${cpus().length} CPUs, ${RUNS} runs each, best counts\n`);

  const stdRuns: StandardRun[] = [];
  const ufsRuns: Timed[] = [];
  const ufsPeaks: number[] = [];
  const hsfsRuns: Timed[] = [];
  for (let i = 1; i <= RUNS; i++) {
    stdRuns.push(await standard(synth, `run-${i}`));
    const rss = join(BENCH, `maxrss-${i}`);
    const ufs = await ours(real, sourceArgs(synth), 'ufs', `ufs-${i}`, [], rss);
    if (ufs.code !== 0) fail(`our ufs build failed (exit ${ufs.code})`, ufs.stderr);
    ufsRuns.push(ufs);
    ufsPeaks.push(await readMaxRss(rss));
    await settle('our build removed its staging tree');
    if (hsfs) {
      const result = await ours(real, sourceArgs(synth), 'hsfs', `hsfs-${i}`);
      if (result.code !== 0) fail(`our hsfs build failed (exit ${result.code})`, result.stderr);
      hsfsRuns.push(result);
      await settle('our build removed its staging tree');
    }
  }

  const width = 56;
  const row = (name: string, values: number[]) =>
    console.log(`${name.padEnd(width)}${values.map(fmt).join('')}${fmt(Math.min(...values))}`);
  const runHeads = Array.from({ length: RUNS }, (_, i) => `run ${i + 1}`.padStart(8)).join('');
  const blank = ' '.repeat(8 * RUNS);
  const bestOf = (runs: Timed[]) => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const std = (pick: (r: StandardRun) => number) => stdRuns.map(pick);

  // The headline: the default build against what a user would do instead.
  console.log('the default build (--archive ufs) against standard tools');
  console.log(`${'step (wall seconds)'.padEnd(width)}${runHeads}${'best'.padStart(8)}`);
  row(
    'standard: tar -cf - -T list | tar -xf - (copy)',
    std((r) => r.copy),
  );
  row(
    'standard: md5sum',
    std((r) => r.md5),
  );
  row(
    'standard: makefs -t ffs (the UFS image)',
    std((r) => r.makefs),
  );
  row(
    'standard: tar -czf of the platform',
    std((r) => r.imageTgz),
  );
  const stdUfs = std((r) => r.copy + r.md5 + r.makefs + r.imageTgz);
  row('standard total', stdUfs);
  row(
    'ours: joyent-live build-live (--archive ufs)',
    ufsRuns.map((r) => r.seconds),
  );
  const bestUfs = bestOf(ufsRuns);
  for (const phase of phases(bestUfs, 'ufs')) {
    console.log(`  ${phase.name.padEnd(width - 2)}${blank}${fmt(phase.seconds)}`);
  }
  const headline = bestUfs.seconds / Math.min(...stdUfs);
  console.log(
    `ratio ours/standard (ufs, the headline): ${headline.toFixed(2)} ` +
      `(goal < 1.0: ${headline < 1 ? 'met' : 'NOT met'})`,
  );
  const peak = Math.max(...ufsPeaks);
  console.log(
    `peak memory of our build: ${mib(peak)} ` +
      `(${(peak / 1024 / synth.files).toFixed(1)} KiB per file entry; goal < 150 MiB: ` +
      `${peak < 150 * 1048576 ? 'met' : 'NOT met'})`,
  );

  // The writer alone: our plan + write against makefs, on the same content.
  const writer = ufsRuns
    .map((r) => between(r, 'ufs:', 'kernel:'))
    .filter((s): s is number => s !== undefined);
  const makefsBest = Math.min(...std((r) => r.makefs));
  console.log('');
  console.log(`the UFS writer (${mib(synth.bytes)} of file content)`);
  if (writer.length > 0) {
    const w = Math.min(...writer);
    console.log(
      `  ${'ours: plan + write the UFS image'.padEnd(44)}${fmt(w)} s  ${mbps(synth.bytes, w)}`,
    );
    console.log(
      `  ${'makefs -t ffs of the copied tree'.padEnd(44)}${fmt(makefsBest)} s  ${mbps(synth.bytes, makefsBest)}`,
    );
    console.log(
      `  ratio ours/makefs: ${(w / makefsBest).toFixed(2)} (goal <= 1.0: ${w <= makefsBest ? 'met' : 'NOT met'})`,
    );
  } else {
    console.log('  (no ufs:/kernel: progress lines from our build: the writer is not timed alone)');
  }

  // The floor: the least any builder must do.
  const image = join(OUT, `ufs-1`, `platform-${BUILDSTAMP}`, 'i86pc', 'amd64', 'boot_archive');
  const floors = [await floor(synth, image), await floor(synth, image)];
  const floorBest = Math.min(...floors.map((f) => f.md5 + f.gzip));
  console.log('');
  row(
    'floor: md5sum of every source byte',
    floors.map((f) => f.md5),
  );
  row(
    `floor: pigz -p ${cpus().length} of the image`,
    floors.map((f) => f.gzip),
  );
  row(
    'floor total',
    floors.map((f) => f.md5 + f.gzip),
  );
  console.log(`ours/floor: ${(bestUfs.seconds / floorBest).toFixed(2)}`);

  if (hsfs) {
    console.log('');
    console.log('--archive hsfs against standard tools (copy, md5sum, tar -czf of the tree)');
    const stdHsfs = std((r) => r.copy + r.md5 + r.treeTgz);
    row('standard total', stdHsfs);
    row(
      'ours: joyent-live build-live --archive hsfs',
      hsfsRuns.map((r) => r.seconds),
    );
    const bestHsfs = bestOf(hsfsRuns);
    for (const phase of phases(bestHsfs, 'hsfs')) {
      console.log(`  ${phase.name.padEnd(width - 2)}${blank}${fmt(phase.seconds)}`);
    }
    console.log(
      `ratio ours/standard (hsfs): ${(bestHsfs.seconds / Math.min(...stdHsfs)).toFixed(2)}`,
    );
  }
  await scaleRows(real, synth, { seconds: bestUfs.seconds, peak });
  console.log(`\nrun: ${synth.files} files, ${synth.bytes} bytes (${mib(synth.bytes)})`);
  await removeOutputs();
}

await main();
