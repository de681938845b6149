/**
 * `npm run bench`: build-live on the 2011 SmartOS manifest against a
 * synthesized ~300 MB source tree (BENCH_MB overrides the size), timed
 * against the same work done with standard tools:
 *
 *   ours      node bin/joyent-live build-live ... --archive hsfs
 *   standard  tar -cf - -T list | tar -xf -   (the listed files, per source root)
 *             md5sum of them
 *             tar -czf of the result
 *
 * Each is run twice, the standard tools first, and the best run counts.
 *
 * Then the UFS writer: one build with --archive ufs --keep-staging; the
 * time from its `ufs:` progress line to its `sha1:` line (plan + write of
 * the boot_archive) gives the writer's throughput in MB/s of content, shown
 * next to `cp -r` of the staged tree it read (the same bytes), timed right
 * after it in the same run.
 * Every run writes to its own directories and nothing is removed until the
 * end: on ext4, creating files is many times slower for a few minutes after
 * many files were deleted (the inode allocator skips recently deleted
 * inodes), which would otherwise make whichever step follows a removal look
 * slow. BENCH_SETTLE=<seconds> waits that long after each mass removal
 * before timing the next step (e.g. 300); without it the bench only warns.
 * The synthesized sources stay in .bench/sources for the next run.
 * BENCH_CPU_PROF=<dir> runs our build under `node --cpu-prof` into <dir>.
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { which } from '../src/util/which.js';
import { CLI, REPO_ROOT, SMARTOS_DATA, hasSharedData } from '../test/helpers/paths.js';
import { synthesizeSources, type SynthSources } from '../test/helpers/synth-proto.js';

const BUILDSTAMP = '20111209T201508Z';
const SOURCE_DATE_EPOCH = '1323461708';
const RUNS = 2;
const GOAL = 1.5;
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
  synth: SynthSources,
  archive: 'hsfs' | 'ufs' | 'none',
  name: string,
  extra: string[] = [],
) {
  const prof = process.env.BENCH_CPU_PROF;
  const nodeArgs = prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [];
  return run(
    process.execPath,
    [
      ...nodeArgs,
      CLI,
      'build-live',
      '-m',
      manifest,
      '--overlay',
      synth.overlay,
      '--proto',
      synth.proto,
      '--man-dir',
      synth.manDir,
      '--system-root',
      synth.systemRoot,
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
    { SOURCE_DATE_EPOCH },
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

/** The same work with standard tools, into scratch/<name>: copy, md5sum, tar -czf. */
async function standard(synth: SynthSources, name: string) {
  const tree = join(SCRATCH, name);
  const plan = copyPlan(synth, tree);
  const mkdirs = [...new Set(plan.map((p) => sh(p.dest)))].join(' ');
  const copy = await bash(
    `mkdir -p ${mkdirs}\n` +
      plan
        .map((p) => `tar -C ${sh(p.root)} -cf - -T ${sh(p.list)} | tar -C ${sh(p.dest)} -xf -`)
        .join('\n'),
  );
  if (copy.code !== 0) fail('standard copy failed', copy.stderr);
  const md5 = await bash(
    plan
      .map((p) => `(cd ${sh(p.dest)} && xargs -d '\\n' -a ${sh(p.list)} md5sum) >/dev/null`)
      .join('\n'),
  );
  if (md5.code !== 0) fail('md5sum failed', md5.stderr);
  const tgz = await bash(`tar -C ${sh(tree)} -czf ${sh(`${tree}.tgz`)} .`);
  if (tgz.code !== 0) fail('tar -czf failed', tgz.stderr);
  return { copy: copy.seconds, md5: md5.seconds, tgz: tgz.seconds };
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
  { prefix: 'sha1:', name: 'sha1, platform modes' },
  { prefix: 'tgz:', name: 'tgz, rename, remove staging' },
];

function phases(
  result: Timed,
  archive: 'hsfs' | 'ufs' | 'none',
): { name: string; seconds: number }[] {
  const out: { name: string; seconds: number }[] = [];
  let name = 'node start, load manifest, open sources';
  if (archive === 'ufs') name += ', UFS dry-run plan';
  let last = 0;
  for (const marker of MARKERS) {
    const line = result.lines.find((l) => l.text.startsWith(marker.prefix));
    if (!line) continue;
    out.push({ name, seconds: line.at - last });
    name = marker.name;
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

/** The UFS writer's throughput next to `cp -r` of the same staged tree. */
async function ufsBench(manifest: string, synth: SynthSources) {
  const result = await ours(manifest, synth, 'ufs', 'ufs', ['--keep-staging']);
  if (result.code !== 0) fail(`our ufs build failed (exit ${result.code})`, result.stderr);
  const seconds = between(result, 'ufs:', 'sha1:');
  if (seconds === undefined) fail('no ufs:/sha1: progress lines from the ufs build', result.stderr);
  const staged = join(OUT, 'ufs', `image-${BUILDSTAMP}`);
  const copy = join(SCRATCH, 'ufs-cp');
  await mkdir(SCRATCH, { recursive: true });
  const cp = await bash(`cp -r ${sh(staged)} ${sh(copy)}`);
  if (cp.code !== 0) fail('cp -r of the staged tree failed', cp.stderr);
  const image = await stat(
    join(OUT, 'ufs', `platform-${BUILDSTAMP}`, 'i86pc', 'amd64', 'boot_archive'),
  );
  const bytes = synth.bytes;
  console.log('');
  console.log(`UFS boot_archive (${mib(image.size)} image, ${mib(bytes)} of file content)`);
  console.log(
    `  ${'ours: plan + write the UFS image'.padEnd(44)}${fmt(seconds)} s  ${mbps(bytes, seconds)}`,
  );
  console.log(
    `  ${'standard: cp -r of the staged tree'.padEnd(44)}${fmt(cp.seconds)} s  ${mbps(bytes, cp.seconds)}`,
  );
  console.log(`  ratio ours/cp: ${(seconds / cp.seconds).toFixed(2)}`);
  console.log(`  ours, whole build --archive ufs --keep-staging: ${result.seconds.toFixed(2)} s`);
  for (const phase of phases(result, 'ufs')) {
    console.log(`    ${phase.name.padEnd(42)}${fmt(phase.seconds)}`);
  }
}

async function main() {
  if (!hasSharedData) fail(`no SmartOS data at ${SMARTOS_DATA} (set JOYENT_LIVE_SHARED)`);
  const mb = Number(process.env.BENCH_MB ?? 300);
  if (!Number.isFinite(mb) || mb <= 0) {
    fail(`BENCH_MB=${process.env.BENCH_MB} is not a positive number`);
  }
  const real = join(SMARTOS_DATA, 'manifest-2011-09.txt');
  await mkdir(BENCH, { recursive: true });

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
  let archive: 'hsfs' | 'none' = 'hsfs';
  if (!(await which('xorriso'))) {
    console.log(
      'note: no xorriso on PATH: our build runs with --archive none (no boot_archive, no tgz)',
    );
    archive = 'none';
  }
  console.log(`node ${process.version}, ${cpus().length} CPUs, ${RUNS} runs each, best counts\n`);

  const oursRuns: Timed[] = [];
  const stdRuns: { copy: number; md5: number; tgz: number }[] = [];
  for (let i = 1; i <= RUNS; i++) {
    stdRuns.push(await standard(synth, `run-${i}`));
    const result = await ours(real, synth, archive, `run-${i}`);
    if (result.code !== 0) fail(`our build failed (exit ${result.code})`, result.stderr);
    oursRuns.push(result);
    // An hsfs build removes its staging tree when done.
    if (archive === 'hsfs' && i < RUNS) await settle('our build removed its staging tree');
  }

  const best = oursRuns.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const stdTotals = stdRuns.map((r) => r.copy + r.md5 + r.tgz);
  // Without a tgz of our own, the fair comparison leaves out tar -czf.
  const comparable = stdRuns.map((r) => r.copy + r.md5 + (archive === 'hsfs' ? r.tgz : 0));
  const width = 52;
  const row = (name: string, values: number[]) =>
    console.log(`${name.padEnd(width)}${values.map(fmt).join('')}${fmt(Math.min(...values))}`);
  const runHeads = Array.from({ length: RUNS }, (_, i) => `run ${i + 1}`.padStart(8)).join('');
  const blank = ' '.repeat(8 * RUNS);

  console.log(`${'step (wall seconds)'.padEnd(width)}${runHeads}${'best'.padStart(8)}`);
  row(
    'standard: tar -cf - -T list | tar -xf - (copy)',
    stdRuns.map((r) => r.copy),
  );
  row(
    'standard: md5sum',
    stdRuns.map((r) => r.md5),
  );
  row(
    'standard: tar -czf',
    stdRuns.map((r) => r.tgz),
  );
  row('standard total', stdTotals);
  if (archive === 'none') row('standard without tar -czf (comparable to none)', comparable);
  row(
    `ours: joyent-live build-live --archive ${archive}`,
    oursRuns.map((r) => r.seconds),
  );
  for (const phase of phases(best, archive)) {
    console.log(`  ${phase.name.padEnd(width - 2)}${blank}${fmt(phase.seconds)}`);
  }
  const ratio = best.seconds / Math.min(...comparable);
  console.log(
    `ratio ours/standard: ${ratio.toFixed(2)} ` +
      `(goal < ${GOAL}: ${ratio < GOAL ? 'met' : 'NOT met'})`,
  );
  console.log(`run: ${synth.files} files, ${synth.bytes} bytes (${mib(synth.bytes)})`);

  await ufsBench(real, synth);
  await removeOutputs();
}

await main();
