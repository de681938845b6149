/**
 * The UFS boot_archive through the CLI: `--archive ufs` and `auto`, the
 * `--ufs-*` options, `--plan`, an unprivileged build, reproducibility,
 * verify-manifest on a UFS platform, and `--archive ufs-native` driven
 * through stand-ins for the illumos commands (action-fixtures/illumos-host/bin).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { UfsReader } from '../src/archive/ufs/read.js';
import { isRoot, listTree, runCli, scratchDir, show, type CliRun } from './helpers/cli.js';
import { verifyJson } from './helpers/verify-json.js';
import { copiedFixtureArgs, copyFixtures } from './helpers/fixture-copy.js';
import { FIXTURES, fixtureArgs } from './helpers/paths.js';

const STAMP = '20111209T201508Z'; // SOURCE_DATE_EPOCH=1323461708, set by runCli
const PLATFORM = `platform-${STAMP}`;
const BROKEN = join(FIXTURES, 'manifests', 'broken');
const STANDINS = join(FIXTURES, 'illumos-host', 'bin');
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');
const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');

interface Built {
  dir: string;
  output: string;
  log: string;
  run: CliRun;
  archive: string;
  bootArchive: string;
  bootManifest: string;
  /** The build's log file and platform directory, as verify-manifest takes them. */
  logFile: string;
  platform: string;
}

async function build(t: TestContext, extra: string[] = [], env?: NodeJS.ProcessEnv) {
  const dir = await scratchDir(t);
  const output = join(dir, 'output');
  const log = join(dir, 'log');
  const run = await runCli([...fixtureArgs(output, log), ...extra], { env });
  const archive = join(output, PLATFORM, 'i86pc', 'amd64');
  return {
    dir,
    output,
    log,
    run,
    archive,
    bootArchive: join(archive, 'boot_archive'),
    bootManifest: join(archive, 'boot_archive.manifest'),
    logFile: join(log, `build_live.${STAMP}.log`),
    platform: join(output, PLATFORM),
  } satisfies Built;
}

/** The manifest's lines by path: `d 0755 root sys`, `f ... <md5>`, `s <target>`. */
async function manifestLines(file: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const line of (await readFile(file, 'utf8')).trimEnd().split('\n')) {
    const type = line[0];
    if (type === 's') {
      const [path, target] = line.slice(2).split('=');
      out.set(path === '.' ? '' : path.slice(2), [type, target]);
    } else {
      const [path, ...rest] = line.slice(2).split(' ');
      out.set(path === '.' ? '' : path.slice(2), [type, ...rest]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// --archive ufs and auto.

test('--archive ufs: the documented output layout, a UFS boot_archive our reader opens, its .hash', async (t) => {
  const b = await build(t, ['--archive', 'ufs']);
  assert.equal(b.run.code, 0, show(b.run));
  assert.match(b.run.stderr, /^ufs: writing a .* boot_archive \(\d+ inodes, \d+ used\)$/m);
  assert.deepEqual(await listTree(b.output), [
    PLATFORM,
    `${PLATFORM}.tgz`,
    `${PLATFORM}/i86pc`,
    `${PLATFORM}/i86pc/amd64`,
    `${PLATFORM}/i86pc/amd64/boot_archive`,
    `${PLATFORM}/i86pc/amd64/boot_archive.hash`,
    `${PLATFORM}/i86pc/amd64/boot_archive.manifest`,
    `${PLATFORM}/i86pc/kernel`,
    `${PLATFORM}/i86pc/kernel/amd64`,
    `${PLATFORM}/i86pc/kernel/amd64/unix`,
  ]);
  const image = await readFile(b.bootArchive);
  assert.equal(await readFile(join(b.archive, 'boot_archive.hash'), 'utf8'), `${sha1(image)}\n`);
  const log = await readFile(join(b.log, `build_live.${STAMP}.log`), 'utf8');
  assert.match(log, /^# archive: ufs$/m);

  // Every entry of the manifest is in the image, with its type, mode and md5.
  const listed = await manifestLines(b.bootManifest);
  const reader = await UfsReader.open(b.bootArchive);
  t.after(() => reader.close());
  const seen: string[] = [];
  for await (const entry of reader.entries()) {
    // The copy of the manifest in the image does not list itself (docs/output-layout.md).
    if (entry.path === 'var/log/manifest') {
      assert.equal(await reader.md5(entry), md5(await readFile(b.bootManifest)));
      continue;
    }
    seen.push(entry.path);
    const line = listed.get(entry.path);
    assert.ok(line, `${entry.path} is in the image but not in the manifest`);
    assert.equal(entry.type, line[0], entry.path);
    if (entry.type === 's') assert.equal(entry.target, line[1], entry.path);
    else assert.equal((entry.mode & 0o7777).toString(8).padStart(4, '0'), line[1], entry.path);
    if (entry.type === 'f') assert.equal(await reader.md5(entry), line[4], entry.path);
  }
  assert.deepEqual(seen.sort(), [...listed.keys()].sort());
});

test('auto picks ufs on this (non-illumos) host, and says so', async (t) => {
  const b = await build(t);
  assert.equal(b.run.code, 0, show(b.run));
  assert.match(b.run.stderr, /^archive: ufs \(auto: the userland UFS writer, on every host\)$/m);
  const log = await readFile(join(b.log, `build_live.${STAMP}.log`), 'utf8');
  assert.match(log, /^# archive: ufs$/m);
  const reader = await UfsReader.open(b.bootArchive);
  await reader.close();
});

test('two builds of the same inputs give byte-identical boot_archive files', async (t) => {
  const one = await build(t, ['--archive', 'ufs']);
  const two = await build(t, ['--archive', 'ufs']);
  assert.equal(one.run.code, 0, show(one.run));
  assert.equal(two.run.code, 0, show(two.run));
  const a = await readFile(one.bootArchive);
  const b = await readFile(two.bootArchive);
  assert.ok(a.length > 0);
  assert.equal(sha1(a), sha1(b));
  assert.deepEqual(
    await readFile(join(one.output, `${PLATFORM}.tgz`)),
    await readFile(join(two.output, `${PLATFORM}.tgz`)),
  );
});

test('a ufs build as an unprivileged user (uid 65534) makes the same image as root', async (t) => {
  const dir = await scratchDir(t);
  const fx = await copyFixtures(join(dir, 'fx'));
  const out = join(dir, 'out');
  const log = join(dir, 'log');
  for (const d of [out, log]) {
    await mkdir(d);
    await chmod(d, 0o777);
  }
  const args = [...copiedFixtureArgs(fx, out, log), '--archive', 'ufs'];
  const run = await runCli([...args, '--json'], { unprivileged: true });
  assert.equal(run.code, 0, show(run));
  const archive = join(out, PLATFORM, 'i86pc', 'amd64', 'boot_archive');
  const info = await stat(archive);
  if (isRoot) assert.equal(info.uid, 65534, 'the build ran as uid 65534');
  // The same inputs built by root (when the tests run as root) give the same bytes.
  const rootOut = join(dir, 'root-out');
  const asRoot = await runCli(
    copiedFixtureArgs(fx, rootOut, join(dir, 'root-log')).concat(['--archive', 'ufs']),
  );
  assert.equal(asRoot.code, 0, show(asRoot));
  assert.equal(
    sha1(await readFile(archive)),
    sha1(await readFile(join(rootOut, PLATFORM, 'i86pc', 'amd64', 'boot_archive'))),
  );
  // Owners in the image come from the manifest, not from who built it.
  const reader = await UfsReader.open(archive);
  t.after(() => reader.close());
  for await (const entry of reader.entries()) {
    if (entry.path === 'usr/bin/su') {
      assert.equal(entry.uid, 0);
      assert.equal(entry.mode & 0o7777, 0o4555);
    }
  }
});

// ---------------------------------------------------------------------------
// --plan.

test('--plan prints the plan and writes nothing: no output or log directory appears', async (t) => {
  const dir = await scratchDir(t);
  const output = join(dir, 'output');
  const log = join(dir, 'log');
  const run = await runCli([...fixtureArgs(output, log), '--plan']);
  assert.equal(run.code, 0, show(run));
  assert.deepEqual(await listTree(dir), [], 'nothing was written');
  assert.match(run.stdout, /^build-live --plan 20111209T201508Z: nothing was copied or written$/m);
  assert.match(run.stdout, /^ {2}archive: ufs$/m);
  assert.match(run.stdout, /^ {2}files by source: A=6 P=7 M=2 S=1 FAILED=0$/m);
  assert.match(run.stdout, /^ {2}ufs inodes: \d+ used, \d+ with headroom \(newfs -i \d+\)$/m);
  assert.match(run.stdout, /^ {2}ufs image: \d+ bytes/m);
  assert.match(run.stdout, /^ {2}customize: not run \(.*customize.*\); what it adds or changes/m);

  const json = await runCli([...fixtureArgs(output, log), '--plan', '--json']);
  assert.equal(json.code, 0, show(json));
  assert.deepEqual(await listTree(dir), []);
  const plan = JSON.parse(json.stdout) as {
    schema: string;
    entries: { total: number; d: number; f: number; s: number; h: number };
    sources: Record<string, number>;
    bytes: number;
    ufs: { imageBytes: number; inodes: number; inodesUsed: number };
    exitCode: number;
  };
  assert.equal(plan.schema, 'joyent-live/build-plan@1');
  assert.deepEqual(plan.sources, { A: 6, P: 7, M: 2, S: 1, FAILED: 0 });
  assert.equal(
    plan.entries.total,
    plan.entries.d + plan.entries.f + plan.entries.s + plan.entries.h,
  );
  assert.ok(plan.ufs.inodes >= plan.ufs.inodesUsed);
  assert.ok(plan.ufs.imageBytes > plan.bytes);

  // The plan is the plan the build uses: its image is that size (the customize
  // step is not run by --plan, so the build is planned without it here).
  const noCustomize = fixtureArgs(output, log).filter(
    (a, i, all) => a !== '--customize' && all[i - 1] !== '--customize',
  );
  const planned = await runCli([...noCustomize, '--plan', '--json']);
  const built = await runCli([...noCustomize, '--archive', 'ufs']);
  assert.equal(built.code, 0, show(built));
  const image = await stat(join(output, PLATFORM, 'i86pc', 'amd64', 'boot_archive'));
  assert.equal(image.size, (JSON.parse(planned.stdout) as typeof plan).ufs.imageBytes);
});

test('--plan with a FAILED entry: listed with its manifest line, exit 3, nothing written', async (t) => {
  const dir = await scratchDir(t);
  const run = await runCli([
    ...fixtureArgs(join(dir, 'output'), join(dir, 'log')),
    '--manifest',
    BROKEN,
    '--plan',
  ]);
  assert.equal(run.code, 3, show(run));
  assert.match(run.stdout, /FAILED=1$/m);
  assert.match(run.stdout, /^ {2}.*broken.*:\d+: FAILED \S+/m);
  assert.deepEqual(await listTree(dir), []);
});

// ---------------------------------------------------------------------------
// The options.

test('--ufs-max-size too small: one message naming both sizes, exit 1, nothing written', async (t) => {
  const dir = await scratchDir(t);
  const run = await runCli([
    ...fixtureArgs(join(dir, 'output'), join(dir, 'log')),
    '--ufs-max-size',
    '16K',
  ]);
  assert.equal(run.code, 1, show(run));
  assert.match(
    run.stderr,
    /the UFS boot_archive would be \d+ bytes \(.*\), more than the ufs-max-size limit of 16384 bytes \(16\.0 KiB\) \(planned before the customize step\); no boot_archive was written/,
  );
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  assert.deepEqual(await listTree(dir), [], 'not even the output or log directory');

  // --plan says the same without failing the build it did not run.
  const plan = await runCli([
    ...fixtureArgs(join(dir, 'output'), join(dir, 'log')),
    '--ufs-max-size',
    '16K',
    '--plan',
  ]);
  assert.equal(plan.code, 1, show(plan));
  assert.match(plan.stdout, /ufs-max-size: 16384 bytes \(16\.0 KiB\): EXCEEDED/);
  assert.deepEqual(await listTree(dir), []);
});

test('--ufs-free-percent and --ufs-free-inodes change the plan; a --ufs-max-size that fits builds', async (t) => {
  const dir = await scratchDir(t);
  // 40 MiB of content, so that the percentages show over the 16 MiB floor.
  const fx = await copyFixtures(join(dir, 'fx'));
  await writeFile(join(fx, 'overlay-site', 'etc', 'big'), Buffer.alloc(40 << 20, 0x61));
  await writeFile(join(fx, 'manifests', 'good', '30-big.manifest'), 'f etc/big 0644 root sys\n');
  const args = copiedFixtureArgs(fx, join(dir, 'output'), join(dir, 'log'));
  const plan = async (extra: string[]) => {
    const run = await runCli([...args, '--plan', '--json', ...extra]);
    assert.equal(run.code, 0, show(run));
    return (JSON.parse(run.stdout) as { ufs: { imageBytes: number; inodes: number } }).ufs;
  };
  const base = await plan([]);
  const roomy = await plan(['--ufs-free-percent', '100']);
  const tight = await plan(['--ufs-free-percent', '0']);
  const inodes = await plan(['--ufs-free-inodes', '10000']); // over the 4096 floor
  assert.ok(roomy.imageBytes > base.imageBytes, `${roomy.imageBytes} > ${base.imageBytes}`);
  assert.ok(tight.imageBytes <= base.imageBytes, `${tight.imageBytes} <= ${base.imageBytes}`);
  assert.ok(roomy.imageBytes >= 80 << 20, 'twice the content at least');
  // 10% of 40 MiB is less than the floor: base and tight are the content + 16 MiB.
  assert.equal(tight.imageBytes, base.imageBytes);
  assert.ok(inodes.inodes >= base.inodes + 5000, 'more free inodes');
  const built = await runCli([...args, '--ufs-max-size', '1G', '--ufs-free-percent', '0']);
  assert.equal(built.code, 0, show(built));
  const image = await stat(join(dir, 'output', PLATFORM, 'i86pc', 'amd64', 'boot_archive'));
  assert.equal(image.size, tight.imageBytes);
});

for (const [option, value, message] of [
  ['--ufs-free-percent', '-5', '--ufs-free-percent must be a number from 0 to 1000, not "-5"'],
  ['--ufs-free-percent', 'ten', '--ufs-free-percent must be a number from 0 to 1000, not "ten"'],
  ['--ufs-free-percent', '5000', '--ufs-free-percent must be a number from 0 to 1000, not "5000"'],
  [
    '--ufs-free-inodes',
    '1.5',
    '--ufs-free-inodes must be a whole number of inodes (0 or more), not "1.5"',
  ],
  [
    '--ufs-free-inodes',
    '-1',
    '--ufs-free-inodes must be a whole number of inodes (0 or more), not "-1"',
  ],
  [
    '--ufs-max-size',
    '12X',
    '--ufs-max-size must be a size such as 512M, 2G or a number of bytes, not "12X"',
  ],
  [
    '--ufs-max-size',
    '0',
    '--ufs-max-size must be a size such as 512M, 2G or a number of bytes, not "0"',
  ],
] as const) {
  test(`usage error: ${option} ${value} (exit 2, nothing written)`, async (t) => {
    const dir = await scratchDir(t);
    const run = await runCli([
      ...fixtureArgs(join(dir, 'output'), join(dir, 'log')),
      `${option}=${value}`,
    ]);
    assert.equal(run.code, 2, show(run));
    assert.ok(run.stderr.includes(message), show(run));
    assert.deepEqual(await listTree(dir), []);
  });
}

// ---------------------------------------------------------------------------
// verify-manifest on a UFS platform.

test('verify-manifest --platform on a UFS build: every md5 and entry checked against the image', async (t) => {
  const b = await build(t, ['--archive', 'ufs']);
  assert.equal(b.run.code, 0, show(b.run));
  const { logFile } = b;
  const { run, report } = await verifyJson(['--log', logFile, '--platform', b.platform]);
  assert.equal(run.code, 0, show(run));
  const c = report.content!;
  assert.equal(c.skipped, undefined, c.skipped);
  assert.match(c.method, /^ufs boot_archive read with/);
  const files = [...(await manifestLines(b.bootManifest)).values()].filter((l) => l[0] === 'f');
  // Every file, and var/log/manifest (the manifest's own copy, which it does not list).
  assert.equal(c.checked, files.length + 1);
  assert.deepEqual(c.mismatches, []);
  assert.deepEqual(c.missing, []);
  assert.deepEqual(c.differences, []);
  assert.equal(c.hash?.ok, true);

  // The tgz too (unpacked in a temporary directory).
  const tgz = await verifyJson(['--log', logFile, '--platform', join(b.output, `${PLATFORM}.tgz`)]);
  assert.equal(tgz.run.code, 0, show(tgz.run));
  assert.equal(tgz.report.content?.checked, files.length + 1);
});

test('verify-manifest on a UFS build: one changed byte in a file block is an md5 mismatch on that path', async (t) => {
  const b = await build(t, ['--archive', 'ufs']);
  assert.equal(b.run.code, 0, show(b.run));
  const bytes = await readFile(b.bootArchive);
  const content = await readFile(join(FIXTURES, 'overlay-site/etc/ssh/sshd_config'));
  const at = bytes.indexOf(content);
  assert.ok(at > 0 && bytes.indexOf(content, at + 1) < 0, 'the file is stored once, verbatim');
  bytes[at] ^= 0x20;
  await writeFile(b.bootArchive, bytes);
  const { logFile, platform } = b;

  // The hash notices first.
  const stale = await verifyJson(['--log', logFile, '--platform', platform]);
  assert.equal(stale.run.code, 1, show(stale.run));
  assert.equal(stale.report.content?.hash?.ok, false);

  // With the hash made to match, the md5 names the file.
  await writeFile(join(b.archive, 'boot_archive.hash'), `${sha1(bytes)}\n`);
  const { run, report } = await verifyJson(['--log', logFile, '--platform', platform]);
  assert.equal(run.code, 1, show(run));
  // The .hash now names another boot_archive than the log does, too.
  assert.deepEqual(report.reasons, ['integrity', 'log-mismatch']);
  const changed = Buffer.from(content);
  changed[0] ^= 0x20;
  assert.deepEqual(report.content?.mismatches, [
    { path: 'etc/ssh/sshd_config', expected: md5(content), actual: md5(changed) },
  ]);
  const text = await runCli(['verify-manifest', '--log', logFile, '--platform', platform]);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /md5 mismatch: etc\/ssh\/sshd_config/);
});

test('verify-manifest on a UFS build: a mode, a link target and an entry the manifest does not list are reported', async (t) => {
  const b = await build(t, ['--archive', 'ufs']);
  assert.equal(b.run.code, 0, show(b.run));
  const text = await readFile(b.bootManifest, 'utf8');
  const edited = text
    .replace(/^(f \.\/etc\/release) 0444 /m, '$1 0644 ')
    .replace(/^s \.\/usr\/lib\/64=amd64$/m, 's ./usr/lib/64=i386')
    .replace(/^f \.\/usr\/bin\/dir .*\n/m, '');
  assert.notEqual(edited, text);
  await writeFile(b.bootManifest, edited);
  const { run, report } = await verifyJson(['--log', b.logFile, '--platform', b.platform]);
  assert.equal(run.code, 1, show(run));
  assert.deepEqual(report.reasons, ['integrity']);
  assert.deepEqual(report.content?.differences, [
    { path: 'etc/release', field: 'mode', expected: '0644', actual: '0444' },
    { path: 'usr/bin/dir', field: 'extra', expected: '', actual: 'file' },
    { path: 'usr/lib/64', field: 'target', expected: 'i386', actual: 'amd64' },
  ]);
});

// ---------------------------------------------------------------------------
// --archive ufs-native through stand-ins for mkfile, lofiadm, newfs, mount,
// umount and pfexec (action-fixtures/illumos-host/bin: they record their
// calls; the uname stand-in there reports SunOS).

async function nativeBuild(t: TestContext, fail?: string, unprivileged = false) {
  const dir = await scratchDir(t);
  const calls = join(dir, 'calls');
  const tree = join(dir, 'tree');
  let args = fixtureArgs(join(dir, 'output'), join(dir, 'log'));
  if (unprivileged) {
    const fx = await copyFixtures(join(dir, 'fx'));
    for (const d of ['output', 'log', 'state']) {
      await mkdir(join(dir, d));
      await chmod(join(dir, d), 0o777);
    }
    args = copiedFixtureArgs(fx, join(dir, 'output'), join(dir, 'log'));
  }
  const state = unprivileged ? join(dir, 'state', 'calls') : calls;
  const run = await runCli([...args, '--archive', 'ufs-native'], {
    unprivileged,
    env: {
      PATH: `${STANDINS}:${process.env.PATH}`,
      UFS_NATIVE_STANDIN_LOG: state,
      UFS_NATIVE_STANDIN_TREE: unprivileged ? join(dir, 'state', 'tree') : tree,
      ...(fail ? { UFS_NATIVE_STANDIN_FAIL: fail } : {}),
    },
  });
  const recorded = (await readFile(state, 'utf8').catch(() => ''))
    .trimEnd()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replaceAll(dir, '<dir>'))
    // The work directory is a mkdtemp name (docs/output-layout.md).
    .map((line) => line.replace(/\/\.work-[A-Za-z0-9]{6}\//g, '/.work-XXXXXX/'));
  return { dir, run, calls: recorded, state, tree };
}

const WORK = '<dir>/output/.work-XXXXXX';
const IMG = `${WORK}/ufs-native.img`;
const MNT = `${WORK}/ufs-native.mnt`;

/** The calls of a good native build as root, from the plan's numbers. */
function nativeCalls(size: string, bpi: string): string[] {
  return [
    `mkfile ${size} ${IMG}`,
    `lofiadm -a ${IMG}`,
    `newfs -o space -m 0 -b 8192 -f 1024 -i ${bpi} /dev/rlofi/1`,
    `mount -F ufs -o nologging /dev/lofi/1 ${MNT}`,
    `umount ${MNT}`,
    'lofiadm -d /dev/lofi/1',
  ];
}

test('ufs-native (stand-ins): mkfile, lofiadm -a, newfs with the plan, mount, copy, umount, lofiadm -d', async (t) => {
  const n = await nativeBuild(t);
  assert.equal(n.run.code, 0, show(n.run));
  assert.equal(n.calls.length, 6, n.calls.join('\n'));
  const size = /^mkfile (\d+) /.exec(n.calls[0])?.[1] ?? '';
  const bpi = / -i (\d+) /.exec(n.calls[2])?.[1] ?? '';
  assert.deepEqual(n.calls, nativeCalls(size, bpi));
  // The image file is the one mkfile made, renamed into the platform.
  const image = join(n.dir, 'output', PLATFORM, 'i86pc', 'amd64', 'boot_archive');
  assert.equal((await stat(image)).size, Number(size));
  // What was in the mounted file system when it was unmounted: the manifest's
  // modes, owners and link targets (the umount stand-in lists it).
  const tree = await readFile(n.tree, 'utf8');
  assert.match(tree, /^\.\/usr\/bin\/su f 4555 0 3 $/m);
  assert.match(tree, /^\.\/usr\/lib\/64 l 777 0 0 amd64$/m);
  assert.match(tree, /^\.\/root d 700 0 0 $/m);
  assert.match(tree, /^\. d 755 0 0 $/m);
  // Nothing attached, mounted or left in the work directory.
  assert.deepEqual(
    (await listTree(n.dir)).filter((p) => !p.startsWith('output/') && !p.startsWith('log/')),
    ['calls', 'log', 'output', 'tree'],
  );
  assert.ok(!(await listTree(join(n.dir, 'output'))).some((p) => p.includes('.work-')));
});

const CLEANUP_CASES: { step: string; calls: (size: string, bpi: string) => string[] }[] = [
  { step: 'mkfile', calls: (s) => [`mkfile ${s} ${IMG}`] },
  { step: 'lofiadm-a', calls: (s) => [`mkfile ${s} ${IMG}`, `lofiadm -a ${IMG}`] },
  {
    step: 'newfs',
    calls: (s, i) => [...nativeCalls(s, i).slice(0, 3), 'lofiadm -d /dev/lofi/1'],
  },
  {
    step: 'mount',
    calls: (s, i) => [...nativeCalls(s, i).slice(0, 4), 'lofiadm -d /dev/lofi/1'],
  },
  {
    step: 'umount',
    calls: (s, i) => [
      ...nativeCalls(s, i).slice(0, 5),
      `umount -f ${MNT}`,
      'lofiadm -d /dev/lofi/1',
    ],
  },
  {
    step: 'lofiadm-d',
    calls: (s, i) => [...nativeCalls(s, i), 'lofiadm -d /dev/lofi/1'],
  },
];

for (const c of CLEANUP_CASES) {
  test(`ufs-native (stand-ins): ${c.step} fails: named with its status and stderr, cleaned up, nothing left`, async (t) => {
    const n = await nativeBuild(t, c.step);
    assert.equal(n.run.code, 1, show(n.run));
    const size = /^mkfile (\d+) /.exec(n.calls[0])?.[1] ?? '';
    const bpi = n.calls.map((l) => / -i (\d+) /.exec(l)?.[1]).find(Boolean) ?? '';
    assert.deepEqual(n.calls, c.calls(size, bpi));
    const command = c.step.replace('-', ' -');
    assert.match(
      n.run.stderr,
      new RegExp(
        `ufs-native: ${command}.* failed \\(exit 33\\):\\n${c.step} \\(stand-in\\): told to fail\\n${c.step} \\(stand-in\\): I/O error`,
      ),
    );
    assert.doesNotMatch(n.run.stderr, /\n\s+at /, 'no stack trace');
    if (c.step === 'lofiadm-d') {
      // The stand-in refuses every detach: the cleanup says so too.
      assert.match(n.run.stderr, /cleaning up failed too/);
    } else {
      // Nothing attached or mounted (the stand-ins' state files are gone).
      assert.ok(!(await stat(`${n.state}.lofi`).catch(() => undefined)), 'still attached');
      assert.ok(!(await stat(`${n.state}.mounts`).catch(() => undefined)), 'still mounted');
    }
    // No image, no mount point, no platform: the output holds nothing.
    assert.deepEqual(await listTree(join(n.dir, 'output')), []);
  });
}

test('ufs-native (stand-ins) as an unprivileged user: the privileged steps go through pfexec', async (t) => {
  if (!isRoot) t.skip('needs root to run the CLI as uid 65534');
  const n = await nativeBuild(t, 'newfs', true);
  assert.equal(n.run.code, 1, show(n.run));
  const size = /^mkfile (\d+) /.exec(n.calls[0])?.[1] ?? '';
  const bpi = n.calls.map((l) => / -i (\d+) /.exec(l)?.[1]).find(Boolean) ?? '';
  assert.deepEqual(n.calls, [
    `mkfile ${size} ${IMG}`,
    `pfexec lofiadm -a ${IMG}`,
    `lofiadm -a ${IMG}`,
    `pfexec newfs -o space -m 0 -b 8192 -f 1024 -i ${bpi} /dev/rlofi/1`,
    `newfs -o space -m 0 -b 8192 -f 1024 -i ${bpi} /dev/rlofi/1`,
    'pfexec lofiadm -d /dev/lofi/1',
    'lofiadm -d /dev/lofi/1',
  ]);
  assert.match(n.run.stderr, /ufs-native: pfexec newfs .* failed \(exit 33\)/);
  assert.deepEqual(await listTree(join(n.dir, 'output')), []);
});

test('ufs-native on a host that is not illumos (uname stand-in says Linux): a clear error, nothing written', async (t) => {
  const dir = await scratchDir(t);
  const run = await runCli(
    [...fixtureArgs(join(dir, 'output'), join(dir, 'log')), '--archive', 'ufs-native'],
    { env: { PATH: `${STANDINS}:${process.env.PATH}`, UNAME_STANDIN_S: 'Linux' } },
  );
  assert.equal(run.code, 1, show(run));
  assert.match(
    run.stderr,
    /--archive ufs-native needs an illumos host \(uname -s: Linux\); nothing was done/,
  );
  assert.deepEqual(await listTree(dir), []);
});

// ---------------------------------------------------------------------------
// What UFS cannot hold, through the CLI: one message with the manifest line,
// exit 1, nothing written (the dry run finds it before anything is copied).

async function withExtraManifest(t: TestContext, text: string) {
  const dir = await scratchDir(t);
  const fx = await copyFixtures(join(dir, 'fx'));
  const extra = join(fx, 'manifests', 'good', '30-extra.manifest');
  await writeFile(extra, text);
  const args = copiedFixtureArgs(fx, join(dir, 'output'), join(dir, 'log'));
  return { dir, extra, args };
}

test('a name longer than 255 bytes: file:line and the limit, exit 1, nothing written', async (t) => {
  const name = 'n'.repeat(256);
  const s = await withExtraManifest(t, `s etc/${name}=motd\n`);
  const run = await runCli(s.args);
  assert.equal(run.code, 1, show(run));
  assert.ok(
    // One set of image rules for lint, --plan and the build (src/manifest/image-rules.ts).
    run.stderr.includes(`${s.extra}:1: error: etc/`) &&
      run.stderr.includes('a name is 256 bytes; names are at most 255 bytes (MAXNAMLEN)'),
    show(run),
  );
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  assert.deepEqual(await listTree(s.dir).then((l) => l.filter((p) => !p.startsWith('fx'))), []);
  // --plan says the same.
  const plan = await runCli([...s.args, '--plan']);
  assert.equal(plan.code, 1, show(plan));
  assert.ok(plan.stderr.includes('a name is 256 bytes; names are at most 255 bytes'), show(plan));
});

test('a symlink target longer than UFS holds: file:line and the limit, exit 1, nothing written', async (t) => {
  const target = 'a/'.repeat(600);
  const s = await withExtraManifest(t, `s etc/far=${target}\n`);
  const run = await runCli(s.args);
  assert.equal(run.code, 1, show(run));
  assert.ok(
    run.stderr.includes(
      `${s.extra}:1: error: etc/far: the link text is 1200 bytes; illumos allows at most 1023 (MAXPATHLEN)`,
    ),
    show(run),
  );
  assert.deepEqual(await listTree(s.dir).then((l) => l.filter((p) => !p.startsWith('fx'))), []);
});

test('more entries than a fixed inode budget would hold: the plan counts them, --ufs-free-inodes 0 still builds', async (t) => {
  // --ufs-free-inodes is headroom beyond the inodes the content uses, so it
  // can never be too small: 3000 directories get 3000 inodes and more.
  const lines = Array.from(
    { length: 3000 },
    (_, i) => `d opt/d${String(i).padStart(4, '0')} 0755 root sys`,
  );
  const s = await withExtraManifest(t, `d opt 0755 root sys\n${lines.join('\n')}\n`);
  const planned = await runCli([...s.args, '--plan', '--json', '--ufs-free-inodes', '0']);
  assert.equal(planned.code, 0, show(planned));
  const plan = (JSON.parse(planned.stdout) as { ufs: { inodes: number; inodesUsed: number } }).ufs;
  assert.ok(plan.inodesUsed > 3000, String(plan.inodesUsed));
  assert.ok(plan.inodes >= plan.inodesUsed);
  const run = await runCli([...s.args, '--ufs-free-inodes', '0']);
  assert.equal(run.code, 0, show(run));
  const reader = await UfsReader.open(
    join(s.dir, 'output', PLATFORM, 'i86pc', 'amd64', 'boot_archive'),
  );
  t.after(() => reader.close());
  let dirs = 0;
  for await (const entry of reader.entries()) if (/^opt\/d\d{4}$/.test(entry.path)) dirs++;
  assert.equal(dirs, 3000);
});
