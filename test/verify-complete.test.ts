// verify-manifest's completeness gate (SPEC 6), black box through the real
// CLI: no incomplete log passes (not-built), on logs of the smartos-live C
// builder written here from the SPEC 3 formats and the real 2011 manifest.
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatMode, parseManifestFile } from '../src/formats/manifest-line.js';
import type { ManifestEntry } from '../src/manifest/types.js';
import type { VerifyReport } from '../src/verify/types.js';
import { type CliRun, fileIn, runCli, scratchDir, show } from './helpers/cli.js';
import { verifyJson } from './helpers/verify-json.js';
import { hasSharedData, SMARTOS_DATA } from './helpers/paths.js';

const MANIFEST_2011 = join(SMARTOS_DATA, 'manifest-2011-09.txt');
const needsData = { skip: !hasSharedData && `no SmartOS data at ${SMARTOS_DATA}` };

const check = (report: VerifyReport, kind: string) => report.checks.find((c) => c.kind === kind);

// The C builder's ids: from the 2011 overlay's passwd and group (admin is not in them).
async function idTable(file: string): Promise<Record<string, number>> {
  const text = await readFile(join(SMARTOS_DATA, 'overlay-2011-09', 'etc', file), 'utf8');
  const lines = text.split('\n').filter((l) => l.includes(':'));
  return Object.fromEntries(lines.map((l) => [l.split(':')[0], Number(l.split(':')[2])]));
}
const id = (table: Record<string, number>, name: string) => `${name}/${table[name] ?? -1}`;

/** The C builder's line for one entry (SPEC 3), files from `/proto`, /etc files from `/`. */
function cLine(
  e: ManifestEntry,
  UIDS: Record<string, number>,
  GIDS: Record<string, number>,
): string {
  switch (e.type) {
    case 'd':
      return `DIR: [${e.path}][${formatMode(e.mode)}][${id(UIDS, e.owner)}][${id(GIDS, e.group)}]: OK`;
    case 'f':
      return `FILE: [${e.path}][${formatMode(e.mode)}][${id(UIDS, e.owner)}][${id(GIDS, e.group)}]: OK (${e.path.startsWith('etc/') ? '/' : '/proto'})`;
    case 's':
      return `LINK(symlink): ${e.path} => ${e.target}: OK`;
    case 'h':
      return `LINK(link): ${e.path} => ${e.target}: OK`;
  }
}

let fullLog:
  | Promise<{
      lines: string[];
      entries: ManifestEntry[];
      uids: Record<string, number>;
      gids: Record<string, number>;
    }>
  | undefined;
/** The C builder's log of a whole build of the real 2011 manifest. */
function cLog2011() {
  fullLog ??= (async () => {
    const { entries } = await parseManifestFile(MANIFEST_2011, new Map());
    const [uids, gids] = await Promise.all([idTable('passwd'), idTable('group')]);
    return { entries, uids, gids, lines: entries.map((e) => cLine(e, uids, gids)) };
  })();
  return fullLog;
}

test(
  'the C builder log of the whole 2011 manifest passes with -m; OK (/) counts as S, OK (/proto) as P with --proto',
  needsData,
  async (t) => {
    const dir = await scratchDir(t);
    const { lines, entries, uids, gids } = await cLog2011();
    const log = join(dir, 'live.log');
    // The builder names the proto by its path on the build host: here, a real (empty) one.
    const proto = join(dir, 'proto');
    await mkdir(proto);
    await writeFile(log, lines.map((l) => l.replace(' (/proto)', ` (${proto})`)).join('\n') + '\n');
    const { run, report } = await verifyJson(['--log', log, '-m', MANIFEST_2011, '--proto', proto]);
    assert.equal(run.code, 0, show(run));
    assert.equal(report.counts.entries, entries.length);
    assert.equal(report.counts.failed, 0);
    const files = entries.filter((e) => e.type === 'f');
    const etc = files.filter((e) => e.path.startsWith('etc/')).length;
    assert.deepEqual(report.counts.byTag, { A: 0, P: files.length - etc, M: 0, S: etc, other: 0 });
    assert.deepEqual(check(report, 'not-built'), {
      kind: 'not-built',
      checked: 1 + new Set(entries.map((e) => e.path)).size,
      findings: 0,
      fatal: true,
      listed: [],
    });
    // admin has no uid in the image: the builder wrote admin/-1, an unknown owner.
    const admin = entries.filter(
      (e) => e.type !== 's' && e.type !== 'h' && (!(e.owner in uids) || !(e.group in gids)),
    );
    assert.ok(admin.length > 0);
    assert.equal(report.counts.unknownOwners, admin.length);
    const owners = await verifyJson(['--log', log, '--fail-on', 'unknown-owner']);
    assert.equal(owners.run.code, 1, show(owners.run));
    assert.deepEqual(owners.report.reasons, ['unknown-owner']);
    assert.ok(
      owners.report.unknownOwnerWarnings.some((w) => w.includes(`${admin[0].path}: admin/-1`)),
      owners.report.unknownOwnerWarnings.slice(0, 3).join('\n'),
    );

    // Without --proto, /proto is no source given: it gets its own column in markdown.
    const md = await runCli(['verify-manifest', '--log', log, '--format', 'markdown']);
    assert.equal(md.code, 0, show(md));
    const table = md.stdout.split('\n').filter((l) => l.startsWith('|'));
    assert.ok(table[0].includes(`| \`${proto}\` |`), table.join('\n'));
    const cells = (row: string) =>
      row
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
    const head = cells(table[0]);
    const values = cells(table[2]);
    assert.equal(
      values[head.indexOf(`\`${proto}\``)],
      String(files.length - etc),
      table.join('\n'),
    );
    assert.equal(values[head.indexOf('S (system)')], String(etc), table.join('\n'));
  },
);

test('an aborted C builder log (unfinished last line) fails as not-built at that log line', async (t) => {
  const dir = await scratchDir(t);
  // How the builder dies on a duplicate entry: the line's start, nothing after it.
  const log = await fileIn(
    dir,
    'aborted.log',
    'DIR: [etc][0755][root/0][sys/3]: OK\nFILE: [etc/passwd][0644][root/0][sys/3]: OK (/)\nFILE: [etc/dupfile][0600][root/0][bin/2]: ',
  );
  const { run, report } = await verifyJson(['--log', log]);
  assert.equal(run.code, 1, show(run));
  assert.deepEqual(report.reasons, ['not-built']);
  assert.deepEqual(
    check(report, 'not-built')?.listed.map((f) => [f.path, f.file, f.line]),
    [['etc/dupfile', log, 3]],
  );
  // With a newline after it too (the builder's stdout flushed at exit).
  await writeFile(
    log,
    'DIR: [etc][0755][root/0][sys/3]: OK\nFILE: [etc/dupfile][0600][root/0][bin/2]: \n',
  );
  const again = await runCli(['verify-manifest', '--log', log]);
  assert.equal(again.code, 1, show(again));
  assert.match(again.stdout, /not-built: etc\/dupfile \(.*aborted\.log:2\)/, show(again));
});

test(
  'the first 1,000 lines of the 2011 C builder log with -m: fails, every entry never reached is not-built at its manifest line',
  needsData,
  async (t) => {
    const dir = await scratchDir(t);
    const { lines, entries } = await cLog2011();
    const log = await fileIn(dir, 'cut.log', lines.slice(0, 1000).join('\n') + '\n');
    const { run, report } = await verifyJson(['--log', log, '-m', MANIFEST_2011]);
    assert.equal(run.code, 1, show(run));
    assert.deepEqual(report.reasons, ['not-built']);
    const paths = new Map(entries.map((e) => [e.path, e]));
    const built = new Set(entries.slice(0, 1000).map((e) => e.path));
    const notBuilt = check(report, 'not-built')!;
    assert.equal(notBuilt.findings, [...paths.keys()].filter((p) => !built.has(p)).length);
    assert.ok(notBuilt.findings > 17_000, String(notBuilt.findings));
    const first = notBuilt.listed[0];
    const entry = paths.get(first.path)!;
    assert.deepEqual([first.file, first.line], [entry.file, entry.line]);
    // Without -m only the log itself can tell: it looks complete, and passes.
    const alone = await runCli(['verify-manifest', '--log', log]);
    assert.equal(alone.code, 0, show(alone));
  },
);

test('a C builder log whose lines stderr split: rejoined, the FAILED counts; a start with no status is not-built', async (t) => {
  const dir = await scratchDir(t);
  const log = await fileIn(
    dir,
    'split.log',
    [
      'DIR: [usr/bin][0755][root/0][bin/2]: OK',
      'FILE: [usr/bin/gone][0555][root/0][bin/2]: builder: Error copying /proto/usr/bin/gone to /tmp/root/usr/bin/gone',
      ': No such file or directory',
      'FAILED',
      'LINK(symlink): usr/bin/sh => ksh93: builder: symlink failed',
      'OK',
      'FILE: [usr/bin/half][0555][root/0][bin/2]: builder: Error copying /proto/usr/bin/half',
      'FILE: [usr/bin/ls][0555][root/0][bin/2]: OK (/proto)',
      '',
    ].join('\n'),
  );
  const { run, report } = await verifyJson(['--log', log]);
  assert.equal(run.code, 1, show(run));
  assert.deepEqual(report.reasons, ['failed', 'not-built']);
  assert.deepEqual(
    report.failures.map((f) => [f.path, f.logLine]),
    [['usr/bin/gone', 2]],
  );
  assert.equal(report.counts.entries, 4);
  assert.deepEqual(report.counts.byKind, { DIR: 1, FILE: 2, SYMLINK: 1, LINK: 0 });
  assert.deepEqual(
    check(report, 'not-built')?.listed.map((f) => [f.path, f.line]),
    [['usr/bin/half', 7]],
  );
  assert.ok(
    report.notes.some((n) => /split by the builder's stderr/.test(n)),
    report.notes.join('\n'),
  );
});

test('a joyent-live log without its closing summary line is not-built; with it, it passes', async (t) => {
  const dir = await scratchDir(t);
  const log = join(dir, 'build_live.x.log');
  const body = '# joyent-live build-live\nOK - DIR: etc\nOK[P] - FILE: etc/motd\n';
  await writeFile(log, body);
  const { run, report } = await verifyJson(['--log', log]);
  assert.equal(run.code, 1, show(run));
  assert.deepEqual(report.reasons, ['not-built']);
  assert.match(check(report, 'not-built')?.listed[0]?.message ?? '', /summary/);
  await writeFile(
    log,
    body + '# summary: 2 entries, A=0 P=1 M=0 S=0, 0 FAILED, 0 unknown owners, 10 bytes\n',
  );
  const ok = await runCli(['verify-manifest', '--log', log]);
  assert.equal(ok.code, 0, show(ok));
  // --fail-on without not-built: reported, not fatal.
  await writeFile(log, body);
  const lax = await verifyJson(['--log', log, '--fail-on', 'failed']);
  assert.equal(lax.run.code, 0, show(lax.run));
  assert.equal(check(lax.report, 'not-built')?.fatal, false);
  assert.equal(check(lax.report, 'not-built')?.findings, 1);
});

// Bad input: one clear message (file:line where there is one), exit 1 or 2, no stack trace.

function assertClean(r: CliRun, code: number, ...wanted: RegExp[]) {
  assert.equal(r.code, code, show(r));
  for (const pattern of wanted) assert.match(r.stderr, pattern, show(r));
  assert.doesNotMatch(r.stdout + r.stderr, /^\s+at /m, `a stack trace\n${show(r)}`);
}

/** A build log and manifest of one entry (etc, a directory), written under `dir`. */
async function oneEntryBuild(dir: string): Promise<{ log: string; manifest: string }> {
  const log = await fileIn(
    dir,
    'build_live.x.log',
    'OK - DIR: etc\n# summary: 1 entries, A=0 P=0 M=0 S=0, 0 FAILED, 0 unknown owners, 0 bytes\n',
  );
  const manifest = await fileIn(dir, 'm', 'd etc 0755 root sys\n');
  return { log, manifest };
}

test('bad ship policies, --proto not a directory, bad globs: clear messages with file:line', async (t) => {
  const dir = await scratchDir(t);
  const { log, manifest } = await oneEntryBuild(dir);
  const proto = join(dir, 'proto');
  await mkdir(proto);
  const policy = await fileIn(
    dir,
    'policy',
    '# ok\nskip usr/include/**\nship etc/motd\nskip usr/[lib\n',
  );
  const args = ['verify-manifest', '--log', log, '-m', manifest, '--proto', proto];
  assertClean(
    await runCli([...args, '--ship-policy', policy]),
    1,
    new RegExp(`${policy}:3: unknown verb "ship"`),
    new RegExp(`${policy}:4: .*not a glob`),
  );
  const file = await fileIn(dir, 'file', 'x');
  assertClean(
    await runCli(['verify-manifest', '--log', log, '--proto', file]),
    1,
    /--proto .*file is not a directory/,
  );
  assertClean(
    await runCli(['verify-manifest', '--log', log, '--overlay', join(dir, 'absent')]),
    1,
    /--overlay .*absent: does not exist/,
  );
  assertClean(
    await runCli([...args, '--ship-policy', join(dir, 'absent-policy')]),
    1,
    /--ship-policy .*absent-policy: does not exist/,
  );
  assertClean(await runCli([...args, '--skip-checks', 'everything']), 2, /--skip-checks/);
  assertClean(await runCli([...args, '--min-free-inodes', 'many']), 2, /--min-free-inodes/);
});

test('200,000 unshipped files: every one counted, the first 10,000 kept, markdown under the summary limit', async (t) => {
  const dir = await scratchDir(t);
  const { log, manifest } = await oneEntryBuild(dir);
  // Symlinks cost no data blocks: 200 directories of 1,000 each.
  const proto = join(dir, 'proto');
  const N = 200;
  for (let d = 0; d < N; d++) {
    const sub = join(proto, `d${d}`);
    await mkdir(sub, { recursive: true });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => symlink('x', join(sub, `l${i}`))));
  }
  const args = ['--log', log, '-m', manifest, '--proto', proto];
  const { run, report } = await verifyJson([...args, '--fail-on', 'unshipped']);
  assert.equal(run.code, 1, show(run));
  const c = check(report, 'unshipped')!;
  assert.equal(c.findings, N * 1000);
  assert.equal(c.listed.length, 10_000);
  const md = await runCli(['verify-manifest', ...args, '--format', 'markdown']);
  assert.ok(Buffer.byteLength(md.stdout) < 1024 * 1024, String(Buffer.byteLength(md.stdout)));
  assert.match(md.stdout, /and \d+ more findings/);
});
