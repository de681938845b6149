// Bad input (docs/manifest.md, assembly.md, output-layout.md, exit-codes.md): every bad input gets one clear message
// naming the input (file:line where there is one) and the exit code of
// docs/exit-codes.md; never a stack trace, never a partial output that looks complete,
// never a write outside the output and log directories. Each test runs the
// real CLI on a scratch copy of action-fixtures/ or on small manifests.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test, type TestContext } from 'node:test';
import { listTree, runCli, scratchDir, show, type CliOptions, type CliRun } from './helpers/cli.js';
import { copiedFixtureArgs, copyFixtures } from './helpers/fixture-copy.js';
import { fixtureArgs, FIXTURES } from './helpers/paths.js';

/** runCli sets SOURCE_DATE_EPOCH=1323461708: the BUILDSTAMP of every build here. */
const STAMP = '20111209T201508Z';
const PLATFORM = `platform-${STAMP}`;

interface Scene {
  /** The scratch directory; also the working directory of the run. */
  root: string;
  /** A writable copy of action-fixtures/. */
  fx: string;
  /** Output and log directories: the only places a run may write. */
  out: string;
  log: string;
  /** Listing of `root` outside `out` and `log`, taken just before the run. */
  before: string[];
}

async function newScene(t: TestContext): Promise<Scene> {
  const root = await scratchDir(t);
  const fx = await copyFixtures(join(root, 'fx'));
  return { root, fx, out: join(root, 'out'), log: join(root, 'log'), before: [] };
}

/** Output and log directories an unprivileged run (uid 65534) can write. */
async function openOutputDirs(scene: Scene): Promise<void> {
  for (const dir of [scene.out, scene.log]) {
    await mkdir(dir);
    await chmod(dir, 0o777);
  }
}

const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

async function listOutside(scene: Scene): Promise<string[]> {
  const out = relative(scene.root, scene.out);
  const log = relative(scene.root, scene.log);
  return (await listTree(scene.root)).filter((p) => !under(p, out) && !under(p, log));
}

/** The good fixture build (as `npm start`), on the copy, into the scene's output. */
const goodArgs = (scene: Scene) => copiedFixtureArgs(scene.fx, scene.out, scene.log);

/** Runs the CLI in the scene, after recording what exists outside out/ and log/. */
async function run(scene: Scene, args: readonly string[], options: CliOptions = {}) {
  scene.before = await listOutside(scene);
  return runCli(args, { cwd: scene.root, ...options });
}

/** `args` with the value of the first `name` option replaced, or the option dropped. */
function withOption(args: readonly string[], name: string, value?: string): string[] {
  const i = args.indexOf(name);
  assert.ok(i >= 0 && i + 1 < args.length, `${name} is not in ${args.join(' ')}`);
  const copy = [...args];
  if (value === undefined) copy.splice(i, 2);
  else copy[i + 1] = value;
  return copy;
}

interface Expected {
  code: 0 | 1 | 2 | 3;
  /** Text (or patterns) that stderr must contain. */
  stderr?: (string | RegExp)[];
  stdout?: (string | RegExp)[];
}

function contains(text: string, wanted: string | RegExp, what: string, r: CliRun) {
  if (typeof wanted === 'string') {
    assert.ok(text.includes(wanted), `${what} lacks ${JSON.stringify(wanted)}\n${show(r)}`);
  } else {
    assert.match(text, wanted, `${what} does not match ${String(wanted)}\n${show(r)}`);
  }
}

/**
 * The checks every bad input shares: exit code, message, no stack trace,
 * nothing written outside the output and log directories, and for errors no
 * platform, tgz, log or temporary file that could look like a result.
 */
async function assertOutcome(scene: Scene, r: CliRun, expected: Expected): Promise<void> {
  assert.equal(r.code, expected.code, show(r));
  for (const wanted of expected.stderr ?? []) contains(r.stderr, wanted, 'stderr', r);
  for (const wanted of expected.stdout ?? []) contains(r.stdout, wanted, 'stdout', r);
  const all = r.stdout + r.stderr;
  assert.doesNotMatch(all, /^\s+at /m, `a stack trace was printed\n${show(r)}`);
  assert.doesNotMatch(all, /internal error/, show(r));
  assert.deepEqual(await listOutside(scene), scene.before, 'written outside output and log');

  const written = await listTree(scene.root);
  assert.deepEqual(
    written.filter((p) => p.includes('.partial')),
    [],
    'a temporary (.partial) file was left behind',
  );
  if (expected.code === 1 || expected.code === 2) {
    const artifacts = written.filter(
      (p) =>
        /(^|\/)platform-[^/]*$/.test(p) ||
        /(^|\/)image-[^/]*$/.test(p) ||
        /(^|\/)build_live\.[^/]*$/.test(p),
    );
    assert.deepEqual(artifacts, [], `an error left artifacts behind\n${show(r)}`);
  } else {
    const archive = join(scene.out, PLATFORM, 'i86pc', 'amd64');
    for (const file of [
      join(archive, 'boot_archive'),
      join(archive, 'boot_archive.manifest'),
      join(archive, 'boot_archive.hash'),
      join(scene.out, `${PLATFORM}.tgz`),
      join(scene.log, `build_live.${STAMP}.log`),
      join(scene.log, `build_live.${STAMP}.jsonl`),
    ]) {
      assert.ok((await stat(file)).isFile(), `${file} is missing`);
    }
  }
}

const bootManifest = (scene: Scene) =>
  readFile(join(scene.out, PLATFORM, 'i86pc', 'amd64', 'boot_archive.manifest'), 'utf8');
const buildLog = (scene: Scene) => readFile(join(scene.log, `build_live.${STAMP}.log`), 'utf8');

interface JsonlRecord {
  path: string;
  status: string;
  tag: string | null;
  manifest: string | null;
  line: number | null;
  searched: string[] | null;
  error: string | null;
}

async function jsonlRecord(scene: Scene, path: string): Promise<JsonlRecord> {
  const text = await readFile(join(scene.log, `build_live.${STAMP}.jsonl`), 'utf8');
  const records = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as JsonlRecord);
  const record = records.find((rec) => rec.path === path);
  assert.ok(record, `no JSONL record for ${path}`);
  return record;
}

/** `file:line` of the line of a fixture manifest (in the copy) that is exactly `text`. */
async function locate(scene: Scene, snippet: string, text: string): Promise<string> {
  const file = join(scene.fx, 'manifests', 'good', snippet);
  const lines = (await readFile(file, 'utf8')).split('\n');
  const index = lines.indexOf(text);
  assert.ok(index >= 0, `${text} is not a line of ${file}`);
  return `${file}:${index + 1}`;
}

const md5 = async (file: string) =>
  createHash('md5')
    .update(await readFile(file))
    .digest('hex');

/** Writes `extra.manifest` in the scratch dir: a snippet merged after the good ones. */
async function extraManifest(scene: Scene, lines: readonly string[]): Promise<string> {
  const file = join(scene.root, 'extra.manifest');
  await writeFile(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}

// ---------------------------------------------------------------------------
// One bad manifest line: the error names file:line, the line and the reason;
// nothing is built and the output directory is not even created.

const LINE_ERRORS: { name: string; line: string; reason: string }[] = [
  {
    name: 'd with too few fields',
    line: 'd opt 0755 root',
    reason: '"d" takes 4 fields (path mode owner group), found 3',
  },
  {
    name: 'f with too many fields',
    line: 'f usr/bin/ls 0555 root bin extra',
    reason: '"f" takes 4 fields (path mode owner group), found 5',
  },
  {
    // `#` starts a comment only at the start of a line (docs/manifest.md).
    name: 'an entry with a trailing comment',
    line: 'f usr/bin/ls 0555 root bin # the ls binary',
    reason: '"f" takes 4 fields (path mode owner group), found 8',
  },
  {
    name: 's with two fields (blank instead of =)',
    line: 's bin usr/bin',
    reason: '"s" takes 1 field (path=target), found 2',
  },
  {
    name: 'h with three fields (blanks around =)',
    line: 'h usr/bin/sh2 = usr/bin/su',
    reason: '"h" takes 1 field (path=target), found 3',
  },
  {
    name: 'unknown entry type',
    line: 'l usr/bin/sh2=usr/bin/su',
    reason: 'unknown entry type "l" (expected d, f, s or h)',
  },
  { name: 'non-octal mode', line: 'd opt 0855 root sys', reason: 'mode "0855" is not octal' },
  {
    name: 'symbolic mode',
    line: 'd opt rwxr-xr-x root sys',
    reason: 'mode "rwxr-xr-x" is not octal',
  },
  {
    name: 'mode larger than 07777',
    line: 'd opt 17777 root sys',
    reason: 'mode "17777" is larger than 07777',
  },
  {
    name: 's without =',
    line: 's usr/bin/sh2',
    reason: 'missing "=" in "usr/bin/sh2" (expected path=target)',
  },
  {
    name: 'h without =',
    line: 'h usr/bin/sh2',
    reason: 'missing "=" in "usr/bin/sh2" (expected path=target)',
  },
  { name: 's with two = (a=b=c)', line: 's a=b=c', reason: 'more than one "=" in "a=b=c"' },
  { name: 'h with two = (a=b=c)', line: 'h a=b=c', reason: 'more than one "=" in "a=b=c"' },
  { name: 's with empty link text', line: 's usr/bin/sh2=', reason: 'empty link text' },
  {
    name: 'absolute f path',
    line: 'f /etc/shadow 0400 root sys',
    reason: 'unsafe path: absolute path "/etc/shadow"',
  },
  {
    name: 'absolute s path',
    line: 's /bin=usr/bin',
    reason: 'unsafe path: absolute path "/bin"',
  },
  {
    name: 'absolute h target',
    line: 'h usr/bin/pw=/etc/passwd',
    reason: 'unsafe hard link target: absolute path "/etc/passwd"',
  },
  {
    name: '.. component in a path',
    line: 'f usr/../../etc/shadow 0400 root sys',
    reason: 'unsafe path: ".." component in "usr/../../etc/shadow"',
  },
  {
    name: '.. component in an h target',
    line: 'h usr/bin/pw=../etc/passwd',
    reason: 'unsafe hard link target: ".." component in "../etc/passwd"',
  },
  {
    name: '. component in a path',
    line: 'd ./opt 0755 root sys',
    reason: 'unsafe path: "." component in "./opt"',
  },
  {
    name: 'empty component (usr//bin)',
    line: 'd usr//bin 0755 root bin',
    reason: 'unsafe path: empty component in "usr//bin"',
  },
  {
    name: 'empty component (trailing slash on a file)',
    line: 'f usr/bin/ls/ 0555 root bin',
    reason: 'unsafe path: empty component in "usr/bin/ls/"',
  },
];

for (const { name, line, reason } of LINE_ERRORS) {
  test(`bad manifest line: ${name}`, async (t) => {
    const scene = await newScene(t);
    // A comment and a good line first: the error must point at line 3.
    const extra = await extraManifest(scene, ['# extra snippet', 'd var/tmp 1777 root sys', line]);
    const r = await run(scene, [...goodArgs(scene), '--manifest', extra]);
    await assertOutcome(scene, r, {
      code: 1,
      stderr: [
        `${extra}:3: error: ${reason}`,
        JSON.stringify(line),
        '1 error in the manifests; nothing was built',
      ],
    });
    assert.doesNotMatch(r.stderr, /extra\.manifest:[12]:/, 'good lines were blamed');
    assert.deepEqual(await listTree(scene.out), [], 'the output directory was touched');
  });
}

test('bad manifest line: a NUL byte in a line', async (t) => {
  const scene = await newScene(t);
  const extra = join(scene.root, 'extra.manifest');
  await writeFile(
    extra,
    Buffer.from('# extra\nd var/tmp 1777 root sys\nf usr/bin/l\0s 0555 root bin\n'),
  );
  const r = await run(scene, [...goodArgs(scene), '--manifest', extra]);
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`${extra}:3: error: NUL byte in line`, '1 error in the manifests; nothing was built'],
  });
});

// ---------------------------------------------------------------------------
// Line ends: accepted, and the image is the same as from the pristine fixtures.

async function baselineManifest(t: TestContext): Promise<string> {
  const scene = await newScene(t);
  const r = await run(scene, goodArgs(scene));
  await assertOutcome(scene, r, { code: 0 });
  return bootManifest(scene);
}

test('accepted: a manifest without a final newline', async (t) => {
  const baseline = await baselineManifest(t);
  const scene = await newScene(t);
  for (const snippet of ['00-dirs.manifest', '20-links.manifest']) {
    const file = join(scene.fx, 'manifests', 'good', snippet);
    const text = await readFile(file, 'utf8');
    assert.ok(text.endsWith('\n'));
    await writeFile(file, text.trimEnd());
  }
  const r = await run(scene, goodArgs(scene));
  await assertOutcome(scene, r, { code: 0 });
  const manifest = await bootManifest(scene);
  // The last lines of the two snippets were applied.
  assert.match(manifest, /^d \.\/var\/log 0755 root sys$/m);
  assert.match(manifest, /^f \.\/usr\/lib\/libc\.so 0755 root bin [0-9a-f]{32}$/m);
  assert.equal(manifest, baseline);
});

test('accepted: CRLF line ends', async (t) => {
  const baseline = await baselineManifest(t);
  const scene = await newScene(t);
  for (const snippet of ['00-dirs.manifest', '10-files.manifest', '20-links.manifest']) {
    const file = join(scene.fx, 'manifests', 'good', snippet);
    await writeFile(file, (await readFile(file, 'utf8')).replace(/\n/g, '\r\n'));
  }
  const r = await run(scene, goodArgs(scene));
  await assertOutcome(scene, r, { code: 0 });
  assert.doesNotMatch(r.stderr, /warning/, 'CRLF gave warnings');
  assert.equal(await bootManifest(scene), baseline);
  assert.doesNotMatch(await buildLog(scene), /\r/);
});

// ---------------------------------------------------------------------------
// Several manifests.

test('several errors in several manifests are all reported, and nothing is written', async (t) => {
  const scene = await newScene(t);
  const bad = join(scene.root, 'bad');
  await mkdir(bad);
  await chmod(bad, 0o755);
  const a = join(bad, '10-a.manifest');
  const b = join(bad, '20-b.manifest');
  await writeFile(
    a,
    ['# two errors here', 'd opt 0855 root sys', 'd opt/ok 0755 root sys', 's opt/link', ''].join(
      '\n',
    ),
  );
  await writeFile(
    b,
    ['f /etc/shadow 0400 root sys', 's usr/bin/su=ls', 'f usr/bin/ls 0555 root', ''].join('\n'),
  );
  const su = await locate(scene, '10-files.manifest', 'f usr/bin/su 4555 root sys');
  const r = await run(scene, [...goodArgs(scene), '--manifest', bad]);
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [
      '5 errors in the manifests; nothing was built',
      `${a}:2: error: mode "0855" is not octal`,
      `${a}:4: error: missing "=" in "opt/link"`,
      `${b}:1: error: unsafe path: absolute path "/etc/shadow"`,
      `${b}:2: error: usr/bin/su is defined as a symlink here and as a file at ${su}`,
      `${b}:3: error: "f" takes 4 fields (path mode owner group), found 3`,
    ],
  });
  // The output and log directories did not exist and still do not.
  const after = await listTree(scene.root);
  assert.ok(!after.includes('out') && !after.includes('log'), after.join('\n'));
});

test('a path defined as f in one snippet and s in another: error naming both', async (t) => {
  const scene = await newScene(t);
  const ls = await locate(scene, '10-files.manifest', 'f usr/bin/ls 0555 root bin');
  const extra = await extraManifest(scene, ['s usr/bin/ls=su']);
  const r = await run(scene, [...goodArgs(scene), '--manifest', extra]);
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`${extra}:1: error: usr/bin/ls is defined as a symlink here and as a file at ${ls}`],
  });
});

test('a path redefined with another mode: warning naming both, later wins', async (t) => {
  const scene = await newScene(t);
  const ls = await locate(scene, '10-files.manifest', 'f usr/bin/ls 0555 root bin');
  const extra = await extraManifest(scene, ['# later snippet', 'f usr/bin/ls 0755 root bin']);
  const r = await run(scene, [...goodArgs(scene), '--manifest', extra]);
  await assertOutcome(scene, r, {
    code: 0,
    stderr: [`${extra}:2: warning: usr/bin/ls redefined: this definition overrides ${ls}`],
  });
  const manifest = await bootManifest(scene);
  const lsMd5 = await md5(join(scene.fx, 'proto', 'usr', 'bin', 'ls'));
  assert.match(manifest, new RegExp(`^f \\./usr/bin/ls 0755 root bin ${lsMd5}$`, 'm'));
  assert.doesNotMatch(manifest, /^f \.\/usr\/bin\/ls 0555/m);
});

test('a byte-identical duplicate definition is silent', async (t) => {
  const scene = await newScene(t);
  const extra = await extraManifest(scene, ['f usr/bin/ls 0555 root bin', 'd usr 0755 root sys']);
  const r = await run(scene, [...goodArgs(scene), '--manifest', extra]);
  await assertOutcome(scene, r, { code: 0 });
  assert.doesNotMatch(r.stderr, /redefined|warning/, show(r));
});

test('an h whose target is not in the image', async (t) => {
  const scene = await newScene(t);
  const extra = await extraManifest(scene, ['h usr/bin/sh2=usr/bin/nothere']);
  const r = await run(scene, [...goodArgs(scene), '--manifest', extra]);
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [
      `${extra}:1: error: hard link usr/bin/sh2: target usr/bin/nothere is not in the image`,
    ],
  });
});

test('an h whose target is a directory', async (t) => {
  const scene = await newScene(t);
  const dir = await locate(scene, '00-dirs.manifest', 'd usr/bin 0755 root bin');
  const extra = await extraManifest(scene, ['h usr/sbin/bin=usr/bin']);
  const r = await run(scene, [...goodArgs(scene), '--manifest', extra]);
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [
      `${extra}:1: error: hard link usr/sbin/bin: target usr/bin is a directory (${dir}), not a file`,
    ],
  });
});

test('an entry whose parent is a symlink in the manifest', async (t) => {
  // 20-links.manifest has `s bin=usr/bin`: bin/evil would be written through it.
  const scene = await newScene(t);
  const bin = await locate(scene, '20-links.manifest', 's bin=usr/bin');
  const extra = await extraManifest(scene, ['f bin/evil 0555 root bin']);
  const r = await run(scene, [...goodArgs(scene), '--manifest', extra]);
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`${extra}:1: error: bin/evil: parent bin is a symlink (${bin}), not a directory`],
  });
});

test('$NAME without --define is an error naming file:line and the variable', async (t) => {
  const scene = await newScene(t);
  const extra = await extraManifest(scene, [
    '# illumos-extra style',
    'f usr/lib/libstdc++.so.$LIBSTDCXXVER 0755 root bin',
    's usr/lib/libstdc++.so.6=libstdc++.so.${LIBSTDCXXVER}',
  ]);
  const r = await run(scene, [...goodArgs(scene), '--manifest', extra]);
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [
      '2 errors in the manifests; nothing was built',
      `${extra}:2: error: undefined variable $LIBSTDCXXVER (pass --define LIBSTDCXXVER=VALUE)`,
      `${extra}:3: error: undefined variable $LIBSTDCXXVER`,
    ],
  });
});

test('$NAME with --define builds', async (t) => {
  const scene = await newScene(t);
  const lib = join(scene.fx, 'proto', 'usr', 'lib', 'libstdc++.so.6.0.13');
  await writeFile(lib, 'fixture stand-in for libstdc++\n', { mode: 0o644 });
  const extra = await extraManifest(scene, [
    'f usr/lib/libstdc++.so.$LIBSTDCXXVER 0755 root bin',
    's usr/lib/libstdc++.so.6=libstdc++.so.${LIBSTDCXXVER}',
  ]);
  const args = [...goodArgs(scene), '--manifest', extra, '--define', 'LIBSTDCXXVER=6.0.13'];
  const r = await run(scene, args);
  await assertOutcome(scene, r, { code: 0 });
  const manifest = await bootManifest(scene);
  assert.match(
    manifest,
    new RegExp(
      `^f \\./usr/lib/libstdc\\+\\+\\.so\\.6\\.0\\.13 0755 root bin ${await md5(lib)}$`,
      'm',
    ),
  );
  assert.match(manifest, /^s \.\/usr\/lib\/libstdc\+\+\.so\.6=libstdc\+\+\.so\.6\.0\.13$/m);
});

test('an owner the image does not define: warning with file:line, build goes on', async (t) => {
  const scene = await newScene(t);
  const extra = await extraManifest(scene, ['d admin 0755 admin staff']);
  const r = await run(scene, [...goodArgs(scene), '--manifest', extra]);
  await assertOutcome(scene, r, {
    code: 0,
    stderr: [`${extra}:1: warning: admin: owner "admin" is not a user of the image (etc/passwd)`],
    stdout: ['unknown owners: 1'],
  });
});

// ---------------------------------------------------------------------------
// Manifest files that cannot be read.

test('an unreadable manifest (permission denied)', async (t) => {
  const scene = await newScene(t);
  const file = join(scene.fx, 'manifests', 'good', '10-files.manifest');
  await chmod(file, 0o000);
  const r = await run(scene, goodArgs(scene), { unprivileged: true });
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`cannot read manifest ${file}: permission denied`],
  });
});

test('an unreadable manifest directory (permission denied)', async (t) => {
  const scene = await newScene(t);
  const dir = join(scene.fx, 'manifests', 'good');
  await chmod(dir, 0o311);
  const r = await run(scene, goodArgs(scene), { unprivileged: true });
  await chmod(dir, 0o755);
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`cannot read manifest directory ${dir}: permission denied`],
  });
});

test('a manifest path that does not exist', async (t) => {
  const scene = await newScene(t);
  const missing = join(scene.root, 'no-such.manifest');
  const r = await run(scene, [...goodArgs(scene), '--manifest', missing]);
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`cannot read manifest ${missing}: does not exist`],
  });
});

// ---------------------------------------------------------------------------
// Sources.

test('a missing proto directory', async (t) => {
  const scene = await newScene(t);
  const proto = join(scene.root, 'no-proto');
  const r = await run(scene, withOption(goodArgs(scene), '--proto', proto));
  await assertOutcome(scene, r, { code: 1, stderr: [`proto area ${proto}: does not exist`] });
});

test('an overlay that is a file', async (t) => {
  const scene = await newScene(t);
  const file = join(scene.fx, 'overlay-base', 'etc', 'motd');
  const r = await run(scene, withOption(goodArgs(scene), '--overlay', file));
  await assertOutcome(scene, r, { code: 1, stderr: [`overlay ${file} is not a directory`] });
});

test('a proto symlink that resolves outside the proto is not followed: FAILED', async (t) => {
  const scene = await newScene(t);
  const evil = join(scene.fx, 'proto', 'usr', 'bin', 'evil');
  await symlink('/etc/passwd', evil);
  const passwdBefore = await readFile('/etc/passwd');
  const extra = await extraManifest(scene, ['f usr/bin/evil 0555 root bin']);
  const r = await run(scene, [...goodArgs(scene), '--manifest', extra, '--keep-staging']);
  await assertOutcome(scene, r, {
    code: 3,
    stdout: [
      `${extra}:1: FAILED usr/bin/evil`,
      new RegExp(
        `searched P:${evil} \\(resolves to .*, outside ${join(scene.fx, 'proto')}: not used\\)`,
      ),
      `searched S:${join(scene.fx, 'system-root', 'usr', 'bin', 'evil')}`,
    ],
  });
  assert.match(await buildLog(scene), /^\*FAILED\* - FILE: usr\/bin\/evil$/m);
  const record = await jsonlRecord(scene, 'usr/bin/evil');
  assert.equal(record.status, 'FAILED');
  assert.equal(record.manifest, extra);
  assert.equal(record.line, 1);
  assert.ok(
    record.searched?.some((s) => s.startsWith(`P:${evil}`) && s.includes('outside')),
    JSON.stringify(record),
  );
  // Not copied: neither in the image nor in its manifest.
  assert.doesNotMatch(await bootManifest(scene), /usr\/bin\/evil/);
  const image = await listTree(join(scene.out, `image-${STAMP}`));
  assert.ok(image.includes('usr/bin/ls') && !image.includes('usr/bin/evil'), image.join('\n'));
  assert.deepEqual(await readFile('/etc/passwd'), passwdBefore);
});

test('a proto directory symlink that leads outside the proto is not followed', async (t) => {
  const scene = await newScene(t);
  const secret = join(scene.root, 'secret');
  await mkdir(secret);
  await chmod(secret, 0o755);
  await writeFile(join(secret, 'key'), 'not for the image\n');
  await symlink('../../../secret', join(scene.fx, 'proto', 'usr', 'keys'));
  const extra = await extraManifest(scene, ['f usr/keys/key 0400 root sys']);
  const r = await run(scene, [...goodArgs(scene), '--manifest', extra]);
  await assertOutcome(scene, r, {
    code: 3,
    stdout: [
      `${extra}:1: FAILED usr/keys/key`,
      `(resolves to ${join(secret, 'key')}, outside ${join(scene.fx, 'proto')}: not used)`,
    ],
  });
  assert.doesNotMatch(await bootManifest(scene), /usr\/keys\/key/);
});

test('a proto symlink outside the proto: a later source that has the file serves it', async (t) => {
  const scene = await newScene(t);
  await symlink('/etc/passwd', join(scene.fx, 'proto', 'usr', 'bin', 'evil'));
  const served = join(scene.fx, 'system-root', 'usr', 'bin', 'evil');
  await mkdir(join(scene.fx, 'system-root', 'usr', 'bin'), { recursive: true });
  await chmod(join(scene.fx, 'system-root', 'usr'), 0o755);
  await chmod(join(scene.fx, 'system-root', 'usr', 'bin'), 0o755);
  await writeFile(served, '#!/bin/sh\necho the system root copy\n', { mode: 0o644 });
  const extra = await extraManifest(scene, ['f usr/bin/evil 0555 root bin']);
  const r = await run(scene, [...goodArgs(scene), '--manifest', extra]);
  await assertOutcome(scene, r, { code: 0 });
  assert.match(await buildLog(scene), /^OK\[S\] - FILE: usr\/bin\/evil$/m);
  assert.match(
    await bootManifest(scene),
    new RegExp(`^f \\./usr/bin/evil 0555 root bin ${await md5(served)}$`, 'm'),
  );
});

test('an unreadable source file: FAILED with the reason, build goes on', async (t) => {
  const scene = await newScene(t);
  const su = join(scene.fx, 'proto', 'usr', 'bin', 'su');
  await chmod(su, 0o000);
  await openOutputDirs(scene);
  const r = await run(scene, goodArgs(scene), { unprivileged: true });
  await assertOutcome(scene, r, {
    code: 3,
    stdout: [
      `FAILED usr/bin/su (cannot copy ${su}: permission denied)`,
      'FAILED usr/bin/sh-su (usr/bin/su FAILED, so there is nothing to link to)',
    ],
  });
  assert.match(await buildLog(scene), /^\*FAILED\* - FILE: usr\/bin\/su$/m);
});

// ---------------------------------------------------------------------------
// The build writes etc/joyent_buildstamp and var/log/manifest itself: a
// manifest must not make it write them through a symlink to the host.

test('a symlinked etc would make the buildstamp land outside the image: error', async (t) => {
  const scene = await newScene(t);
  const victim = join(scene.root, 'victim');
  await mkdir(victim);
  await chmod(victim, 0o755);
  const m = join(scene.root, 'small.manifest');
  await writeFile(m, `d usr 0755 root sys\ns etc=${victim}\n`);
  const args = ['build-live', '-m', m, '--proto', join(scene.fx, 'proto')];
  const r = await run(scene, [...args, '-o', scene.out, '--log-dir', scene.log]);
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [new RegExp(`${m}:2: error: .*etc.*etc/joyent_buildstamp`)],
  });
  assert.deepEqual(await listTree(victim), []);
});

test('a symlinked var/log would make var/log/manifest land outside the image: error', async (t) => {
  const scene = await newScene(t);
  const victim = join(scene.root, 'victim');
  await mkdir(victim);
  await chmod(victim, 0o755);
  const m = join(scene.root, 'small.manifest');
  await writeFile(m, `d var 0755 root sys\ns var/log=${victim}\n`);
  const args = ['build-live', '-m', m, '--proto', join(scene.fx, 'proto')];
  const r = await run(scene, [...args, '-o', scene.out, '--log-dir', scene.log]);
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [new RegExp(`${m}:2: error: .*var/log.*var/log/manifest`)],
  });
  assert.deepEqual(await listTree(victim), []);
});

test('a customize step that turns var/log into a symlink out of the image: error', async (t) => {
  const scene = await newScene(t);
  const victim = join(scene.root, 'victim');
  await mkdir(victim);
  await chmod(victim, 0o777);
  const script = join(scene.fx, 'customize', 'relink');
  await writeFile(
    script,
    `#!/bin/sh\nset -eu\nrm -rf "$1/var/log"\nln -s ${victim} "$1/var/log"\n`,
    {
      mode: 0o755,
    },
  );
  const r = await run(scene, withOption(goodArgs(scene), '--customize', script));
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [/var\/log\/manifest/, /var\/log is a symlink/],
  });
  assert.deepEqual(await listTree(victim), []);
});

// ---------------------------------------------------------------------------
// Customize scripts.

test('a customize script that exits 1', async (t) => {
  const scene = await newScene(t);
  const script = join(scene.fx, 'customize', 'fail');
  await writeFile(script, '#!/bin/sh\necho "customize: giving up" >&2\nexit 1\n', {
    mode: 0o755,
  });
  const r = await run(scene, withOption(goodArgs(scene), '--customize', script));
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`customize script ${script} exited with status 1`],
  });
  // No platform dir, no tgz, and no log that looks finished.
  assert.deepEqual(await listTree(scene.log), []);
  assert.deepEqual(await listTree(scene.out), []);
});

test('a customize step that makes a name or link text with a control character: error', async (t) => {
  for (const [what, make] of [
    ['name', `touch "$1/etc/$(printf 'bad\\001name')"`],
    ['link text', `ln -s "$(printf 'to\\033x')" "$1/etc/badlink"`],
  ] as const) {
    const scene = await newScene(t);
    const script = join(scene.fx, 'customize', 'badname');
    await writeFile(script, `#!/bin/sh\nset -eu\n${make}\n`, { mode: 0o755 });
    const r = await run(scene, withOption(goodArgs(scene), '--customize', script));
    await assertOutcome(scene, r, {
      code: 1,
      stderr: [new RegExp(`whose ${what} holds the control or invisible format character`)],
    });
    assert.deepEqual(await listTree(scene.out), [], what);
  }
});

test('a customize sibling that fails is the one named', async (t) => {
  const scene = await newScene(t);
  const sibling = join(scene.fx, 'customize', 'customize.20-fail');
  await writeFile(sibling, '#!/bin/sh\nexit 7\n', { mode: 0o755 });
  const r = await run(scene, goodArgs(scene));
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`customize script ${sibling} exited with status 7`],
  });
  assert.doesNotMatch(r.stderr, /customize\/customize exited/);
});

test('a customize script that is not executable', async (t) => {
  const scene = await newScene(t);
  const script = join(scene.fx, 'customize', 'customize');
  await chmod(script, 0o644);
  const r = await run(scene, goodArgs(scene));
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`customize script ${script} is not executable (chmod +x it)`],
  });
});

test('a customize script that does not exist', async (t) => {
  const scene = await newScene(t);
  const script = join(scene.fx, 'customize', 'no-such-script');
  const r = await run(scene, withOption(goodArgs(scene), '--customize', script));
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`customize script ${script}: does not exist`],
  });
});

// ---------------------------------------------------------------------------
// Output and log directories.

test('an output directory that is not writable', async (t) => {
  const scene = await newScene(t);
  scene.out = join(scene.root, 'readonly');
  await mkdir(scene.out);
  await chmod(scene.out, 0o555);
  const r = await run(scene, goodArgs(scene), { unprivileged: true });
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`output directory ${scene.out} is not writable: permission denied`],
  });
  assert.deepEqual(await listTree(scene.out), []);
});

test('an output path that is an existing file', async (t) => {
  const scene = await newScene(t);
  const file = join(scene.root, 'output-file');
  await writeFile(file, 'not a directory\n');
  scene.out = file;
  const r = await run(scene, goodArgs(scene));
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`output directory ${file} exists and is not a directory`],
  });
  assert.equal(await readFile(file, 'utf8'), 'not a directory\n');
});

test('a log directory path that is an existing file', async (t) => {
  const scene = await newScene(t);
  const file = join(scene.root, 'log-file');
  await writeFile(file, 'not a directory\n');
  scene.log = file;
  const r = await run(scene, goodArgs(scene));
  await assertOutcome(scene, r, {
    code: 1,
    stderr: [`log directory ${file} exists and is not a directory`],
  });
  assert.equal(await readFile(file, 'utf8'), 'not a directory\n');
});

test('a SOURCE_DATE_EPOCH that is not a number of seconds', async (t) => {
  const scene = await newScene(t);
  const r = await run(scene, goodArgs(scene), { env: { SOURCE_DATE_EPOCH: '2011-12-09' } });
  await assertOutcome(scene, r, {
    code: 1,
    stderr: ['SOURCE_DATE_EPOCH must be a whole number of seconds, not "2011-12-09"'],
  });
});

// ---------------------------------------------------------------------------
// Usage errors: exit 2, and nothing written (not even the default ./output).

const USAGE_ERRORS: { name: string; args: (good: string[]) => string[]; message: string }[] = [
  {
    name: 'unknown option',
    args: (good) => [...good, '--bogus'],
    message: "unknown option '--bogus'",
  },
  {
    name: '--archive bogus',
    args: (good) => [...good, '--archive', 'bogus'],
    message: "argument 'bogus' is invalid. Allowed choices are auto, ufs, ufs-native, hsfs, none",
  },
  {
    name: '--buildstamp 2011-12-09',
    args: (good) => [...good, '--buildstamp', '2011-12-09'],
    message: '--buildstamp "2011-12-09" is not a UTC stamp like 20111209T201508Z',
  },
  {
    name: '--buildstamp with an impossible date',
    args: (good) => [...good, '--buildstamp', '20111332T000000Z'],
    message: '--buildstamp "20111332T000000Z" is not a UTC stamp',
  },
  {
    name: '--define NOEQUALS',
    args: (good) => [...good, '--define', 'NOEQUALS'],
    message: '--define "NOEQUALS" is not NAME=VALUE',
  },
  {
    name: 'no --manifest at all',
    args: (good) => withOption(good, '--manifest'),
    message: 'no manifest given (-m/--manifest)',
  },
  {
    name: 'an option without its value',
    args: (good) => [...good, '--proto'],
    message: "option '--proto <dir>' argument missing",
  },
  {
    name: 'a stray argument',
    args: (good) => [...good, 'extra'],
    message: "too many arguments for 'build-live'",
  },
  { name: 'unknown command', args: () => ['bogus'], message: "unknown command 'bogus'" },
  { name: 'no command', args: () => [], message: 'Usage: joyent-live' },
];

for (const { name, args, message } of USAGE_ERRORS) {
  test(`usage error: ${name}`, async (t) => {
    const scene = await newScene(t);
    const good = goodArgs(scene);
    // Relative output and log in the working directory: a run that got as
    // far as writing would create them.
    const relativeOut = withOption(withOption(good, '--output', 'out'), '--log-dir', 'log');
    const r = await run(scene, args(relativeOut));
    await assertOutcome(scene, r, { code: 2, stderr: [message] });
    const after = await listTree(scene.root);
    assert.ok(!after.includes('out') && !after.includes('log'), after.join('\n'));
  });
}

// ---------------------------------------------------------------------------
// The broken fixture: built with a FAILED entry (docs/exit-codes.md: exit 3, artifacts).

test('the broken fixture: exit 3, the missing path with file:line and every place searched', async (t) => {
  const root = await scratchDir(t);
  const scene: Scene = {
    root,
    fx: FIXTURES,
    out: join(root, 'out'),
    log: join(root, 'log'),
    before: [],
  };
  const fixturesBefore = await listTree(FIXTURES);
  const broken = join(FIXTURES, 'manifests', 'broken');
  const missing = 'usr/share/man/man1/missing.1';
  const r = await run(scene, [...fixtureArgs(scene.out, scene.log), '--manifest', broken]);
  await assertOutcome(scene, r, {
    code: 3,
    stdout: [
      `build-live ${STAMP}: 1 FAILED`,
      `${join(broken, '90-missing.manifest')}:3: FAILED ${missing}`,
      `searched A:${join(FIXTURES, 'overlay-base', missing)}`,
      `searched A:${join(FIXTURES, 'overlay-site', missing)}`,
      `searched P:${join(FIXTURES, 'proto', missing)}`,
      `searched M:${join(FIXTURES, 'man', 'man1', 'missing.1')}`,
      `searched S:${join(FIXTURES, 'system-root', missing)}`,
      `platform: ${join(scene.out, PLATFORM)}`,
      `tgz: ${join(scene.out, `${PLATFORM}.tgz`)}`,
    ],
  });
  assert.match(await buildLog(scene), /^\*FAILED\* - FILE: usr\/share\/man\/man1\/missing\.1$/m);
  const record = await jsonlRecord(scene, missing);
  assert.equal(record.status, 'FAILED');
  assert.equal(record.manifest, join(broken, '90-missing.manifest'));
  assert.equal(record.line, 3);
  assert.equal(record.searched?.length, 5);
  assert.doesNotMatch(await bootManifest(scene), /missing\.1/);
  assert.deepEqual(await listTree(FIXTURES), fixturesBefore, 'action-fixtures/ was written');
});
