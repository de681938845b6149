import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isoToolProblem } from '../src/archive/hsfs.js';
import { buildLive } from '../src/live/build-live.js';
import { compareBytes } from '../src/manifest/path.js';
import { VERSION } from '../src/version.js';
import { fileIn, isRoot, listTree, runCli, scratchDir } from './helpers/cli.js';
import { hasXorriso, listIso } from './helpers/iso.js';
import { fixtureArgs, REPO_ROOT } from './helpers/paths.js';

const STAMP = '20111209T201508Z'; // SOURCE_DATE_EPOCH=1323461708, set by runCli
const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');
const needsXorriso = { skip: !hasXorriso && 'xorriso is not installed (apt-get install xorriso)' };
const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');

async function buildFixtures(t: Parameters<typeof scratchDir>[0], extra: string[] = []) {
  const dir = await scratchDir(t);
  const output = join(dir, 'output');
  const log = join(dir, 'log');
  const run = await runCli([...fixtureArgs(output, log), ...extra]);
  const platform = join(output, `platform-${STAMP}`);
  return { dir, output, log, run, platform, archive: join(platform, 'i86pc', 'amd64') };
}

interface ManifestLine {
  type: string;
  path: string;
  mode?: number;
  owner?: string;
  group?: string;
  md5?: string;
  target?: string;
}

function parseBootManifest(text: string): ManifestLine[] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => {
      const [type, rest] = [line[0], line.slice(2)];
      if (type === 's') {
        const [path, target] = rest.split('=');
        return { type, path, target };
      }
      const [path, mode, owner, group, sum] = rest.split(' ');
      return { type, path, mode: parseInt(mode, 8), owner, group, md5: sum };
    });
}

test(
  'the fixture build (npm start) makes the documented output layout, log, manifest and image',
  needsXorriso,
  async (t) => {
    const b = await buildFixtures(t);
    assert.equal(b.run.code, 0, b.run.stderr);
    assert.match(b.run.stdout, /build-live 20111209T201508Z: OK/);
    assert.match(b.run.stdout, /files: A=6 P=7 M=2 S=1/);
    assert.deepEqual(await listTree(b.output), [
      `platform-${STAMP}`,
      `platform-${STAMP}.tgz`,
      `platform-${STAMP}/i86pc`,
      `platform-${STAMP}/i86pc/amd64`,
      `platform-${STAMP}/i86pc/amd64/boot_archive`,
      `platform-${STAMP}/i86pc/amd64/boot_archive.hash`,
      `platform-${STAMP}/i86pc/amd64/boot_archive.manifest`,
      `platform-${STAMP}/i86pc/kernel`,
      `platform-${STAMP}/i86pc/kernel/amd64`,
      `platform-${STAMP}/i86pc/kernel/amd64/unix`,
    ]);
    assert.deepEqual(await listTree(b.log), [
      `build_live.${STAMP}.jsonl`,
      `build_live.${STAMP}.log`,
    ]);

    // The log: every line is a docs/build-log.md entry line or an ignorable `#` line.
    const log = (await readFile(join(b.log, `build_live.${STAMP}.log`), 'utf8'))
      .trimEnd()
      .split('\n');
    const entryLine =
      /^(OK - DIR: \S+|OK\[[APMS]\] - FILE: \S+|OK - SYMLINK: \S+ -> \S+|OK - LINK: \S+ -> \S+)$/;
    for (const line of log) assert.ok(line.startsWith('#') || entryLine.test(line), line);
    for (const expected of [
      'OK - DIR: usr/bin',
      'OK[A] - FILE: etc/passwd',
      'OK[P] - FILE: usr/bin/su',
      'OK[P] - FILE: usr/bin/dir',
      'OK[M] - FILE: usr/share/man/man1/ls.1',
      'OK[S] - FILE: etc/security/policy.conf',
      'OK - SYMLINK: ../bin/ls -> usr/sbin/ls',
      'OK - LINK: usr/bin/su -> usr/bin/sh-su',
    ]) {
      assert.ok(log.includes(expected), expected);
    }
    const entries = log.filter((l) => !l.startsWith('#'));
    // Applied directories first, then files, symlinks, hard links.
    const kinds = entries.map((l) => /(DIR|FILE|SYMLINK|LINK):/.exec(l)![1]);
    assert.deepEqual(
      kinds,
      [...kinds].sort(
        (a, b) =>
          ['DIR', 'FILE', 'SYMLINK', 'LINK'].indexOf(a) -
          ['DIR', 'FILE', 'SYMLINK', 'LINK'].indexOf(b),
      ),
    );

    // The JSONL twin: one record per entry line, same order.
    const records = (await readFile(join(b.log, `build_live.${STAMP}.jsonl`), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(records.length, entries.length);
    const su = records.find((r) => r.path === 'usr/bin/su')!;
    assert.equal(su.mode, '4555');
    assert.equal(su.uid, 0);
    assert.equal(su.group, 'sys');
    assert.equal(su.gid, 3);
    assert.equal(su.tag, 'P');
    assert.equal(su.line, 13);
    assert.match(String(su.manifest), /10-files\.manifest$/);
    assert.equal(su.md5, md5(await readFile(join(REPO_ROOT, 'action-fixtures/proto/usr/bin/su'))));
    const dir = records.find((r) => r.path === 'usr/bin/dir')!;
    assert.match(String(dir.resolved), /action-fixtures\/proto\/usr\/bin\/ls$/);

    // boot_archive.manifest: docs/boot-archive-manifest.md, sorted, customize's changes included.
    const text = await readFile(join(b.archive, 'boot_archive.manifest'), 'utf8');
    assert.ok(text.endsWith('\n') && !/[ \t]$/m.test(text));
    const lines = parseBootManifest(text);
    assert.deepEqual(lines[0], {
      type: 'd',
      path: '.',
      mode: 0o755,
      owner: 'root',
      group: 'root',
      md5: undefined,
    });
    const paths = lines.map((l) => l.path);
    assert.deepEqual(paths, [...paths].sort(compareBytes));
    const byPath = new Map(lines.map((l) => [l.path.replace(/^\.\//, ''), l]));
    assert.equal(byPath.get('etc/joyent_buildstamp')?.md5, md5(`${STAMP}\n`));
    assert.equal(byPath.get('etc/release')?.mode, 0o444, 'made by the customize script');
    assert.equal(
      byPath.get('etc/motd')?.md5,
      md5(`SmartOS Live Image (joyent-live fixture)\nbuild: ${STAMP}\n`),
    );
    assert.equal(byPath.get('usr/bin/sh-su')?.md5, byPath.get('usr/bin/su')?.md5);
    assert.equal(byPath.get('usr/bin/sh-su')?.mode, 0o4555);
    assert.deepEqual(byPath.get('usr/sbin/ls'), {
      type: 's',
      path: './usr/sbin/ls',
      target: '../bin/ls',
    });
    assert.equal(byPath.get('tmp')?.mode, 0o1777);
    assert.equal(byPath.has('var/log/manifest'), false, 'the copy does not list itself');

    const bootArchive = await readFile(join(b.archive, 'boot_archive'));
    assert.equal(
      await readFile(join(b.archive, 'boot_archive.hash'), 'utf8'),
      `${sha1(bootArchive)}\n`,
    );
    assert.deepEqual(
      await readFile(join(b.platform, 'i86pc/kernel/amd64/unix')),
      await readFile(join(REPO_ROOT, 'action-fixtures/proto/platform/i86pc/kernel/amd64/unix')),
    );
  },
);

test(
  'two builds with the same inputs give byte-identical log, manifest, tgz and image',
  needsXorriso,
  async (t) => {
    const one = await buildFixtures(t);
    const two = await buildFixtures(t);
    assert.equal(one.run.code, 0, one.run.stderr);
    assert.equal(two.run.code, 0, two.run.stderr);
    for (const file of [
      `log/build_live.${STAMP}.log`,
      `log/build_live.${STAMP}.jsonl`,
      `output/platform-${STAMP}.tgz`,
      `output/platform-${STAMP}/i86pc/amd64/boot_archive.manifest`,
      `output/platform-${STAMP}/i86pc/amd64/boot_archive`,
    ]) {
      assert.deepEqual(
        await readFile(join(one.dir, file)),
        await readFile(join(two.dir, file)),
        file,
      );
    }
  },
);

test(
  'the tgz: members under platform-<STAMP>/, sorted, owner 0/0, fixed mtimes, bare gzip header',
  needsXorriso,
  async (t) => {
    const b = await buildFixtures(t);
    assert.equal(b.run.code, 0, b.run.stderr);
    const tgz = join(b.output, `platform-${STAMP}.tgz`);
    const header = (await readFile(tgz)).subarray(0, 10);
    assert.equal(header[3] & 0x08, 0, 'no FNAME in the gzip header');
    assert.equal(header.readUInt32LE(4), 0, 'no time in the gzip header');
    // GNU tar reads it back: names, owners and times as promised.
    const list = spawnSync('tar', ['--numeric-owner', '--full-time', '-tvzf', tgz], {
      encoding: 'utf8',
    });
    assert.equal(list.status, 0, list.stderr);
    const rows = list.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s+/));
    const names = rows.map((r) => r[5]);
    assert.ok(
      names.every((n) => n.startsWith(`platform-${STAMP}/`)),
      names.join(' '),
    );
    assert.deepEqual(names, [...names].sort(compareBytes));
    assert.ok(rows.every((r) => r[1] === '0/0'));
    assert.ok(
      rows.every((r) => `${r[3]} ${r[4]}` === '2011-12-09 20:15:08'),
      list.stdout,
    );
    assert.ok(names.includes(`platform-${STAMP}/i86pc/amd64/boot_archive`));
  },
);

test(
  'the hsfs image, read back by xorriso, has every path, mode, owner, link and md5 of the manifest',
  needsXorriso,
  async (t) => {
    const b = await buildFixtures(t, ['--archive', 'hsfs']);
    assert.equal(b.run.code, 0, b.run.stderr);
    const image = join(b.archive, 'boot_archive');
    const lines = parseBootManifest(
      await readFile(join(b.archive, 'boot_archive.manifest'), 'utf8'),
    );
    const iso = new Map(listIso(image).map((n) => [n.path, n]));
    const passwd = await readFile(
      join(REPO_ROOT, 'action-fixtures/overlay-base/etc/passwd'),
      'utf8',
    );
    const group = await readFile(join(REPO_ROOT, 'action-fixtures/overlay-base/etc/group'), 'utf8');
    const ids = (text: string) =>
      new Map(
        text
          .split('\n')
          .map((l) => l.split(':'))
          .map((f) => [f[0], Number(f[2])]),
      );
    const uids = ids(passwd);
    const gids = ids(group);
    // The image also holds var/log/manifest, the copy that does not list itself.
    assert.equal(iso.size, lines.length + 1);
    const extracted = join(b.dir, 'extracted');
    const extract = spawnSync(
      'xorriso',
      ['-no_rc', '-osirrox', 'on', '-indev', image, '-extract', '/', extracted],
      { encoding: 'utf8' },
    );
    assert.equal(extract.status, 0, extract.stderr);
    for (const line of lines) {
      const path = line.path.replace(/^\.\//, '');
      const node = iso.get(path);
      assert.ok(node, `${path} is in the image`);
      assert.equal(node.type, line.type, path);
      if (line.type === 's') {
        assert.equal(node.target, line.target, path);
        continue;
      }
      assert.equal(node.mode.toString(8), line.mode!.toString(8), path);
      assert.equal(node.uid, uids.get(line.owner!), path);
      assert.equal(node.gid, gids.get(line.group!), path);
      if (line.type === 'f')
        assert.equal(md5(await readFile(join(extracted, path))), line.md5, path);
    }
    assert.equal(
      await readFile(join(extracted, 'var/log/manifest'), 'utf8'),
      await readFile(join(b.archive, 'boot_archive.manifest'), 'utf8'),
    );
  },
);

test('--archive none: manifest, log and the staged tree with the image modes; no boot_archive, no tgz', async (t) => {
  const b = await buildFixtures(t, ['--archive', 'none']);
  assert.equal(b.run.code, 0, b.run.stderr);
  const tree = await listTree(b.output);
  assert.ok(!tree.some((p) => p.endsWith('.tgz') || p.endsWith('boot_archive')), tree.join('\n'));
  assert.ok(tree.includes(`platform-${STAMP}/i86pc/amd64/boot_archive.manifest`));
  const image = join(b.output, `image-${STAMP}`);
  assert.equal((await stat(join(image, 'usr/bin/su'))).mode & 0o7777, 0o4555);
  assert.equal((await stat(join(image, 'tmp'))).mode & 0o7777, 0o1777);
  assert.equal(await readFile(join(image, 'etc/joyent_buildstamp'), 'utf8'), `${STAMP}\n`);
});

test(
  '--json prints a machine-readable summary on stdout; --buildstamp wins over SOURCE_DATE_EPOCH',
  needsXorriso,
  async (t) => {
    const b = await buildFixtures(t, ['--json', '--buildstamp', '20200102T030405Z']);
    assert.equal(b.run.code, 0, b.run.stderr);
    const summary = JSON.parse(b.run.stdout) as Record<string, unknown> & {
      counts: Record<string, number>;
    };
    assert.equal(summary.buildstamp, '20200102T030405Z');
    assert.equal(summary.exitCode, 0);
    assert.deepEqual(
      ['A', 'P', 'M', 'S', 'failed', 'unknownOwners'].map((k) => summary.counts[k]),
      [6, 7, 2, 1, 0, 0],
    );
    assert.match(String(summary.tgz), /platform-20200102T030405Z\.tgz$/);
    assert.match(b.run.stderr, /build-live 20200102T030405Z: OK/);
    // Timestamps inside still come from SOURCE_DATE_EPOCH.
    const list = spawnSync('tar', ['--full-time', '-tvzf', String(summary.tgz)], {
      encoding: 'utf8',
    });
    assert.match(list.stdout, new RegExp(`2011-12-09 20:15:08 platform-20200102T030405Z/`));
  },
);

test('--help documents every option; --version matches package.json', async () => {
  const help = await runCli(['build-live', '--help']);
  assert.equal(help.code, 0);
  for (const option of [
    '--manifest',
    '--proto',
    '--overlay',
    '--man-dir',
    '--system-root',
    '--no-system-root',
    '--customize',
    '--output',
    '--log-dir',
    '--buildstamp',
    '--define',
    '--archive',
    '--json',
  ]) {
    assert.ok(help.stdout.includes(option), option);
  }
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  assert.equal(VERSION, pkg.version);
  const version = await runCli(['--version']);
  assert.equal(version.stdout.trim(), pkg.version);
});

test('parents no d entry names are created 0755 root sys, with a warning naming file:line', async (t) => {
  const dir = await scratchDir(t);
  // No `d etc`, `d usr` or `d var`: etc/passwd's parent, usr/bin's and the
  // ones etc/joyent_buildstamp and var/log/manifest need are made for them.
  const manifest = await fileIn(
    dir,
    'm',
    'f etc/passwd 0644 root sys\nf etc/group 0644 root sys\nd usr/bin 0755 root bin\n',
  );
  const result = await buildLive({
    manifests: [manifest],
    overlays: [join(REPO_ROOT, 'action-fixtures/overlay-base')],
    output: join(dir, 'out'),
    logDir: join(dir, 'log'),
    archive: 'none',
    sourceDateEpoch: '1323461708',
  });
  assert.equal(result.exitCode, 0);
  assert.deepEqual(result.warnings, [
    `${manifest}:2: warning: parent directory etc of etc/group is not in the manifest: created 0755 root sys`,
    `${manifest}:3: warning: parent directory usr of usr/bin is not in the manifest: created 0755 root sys`,
    'warning: directory var is not in the manifest: created for var/log/manifest',
    'warning: directory var/log is not in the manifest: created for var/log/manifest',
  ]);
  const text = await readFile(result.bootManifest, 'utf8');
  for (const line of [
    'd ./etc 0755 root sys',
    'd ./usr 0755 root sys',
    'd ./var 0755 root sys',
    'd ./var/log 0755 root sys',
  ]) {
    assert.ok(text.split('\n').includes(line), line);
  }
  const log = await readFile(result.log, 'utf8');
  assert.match(log, /^OK - DIR: etc$/m);
  assert.match(log, /^# .*:2: warning: parent directory etc of etc\/group/m);
});

test('what the customize step changes, adds and removes is what boot_archive.manifest lists', async (t) => {
  const dir = await scratchDir(t);
  const script = await fileIn(
    dir,
    'customize',
    [
      '#!/bin/sh',
      'set -eu',
      'test "$IMAGE_ROOT" = "$1" && test -n "$BUILDSTAMP" && test -d "$PROTO" && test -d "$2"',
      // Absolute paths, whatever the command line used: scripts may cd.
      'case "$1$PROTO$2" in /*/*/*) ;; *) exit 9 ;; esac',
      'case "$PROTO" in /*) ;; *) exit 9 ;; esac',
      'case "$2" in /*) ;; *) exit 9 ;; esac',
      'chmod 0700 "$1/usr/bin/ls"',
      'rm "$1/usr/bin/dir"',
      'ln -s ls "$1/usr/bin/list"',
      'mkdir "$1/opt"',
      'echo added > "$1/opt/added"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const args = fixtureArgs(join(dir, 'out'), join(dir, 'log'));
  args[args.indexOf('--customize') + 1] = script;
  const run = await runCli([...args, '--archive', 'none']);
  assert.equal(run.code, 0, run.stderr);
  const lines = (
    await readFile(join(dir, 'out', `platform-${STAMP}/i86pc/amd64/boot_archive.manifest`), 'utf8')
  ).split('\n');
  assert.ok(
    lines.includes(
      `f ./usr/bin/ls 0700 root bin ${md5(await readFile(join(REPO_ROOT, 'action-fixtures/proto/usr/bin/ls')))}`,
    ),
  );
  assert.ok(!lines.some((l) => l.startsWith('f ./usr/bin/dir ')));
  assert.ok(lines.includes('s ./usr/bin/list=ls'));
  assert.ok(lines.includes('d ./opt 0755 root root'));
  assert.ok(lines.includes(`f ./opt/added 0644 root root ${md5('added\n')}`));
});

test(
  'a hard link to a symlink becomes a symlink with the same text, in the manifest and the image',
  needsXorriso,
  async (t) => {
    const dir = await scratchDir(t);
    const manifest = await fileIn(
      dir,
      'm',
      [
        'd etc 0755 root sys',
        'd etc/fs 0755 root sys',
        'd lib 0755 root sys',
        'd lib/fs 0755 root sys',
        's etc/fs/mount=../../sbin/zfs',
        'h lib/fs/mount=etc/fs/mount',
        '',
      ].join('\n'),
    );
    const result = await buildLive({
      manifests: [manifest],
      output: join(dir, 'out'),
      logDir: join(dir, 'log'),
      archive: 'hsfs',
      sourceDateEpoch: '1323461708',
    });
    assert.equal(result.exitCode, 0);
    const lines = (await readFile(result.bootManifest, 'utf8')).split('\n');
    assert.ok(lines.includes('s ./lib/fs/mount=../../sbin/zfs'), lines.join('\n'));
    assert.match(
      await readFile(result.log, 'utf8'),
      /^OK - LINK: etc\/fs\/mount -> lib\/fs\/mount$/m,
    );
    const node = listIso(result.bootArchive!).find((n) => n.path === 'lib/fs/mount');
    assert.deepEqual([node?.type, node?.target], ['s', '../../sbin/zfs']);
  },
);

test('--archive none never follows a symlink of the image when it applies modes (regression)', async (t) => {
  const dir = await scratchDir(t);
  const hostFile = await fileIn(dir, 'host-file', 'a file of the build host\n', { mode: 0o600 });
  const manifest = join(dir, 'm');
  // An absolute link text points at the build host; h to it is a symlink too.
  await writeFile(manifest, `d etc 0755 root sys\ns etc/a=${hostFile}\nh etc/b=etc/a\n`);
  const result = await buildLive({
    manifests: [manifest],
    output: join(dir, 'out'),
    logDir: join(dir, 'log'),
    archive: 'none',
    sourceDateEpoch: '1323461708',
  });
  assert.equal(result.exitCode, 0);
  const host = await stat(hostFile);
  assert.equal(host.mode & 0o7777, 0o600);
  assert.notEqual(host.mtimeMs, 1323461708000);
});

const genisoimage = spawnSync('sh', ['-c', 'command -v genisoimage'], {
  encoding: 'utf8',
}).stdout.trim();

test(
  'without xorriso, genisoimage (as root) makes the hsfs image with the manifest modes and owners',
  {
    skip:
      (!isRoot && 'genisoimage needs root for owners') ||
      (!genisoimage && 'genisoimage is not installed') ||
      (!hasXorriso && 'xorriso is needed to read the image back'),
  },
  async (t) => {
    const dir = await scratchDir(t);
    // A PATH with genisoimage but no xorriso (and chmod for the customize script).
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await symlink(genisoimage, join(bin, 'genisoimage'));
    await symlink(
      spawnSync('sh', ['-c', 'command -v chmod'], { encoding: 'utf8' }).stdout.trim(),
      join(bin, 'chmod'),
    );
    const output = join(dir, 'output');
    const run = await runCli([...fixtureArgs(output, join(dir, 'log')), '--archive', 'hsfs'], {
      env: { PATH: bin },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /hsfs: writing boot_archive with genisoimage/);
    assert.match(run.stderr, /warning: genisoimage stamps the current time into the image/);
    const archive = join(output, `platform-${STAMP}`, 'i86pc', 'amd64');
    const lines = parseBootManifest(await readFile(join(archive, 'boot_archive.manifest'), 'utf8'));
    const iso = new Map(listIso(join(archive, 'boot_archive')).map((n) => [n.path, n]));
    for (const line of lines.filter((l) => l.type !== 's')) {
      const node = iso.get(line.path.replace(/^\.\//, ''));
      assert.equal(node?.mode.toString(8), line.mode!.toString(8), line.path);
    }
    assert.deepEqual([iso.get('usr/bin/su')?.uid, iso.get('usr/bin/su')?.gid], [0, 3]);
    assert.deepEqual([iso.get('usr/bin')?.gid, iso.get('root')?.mode], [2, 0o700]);
  },
);

test('genisoimage and mkisofs are refused without root, xorriso never', () => {
  assert.equal(isoToolProblem({ name: 'xorriso', path: '/x' }, false), undefined);
  assert.equal(isoToolProblem({ name: 'genisoimage', path: '/g' }, true), undefined);
  assert.equal(
    isoToolProblem({ name: 'mkisofs', path: '/m' }, false),
    'mkisofs takes owners from the staged files, which needs root (install xorriso instead)',
  );
});
