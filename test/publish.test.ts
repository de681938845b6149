/**
 * build-live's work directories and publish phase (docs/output-layout.md):
 * temporaries nobody can plant, removal of our own trees whatever their
 * modes, one publish step for the whole set with the log as its commit
 * record, and verify-manifest telling a log and a platform of different
 * builds apart. The kill -9 and ENOSPC trials print what each left (a
 * table, as test diagnostics). Bounded: small builds, a fixed number of
 * seeded trials.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  readdir,
  readFile,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathExists } from '../src/util/exists.js';
import {
  type CliRun,
  fileIn,
  isRoot,
  listTree,
  runCaptured,
  runCli,
  scratchDir,
} from './helpers/cli.js';
import { bigSources, mountTmpfs, needsRoot, type BigSources, buildArgs } from './helpers/faults.js';
import { CLI, fixtureArgs } from './helpers/paths.js';

const STAMP = '20111209T201508Z';
const PLATFORM = `platform-${STAMP}`;
const LOG = `build_live.${STAMP}.log`;
const JSONL = `build_live.${STAMP}.jsonl`;
const MANIFEST_IN_PLATFORM = `${PLATFORM}/i86pc/amd64/boot_archive.manifest`;

const sha1 = async (path: string) =>
  createHash('sha1')
    .update(await readFile(path))
    .digest('hex');

/** The files of a finished set whose bytes a rerun must reproduce. */
async function setDigests(output: string, logDir: string): Promise<Record<string, string>> {
  return {
    tgz: await sha1(join(output, `${PLATFORM}.tgz`)),
    log: await sha1(join(logDir, LOG)),
    jsonl: await sha1(join(logDir, JSONL)),
    manifest: await sha1(join(output, MANIFEST_IN_PLATFORM)),
  };
}

function verify(log: string, platform: string): Promise<CliRun> {
  return runCli(['verify-manifest', '--log', log, '--platform', platform]);
}

test('planted symlinks at every temporary name, current and older, are never written through', async (t) => {
  const dir = await scratchDir(t);
  const output = join(dir, 'out');
  const logDir = join(dir, 'log');
  await mkdir(output);
  await mkdir(logDir);
  const victim = join(dir, 'victim');
  const victimDir = join(dir, 'victim-dir');
  await writeFile(victim, 'keep\n');
  await mkdir(victimDir);
  await writeFile(join(victimDir, 'precious'), 'keep\n');
  const planted = [
    // Names older versions wrote through, and the final names themselves.
    [logDir, `.${LOG}.partial`, victim],
    [logDir, `.${JSONL}.partial`, victim],
    [logDir, LOG, victim],
    [logDir, JSONL, victim],
    [output, `.${PLATFORM}.tgz.partial`, victim],
    [output, `.work-${STAMP}.partial`, victimDir],
    [output, `${PLATFORM}.tgz`, victim],
    [output, PLATFORM, victimDir],
    [output, `image-${STAMP}`, victimDir],
  ] as const;
  for (const [where, name, target] of planted) await symlink(target, join(where, name));
  const run = await runCli([
    ...fixtureArgs(output, logDir),
    '--buildstamp',
    STAMP,
    '--keep-staging',
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(await readFile(victim, 'utf8'), 'keep\n', 'the victim file was written through');
  assert.deepEqual(await readdir(victimDir), ['precious'], 'the victim directory was changed');
  assert.equal(await readFile(join(victimDir, 'precious'), 'utf8'), 'keep\n');
  for (const [where, name] of [
    [logDir, LOG],
    [logDir, JSONL],
    [output, `${PLATFORM}.tgz`],
  ] as const) {
    assert.ok((await lstat(join(where, name))).isFile(), `${name} is not a regular file`);
  }
  for (const name of [PLATFORM, `image-${STAMP}`]) {
    assert.ok((await lstat(join(output, name))).isDirectory(), `${name} is not a directory`);
  }
  // Nothing of ours is left under a temporary name, planted or not.
  const hidden = [...(await readdir(output)), ...(await readdir(logDir))].filter((n) =>
    n.startsWith('.'),
  );
  assert.deepEqual(hidden, []);
  const check = await verify(join(logDir, LOG), join(output, `${PLATFORM}.tgz`));
  assert.equal(check.code, 0, check.stdout + check.stderr);
});

test('leftover work directories of killed builds (any stamp, any modes) are removed at the start', async (t) => {
  const dir = await scratchDir(t);
  const output = join(dir, 'out');
  const logDir = join(dir, 'log');
  const stale = [
    join(output, '.work-Ab12Cd'),
    join(output, '.work-20000101T000000Z.partial'),
    join(logDir, '.build_live-Xy34Zw'),
  ];
  for (const d of stale) {
    await mkdir(join(d, 'root', 'ro', 'sub'), { recursive: true });
    await writeFile(join(d, 'root', 'ro', 'sub', 'f'), 'x');
    await chmod(join(d, 'root', 'ro'), 0o555);
  }
  await writeFile(join(logDir, '.build_live.20000101T000000Z.log.partial'), 'half');
  // As root (CI) the build runs unprivileged, where a 0555 directory resists removal.
  if (isRoot) spawnSync('chown', ['-R', '65534:65534', output, logDir]);
  const run = await runCli([...fixtureArgs(output, logDir), '--buildstamp', STAMP], {
    unprivileged: isRoot,
  });
  assert.equal(run.code, 0, run.stderr);
  for (const d of stale) assert.equal(await pathExists(d), false, `${d} is still there`);
  assert.equal(await pathExists(join(logDir, '.build_live.20000101T000000Z.log.partial')), false);
  assert.match(run.stderr, /removing \S+\.work-Ab12Cd, left by an earlier build/);
});

/** A directory the unprivileged user owns, for runs as uid 65534. */
async function unprivilegedDir(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path);
  await chown(path, 65534, 65534);
  return path;
}

test(
  'an unprivileged rebuild with a 0555 directory and --keep-staging keeps the first image until the second completes',
  needsRoot,
  async (t) => {
    const dir = await scratchDir(t);
    const work = await unprivilegedDir(dir, 'y');
    const ro = await fileIn(dir, 'ro.m', 'd ro 0555 root sys\nd ro/sub 0755 root sys\n');
    const output = join(work, 'o');
    const logDir = join(work, 'l');
    const image = join(output, `image-${STAMP}`);
    // The second run's customize step counts the first run's image, mid-build.
    const during = join(work, 'during');
    const script = await fileIn(
      dir,
      'count-image',
      `#!/bin/sh\nfind ${image} 2>/dev/null | wc -l > ${during}\n`,
      {
        mode: 0o755,
      },
    );
    const args = [
      ...fixtureArgs(output, logDir),
      '--buildstamp',
      STAMP,
      '-m',
      ro,
      '--keep-staging',
    ];
    const countNow = async () => {
      const run = await runCaptured('/bin/sh', [script], { uid: 65534, gid: 65534 });
      assert.equal(run.code, 0, run.stderr);
      return Number((await readFile(during, 'utf8')).trim());
    };
    const first = await runCli(args, { unprivileged: true });
    assert.equal(first.code, 0, first.stderr);
    const firstCount = await countNow();
    assert.ok(firstCount > 40, `the first image has ${firstCount} entries`);
    assert.equal((await stat(join(image, 'ro'))).mode & 0o777, 0o555);
    const second = await runCli(args, { unprivileged: true });
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /internal error|EACCES/);
    assert.equal(
      Number((await readFile(during, 'utf8')).trim()),
      firstCount,
      'the first image was touched before the second build completed',
    );
    // The same inputs: the second image is the first one again.
    assert.equal(await countNow(), firstCount);
    const third = await runCli(args, { unprivileged: true });
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(
      (await readdir(output)).filter((n) => n.startsWith('.')),
      [],
      'a work directory was left behind',
    );
  },
);

test('a customize script that makes a directory 0555 as non-root: the build succeeds and publishes a consistent set', async (t) => {
  const dir = await scratchDir(t);
  const work = isRoot ? await unprivilegedDir(dir, 'y') : dir;
  const script = await fileIn(
    dir,
    'lock-dir',
    '#!/bin/sh\nset -e\nmkdir -p "$1/opt/locked/deeper"\necho x > "$1/opt/locked/deeper/f"\nchmod 0555 "$1/opt/locked/deeper" "$1/opt/locked"\n',
    { mode: 0o755 },
  );
  const output = join(work, 'o');
  const logDir = join(work, 'l');
  const run = await runCli(
    [...fixtureArgs(output, logDir), '--buildstamp', STAMP, '--customize', script],
    { unprivileged: isRoot },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(
    (await readdir(output)).filter((n) => n.startsWith('.')),
    [],
    'the staging tree was not removed',
  );
  const check = await verify(join(logDir, LOG), join(output, `${PLATFORM}.tgz`));
  assert.equal(check.code, 0, check.stdout + check.stderr);
});

test('verify-manifest fails a log of one build with the platform of another, and passes matching pairs', async (t) => {
  const dir = await scratchDir(t);
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const runA = await runCli([...fixtureArgs(a, a), '--buildstamp', STAMP]);
  assert.equal(runA.code, 0, runA.stderr);
  // Build B differs by one file of the image.
  const extra = await fileIn(dir, 'extra.m', 'd opt 0755 root sys\nf opt/README 0444 root bin\n');
  const overlay = join(dir, 'overlay');
  await mkdir(join(overlay, 'opt'), { recursive: true });
  await writeFile(join(overlay, 'opt', 'README'), 'build B\n');
  const runB = await runCli([
    ...fixtureArgs(b, b),
    '--buildstamp',
    STAMP,
    '-m',
    extra,
    '--overlay',
    overlay,
  ]);
  assert.equal(runB.code, 0, runB.stderr);
  const logA = join(a, LOG);
  const logText = await readFile(logA, 'utf8');
  const hashA = (await readFile(join(a, PLATFORM, 'i86pc/amd64/boot_archive.hash'), 'utf8')).trim();
  assert.ok(logText.includes(`\n# boot_archive sha1: ${hashA}\n# summary: `), logText);

  for (const platform of [join(a, `${PLATFORM}.tgz`), join(a, PLATFORM)]) {
    const same = await verify(logA, platform);
    assert.equal(same.code, 0, same.stdout + same.stderr);
  }
  for (const platform of [join(b, `${PLATFORM}.tgz`), join(b, PLATFORM)]) {
    const mixed = await verify(logA, platform);
    assert.equal(mixed.code, 1, mixed.stdout + mixed.stderr);
    assert.match(mixed.stdout, /FAIL: .*the log and the platform come from different builds/);
    assert.match(mixed.stdout, new RegExp(`names boot_archive sha1 ${hashA}, the platform's is`));
    const json = await runCli([
      'verify-manifest',
      '--log',
      logA,
      '--platform',
      platform,
      '--format',
      'json',
    ]);
    const report = JSON.parse(json.stdout) as { reasons: string[] };
    assert.deepEqual(report.reasons, ['log-mismatch']);
  }
  // A log without the line (the C builder's, older versions') is not affected.
  const bare = await fileIn(dir, 'bare.log', logText.replace(/^# boot_archive sha1: .*\n/m, ''));
  const unaffected = await verify(bare, join(b, `${PLATFORM}.tgz`));
  assert.equal(unaffected.code, 0, unaffected.stdout + unaffected.stderr);
});

test('a bad log directory is rejected before the output directory is created', async (t) => {
  const dir = await scratchDir(t);
  const file = await fileIn(dir, 'a-file', '');
  const output = join(dir, 'out');
  const run = await runCli([...fixtureArgs(output, join(file, 'log')), '--buildstamp', STAMP]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /log directory \S+ cannot be created: \S+a-file is not a directory/);
  assert.equal(await pathExists(output), false, 'the output directory was created');
  if (!isRoot) return;
  // An ancestor we cannot write into, as an unprivileged user.
  const locked = join(dir, 'locked');
  await mkdir(locked, { mode: 0o755 });
  const open = await unprivilegedDir(dir, 'open');
  const denied = await runCli(
    [...fixtureArgs(join(open, 'out'), join(locked, 'log')), '--buildstamp', STAMP],
    { unprivileged: true },
  );
  assert.equal(denied.code, 1, denied.stderr);
  assert.match(denied.stderr, /log directory \S+ cannot be created: \S+locked is not writable/);
  assert.equal(await pathExists(join(open, 'out')), false, 'the output directory was created');
});

// ---- kill -9 trials ----

/** A seeded generator (LCG), so that the trials are the same every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

interface KilledRun {
  /** The progress line the kill was timed from, and the delay after it. */
  moment: string;
  /** The last progress line the build printed before it was killed. */
  phase: string;
  /** It finished before the kill came. */
  finished: boolean;
}

/**
 * Runs a build and kills it (SIGKILL) `ms` after it prints a progress line
 * matching `after` (timing from the build's own progress, not the clock,
 * so a loaded machine still kills in the chosen phase).
 */
function runKilled(args: readonly string[], after: RegExp, ms: number): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, SOURCE_DATE_EPOCH: '1323461708' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!timer && stderr.split('\n').some((l) => after.test(l))) {
        timer = setTimeout(() => child.kill('SIGKILL'), ms);
      }
    });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = stderr.split('\n').filter((l) => /^[a-z0-9-]+: /.test(l));
      resolve({
        moment: `${after.source.replace(/^\^/, '')} + ${ms} ms`,
        phase: lines.at(-1)?.replace(/ \(.*$/, '') ?? '(nothing yet)',
        finished: code !== null,
      });
    });
  });
}

/**
 * What a killed build left in the directories, checked: every name that
 * looks finished is byte-identical to the set of one solo build, all of
 * them of the same build, and the log (the commit record) only with a
 * complete set. Returns a short description for the table.
 */
async function inspectAfterKill(
  output: string,
  logDir: string,
  refs: Record<string, Record<string, string>>,
): Promise<string> {
  const present: Record<string, string> = {};
  const names: Record<string, string> = {
    tgz: join(output, `${PLATFORM}.tgz`),
    log: join(logDir, LOG),
    jsonl: join(logDir, JSONL),
    manifest: join(output, MANIFEST_IN_PLATFORM),
  };
  for (const [key, path] of Object.entries(names)) {
    if (await pathExists(path)) present[key] = await sha1(path);
  }
  const owners = new Set<string>();
  for (const [key, digest] of Object.entries(present)) {
    const owner = Object.keys(refs).find((r) => refs[r][key] === digest);
    assert.ok(owner, `${names[key]} is no solo build's ${key}: it looks finished but is not`);
    owners.add(owner);
  }
  assert.ok(owners.size <= 1, `a mix of two builds: ${JSON.stringify(present)}`);
  if (present.log) {
    assert.deepEqual(Object.keys(present).sort(), ['jsonl', 'log', 'manifest', 'tgz']);
    const check = await verify(names.log, names.tgz);
    assert.equal(check.code, 0, check.stdout + check.stderr);
  }
  const hidden = [...(await readdir(output)), ...(await readdir(logDir))].filter((n) =>
    n.startsWith('.'),
  );
  const set = present.log
    ? `set of ${[...owners][0]}`
    : Object.keys(present).length
      ? `uncommitted ${Object.keys(present).join('+')}`
      : 'no set';
  return `${set}; temporaries: ${hidden.length ? hidden.map((n) => n.replace(/-\w{6}$/, '-XXXXXX')).join(' ') : 'none'}`;
}

test('kill -9 at seeded moments: nothing looks finished that is not, and a rerun is byte-identical to a solo build', async (t) => {
  const dir = await scratchDir(t);
  // Two inputs that differ by one file: each trial builds one over the other's set.
  const srcA: BigSources = await bigSources(join(dir, 'a'), 300, 65536);
  const srcB = { ...srcA, manifest: join(dir, 'b.manifest') };
  await writeFile(
    srcB.manifest,
    (await readFile(srcA.manifest, 'utf8')).replace(/^f opt\/d0\/f0 .*\n/m, ''),
  );
  const inputs = { A: srcA, B: srcB };
  const refs: Record<string, Record<string, string>> = {};
  for (const [name, src] of Object.entries(inputs)) {
    const solo = await runCli(buildArgs(src, join(dir, `solo-${name}`), join(dir, `solo-${name}`)));
    assert.equal(solo.code, 0, solo.stderr);
    refs[name] = await setDigests(join(dir, `solo-${name}`), join(dir, `solo-${name}`));
  }
  const output = join(dir, 'out');
  const logDir = join(dir, 'log');
  const first = await runCli(buildArgs(srcA, output, logDir));
  assert.equal(first.code, 0, first.stderr);

  // The build's phases as its progress lines show them; the publish phase
  // follows the tgz, so later delays after "tgz:" reach it.
  const phases = [/^archive: /, /^files: /, /^ufs: writing/, /^kernel: /, /^tgz: packing/];
  const random = seeded(20111209);
  const trials = 6;
  const rows: string[] = ['trial | input | killed at | last progress line | left behind | rerun'];
  for (let i = 0; i < trials; i++) {
    const name = i % 2 === 0 ? 'B' : 'A';
    const args = buildArgs(inputs[name], output, logDir);
    const phase = Math.min(i, phases.length - 1);
    const ms = Math.round(random() * 300);
    const killed = await runKilled(args, phases[phase], ms);
    const left = await inspectAfterKill(output, logDir, refs);
    const rerun = await runCli(args);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(
      await setDigests(output, logDir),
      refs[name],
      `trial ${i + 1}: not byte-identical`,
    );
    assert.deepEqual(
      [...(await readdir(output)), ...(await readdir(logDir))].filter((n) => n.startsWith('.')),
      [],
      `trial ${i + 1}: the rerun left temporaries`,
    );
    rows.push(
      `${i + 1} | ${name} over ${name === 'A' ? 'B' : 'A'} | ${killed.moment}${killed.finished ? ' (had finished)' : ''} | ${killed.phase} | ${left} | identical`,
    );
  }
  // A killed build of another stamp: the next build's own set is untouched
  // by it, and its leftovers are removed all the same.
  const other = [...buildArgs(srcA, output, logDir)];
  other[other.indexOf('--buildstamp') + 1] = '20111210T000000Z';
  const killed = await runKilled(other, /^tgz: packing/, Math.round(random() * 300));
  const left = await inspectAfterKill(output, logDir, refs);
  const after = await runCli(buildArgs(srcA, output, logDir));
  assert.equal(after.code, 0, after.stderr);
  assert.deepEqual(await setDigests(output, logDir), refs.A);
  assert.deepEqual(
    [...(await readdir(output)), ...(await readdir(logDir))].filter((n) => n.startsWith('.')),
    [],
    'a killed build of another stamp left temporaries that the next build kept',
  );
  rows.push(
    `${trials + 1} | A, stamp 20111210T000000Z, then A | ${killed.moment} | ${killed.phase} | ${left} | identical, nothing left`,
  );
  for (const row of rows) t.diagnostic(row);
});

// ---- ENOSPC trials ----

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const path of await listTree(dir)) {
    const info = await lstat(join(dir, path));
    // What tmpfs holds: data pages only (a boot_archive is sparse).
    if (info.isFile()) total += info.blocks * 512;
  }
  return total;
}

test(
  'a full output or log file system at several moments: exit 1 naming the path, the previous set untouched, nothing half-written',
  needsRoot,
  async (t) => {
    const dir = await scratchDir(t);
    const srcA = await bigSources(join(dir, 'a'), 200, 8192);
    const srcB = { ...srcA, manifest: join(dir, 'b.manifest') };
    await writeFile(
      srcB.manifest,
      (await readFile(srcA.manifest, 'utf8')).replace(/^f opt\/d0\/f0 .*\n/m, ''),
    );
    const good = join(dir, 'good');
    const goodOut = join(good, 'out');
    const goodLog = join(good, 'log');
    const built = await runCli(buildArgs(srcA, goodOut, goodLog));
    assert.equal(built.code, 0, built.stderr);
    const refA = await setDigests(goodOut, goodLog);
    // Build B needs about the old set's room again (platform + tgz, or log + JSONL).
    const outSet = await dirBytes(goodOut);
    const logSet = await dirBytes(goodLog);
    const rows: string[] = [
      'trial | full file system | size | exit | message names | old set | left behind',
    ];
    let trial = 0;
    for (const [where, setBytes, fractions] of [
      ['output', outSet, [0.05, 0.3, 0.6, 0.9, 1]],
      ['log', logSet, [0.1, 0.5, 0.9, 1]],
    ] as const) {
      for (const f of fractions) {
        trial++;
        // Room for the old set and part of the new; 1: all of it but one page.
        const size = f === 1 ? 2 * setBytes - 4096 : Math.round(setBytes * (1 + f));
        const mount = await mountTmpfs(t, size);
        const output = where === 'output' ? mount : join(dir, `out-${trial}`);
        const logDir = where === 'log' ? mount : join(dir, `log-${trial}`);
        // cp(1) keeps the boot_archive sparse, as the build wrote it.
        for (const [from, to] of [
          [goodOut, output],
          [goodLog, logDir],
        ]) {
          await mkdir(to, { recursive: true });
          const copy = spawnSync('cp', ['-a', '--sparse=always', `${from}/.`, to]);
          assert.equal(copy.status, 0, copy.stderr.toString());
        }
        const before = await listTree(where === 'output' ? output : logDir);
        const run = await runCli(buildArgs(srcB, output, logDir));
        if (run.code === 0) {
          // Enough room after all: the new set must be B's, whole.
          const check = await verify(join(logDir, LOG), join(output, `${PLATFORM}.tgz`));
          assert.equal(check.code, 0, check.stdout + check.stderr);
          rows.push(`${trial} | ${where} | ${size} | 0 | - | replaced by B | none`);
          continue;
        }
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, /no space left on device \(ENOSPC\)/);
        assert.match(run.stderr, new RegExp(`cannot \\w+ ${mount}/\\S*`));
        assert.doesNotMatch(run.stderr, /internal error|FAILED|\n\s+at /);
        assert.deepEqual(await setDigests(output, logDir), refA, 'the previous set changed');
        assert.deepEqual(
          await listTree(where === 'output' ? output : logDir),
          before,
          'something was left',
        );
        assert.deepEqual(
          [...(await readdir(output)), ...(await readdir(logDir))].filter((n) => n.startsWith('.')),
          [],
        );
        const named = /cannot \w+ (\S+?):/.exec(run.stderr)?.[1] ?? '?';
        rows.push(
          `${trial} | ${where} | ${size} | 1 | ${named.replace(mount, '<mnt>')} | untouched | nothing`,
        );
      }
    }
    assert.ok(rows.filter((r) => / \| 1 \| /.test(r)).length >= 5, rows.join('\n'));
    for (const row of rows) t.diagnostic(row);
  },
);
