// verify-manifest (docs/build-log.md, boot-archive-manifest.md, exit-codes.md), black box: every test runs the real
// CLI (bin/joyent-live) on logs and platforms of real fixture builds, on
// copies of them that were changed on purpose, or on small hand-written logs.
// `--format json` reports are always checked against the JSON Schema with
// Ajv; text and markdown are checked for what a person must be able to read.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import type { DiffEntry } from '../src/verify/types.js';
import {
  type CliOptions,
  type CliRun,
  fileIn,
  listTree,
  runCli,
  scratchDir,
  show,
} from './helpers/cli.js';
import { verifyJson } from './helpers/verify-json.js';
import { copiedFixtureArgs, copyFixtures } from './helpers/fixture-copy.js';
import { hasXorriso } from './helpers/iso.js';
import { CLI, fixtureArgs, FIXTURES } from './helpers/paths.js';
import { rawTar, rawTgz } from './helpers/raw-tar.js';
import { schemaErrors } from './helpers/report-schema.js';

/** runCli sets SOURCE_DATE_EPOCH=1323461708: the BUILDSTAMP of every build here. */
const STAMP = '20111209T201508Z';
const PLATFORM = `platform-${STAMP}`;
const GOOD = join(FIXTURES, 'manifests', 'good');
const BROKEN = join(FIXTURES, 'manifests', 'broken');
const MISSING = 'usr/share/man/man1/missing.1';
const MiB = 1 << 20;
const needsXorriso = { skip: !hasXorriso && 'xorriso is not installed (apt-get install xorriso)' };

const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');
const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');
const noDotSlash = (path: string) => path.replace(/^\.\//, '');

// ---------------------------------------------------------------------------
// Fixture builds, each made once for the whole file (in a directory removed
// at the end) and only read afterwards; a test that changes one copies it.

const shared = mkdtemp(join(tmpdir(), 'joyent-live-verify-'));
after(async () => rm(await shared, { recursive: true, force: true }));

interface Build {
  dir: string;
  output: string;
  run: CliRun;
  /** The build log and its JSONL twin. */
  log: string;
  jsonl: string;
  platform: string;
  tgz: string;
  /** platform/i86pc/amd64: boot_archive, .manifest, .hash. */
  archive: string;
  bootManifest: string;
}

const builds = new Map<string, Promise<Build>>();

/** Builds once per name: `args(dir)` gives the build-live arguments. */
function build(
  name: string,
  code: number,
  args: (dir: string) => Promise<string[]> | string[],
): Promise<Build> {
  let made = builds.get(name);
  if (!made) {
    made = (async () => {
      const dir = join(await shared, name);
      await mkdir(dir);
      const output = join(dir, 'output');
      const logDir = join(dir, 'log');
      const run = await runCli(await args(dir));
      assert.equal(run.code, code, `the ${name} fixture build\n${show(run)}`);
      const platform = join(output, PLATFORM);
      const archive = join(platform, 'i86pc', 'amd64');
      return {
        dir,
        output,
        run,
        log: join(logDir, `build_live.${STAMP}.log`),
        jsonl: join(logDir, `build_live.${STAMP}.jsonl`),
        platform,
        tgz: join(output, `${PLATFORM}.tgz`),
        archive,
        bootManifest: join(archive, 'boot_archive.manifest'),
      };
    })();
    builds.set(name, made);
  }
  return made;
}

/** The good fixture build (`npm start`): clean, exit 0. */
const clean = () => build('clean', 0, (dir) => fixtureArgs(join(dir, 'output'), join(dir, 'log')));

/** The good and the broken manifests: one FAILED entry, exit 3. */
const broken = () =>
  build('broken', 3, (dir) => [
    ...fixtureArgs(join(dir, 'output'), join(dir, 'log')),
    '--manifest',
    BROKEN,
  ]);

/** The same two builds with an hsfs boot_archive (auto makes ufs). */
const cleanHsfs = () =>
  build('clean-hsfs', 0, (dir) => [
    ...fixtureArgs(join(dir, 'output'), join(dir, 'log')),
    '--archive',
    'hsfs',
  ]);
const brokenHsfs = () =>
  build('broken-hsfs', 3, (dir) => [
    ...fixtureArgs(join(dir, 'output'), join(dir, 'log')),
    '--manifest',
    BROKEN,
    '--archive',
    'hsfs',
  ]);

/**
 * A second build of a copy of the fixtures (same SOURCE_DATE_EPOCH, so the
 * same BUILDSTAMP) in which exactly these differ from the clean build.
 */
const CHANGES: DiffEntry[] = [
  { kind: 'content', path: 'etc/ssh/sshd_config' },
  { kind: 'mode', path: 'usr/sbin/svcadm', before: '0555', after: '0755' },
  { kind: 'target', path: 'usr/sbin/ls', before: '../bin/ls', after: '../bin/dir' },
  { kind: 'added', path: 'usr/bin/new' },
];

/** verify-manifest --format json of a build's log and platform against `baseline`. */
function againstBaseline(b: { log: string; platform: string }, baseline: string, failOn?: string) {
  const args = ['--log', b.log, '--platform', b.platform, '--baseline', baseline];
  return verifyJson(failOn === undefined ? args : [...args, '--fail-on', failOn]);
}

async function replaceLine(file: string, from: string, to: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  assert.ok(text.split('\n').includes(from), `${from} is not a line of ${file}`);
  await writeFile(file, text.replace(`${from}\n`, `${to}\n`));
}

const changed = () =>
  build('changed', 0, async (dir) => {
    const fx = await copyFixtures(join(dir, 'fx'));
    // content: an overlay file gains a line
    await writeFile(
      join(fx, 'overlay-site/etc/ssh/sshd_config'),
      'PermitRootLogin without-password\nPasswordAuthentication no\n',
    );
    // mode: the manifest says 0755 instead of 0555
    await replaceLine(
      join(fx, 'manifests/good/10-files.manifest'),
      'f usr/sbin/svcadm 0555 root bin',
      'f usr/sbin/svcadm 0755 root bin',
    );
    // target: the symlink points elsewhere
    await replaceLine(
      join(fx, 'manifests/good/20-links.manifest'),
      's usr/sbin/ls=../bin/ls',
      's usr/sbin/ls=../bin/dir',
    );
    // added: a new file in the proto area and the manifest
    await writeFile(join(fx, 'proto/usr/bin/new'), '#!/bin/sh\necho new\n', { mode: 0o755 });
    await writeFile(
      join(fx, 'manifests/good/30-new.manifest'),
      '# a file the clean build does not have\nf usr/bin/new 0555 root bin\n',
    );
    return copiedFixtureArgs(fx, join(dir, 'output'), join(dir, 'log'));
  });

// ---------------------------------------------------------------------------
/** A scratch copy of a build's platform directory, with its boot_archive read in. */
async function platformCopy(t: Parameters<typeof scratchDir>[0], b: Build) {
  const platform = join(await scratchDir(t), PLATFORM);
  await cp(b.platform, platform, { recursive: true });
  const image = join(platform, 'i86pc', 'amd64', 'boot_archive');
  return { platform, image, bytes: await readFile(image) };
}

// Running verify-manifest.

const verify = (args: readonly string[], options?: CliOptions) =>
  runCli(['verify-manifest', ...args], options);

/** Message checks every error shares: exit 1, names the input, no stack trace. */
function assertError(r: CliRun, input: string, ...wanted: RegExp[]): void {
  assert.equal(r.code, 1, show(r));
  assert.ok(r.stderr.includes(input), `stderr does not name ${input}\n${show(r)}`);
  for (const pattern of wanted) assert.match(r.stderr, pattern, show(r));
  assert.doesNotMatch(r.stdout + r.stderr, /^\s+at /m, `a stack trace\n${show(r)}`);
  assert.doesNotMatch(r.stderr, /internal error/, show(r));
}

const firstLine = (r: CliRun) => r.stdout.split('\n')[0];
const lineCount = async (file: string) => (await readFile(file, 'utf8')).split('\n').length - 1;

/** 1-based line number of the line of `file` that is exactly `text`. */
async function lineOf(file: string, text: string): Promise<number> {
  const index = (await readFile(file, 'utf8')).split('\n').indexOf(text);
  assert.ok(index >= 0, `${text} is not a line of ${file}`);
  return index + 1;
}

/** Every place the broken build searched for missing.1, in order, with its tag. */
const SEARCHED: [string, string][] = [
  ['A', `overlay-base/${MISSING}`],
  ['A', `overlay-site/${MISSING}`],
  ['P', `proto/${MISSING}`],
  ['M', 'man/man1/missing.1'],
  ['S', `system-root/${MISSING}`],
];

/** The diff entries, without before/after, sorted: for exact comparisons. */
const kinds = (entries: readonly DiffEntry[]) =>
  entries
    .map((e) => `${e.kind} ${noDotSlash(e.path)}`)
    .sort()
    .join('\n');

// ---------------------------------------------------------------------------
// The gate.

test('a build with a FAILED entry fails: the text names the file, its manifest file:line and every place searched', async () => {
  const b = await broken();
  const r = await verify(['--log', b.log, '--manifest', GOOD, '--manifest', BROKEN]);
  assert.equal(r.code, 1, show(r));
  assert.match(firstLine(r), /^verify-manifest: FAIL\b/, show(r));
  assert.ok(r.stdout.includes(MISSING), show(r));
  assert.match(r.stdout, /manifests\/broken\/90-missing\.manifest:3\b/, show(r));
  const lines = r.stdout.split('\n');
  for (const [tag, place] of SEARCHED) {
    const line = lines.find((l) => l.includes(`action-fixtures/${place}`));
    assert.ok(line, `the text does not name the place searched ${place}\n${show(r)}`);
    assert.match(line, new RegExp(`(^|[^\\w/])${tag}([^\\w/]|$)`), `tag ${tag}: ${line}`);
  }
});

test('the json report of a failing build: counts, the failure with file:line, log line and places searched', async () => {
  const b = await broken();
  const { run, report } = await verifyJson([
    '--log',
    b.log,
    '--manifest',
    GOOD,
    '--manifest',
    BROKEN,
  ]);
  assert.equal(run.code, 1, show(run));
  assert.equal(report.schema, 'joyent-live/verify-report@1');
  assert.equal(report.verdict, 'fail');
  assert.deepEqual(report.reasons, ['failed']);
  assert.deepEqual(report.failOn, ['failed', 'not-built']);
  assert.deepEqual(report.logs, [
    {
      path: report.logs[0]?.path,
      style: 'joyent-live',
      lines: await lineCount(b.log),
      entries: 45,
      truncatedLastLine: false,
    },
  ]);
  assert.equal(resolve(report.logs[0].path), b.log);
  assert.deepEqual(report.counts, {
    entries: 45,
    ok: 44,
    failed: 1,
    allowedMissing: 0,
    unknownOwners: 0,
    byTag: { A: 6, P: 7, M: 2, S: 1, other: 0 },
    otherDirs: {},
    byKind: { DIR: 23, FILE: 17, SYMLINK: 3, LINK: 2 },
  });
  assert.equal(report.failures.length, 1);
  const [failure] = report.failures;
  assert.equal(failure.path, MISSING);
  assert.equal(failure.kind, 'FILE');
  assert.equal(resolve(failure.log), b.log);
  assert.equal(failure.logLine, await lineOf(b.log, `*FAILED* - FILE: ${MISSING}`));
  assert.equal(failure.manifest?.line, 3);
  assert.equal(resolve(failure.manifest.file), join(BROKEN, '90-missing.manifest'));
  assert.equal(failure.searched.length, SEARCHED.length, failure.searched.join('\n'));
  SEARCHED.forEach(([tag, place], i) => {
    assert.ok(failure.searched[i].includes(`action-fixtures/${place}`), failure.searched[i]);
    assert.match(failure.searched[i], new RegExp(`^${tag}\\b`), failure.searched[i]);
  });
  assert.equal(failure.allowed, false);
  assert.equal(failure.notInManifest, false);
  assert.equal(report.content, undefined);
  assert.equal(report.diff, undefined);
});

test('without --manifest the JSONL twin gives file:line and places; without the twin --manifest gives file:line', async (t) => {
  const b = await broken();
  // The twin beside the log.
  const twin = await verifyJson(['--log', b.log]);
  assert.equal(twin.run.code, 1, show(twin.run));
  const [fromTwin] = twin.report.failures;
  assert.equal(resolve(fromTwin.manifest!.file), join(BROKEN, '90-missing.manifest'));
  assert.equal(fromTwin.manifest!.line, 3);
  assert.equal(fromTwin.searched.length, 5);
  assert.equal(fromTwin.notInManifest, false);

  // The log alone, copied where no twin is: --manifest maps the failure.
  const dir = await scratchDir(t);
  const alone = join(dir, basename(b.log));
  await cp(b.log, alone);
  const mapped = await verifyJson(['--log', alone, '--manifest', GOOD, '--manifest', BROKEN]);
  assert.equal(mapped.run.code, 1, show(mapped.run));
  const [fromManifest] = mapped.report.failures;
  assert.equal(fromManifest.path, MISSING);
  assert.equal(resolve(fromManifest.manifest!.file), join(BROKEN, '90-missing.manifest'));
  assert.equal(fromManifest.manifest!.line, 3);
  assert.deepEqual(fromManifest.searched, []);
  assert.equal(fromManifest.notInManifest, false);

  // Neither: the failure is still reported, with its log line.
  const bare = await verifyJson(['--log', alone]);
  assert.equal(bare.run.code, 1, show(bare.run));
  assert.equal(bare.report.failures[0].path, MISSING);
  assert.equal(bare.report.failures[0].manifest, undefined);
  assert.equal(bare.report.failures[0].logLine, await lineOf(alone, `*FAILED* - FILE: ${MISSING}`));
});

test('a clean fixture build passes, with the counts by source tag A=6 P=7 M=2 S=1', async () => {
  const b = await clean();
  const r = await verify(['--log', b.log, '--manifest', GOOD]);
  assert.equal(r.code, 0, show(r));
  assert.match(firstLine(r), /^verify-manifest: PASS\b/, show(r));
  for (const [tag, n] of [
    ['A', 6],
    ['P', 7],
    ['M', 2],
    ['S', 1],
  ] as const) {
    assert.match(r.stdout, new RegExp(`\\b${tag}\\W{1,3}${n}\\b`), show(r));
  }
  const { run, report } = await verifyJson(['--log', b.log, '--manifest', GOOD]);
  assert.equal(run.code, 0, show(run));
  assert.equal(report.verdict, 'pass');
  assert.deepEqual(report.reasons, []);
  assert.deepEqual(report.failures, []);
  assert.deepEqual(report.counts, {
    entries: 44,
    ok: 44,
    failed: 0,
    allowedMissing: 0,
    unknownOwners: 0,
    byTag: { A: 6, P: 7, M: 2, S: 1, other: 0 },
    otherDirs: {},
    byKind: { DIR: 23, FILE: 16, SYMLINK: 3, LINK: 2 },
  });
  // Every manifest entry was built and the log is finished: not-built checked them, found none.
  const notBuilt = report.checks.find((c) => c.kind === 'not-built');
  assert.deepEqual(
    { checked: notBuilt?.checked, findings: notBuilt?.findings, fatal: notBuilt?.fatal },
    { checked: 45, findings: 0, fatal: true },
  );
});

test('--format json validates against schemas/verify-report.schema.json: a passing, a failing and a diff report', async () => {
  const [c, b, x] = await Promise.all([clean(), broken(), changed()]);
  // verifyJson() checks every report against the schema with Ajv; here the
  // three shapes side by side, and the schema itself is not vacuous.
  const pass = await verifyJson(['--log', c.log]);
  const fail = await verifyJson(['--log', b.log, '-m', GOOD, '-m', BROKEN]);
  const diff = await againstBaseline(x, c.bootManifest);
  assert.deepEqual(
    [pass.run.code, fail.run.code, diff.run.code],
    [0, 1, 0],
    [pass.run, fail.run, diff.run].map(show).join('\n'),
  );
  assert.equal(pass.report.verdict, 'pass');
  assert.equal(fail.report.verdict, 'fail');
  assert.ok(fail.report.failures[0].manifest);
  assert.ok(diff.report.diff && diff.report.diff.entries.length > 0);
  assert.ok(diff.report.content);
  assert.notEqual(schemaErrors({ ...pass.report, verdict: 'maybe' }), '');
  assert.notEqual(schemaErrors({ ...pass.report, extra: 1 }), '');
});

test('--output writes the same report to a file as well', async (t) => {
  const b = await broken();
  const dir = await scratchDir(t);
  for (const format of ['text', 'json', 'markdown']) {
    const file = join(dir, `report.${format}`);
    const r = await verify(['--log', b.log, '--format', format, '--output', file]);
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stdout.length > 0, `${format}: nothing on stdout`);
    assert.equal(await readFile(file, 'utf8'), r.stdout, format);
  }
});

// ---------------------------------------------------------------------------
// The baseline diff.

test('a diff against the baseline lists each change once with its kind, and --fail-on decides', async () => {
  const [c, x] = await Promise.all([clean(), changed()]);
  const args = ['--log', x.log, '--platform', x.platform, '--baseline', c.bootManifest];
  const gated = await verifyJson([...args, '--fail-on', 'changed,added']);
  assert.equal(gated.run.code, 1, show(gated.run));
  const { report } = gated;
  assert.equal(report.verdict, 'fail');
  assert.deepEqual([...report.reasons].sort(), ['added', 'changed']);
  assert.deepEqual([...report.failOn].sort(), ['added', 'changed']);
  const diff = report.diff!;
  assert.ok(diff, 'no diff in the report');
  assert.equal(resolve(diff.baseline), c.bootManifest);
  // Exactly the four changes: the buildstamp is the same, var/log/manifest is
  // not listed in boot_archive.manifest, and nothing else differs.
  assert.equal(kinds(diff.entries), kinds(CHANGES), JSON.stringify(diff.entries, null, 1));
  assert.deepEqual([diff.added, diff.removed, diff.changed], [1, 0, 3]);
  for (const expected of CHANGES.filter((e) => e.before !== undefined)) {
    const entry = diff.entries.find((e) => e.kind === expected.kind)!;
    if (entry.before !== undefined)
      assert.ok(entry.before.includes(expected.before!), entry.before);
    if (entry.after !== undefined) assert.ok(entry.after.includes(expected.after!), entry.after);
  }
  if (hasXorriso) {
    // Both boot_archives are known (the baseline's is beside it).
    assert.equal(typeof diff.sizeDelta, 'number', 'no size delta with both boot_archives');
    assert.equal(
      diff.sizeDelta,
      (await stat(join(x.archive, 'boot_archive'))).size -
        (await stat(join(c.archive, 'boot_archive'))).size,
    );
    assert.deepEqual(report.content?.mismatches, []);
    assert.equal(report.content?.hash?.ok, true);
  }

  // The text lists them too; without --fail-on the same diff does not fail.
  const text = await verify([...args, '--fail-on', 'changed,added']);
  assert.equal(text.code, 1, show(text));
  assert.match(firstLine(text), /^verify-manifest: FAIL\b/);
  for (const change of CHANGES) assert.ok(text.stdout.includes(change.path), change.path);
  const ungated = await verifyJson(args);
  assert.equal(ungated.run.code, 0, show(ungated.run));
  assert.equal(ungated.report.verdict, 'pass');
  assert.equal(kinds(ungated.report.diff!.entries), kinds(CHANGES));
  for (const [failOn, code] of [
    ['removed', 0],
    ['added', 1],
    ['changed', 1],
    ['failed,removed', 0],
  ] as const) {
    const r = await verify([...args, '--fail-on', failOn]);
    assert.equal(r.code, code, `--fail-on ${failOn}\n${show(r)}`);
  }

  // The other way round: the new file was removed.
  const back = await againstBaseline(c, x.bootManifest, 'removed');
  assert.equal(back.run.code, 1, show(back.run));
  assert.deepEqual(back.report.reasons, ['removed']);
  assert.equal(
    kinds(back.report.diff!.entries),
    kinds(CHANGES.map((e) => (e.kind === 'added' ? { ...e, kind: 'removed' } : e))),
  );
});

test('the same build against itself as baseline: no diff', async () => {
  const c = await clean();
  const { run, report } = await againstBaseline(c, c.bootManifest, 'failed,added,removed,changed');
  assert.equal(run.code, 0, show(run));
  assert.deepEqual(report.diff?.entries, []);
  assert.deepEqual([report.diff?.added, report.diff?.removed, report.diff?.changed], [0, 0, 0]);
  if (hasXorriso) assert.equal(report.diff?.sizeDelta, 0);
});

test('owner, type and removed changes; a path changed in two ways is listed once per kind', async (t) => {
  const c = await clean();
  const dir = await scratchDir(t);
  const baseline = await fileIn(
    dir,
    'baseline.manifest',
    [
      'd . 0755 root root',
      'd ./etc 0755 root sys',
      `f ./etc/group 0644 root sys ${md5('group\n')}`,
      `f ./etc/passwd 0644 root sys ${md5('passwd\n')}`,
      `f ./etc/profile 0644 root sys ${md5('profile\n')}`,
      's ./etc/rc=init.d',
      'd ./opt 0755 root sys',
      `f ./opt/gone 0644 root sys ${md5('gone\n')}`,
      '',
    ].join('\n'),
  );
  // A platform directory as --archive none leaves it: only the manifest.
  const platform = join(dir, PLATFORM);
  await mkdir(join(platform, 'i86pc', 'amd64'), { recursive: true });
  await writeFile(
    join(platform, 'i86pc', 'amd64', 'boot_archive.manifest'),
    [
      'd . 0755 root root',
      'd ./etc 0755 root sys',
      `f ./etc/group 0644 root sys ${md5('group\n')}`,
      // mode and owner both changed: one entry each
      `f ./etc/passwd 0600 root root ${md5('passwd\n')}`,
      // was a file, now a symlink: a type change
      's ./etc/profile=../usr/etc/profile',
      // was a symlink, now a directory
      'd ./etc/rc 0755 root sys',
      'd ./opt 0755 root sys',
      '',
    ].join('\n'),
  );
  // The clean log names its boot_archive's sha1, which this platform lacks
  // (log-mismatch): the copy without that line is any log of no boot_archive.
  const log = await fileIn(
    dir,
    'build.log',
    (await readFile(c.log, 'utf8')).replace(/^# boot_archive sha1: .*\n/m, ''),
  );
  const { run, report } = await againstBaseline({ log, platform }, baseline, 'removed');
  assert.equal(run.code, 1, show(run));
  assert.deepEqual(report.reasons, ['removed']);
  assert.equal(
    kinds(report.diff!.entries),
    kinds([
      { kind: 'mode', path: 'etc/passwd' },
      { kind: 'owner', path: 'etc/passwd' },
      { kind: 'type', path: 'etc/profile' },
      { kind: 'type', path: 'etc/rc' },
      { kind: 'removed', path: 'opt/gone' },
    ]),
    JSON.stringify(report.diff!.entries, null, 1),
  );
  assert.equal(report.diff!.removed, 1);
  assert.equal(report.diff!.added, 0);
  assert.equal(report.diff!.sizeDelta, undefined, 'no boot_archive here: no size delta');
  const owner = report.diff!.entries.find((e) => e.kind === 'owner')!;
  if (owner.before !== undefined) assert.match(owner.before, /root\W+sys/);
  if (owner.after !== undefined) assert.match(owner.after, /root\W+root/);
  // No boot_archive to read: the content check says why it did not run.
  assert.equal(typeof report.content?.skipped, 'string', JSON.stringify(report.content));
});

test('a baseline in md5sum format (<md5>  ./path) works: files only, no false added or removed', async (t) => {
  const [c, x] = await Promise.all([clean(), changed()]);
  const dir = await scratchDir(t);
  const baseline = join(dir, 'boot_archive.md5sum');
  const sums = (await readFile(c.bootManifest, 'utf8'))
    .split('\n')
    .filter((l) => l.startsWith('f '))
    .map((l) => {
      const fields = l.split(' ');
      return `${fields[5]}  ${fields[1]}\n`;
    });
  assert.ok(sums.length > 10);
  await writeFile(baseline, sums.join(''));

  const same = await againstBaseline(c, baseline, 'added,removed,changed');
  assert.equal(same.run.code, 0, show(same.run));
  assert.deepEqual(same.report.diff?.entries, [], JSON.stringify(same.report.diff, null, 1));

  const other = await againstBaseline(x, baseline, 'changed');
  assert.equal(other.run.code, 1, show(other.run));
  // md5sum has no modes and no symlinks: only content and files are compared.
  assert.equal(
    kinds(other.report.diff!.entries),
    kinds(CHANGES.filter((e) => e.kind === 'content' || e.kind === 'added')),
    JSON.stringify(other.report.diff!.entries, null, 1),
  );
});

// ---------------------------------------------------------------------------
// The content check against the hsfs image.

test(
  '--platform: every md5 of boot_archive.manifest and boot_archive.hash match a good build',
  needsXorriso,
  async () => {
    const c = await cleanHsfs();
    const { run, report } = await verifyJson(['--log', c.log, '--platform', c.platform]);
    assert.equal(run.code, 0, show(run));
    const files = (await readFile(c.bootManifest, 'utf8'))
      .split('\n')
      .filter((l) => l.startsWith('f '));
    const content = report.content!;
    assert.ok(content, 'no content check in the report');
    assert.equal(content.skipped, undefined, content.skipped);
    assert.equal(content.checked, files.length);
    assert.deepEqual(content.mismatches, []);
    assert.deepEqual(content.missing, []);
    const hash = sha1(await readFile(join(c.archive, 'boot_archive')));
    assert.deepEqual(content.hash, { expected: hash, actual: hash, ok: true });
  },
);

test(
  'one corrupted byte of the boot_archive: the hash check fails, naming boot_archive.hash',
  needsXorriso,
  async (t) => {
    const c = await cleanHsfs();
    const { platform, image, bytes } = await platformCopy(t, c);
    // The ISO system area (the first 32 KiB) is zeros that no reader uses:
    // only the hash can notice this byte.
    assert.equal(bytes[100], 0);
    bytes[100] = 0x5a;
    await writeFile(image, bytes);
    const r = await verify(['--log', c.log, '--platform', platform]);
    assert.equal(r.code, 1, show(r));
    assert.match(firstLine(r), /^verify-manifest: FAIL\b/);
    assert.ok((r.stdout + r.stderr).includes('boot_archive.hash'), show(r));
    const { run, report } = await verifyJson(['--log', c.log, '--platform', platform]);
    assert.equal(run.code, 1, show(run));
    assert.equal(report.verdict, 'fail');
    assert.equal(report.content?.hash?.ok, false);
    assert.equal(report.content?.hash?.actual, sha1(bytes));
    assert.deepEqual(report.content?.mismatches, []);
  },
);

test(
  'a changed file in the image (hash updated to match): the md5 check names the file',
  needsXorriso,
  async (t) => {
    const c = await cleanHsfs();
    const { platform, image, bytes } = await platformCopy(t, c);
    const content = await readFile(join(FIXTURES, 'overlay-site/etc/ssh/sshd_config'));
    const at = bytes.indexOf(content);
    assert.ok(at > 0 && bytes.indexOf(content, at + 1) < 0, 'the file is stored once, verbatim');
    bytes[at] ^= 0x20; // PermitRootLogin -> permitRootLogin
    await writeFile(image, bytes);
    await writeFile(join(platform, 'i86pc', 'amd64', 'boot_archive.hash'), `${sha1(bytes)}\n`);
    const { run, report } = await verifyJson(['--log', c.log, '--platform', platform]);
    assert.equal(run.code, 1, show(run));
    assert.equal(report.content?.hash?.ok, true);
    const changedContent = Buffer.from(content);
    changedContent[0] ^= 0x20;
    assert.deepEqual(report.content?.mismatches, [
      { path: 'etc/ssh/sshd_config', expected: md5(content), actual: md5(changedContent) },
    ]);
    const r = await verify(['--log', c.log, '--platform', platform]);
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stdout.includes('etc/ssh/sshd_config'), show(r));
  },
);

test(
  '--platform takes the tgz as well as the directory, unpacking it only in a temporary directory',
  needsXorriso,
  async (t) => {
    const c = await cleanHsfs();
    const dir = await scratchDir(t);
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    const fromDir = await verifyJson(['--log', c.log, '--platform', c.platform]);
    const fromTgz = await verifyJson(['--log', c.log, '--platform', c.tgz], {
      cwd: dir,
      env: { TMPDIR: tmp },
    });
    assert.equal(fromTgz.run.code, 0, show(fromTgz.run));
    assert.equal(fromTgz.report.content?.checked, fromDir.report.content?.checked);
    assert.deepEqual(fromTgz.report.content?.mismatches, []);
    assert.equal(fromTgz.report.content?.hash?.ok, true);
    assert.deepEqual(await listTree(dir), ['tmp'], 'the temporary directory is removed');
  },
);

test('a platform built with --archive none: the content check is skipped, saying why; the run passes', async (t) => {
  const dir = await scratchDir(t);
  const run = await runCli([
    ...fixtureArgs(join(dir, 'output'), join(dir, 'log')),
    '--archive',
    'none',
  ]);
  assert.equal(run.code, 0, show(run));
  const { run: r, report } = await verifyJson([
    '--log',
    join(dir, 'log', `build_live.${STAMP}.log`),
    '--platform',
    join(dir, 'output', PLATFORM),
  ]);
  assert.equal(r.code, 0, show(r));
  assert.match(report.content?.skipped ?? '', /boot_archive/, JSON.stringify(report.content));
  assert.equal(report.content?.checked, 0);
});

// ---------------------------------------------------------------------------
// The smartos-live C builder's log; --allow-missing; --fail-on.

const C_BUILDER_LOG = [
  'DIR: [etc][0755][root/0][sys/3]: OK',
  'DIR: [usr][0755][root/0][sys/3]: OK',
  'DIR: [usr/bin][0755][root/0][bin/2]: OK',
  'FILE: [etc/passwd][0644][root/0][sys/3]: OK (/smartos-live/overlay/generic)',
  'FILE: [usr/bin/ls][0555][root/0][bin/2]: OK (/smartos-live/proto)',
  'FILE: [usr/bin/gone][0555][root/0][bin/2]: FAILED',
  'LINK(symlink): usr/sbin/ls => ../bin/ls: OK',
  'LINK(link): usr/bin/sh-su => usr/bin/su: OK',
  'make[1]: Leaving directory /smartos-live/tools/builder',
  '',
].join('\n');

test('the smartos-live C builder log: DIR/FILE/LINK lines, one FAILED: exit 1 and the path reported', async (t) => {
  const dir = await scratchDir(t);
  const log = await fileIn(dir, 'live.log', C_BUILDER_LOG);
  const r = await verify(['--log', log]);
  assert.equal(r.code, 1, show(r));
  assert.match(firstLine(r), /^verify-manifest: FAIL\b/);
  assert.ok(r.stdout.includes('usr/bin/gone'), show(r));
  const { report } = await verifyJson(['--log', log]);
  assert.deepEqual(report.logs, [
    {
      path: report.logs[0]?.path,
      style: 'smartos-live',
      lines: 9,
      entries: 8,
      truncatedLastLine: false,
    },
  ]);
  assert.equal(report.counts.entries, 8);
  assert.equal(report.counts.failed, 1);
  assert.equal(report.counts.ok, 7);
  assert.deepEqual(report.counts.byKind, { DIR: 3, FILE: 3, SYMLINK: 1, LINK: 1 });
  assert.equal(report.failures.length, 1);
  assert.equal(report.failures[0].path, 'usr/bin/gone');
  assert.equal(report.failures[0].kind, 'FILE');
  assert.equal(report.failures[0].logLine, 6);

  // Next to a joyent-live log: both read, each in its own style.
  const c = await clean();
  const both = await verifyJson(['--log', c.log, '--log', log]);
  assert.equal(both.run.code, 1, show(both.run));
  assert.deepEqual(
    both.report.logs.map((l) => l.style),
    ['joyent-live', 'smartos-live'],
  );
  assert.equal(both.report.counts.entries, 44 + 8);
  assert.equal(both.report.failures.length, 1);
  assert.equal(resolve(both.report.failures[0].log), log);
});

test('--allow-missing: a matching FAILED entry is listed but does not fail; one that does not match still does', async () => {
  const b = await broken();
  const allowed = await verifyJson([
    '--log',
    b.log,
    '--allow-missing',
    'usr/share/man/man1/*.1',
    '--allow-missing',
    'opt/**',
  ]);
  assert.equal(allowed.run.code, 0, show(allowed.run));
  assert.equal(allowed.report.verdict, 'pass');
  assert.deepEqual(allowed.report.reasons, []);
  assert.equal(allowed.report.counts.allowedMissing, 1);
  assert.equal(allowed.report.failures.length, 1);
  assert.equal(allowed.report.failures[0].path, MISSING);
  assert.equal(allowed.report.failures[0].allowed, true);
  const text = await verify(['--log', b.log, '--allow-missing', 'usr/share/man/man1/*.1']);
  assert.equal(text.code, 0, show(text));
  assert.match(firstLine(text), /^verify-manifest: PASS\b/, show(text));
  assert.ok(text.stdout.includes(MISSING), `the allowed failure is still listed\n${show(text)}`);

  const other = await verify(['--log', b.log, '--allow-missing', 'usr/share/man/man8/*']);
  assert.equal(other.code, 1, show(other));
});

test('--fail-on system-source fails a clean fixture build (it has an OK[S] file)', async () => {
  const c = await clean();
  const { run, report } = await verifyJson(['--log', c.log, '--fail-on', 'system-source']);
  assert.equal(run.code, 1, show(run));
  assert.equal(report.verdict, 'fail');
  assert.deepEqual(report.reasons, ['system-source']);
  assert.deepEqual(report.failOn, ['system-source']);
  const text = await verify(['--log', c.log, '--fail-on', 'failed,system-source']);
  assert.equal(text.code, 1, show(text));
  assert.match(firstLine(text), /^verify-manifest: FAIL\b.*system/, show(text));
});

test('--fail-on unknown-owner fails a build whose manifest names an owner the image lacks', async (t) => {
  const dir = await scratchDir(t);
  const manifests = join(dir, 'manifests');
  await cp(GOOD, manifests, { recursive: true });
  // As the real 2011 manifest has it: no user admin in the image.
  await writeFile(join(manifests, '30-admin.manifest'), 'd admin 0755 admin staff\n');
  const args = fixtureArgs(join(dir, 'output'), join(dir, 'log'));
  args[args.indexOf(GOOD)] = manifests;
  const built = await runCli([...args, '--archive', 'none']);
  assert.equal(built.code, 0, show(built));
  const log = join(dir, 'log', `build_live.${STAMP}.log`);
  const plain = await verifyJson(['--log', log]);
  assert.equal(plain.run.code, 0, show(plain.run));
  assert.equal(plain.report.counts.unknownOwners, 1);
  const gated = await verifyJson(['--log', log, '--fail-on', 'unknown-owner']);
  assert.equal(gated.run.code, 1, show(gated.run));
  assert.deepEqual(gated.report.reasons, ['unknown-owner']);
});

test('$VARS in --manifest take their value from --define; an undefined one is an error', async (t) => {
  const dir = await scratchDir(t);
  const manifest = await fileIn(
    dir,
    'extra.manifest',
    'd usr 0755 root sys\nd usr/lib 0755 root bin\nf usr/lib/libstdc++.so.$LIBSTDCXXVER 0755 root bin\n',
  );
  const log = await fileIn(
    dir,
    'build.log',
    'OK - DIR: usr\nOK - DIR: usr/lib\n*FAILED* - FILE: usr/lib/libstdc++.so.6.0.28\n',
  );
  const { run, report } = await verifyJson([
    '--log',
    log,
    '--manifest',
    manifest,
    '--define',
    'LIBSTDCXXVER=6.0.28',
  ]);
  assert.equal(run.code, 1, show(run));
  const location = report.failures[0].manifest;
  assert.equal(location?.line, 3, JSON.stringify(report.failures[0]));
  assert.equal(resolve(location.file), manifest);
  assert.equal(report.failures[0].notInManifest, false);
  const undefinedVar = await verify(['--log', log, '--manifest', manifest]);
  assertError(undefinedVar, manifest, /LIBSTDCXXVER/);
});

// ---------------------------------------------------------------------------
// Markdown for the Actions job summary.

/**
 * The count for a source tag in markdown: `A=6`, `A: 6`, or a table whose
 * header cell starts with the tag (`| A (overlay) |`) over a row of numbers.
 */
function markdownCount(md: string, tag: string): number | undefined {
  const inline = new RegExp(`(?:^|[^\\w/])${tag}\\W{1,3}(\\d+)\\b`).exec(md);
  if (inline) return Number(inline[1]);
  const lines = md.split('\n');
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim());
  for (let i = 0; i + 2 < lines.length; i++) {
    if (!lines[i].trim().startsWith('|')) continue;
    const column = cells(lines[i]).findIndex((c) => new RegExp(`^${tag}\\b`).test(c));
    if (column < 0 || !/^\|?\s*:?-+/.test(lines[i + 1].trim())) continue;
    return Number(cells(lines[i + 2])[column]);
  }
  return undefined;
}

test('markdown: verdict, counts by tag, the failure with file:line and places searched, the diff by kind', async () => {
  const [b, c, x] = await Promise.all([broken(), clean(), changed()]);
  const r = await verify(['--log', b.log, '--format', 'markdown']);
  assert.equal(r.code, 1, show(r));
  const md = r.stdout;
  assert.match(md.trimStart().split('\n')[0], /FAIL/, md);
  assert.deepEqual(
    ['A', 'P', 'M', 'S'].map((tag) => markdownCount(md, tag)),
    [6, 7, 2, 1],
    md,
  );
  assert.ok(md.includes(MISSING), md);
  assert.match(md, /manifests\/broken\/90-missing\.manifest:3\b/, md);
  for (const [, place] of SEARCHED) assert.ok(md.includes(`action-fixtures/${place}`), place);

  const d = await verify([
    '--log',
    x.log,
    '--platform',
    x.platform,
    '--baseline',
    c.bootManifest,
    '--format',
    'markdown',
  ]);
  assert.equal(d.code, 0, show(d));
  assert.match(d.stdout.trimStart().split('\n')[0], /PASS/, d.stdout);
  // Grouped by kind: under a heading or a <details> summary per kind, each
  // change's path is in its kind's group.
  const lines = d.stdout.split('\n');
  const diffAt = lines.findIndex((l) => /^#+\s.*\b(baseline|diff|changes)\b/i.test(l));
  assert.ok(diffAt >= 0, `no heading for the diff\n${d.stdout}`);
  const groupAt = lines.flatMap((line, i) =>
    i > diffAt && /^#+\s|<summary>/.test(line) ? [i] : [],
  );
  for (const change of CHANGES) {
    const group = groupAt.find((i) => new RegExp(`\\b${change.kind}\\b`, 'i').test(lines[i]));
    assert.ok(group !== undefined, `no group for ${change.kind}\n${d.stdout}`);
    const end = groupAt.find((i) => i > group) ?? lines.length;
    assert.ok(
      lines.slice(group, end).some((l) => l.includes(change.path)),
      `${change.path} is not in the ${change.kind} group\n${d.stdout}`,
    );
  }
});

test('markdown of 5,000 failures stays under 1 MiB and says how many were left out', async (t) => {
  const dir = await scratchDir(t);
  const log = join(dir, 'many.log');
  const long = 'x'.repeat(180);
  const lines = ['# joyent-live build-live 0.1.0', 'OK - DIR: opt', 'OK - DIR: opt/many'];
  for (let i = 0; i < 5000; i++) {
    lines.push(`*FAILED* - FILE: opt/many/${long}/file-${String(i).padStart(5, '0')}`);
  }
  await writeFile(log, `${lines.join('\n')}\n`);
  const r = await verify(['--log', log, '--format', 'markdown']);
  assert.equal(r.code, 1, r.stderr);
  const size = Buffer.byteLength(r.stdout);
  assert.ok(size > 0 && size < MiB, `markdown is ${size} bytes`);
  const shown = new Set([...r.stdout.matchAll(/file-(\d{5})/g)].map((m) => m[1])).size;
  assert.ok(shown > 0 && shown < 5000, `${shown} failures shown`);
  const leftOut = leftOutCount(r.stdout);
  assert.ok(leftOut !== undefined, `no count of what was left out\n${r.stdout.slice(-2000)}`);
  assert.equal(shown + leftOut, 5000);
  // The json report is the complete record.
  const { report } = await verifyJson(['--log', log]);
  assert.equal(report.failures.length, 5000);
  assert.equal(report.counts.failed, 5000);
});

/** How many entries a markdown report says it left out, or undefined. */
function leftOutCount(md: string): number | undefined {
  const m =
    /(\d[\d,]*)\s+(?:more|others?|further)\b/i.exec(md) ??
    /(\d[\d,]*)[^\d\n]{0,40}(?:left out|omitted|not shown)/i.exec(md) ??
    /(?:left out|omitted|not shown)[^\d\n]{0,40}(\d[\d,]*)/i.exec(md);
  return m ? Number(m[1].replace(/,/g, '')) : undefined;
}

test('markdown cut for size (long paths, every place searched) still says how many were left out', async (t) => {
  const dir = await scratchDir(t);
  // 1,000 failures of ~850-byte paths, each with five ~900-byte places
  // searched in the JSONL twin: about 5 MB if nothing were left out.
  const log = join(dir, `build_live.${STAMP}.log`);
  const segment = 'y'.repeat(200);
  const paths = Array.from(
    { length: 1000 },
    (_, i) =>
      `opt/${[segment, segment, segment, segment].join('/')}/f${String(i).padStart(5, '0')}`,
  );
  await writeFile(
    log,
    ['# joyent-live build-live 0.1.0', ...paths.map((p) => `*FAILED* - FILE: ${p}`), ''].join('\n'),
  );
  await writeFile(
    join(dir, `build_live.${STAMP}.jsonl`),
    paths
      .map((path, i) =>
        JSON.stringify({
          path,
          type: 'f',
          manifest: `/src/manifests/${segment}/m.manifest`,
          line: i + 1,
          status: 'FAILED',
          searched: ['A', 'A', 'P', 'M', 'S'].map((tag) => `${tag}:/src/${segment}/${path}`),
        }),
      )
      .map((l) => `${l}\n`)
      .join(''),
  );
  const r = await verify(['--log', log, '--format', 'markdown']);
  assert.equal(r.code, 1, r.stderr);
  const size = Buffer.byteLength(r.stdout);
  assert.ok(size > 0 && size < MiB, `markdown is ${size} bytes`);
  assert.ok(r.stdout.includes('searched'), 'the places searched are shown');
  const shown = new Set([...r.stdout.matchAll(/\/f(\d{5})`/g)].map((m) => m[1])).size;
  assert.ok(shown > 0 && shown < 1000, `${shown} failures shown`);
  const leftOut = leftOutCount(r.stdout);
  assert.ok(
    leftOut !== undefined,
    `${shown} of 1000 failures shown; the markdown does not say how many were left out:\n` +
      r.stdout.slice(-400),
  );
  assert.equal(shown + leftOut, 1000);
});

// ---------------------------------------------------------------------------
// Bad input (docs/exit-codes.md): one clear message naming the input, no stack trace.

test('an empty log is an error naming it', async (t) => {
  const dir = await scratchDir(t);
  const log = await fileIn(dir, 'build_live.empty.log', '');
  assertError(await verify(['--log', log]), log, /empty/i);
});

test('a log with no recognizable line is an error saying it is probably the wrong file', async (t) => {
  const c = await clean();
  // A likely mistake: the manifest given where the log belongs.
  const r = await verify(['--log', c.bootManifest]);
  assertError(r, c.bootManifest, /wrong file/i);
  const dir = await scratchDir(t);
  const other = await fileIn(dir, 'notes.txt', 'hello\nthis is not a build log\n');
  assertError(await verify(['--log', other]), other, /wrong file/i);
  assertError(await verify(['--log', join(dir, 'absent.log')]), join(dir, 'absent.log'));
});

test('a truncated last line gets a note; the rest of the log is read', async (t) => {
  const b = await broken();
  const dir = await scratchDir(t);
  const log = join(dir, 'cut.log');
  const text = await readFile(b.log, 'utf8');
  // Cut in the middle of the last entry line, as a killed build leaves it.
  const last = 'OK - LINK: usr/lib/libc.so.1 -> usr/lib/libc.so\n';
  const at = text.indexOf(last);
  assert.ok(at > 0);
  await writeFile(log, text.slice(0, at + 'OK - LINK: usr/lib/libc.so.1 -> usr/li'.length));
  const { run, report } = await verifyJson(['--log', log]);
  assert.equal(run.code, 1, show(run)); // the FAILED entry before the cut was read
  assert.equal(report.logs[0].truncatedLastLine, true);
  assert.ok(
    report.notes.some((n) => /truncat|cut off/i.test(n) && n.includes(log)),
    report.notes.join('\n'),
  );
  assert.equal(report.failures[0]?.path, MISSING);
  assert.ok([44, 45].includes(report.counts.entries), String(report.counts.entries));
  const r = await verify(['--log', log]);
  assert.match(r.stdout + r.stderr, /truncat|cut off/i, show(r));
});

test('a log and a manifest from different builds: the FAILED path is reported, flagged notInManifest, with a note', async (t) => {
  const dir = await scratchDir(t);
  const log = await fileIn(
    dir,
    'other-build.log',
    'OK - DIR: opt\nOK[P] - FILE: opt/tool\n*FAILED* - FILE: opt/elsewhere/thing\n',
  );
  const { run, report } = await verifyJson(['--log', log, '--manifest', GOOD]);
  assert.equal(run.code, 1, show(run));
  assert.equal(report.failures.length, 1);
  assert.equal(report.failures[0].path, 'opt/elsewhere/thing');
  assert.equal(report.failures[0].notInManifest, true);
  assert.equal(report.failures[0].manifest, undefined);
  assert.ok(
    report.notes.some((n) => /(same|different) build/i.test(n)),
    report.notes.join('\n'),
  );
  const r = await verify(['--log', log, '--manifest', GOOD]);
  assert.equal(r.code, 1, show(r));
  assert.ok(r.stdout.includes('opt/elsewhere/thing'), show(r));
  assert.match(r.stdout + r.stderr, /(same|different) build/i, show(r));
});

test('a --platform tgz that is not gzip is an error naming it', async (t) => {
  const c = await clean();
  const dir = await scratchDir(t);
  const plainTar = join(dir, `${PLATFORM}.tgz`);
  await writeFile(plainTar, rawTar([{ name: `${PLATFORM}/`, type: '5' }]));
  assertError(await verify(['--log', c.log, '--platform', plainTar]), plainTar, /gzip/i);
  const text = await fileIn(dir, 'notes.tgz', 'not an archive at all\n');
  assertError(await verify(['--log', c.log, '--platform', text]), text, /gzip/i);
});

test('a tgz whose members would land outside (../, absolute) is refused; nothing is written outside a temporary directory', async (t) => {
  const c = await clean();
  const dir = await scratchDir(t);
  // The run's temporary directory goes to dir/tmp, its working directory is
  // dir/work/deep: every `../` below lands somewhere inside dir (or in the
  // system temp directory above it), where it would be seen.
  const tmp = join(dir, 'tmp');
  const cwd = join(dir, 'work', 'deep');
  await mkdir(tmp);
  await mkdir(cwd, { recursive: true });
  const token = `escape-${process.pid}-${Date.now()}`;
  const good = `${PLATFORM}/i86pc/amd64/boot_archive.manifest`;
  const cases: { name: string; members: Parameters<typeof rawTgz>[0] }[] = [
    {
      name: 'dotdot.tgz',
      members: [
        { name: `${PLATFORM}/`, type: '5' },
        { name: good, data: 'd . 0755 root root\n' },
        { name: `../${token}-1`, data: 'escaped\n' },
        { name: `../../${token}-2`, data: 'escaped\n' },
        { name: `../../../${token}-3`, data: 'escaped\n' },
        { name: `${PLATFORM}/../../../../${token}-4`, data: 'escaped\n' },
      ],
    },
    {
      name: 'absolute.tgz',
      members: [
        { name: `${PLATFORM}/`, type: '5' },
        { name: `${join(dir, 'outside')}/${token}-abs`, data: 'escaped\n' },
        { name: `/tmp/${token}-abs`, data: 'escaped\n' },
      ],
    },
  ];
  for (const { name, members } of cases) {
    const tgz = join(dir, name);
    await writeFile(tgz, rawTgz(members));
    const before = await listTree(dir);
    const r = await verify(['--log', c.log, '--platform', tgz], {
      cwd,
      env: { TMPDIR: tmp },
    });
    assertError(r, tgz);
    assert.match(r.stderr, /outside|escape|unsafe|\.\.|absolute/i, show(r));
    assert.deepEqual(await listTree(dir), before, `${name}: written in ${dir}`);
    for (const place of [tmpdir(), dirname(tmpdir()), '/tmp', '/']) {
      const found = (await readdir(place)).filter((n) => n.startsWith(token));
      assert.deepEqual(found, [], `${name}: written in ${place}`);
    }
  }
});

test('a tgz with links pointing out (symlink, then a member through it; hard link): refused, nothing lands outside', async (t) => {
  const c = await clean();
  const dir = await scratchDir(t);
  const tmp = join(dir, 'tmp');
  const target = join(dir, 'target');
  await mkdir(tmp);
  await mkdir(target);
  await writeFile(join(target, 'host-file'), 'of the host\n');
  const manifest = `${PLATFORM}/i86pc/amd64/boot_archive.manifest`;
  const cases: { name: string; members: Parameters<typeof rawTgz>[0] }[] = [
    {
      name: 'symlink-dir.tgz',
      members: [
        { name: `${PLATFORM}/`, type: '5' },
        { name: `${PLATFORM}/i86pc`, type: '2', linkname: target },
        { name: manifest, data: 'd . 0755 root root\n' },
      ],
    },
    {
      name: 'symlink-up.tgz',
      members: [
        { name: `${PLATFORM}/`, type: '5' },
        { name: `${PLATFORM}/up`, type: '2', linkname: '../../..' },
        { name: `${PLATFORM}/up/escaped`, data: 'escaped\n' },
      ],
    },
    {
      name: 'hardlink.tgz',
      members: [
        { name: `${PLATFORM}/`, type: '5' },
        { name: manifest, type: '1', linkname: join(target, 'host-file') },
      ],
    },
  ];
  for (const { name, members } of cases) {
    const tgz = join(dir, name);
    await writeFile(tgz, rawTgz(members));
    const before = await listTree(dir);
    const r = await verify(['--log', c.log, '--platform', tgz], {
      cwd: dir,
      env: { TMPDIR: tmp },
    });
    assertError(r, tgz);
    assert.deepEqual(
      await listTree(dir),
      before,
      `${name}: written outside the temporary directory`,
    );
    assert.deepEqual(await readdir(target), ['host-file']);
    assert.equal(await readFile(join(target, 'host-file'), 'utf8'), 'of the host\n');
  }
});

test('usage errors exit 2: no --log, an unknown --format or --fail-on value, an unknown option', async () => {
  const c = await clean();
  for (const args of [
    [],
    ['--log', c.log, '--format', 'xml'],
    ['--log', c.log, '--fail-on', 'failed,sometimes'],
    ['--log', c.log, '--no-such-option'],
  ]) {
    const r = await verify(args);
    assert.equal(r.code, 2, `${args.join(' ')}\n${show(r)}`);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  }
  const help = await verify(['--help']);
  assert.equal(help.code, 0);
  for (const option of [
    '--log',
    '--manifest',
    '--define',
    '--platform',
    '--baseline',
    '--allow-missing',
    '--fail-on',
    '--format',
    '--output',
  ]) {
    assert.ok(help.stdout.includes(option), option);
  }
});

test('a reader that stops early (verify-manifest ... | head -1) gets no stack trace', async (t) => {
  const dir = await scratchDir(t);
  const log = join(dir, 'many.log');
  // About 1 MB of text report: more than a pipe holds.
  const lines = Array.from(
    { length: 5000 },
    (_, i) => `*FAILED* - FILE: opt/${'w'.repeat(150)}/file-${i}`,
  );
  await writeFile(log, `${lines.join('\n')}\n`);
  const result = await new Promise<{ code: number | null; signal: string | null; stderr: string }>(
    (done, fail) => {
      const child = spawn(process.execPath, [CLI, 'verify-manifest', '--log', log], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      // Like `head -1`: read the first chunk, then close the pipe.
      child.stdout.once('data', () => child.stdout.destroy());
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', fail);
      child.on('close', (code, signal) => done({ code, signal, stderr }));
    },
  );
  assert.doesNotMatch(result.stderr, /^\s+at |Unhandled 'error' event/m, result.stderr);
  assert.notEqual(result.code, 0, 'the gate still fails');
});

// Follow-ups: integrity as its own reason, what system-source and
// unknown-owner name, and a twin written with other JSON spacing.

test(
  'a corrupted image fails as "integrity" whatever --fail-on says, not as a FAILED entry',
  needsXorriso,
  async (t) => {
    const b = await brokenHsfs();
    const { platform: copy, image, bytes } = await platformCopy(t, b);
    bytes[0x8000 - 1] ^= 0xff; // the system area: only the hash notices
    await writeFile(image, bytes);
    const { run, report } = await verifyJson([
      '--log',
      b.log,
      '--platform',
      copy,
      '--fail-on',
      'added',
    ]);
    assert.equal(run.code, 1, show(run));
    assert.deepEqual(report.reasons, ['integrity']);
    const text = await verify(['--log', b.log, '--platform', copy, '--fail-on', 'added']);
    assert.equal(firstLine(text), 'verify-manifest: FAIL: boot_archive.hash does not match');
  },
);

test('--fail-on system-source and unknown-owner name the files and the warnings', async (t) => {
  const b = await clean();
  const { report } = await verifyJson(['--log', b.log, '--fail-on', 'system-source']);
  assert.deepEqual(report.systemFiles, ['etc/security/policy.conf']);
  const text = await verify(['--log', b.log, '--fail-on', 'system-source']);
  assert.equal(firstLine(text), 'verify-manifest: FAIL: 1 file from the system root');
  assert.match(text.stdout, /^from the system root \(S\): etc\/security\/policy\.conf$/m);

  const dir = await scratchDir(t);
  const log = await fileIn(
    dir,
    'owners.log',
    'OK - DIR: admin\n# m:1: warning: admin: owner "admin" is not a user of the image (etc/passwd): using id 0\n',
  );
  const owners = await verify(['--log', log, '--fail-on', 'unknown-owner']);
  assert.equal(owners.code, 1, show(owners));
  assert.equal(firstLine(owners), 'verify-manifest: FAIL: 1 unknown owner');
  assert.match(owners.stdout, /^unknown owner: m:1: warning: admin: owner "admin" is not a user/m);
});

test('a JSONL twin with spaces after its colons still gives file:line and places searched', async (t) => {
  const dir = await scratchDir(t);
  const log = await fileIn(dir, 'build_live.x.log', '*FAILED* - FILE: opt/a/b\n');
  await writeFile(
    join(dir, 'build_live.x.jsonl'),
    '{"path": "opt/a/b", "status": "FAILED", "manifest": "m", "line": 4, "searched": ["P:proto/opt/a/b"]}\n',
  );
  const { report } = await verifyJson(['--log', log]);
  assert.deepEqual(report.failures[0].manifest, { file: 'm', line: 4 });
  assert.deepEqual(report.failures[0].searched, ['P:proto/opt/a/b']);
});
