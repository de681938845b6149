/**
 * `joyent-live manifest lint|merge|diff`, run as a user runs them.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileIn, runCli, scratchDir } from './helpers/cli.js';
import { hasSharedData, REPO_ROOT, SMARTOS_DATA } from './helpers/paths.js';

type TestContext = Parameters<typeof scratchDir>[0];

/** Writes one manifest into a fresh scratch directory and returns its path. */
async function manifest(t: TestContext, text: string, name = 'manifest'): Promise<string> {
  const file = join(await scratchDir(t), name);
  await writeFile(file, text);
  return file;
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

const skipShared = hasSharedData
  ? false
  : `no real SmartOS data at ${SMARTOS_DATA} (put ../shared beside the checkout or set JOYENT_LIVE_SHARED)`;

describe('manifest lint', () => {
  /** Lints one manifest; returns the finding lines (without the summary) and the run. */
  async function lint(t: TestContext, text: string, ...flags: string[]) {
    const file = await manifest(t, text);
    const run = await runCli(['manifest', 'lint', ...flags, file]);
    const out = lines(run.stdout);
    return { file, run, findings: out.slice(0, -1), summary: out.at(-1) };
  }

  test('a file without owner read', async (t) => {
    const { file, run, findings, summary } = await lint(
      t,
      'd usr 0755 root sys\nf usr/svc.startd.1m 044 root bin\nf usr/ok 0444 root bin\n',
    );
    assert.deepEqual(findings, [
      `${file}:2: warning: usr/svc.startd.1m: file mode 0044 has no owner read bit (0400)`,
    ]);
    assert.equal(summary, '0 errors, 1 warnings in 3 entries (1 files)');
    assert.equal(run.code, 0);
    assert.equal(run.stderr, '');
  });

  test('a directory without owner search', async (t) => {
    const { file, run, findings } = await lint(
      t,
      'd var 0755 root sys\nd var/log 0755 root sys\nd var/log/beadm 0644 root root\n',
    );
    assert.deepEqual(findings, [
      `${file}:3: warning: var/log/beadm: directory mode 0644 has no owner search bit (0100)`,
    ]);
    assert.equal(run.code, 0);
  });

  test('setuid or setgid files not owned by root; root-owned ones are fine', async (t) => {
    const { file, findings } = await lint(
      t,
      [
        'd usr 0755 root sys',
        'f usr/tip 4511 uucp bin',
        'f usr/mailx 2511 smmsp mail',
        'f usr/both 6555 daemon bin',
        'f usr/su 4555 root sys',
        'f usr/write 2555 root tty',
        '',
      ].join('\n'),
    );
    assert.deepEqual(findings, [
      `${file}:2: warning: usr/tip: setuid file (mode 4511) owned by uucp, not root`,
      `${file}:3: warning: usr/mailx: setgid file (mode 2511) owned by smmsp, not root`,
      `${file}:4: warning: usr/both: setuid and setgid file (mode 6555) owned by daemon, not root`,
    ]);
  });

  test('a setuid directory (the 2011 manifest has d usr/libexec 07555)', async (t) => {
    const { file, findings } = await lint(
      t,
      'd usr 0755 root sys\nd usr/libexec 07555 root bin\nd usr/sgid 2755 root bin\n',
    );
    assert.deepEqual(findings, [
      `${file}:2: warning: usr/libexec: setuid bit (04000) on a directory (mode 7555) has no meaning`,
    ]);
  });

  test('world-writable: a directory without the sticky bit, and any file', async (t) => {
    const { file, findings } = await lint(
      t,
      [
        'd tmp 1777 root root',
        'd var 0755 root sys',
        'd var/spool 0777 root bin',
        'f var/logfile 0666 root sys',
        'f var/sticky 1666 root sys',
        '',
      ].join('\n'),
    );
    assert.deepEqual(findings, [
      `${file}:3: warning: var/spool: world-writable directory without the sticky bit (mode 0777; 1777 is usual)`,
      `${file}:4: warning: var/logfile: world-writable file (mode 0666)`,
      `${file}:5: warning: var/sticky: world-writable file (mode 1666)`,
    ]);
  });

  test('absolute symlink text is reported only with --strict, and then fails', async (t) => {
    const text = 'd usr 0755 root sys\ns usr/perl=/opt/local/bin/perl\ns usr/sh=../bin/sh\n';
    const plain = await lint(t, text);
    assert.deepEqual(plain.findings, []);
    assert.equal(plain.summary, '0 errors, 0 warnings in 3 entries (1 files)');
    assert.equal(plain.run.code, 0);
    const strict = await lint(t, text, '--strict');
    assert.deepEqual(strict.findings, [
      `${strict.file}:2: warning: usr/perl: symlink text "/opt/local/bin/perl" is absolute`,
    ]);
    assert.equal(strict.run.code, 1);
  });

  test('--strict makes warnings fail; a clean manifest passes it', async (t) => {
    const warned = 'd usr 0755 root sys\nf usr/x 0044 root sys\n';
    assert.equal((await lint(t, warned)).run.code, 0);
    const strict = await lint(t, warned, '--strict');
    assert.equal(strict.run.code, 1);
    assert.equal(strict.summary, '0 errors, 1 warnings in 2 entries (1 files)');
    const clean = await lint(t, 'd usr 0755 root sys\nf usr/x 0444 root sys\n', '--strict');
    assert.equal(clean.run.code, 0);
    assert.deepEqual(clean.findings, []);
  });

  test('every error and warning of loading is reported too, in file and line order', async (t) => {
    const dir = await scratchDir(t);
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await writeFile(a, 'd etc 0755 root sys\nf etc/motd 0644 root sys\nbogus line\n');
    await writeFile(b, 'f etc/motd 0600 root sys\ns etc=x\nf etc/shadow 0000 root sys\n');
    const run = await runCli(['manifest', 'lint', a, b]);
    assert.deepEqual(lines(run.stdout), [
      `${a}:3: error: unknown entry type "bogus" (expected d, f, s or h): "bogus line"`,
      `${b}:1: warning: etc/motd redefined: this definition overrides ${a}:2`,
      `${b}:2: error: etc is defined as a symlink here and as a directory at ${a}:1`,
      `${b}:3: warning: etc/shadow: file mode 0000 has no owner read bit (0400)`,
      '2 errors, 2 warnings in 3 entries (2 files)',
    ]);
    assert.equal(run.code, 1);
  });

  test('--format json', async (t) => {
    const file = await manifest(t, 'd usr 0755 root sys\nf usr/x 0044 root sys\nf usr/y\n');
    const run = await runCli(['manifest', 'lint', '--format', 'json', file]);
    assert.equal(run.code, 1);
    assert.deepEqual(JSON.parse(run.stdout), {
      errors: 1,
      warnings: 1,
      entries: 2,
      files: [file],
      findings: [
        {
          severity: 'warning',
          file,
          line: 2,
          message: 'usr/x: file mode 0044 has no owner read bit (0400)',
        },
        {
          severity: 'error',
          file,
          line: 3,
          message: '"f" takes 4 fields (path mode owner group), found 1: "f usr/y"',
        },
      ],
    });
  });

  test('a missing input is an error that names it, in text and json', async (t) => {
    const missing = join(await scratchDir(t), 'nope');
    const text = await runCli(['manifest', 'lint', missing]);
    assert.equal(text.code, 1);
    assert.deepEqual(lines(text.stdout), [
      `error: cannot read manifest ${missing}: does not exist`,
      '1 errors, 0 warnings in 0 entries (0 files)',
    ]);
    const json = await runCli(['manifest', 'lint', '--format=json', missing]);
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout), {
      errors: 1,
      warnings: 0,
      entries: 0,
      files: [],
      findings: [
        {
          severity: 'error',
          file: null,
          line: null,
          message: `cannot read manifest ${missing}: does not exist`,
        },
      ],
    });
  });

  test('$NAME needs --define', async (t) => {
    const file = await manifest(t, 'd usr 0755 root sys\nf usr/libstdc++.so.$V 0555 root bin\n');
    const without = await runCli(['manifest', 'lint', file]);
    assert.equal(without.code, 1);
    assert.match(without.stdout, /:2: error: undefined variable \$V \(pass --define V=VALUE\)/);
    const withDefine = await runCli(['manifest', 'lint', '--define', 'V=6.0.28', file]);
    assert.equal(withDefine.code, 0, withDefine.stdout);
  });

  test(
    'the real 2011 manifest: exit 0, its odd modes reported at their lines',
    { skip: skipShared },
    async () => {
      const m2011 = join(SMARTOS_DATA, 'manifest-2011-09.txt');
      const run = await runCli(['manifest', 'lint', m2011]);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(lines(run.stdout), [
        `${m2011}:2629: warning: usr/bin/tip: setuid file (mode 4511) owned by uucp, not root`,
        `${m2011}:8077: warning: usr/libexec: setuid bit (04000) on a directory (mode 7555) has no meaning`,
        `${m2011}:12608: warning: usr/share/man/man1m/svc.startd.1m: file mode 0044 has no owner read bit (0400)`,
        '0 errors, 3 warnings in 18856 entries (1 files)',
      ]);
      const strict = await runCli(['manifest', 'lint', '--strict', m2011]);
      assert.equal(strict.code, 1);
      assert.ok(
        strict.stdout.includes(
          `${m2011}:2484: warning: usr/bin/perl: symlink text "/opt/local/bin/perl" is absolute\n`,
        ),
      );
      assert.match(strict.stdout, /^0 errors, 4 warnings in 18856 entries \(1 files\)$/m);
    },
  );

  test('the real 2010 manifest: d var/log/beadm 0644', { skip: skipShared }, async () => {
    const m2010 = join(SMARTOS_DATA, 'manifest-2010-10.txt');
    const run = await runCli(['manifest', 'lint', m2010]);
    assert.equal(run.code, 0);
    assert.ok(
      run.stdout.includes(
        `${m2010}:17837: warning: var/log/beadm: directory mode 0644 has no owner search bit (0100)\n`,
      ),
    );
  });

  test('usage errors exit 2', async (t) => {
    const file = await manifest(t, 'd usr 0755 root sys\n');
    for (const args of [
      ['manifest', 'lint'],
      ['manifest', 'lint', '--format', 'xml', file],
      ['manifest', 'lint', '--define', 'NOVALUE', file],
      ['manifest', 'lint', '--bogus', file],
      ['manifest', 'frobnicate'],
      ['manifest'],
    ]) {
      const run = await runCli(args);
      assert.equal(run.code, 2, args.join(' '));
      assert.equal(run.stdout, '', args.join(' '));
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});

describe('manifest merge', () => {
  test('sorted by path in byte order, normalized, variables substituted, later wins with a warning', async (t) => {
    const dir = await scratchDir(t);
    const snippets = join(dir, 'snippets');
    await mkdir(snippets);
    await writeFile(
      join(snippets, '10-base'),
      [
        '# base',
        'd usr\t755   root  sys',
        '  f usr/lib/libstdc++.so.$VER\t0555 root bin',
        's usr/lib/libstdc++.so.6=libstdc++.so.${VER}',
        'd usr/bin 0755 root bin',
        'd usr/vm/ 0755 root root',
        'd usr/lib 0755 root bin',
        'f usr/bin/su 4555 root sys\r',
        'f etc 0644 root sys',
      ].join('\n'),
    );
    await writeFile(join(snippets, '20-site'), 'f usr/bin/su 4511 root sys\nd usr 0755 root sys\n');
    const extra = await fileIn(
      dir,
      'extra',
      'h usr/bin/sh-su=usr/bin/su\nd USR 0700 root root\nd usr-x 0755 root sys\n',
    );
    const run = await runCli(['manifest', 'merge', '--define', 'VER=6.0.28', snippets, extra]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      [
        'd USR 0700 root root',
        'f etc 0644 root sys',
        'd usr 0755 root sys',
        'd usr-x 0755 root sys',
        'd usr/bin 0755 root bin',
        'h usr/bin/sh-su=usr/bin/su',
        'f usr/bin/su 4511 root sys',
        'd usr/lib 0755 root bin',
        's usr/lib/libstdc++.so.6=libstdc++.so.6.0.28',
        'f usr/lib/libstdc++.so.6.0.28 0555 root bin',
        'd usr/vm 0755 root root',
        '',
      ].join('\n'),
    );
    assert.deepEqual(lines(run.stderr), [
      `${join(snippets, '10-base')}:6: warning: trailing "/" dropped from directory "usr/vm/"`,
      `${join(snippets, '20-site')}:1: warning: usr/bin/su redefined: this definition overrides ${join(snippets, '10-base')}:8`,
    ]);

    // Merging the merged output again gives the same bytes, silently.
    const merged = await fileIn(dir, 'merged', run.stdout);
    const again = await runCli(['manifest', 'merge', merged]);
    assert.equal(again.code, 0);
    assert.equal(again.stdout, run.stdout);
    assert.equal(again.stderr, '');
  });

  test('a path with two types is an error: exit 1, nothing on stdout', async (t) => {
    const dir = await scratchDir(t);
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await writeFile(a, 'd usr 0755 root sys\nf usr/bin 0755 root sys\n');
    await writeFile(b, 'd usr/bin 0755 root bin\n');
    const run = await runCli(['manifest', 'merge', a, b]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.deepEqual(lines(run.stderr), [
      `${b}:1: error: usr/bin is defined as a directory here and as a file at ${a}:2`,
      'joyent-live: error: 1 error in the manifests: nothing merged',
    ]);
  });

  test('an unreadable input and a bad line are errors; nothing on stdout', async (t) => {
    const dir = await scratchDir(t);
    const bad = await fileIn(dir, 'bad', 'd usr 0755 root sys\nf /etc/passwd 0644 root sys\n');
    const run = await runCli(['manifest', 'merge', join(dir, 'nope'), bad]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.deepEqual(lines(run.stderr), [
      `error: cannot read manifest ${join(dir, 'nope')}: does not exist`,
      `${bad}:2: error: unsafe path: absolute path "/etc/passwd" (paths are relative to the image root): "f /etc/passwd 0644 root sys"`,
      'joyent-live: error: 2 errors in the manifests: nothing merged',
    ]);
  });

  test('a --define value the output could not carry is an error, not a broken manifest', async (t) => {
    const file = await manifest(t, 'd usr 0755 root sys\ns usr/x=$T\n');
    const run = await runCli(['manifest', 'merge', '--define', 'T=a$U', file]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      new RegExp(
        `^${file}:2: error: "s usr/x=a\\$U" cannot be written back as a manifest line`,
        'm',
      ),
    );
  });

  test('a --define value with a blank or a control character is a usage error naming it', async (t) => {
    const file = await manifest(t, 'd usr 0755 root sys\ns usr/x=$T\n');
    for (const [value, shown] of [
      ['a b', 'a blank \\(\\\\x20\\)'],
      ['a\nf usr/evil 0755 root sys', 'a control character \\(\\\\n\\)'],
      ['a\r::error::PWNED', 'a control character \\(\\\\r\\)'],
      ['a\tb', 'a control character \\(\\\\t\\)'],
      ['a\u202eb', '\\(\\\\u202e\\)'],
    ]) {
      for (const command of ['lint', 'merge', 'diff']) {
        const args = ['manifest', command, '--define', `T=${value}`, file];
        if (command === 'diff') args.push(file);
        const run = await runCli(args);
        assert.equal(run.code, 2, `${command} ${JSON.stringify(value)}: ${run.stderr}`);
        assert.equal(run.stdout, '');
        assert.match(run.stderr, /--define "T=.*": the value of T holds /);
        assert.match(run.stderr, new RegExp(shown));
        assert.doesNotMatch(run.stderr, /[\r\u202e]|PWNED\n/);
      }
    }
  });

  test('usage errors exit 2', async () => {
    for (const args of [
      ['manifest', 'merge'],
      ['manifest', 'merge', '--define', '1X=2', 'm'],
      ['manifest', 'merge', '--format', 'json', 'm'],
    ]) {
      const run = await runCli(args);
      assert.equal(run.code, 2, args.join(' '));
      assert.equal(run.stdout, '');
    }
  });

  test(
    'the real smartos-live src and man manifests merge and round-trip',
    { skip: skipShared },
    async (t) => {
      // As a user types it in the checkout: ../shared/data/smartos/...
      const data = relative(REPO_ROOT, SMARTOS_DATA);
      const src = join(data, 'smartos-live-src.manifest');
      const man = join(data, 'smartos-live-man.manifest');
      const run = await runCli(['manifest', 'merge', src, man], { cwd: REPO_ROOT });
      assert.equal(run.code, 0, run.stderr);
      const out = lines(run.stdout);
      assert.equal(out.length, 1158 + 32);
      const paths = out.map((l) => l.split(/[ =]/)[1]);
      const sorted = [...paths].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      assert.deepEqual(paths, sorted);
      assert.ok(out.includes('d usr/vm/node_modules/macaddr 0755 root root'));
      assert.ok(
        out.every((l) => /^([df] \S+ [0-7]{4,} \S+ \S+|[sh] [^ =]+=[^ =]+)$/.test(l)),
        'normalized',
      );
      // Only the trailing-slash warnings of the src manifest.
      assert.ok(lines(run.stderr).every((l) => l.includes('warning: trailing "/" dropped')));

      const merged = join(await scratchDir(t), 'merged');
      await writeFile(merged, run.stdout);
      const again = await runCli(['manifest', 'merge', merged]);
      assert.equal(again.stdout, run.stdout);
    },
  );

  test('the real 2011 manifest round-trips', { skip: skipShared }, async (t) => {
    const run = await runCli(['manifest', 'merge', join(SMARTOS_DATA, 'manifest-2011-09.txt')]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(lines(run.stdout).length, 18856);
    assert.ok(run.stdout.includes('\nd usr/libexec 7555 root bin\n'));
    assert.ok(run.stdout.includes('\nf usr/share/man/man1m/svc.startd.1m 0044 root bin\n'));
    const merged = join(await scratchDir(t), 'merged');
    await writeFile(merged, run.stdout);
    const again = await runCli(['manifest', 'merge', merged]);
    assert.equal(again.code, 0);
    assert.ok(again.stdout === run.stdout, 'the merged output merges to the same bytes');
  });
});

describe('manifest diff', () => {
  const BASE = [
    'd etc 0755 root sys',
    'f etc/motd 0644 root sys',
    'f etc/old 0644 root sys',
    's bin=usr/bin',
    'd usr 0755 root sys',
    '',
  ].join('\n');

  test('the same entries, written differently, are the same: exit 0', async (t) => {
    const dir = await scratchDir(t);
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await writeFile(a, BASE);
    // Other order, blanks, comments, a 3-digit mode, a snippet directory.
    await mkdir(b);
    await writeFile(join(b, '1'), '# usr\nd usr 755 root sys\r\ns bin=usr/bin\n');
    await writeFile(
      join(b, '2'),
      'f etc/old\t0644 root sys\nf etc/motd 0644 root sys\nd etc 0755 root sys',
    );
    const run = await runCli(['manifest', 'diff', a, b]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      '0 added, 0 removed, 0 changed: the manifests are the same (5 entries)\n',
    );
    const json = await runCli(['manifest', 'diff', '--format', 'json', a, b]);
    assert.equal(json.code, 0);
    const report = JSON.parse(json.stdout) as { same: boolean; added: []; changed: [] };
    assert.equal(report.same, true);
    assert.deepEqual([report.added, report.changed], [[], []]);
  });

  test('one added, one removed, one mode change, one target change', async (t) => {
    const dir = await scratchDir(t);
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await writeFile(a, BASE);
    await writeFile(
      b,
      [
        'd etc 0755 root sys',
        'f etc/motd 0600 root sys',
        's bin=./usr/bin',
        'd usr 0755 root sys',
        'f etc/new 0444 root sys',
        '',
      ].join('\n'),
    );
    const run = await runCli(['manifest', 'diff', a, b]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, '');
    assert.deepEqual(lines(run.stdout), [
      'added (1):',
      `  + f etc/new 0444 root sys  (B ${b}:5)`,
      'removed (1):',
      `  - f etc/old 0644 root sys  (A ${a}:3)`,
      'changed (2):',
      `  ~ bin: target usr/bin -> ./usr/bin  (A ${a}:4, B ${b}:3)`,
      `  ~ etc/motd: mode 0644 -> 0600  (A ${a}:2, B ${b}:2)`,
      '1 added, 1 removed, 2 changed (1 mode, 1 target)',
    ]);

    const json = await runCli(['manifest', 'diff', '--format=json', a, b]);
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout), {
      same: false,
      a: { input: a, files: [a], entries: 5 },
      b: { input: b, files: [b], entries: 5 },
      counts: { added: 1, removed: 1, changed: 2, type: 0, mode: 1, owner: 0, group: 0, target: 1 },
      added: [{ path: 'etc/new', entry: 'f etc/new 0444 root sys', b: { file: b, line: 5 } }],
      removed: [{ path: 'etc/old', entry: 'f etc/old 0644 root sys', a: { file: a, line: 3 } }],
      changed: [
        {
          path: 'bin',
          kind: 'target',
          before: 'usr/bin',
          after: './usr/bin',
          a: { file: a, line: 4 },
          b: { file: b, line: 3 },
        },
        {
          path: 'etc/motd',
          kind: 'mode',
          before: '0644',
          after: '0600',
          a: { file: a, line: 2 },
          b: { file: b, line: 2 },
        },
      ],
    });
  });

  test('type, owner and group changes; a type change is reported alone', async (t) => {
    const dir = await scratchDir(t);
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await writeFile(a, 'd etc 0755 root sys\nf etc/x 0644 root sys\nf etc/y 0644 root sys\n');
    await writeFile(b, 'd etc 0755 root sys\ns etc/x=y\nf etc/y 0644 adm staff\n');
    const run = await runCli(['manifest', 'diff', a, b]);
    assert.equal(run.code, 1);
    assert.deepEqual(lines(run.stdout), [
      'changed (2):',
      `  ~ etc/x: type f etc/x 0644 root sys -> s etc/x=y  (A ${a}:2, B ${b}:2)`,
      `  ~ etc/y: owner root -> adm  (A ${a}:3, B ${b}:3)`,
      `  ~ etc/y: group sys -> staff  (A ${a}:3, B ${b}:3)`,
      '0 added, 0 removed, 2 changed (1 type, 1 owner, 1 group)',
    ]);
  });

  test('--define applies to both sides', async (t) => {
    const dir = await scratchDir(t);
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await writeFile(a, 's lib.so=lib.so.$V\n');
    await writeFile(b, 's lib.so=lib.so.6\n');
    const run = await runCli(['manifest', 'diff', '--define', 'V=6', a, b]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
  });

  test('an invalid or missing manifest is an error, not a difference', async (t) => {
    const dir = await scratchDir(t);
    const good = join(dir, 'good');
    const bad = join(dir, 'bad');
    await writeFile(good, BASE);
    await writeFile(bad, 'd etc 0755 root sys\nf etc/motd 0644 root\n');
    const run = await runCli(['manifest', 'diff', good, bad]);
    // Not 1: that means "different" (docs/exit-codes.md).
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.deepEqual(lines(run.stderr), [
      `${bad}:2: error: "f" takes 4 fields (path mode owner group), found 3: "f etc/motd 0644 root"`,
      `joyent-live: error: cannot compare: ${bad} has 1 error (an error in the input, not a difference)`,
    ]);

    const missing = join(dir, 'nope');
    const json = await runCli(['manifest', 'diff', '--format', 'json', missing, good]);
    assert.equal(json.code, 2);
    assert.equal(json.stdout, '');
    assert.match(json.stderr, new RegExp(`cannot read manifest ${missing}: does not exist`));
    assert.match(json.stderr, /joyent-live: error: cannot compare: .*not a difference/);
  });

  test('usage errors exit 2', async (t) => {
    const file = await manifest(t, BASE);
    for (const args of [
      ['manifest', 'diff', file],
      ['manifest', 'diff', file, file, file],
      ['manifest', 'diff', '--format', 'yaml', file, file],
    ]) {
      const run = await runCli(args);
      assert.equal(run.code, 2, args.join(' '));
      assert.equal(run.stdout, '');
    }
  });

  test('the real 2010 and 2011 manifests: text and json agree', { skip: skipShared }, async () => {
    const m2010 = join(SMARTOS_DATA, 'manifest-2010-10.txt');
    const m2011 = join(SMARTOS_DATA, 'manifest-2011-09.txt');
    const text = await runCli(['manifest', 'diff', m2010, m2011]);
    assert.equal(text.code, 1, text.stderr);
    assert.equal(
      lines(text.stdout).at(-1),
      '10027 added, 9093 removed, 354 changed (349 type, 5 target)',
    );
    // 2011 made many copies hard links (sbin/rc5 -> sbin/rc0).
    assert.ok(
      text.stdout.includes(
        `  ~ sbin/rc5: type f sbin/rc5 0744 root sys -> h sbin/rc5=sbin/rc0  (A ${m2010}:2938, B ${m2011}:1910)\n`,
      ),
    );
    const json = await runCli(['manifest', 'diff', '--format', 'json', m2010, m2011]);
    assert.equal(json.code, 1, json.stderr);
    const report = JSON.parse(json.stdout) as {
      same: boolean;
      counts: Record<string, number>;
      a: { entries: number };
      b: { entries: number };
      added: unknown[];
      changed: unknown[];
    };
    assert.equal(report.same, false);
    assert.deepEqual([report.a.entries, report.b.entries], [17922, 18856]);
    assert.deepEqual(report.counts, {
      added: 10027,
      removed: 9093,
      changed: 354,
      type: 349,
      mode: 0,
      owner: 0,
      group: 0,
      target: 5,
    });
    assert.equal(report.added.length, 10027);
    assert.equal(report.changed.length, 354);
  });
});
