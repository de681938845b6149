import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadManifests } from '../src/manifest/load.js';
import { parseManifestLine } from '../src/formats/manifest-line.js';
import { compareBytes } from '../src/manifest/path.js';
import { formatDiagnostic } from '../src/manifest/types.js';
import { fileIn, scratchDir } from './helpers/cli.js';

const loc = { file: 'm', line: 7 };
const none = new Map<string, string>();
const parse = (line: string, defines = none) => parseManifestLine(line, loc, defines);
const modeOf = (line: string) => {
  const entry = parse(line).entry;
  return entry && 'mode' in entry ? entry.mode : undefined;
};
const errorOf = (line: string) => {
  const { entry, diagnostics } = parse(line);
  assert.equal(entry, undefined, `expected an error for ${JSON.stringify(line)}`);
  assert.equal(diagnostics.length, 1);
  return formatDiagnostic(diagnostics[0]);
};

test('parses every entry type, with tabs, runs of blanks and CRLF', () => {
  assert.deepEqual(parse('d usr/bin 0755 root bin').entry, {
    type: 'd',
    path: 'usr/bin',
    mode: 0o755,
    owner: 'root',
    group: 'bin',
    ...loc,
  });
  assert.equal(modeOf('f\tusr/bin/su \t 4555  root\tsys\r'), 0o4555);
  assert.deepEqual(parse('s bin=usr/bin').entry, {
    type: 's',
    path: 'bin',
    target: 'usr/bin',
    ...loc,
  });
  assert.deepEqual(parse('s a/b=/abs/../x').entry, {
    type: 's',
    path: 'a/b',
    target: '/abs/../x',
    ...loc,
  });
  assert.deepEqual(parse('h usr/bin/a=usr/bin/b').entry, {
    type: 'h',
    path: 'usr/bin/a',
    target: 'usr/bin/b',
    ...loc,
  });
});

test('the oddities of the real 2011 manifest parse: 07555 and 044', () => {
  assert.equal(modeOf('d usr/libexec 07555 root bin'), 0o7555);
  assert.equal(modeOf('f usr/share/man/man1m/svc.startd.1m 044 root bin'), 0o44);
});

test('one trailing slash on a directory (smartos-live src/manifest has one) is dropped with a warning', () => {
  const { entry, diagnostics } = parse('d usr/vm/node_modules/macaddr/ 0755 root root');
  assert.equal(entry?.path, 'usr/vm/node_modules/macaddr');
  assert.deepEqual(diagnostics.map(formatDiagnostic), [
    'm:7: warning: trailing "/" dropped from directory "usr/vm/node_modules/macaddr/"',
  ]);
});

test('comments and blank lines give nothing', () => {
  for (const line of ['', '   ', '# comment', '   # indented comment', '\r']) {
    assert.deepEqual(parse(line), { diagnostics: [] });
  }
});

test('every malformed line is an error naming file:line, the line and the fault', () => {
  const cases: [string, RegExp][] = [
    ['d usr 0755 root', /"d" takes 4 fields .*found 3/],
    ['f a 0644 root bin extra', /"f" takes 4 fields .*found 5/],
    ['s a=b c', /"s" takes 1 field/],
    ['x usr 0755 root bin', /unknown entry type "x"/],
    ['d usr 0795 root bin', /mode "0795" is not octal/],
    ['d usr rwx root bin', /mode "rwx" is not octal/],
    ['d usr 17777 root bin', /mode "17777" is larger than 07777/],
    ['s bin', /missing "=" in "bin"/],
    ['h a', /missing "="/],
    ['s a=b=c', /more than one "=" in "a=b=c"/],
    ['f /etc/passwd 0644 root sys', /unsafe path: absolute path "\/etc\/passwd"/],
    ['f usr/../etc 0644 root sys', /unsafe path: "\.\." component/],
    ['f ./etc 0644 root sys', /unsafe path: "\." component/],
    ['d usr//bin 0755 root bin', /unsafe path: empty component/],
    ['f usr/bin/ 0644 root bin', /unsafe path: empty component/],
    ['d usr/bin// 0755 root bin', /unsafe path: empty component/],
    ['s usr/lib/=x', /unsafe path: empty component/],
    ['h a=../b', /unsafe hard link target/],
    ['s a=', /empty link text/],
    ['f a\0b 0644 root sys', /NUL byte/],
  ];
  for (const [line, pattern] of cases) {
    const message = errorOf(line);
    assert.match(message, /^m:7: error: /, line);
    assert.match(message, pattern, line);
  }
});

test('$NAME and ${NAME} come only from --define; an undefined one is an error', () => {
  const defines = new Map([['LIBSTDCXXVER', '6.0.28']]);
  assert.equal(
    parse('f usr/lib/libstdc++.so.$LIBSTDCXXVER 0555 root bin', defines).entry?.path,
    'usr/lib/libstdc++.so.6.0.28',
  );
  assert.deepEqual(parse('s usr/lib/x=lib.${LIBSTDCXXVER}', defines).entry, {
    type: 's',
    path: 'usr/lib/x',
    target: 'lib.6.0.28',
    ...loc,
  });
  assert.match(
    errorOf('f usr/lib/libstdc++.so.$LIBSTDCXXVER 0555 root bin'),
    /undefined variable \$LIBSTDCXXVER \(pass --define LIBSTDCXXVER=VALUE\)/,
  );
});

test('compareBytes is C-locale byte order', () => {
  const names = ['a/b', 'a-c', 'B', 'a', 'é', 'z', '\u{1F600}', '\uFFFD'];
  const expected = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual([...names].sort(compareBytes), expected);
  assert.deepEqual(expected.slice(0, 4), ['B', 'a', 'a-c', 'a/b']);
});

test('snippet directories merge in name order: later wins with a warning, identical lines are silent', async (t) => {
  const dir = await scratchDir(t);
  const snippets = join(dir, 'snippets');
  await mkdir(snippets);
  await writeFile(join(snippets, '10-base'), 'd etc 0755 root sys\nf etc/motd 0644 root sys\n');
  await writeFile(join(snippets, '20-site'), 'd etc 0755 root sys\nf etc/motd 0600 root root\n');
  await writeFile(join(snippets, '.hidden'), 'garbage line\n');
  await writeFile(join(dir, 'extra'), 'd   etc\t0755 root sys'); // identical, other blanks, no final newline
  const loaded = await loadManifests([snippets, join(dir, 'extra')], none);
  assert.deepEqual(loaded.files, [
    join(snippets, '10-base'),
    join(snippets, '20-site'),
    join(dir, 'extra'),
  ]);
  const messages = loaded.diagnostics.map(formatDiagnostic);
  assert.deepEqual(messages, [
    `${join(snippets, '20-site')}:2: warning: etc/motd redefined: this definition overrides ${join(snippets, '10-base')}:2`,
  ]);
  const motd = loaded.entries.get('etc/motd');
  assert.equal(motd?.type === 'f' && motd.mode, 0o600);
});

test('a path defined with two types, a parent that is not a directory and a dangling h are errors', async (t) => {
  const dir = await scratchDir(t);
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  await writeFile(a, 'd usr 0755 root sys\nf usr/bin 0644 root sys\nf usr/lib 0644 root sys\n');
  await writeFile(b, 's usr/bin=x\n');
  const typeConflict = await loadManifests([a, b], none);
  assert.deepEqual(typeConflict.diagnostics.map(formatDiagnostic), [
    `${b}:1: error: usr/bin is defined as a symlink here and as a file at ${a}:2`,
  ]);

  await writeFile(b, 'f usr/lib/libc.so.1 0755 root bin\nh usr/x=usr/nothere\nh usr/y=usr\n');
  const structure = await loadManifests([a, b], none);
  assert.deepEqual(structure.diagnostics.map(formatDiagnostic), [
    `${b}:1: error: usr/lib/libc.so.1: parent usr/lib is a file (${a}:3), not a directory`,
    `${b}:2: error: hard link usr/x: target usr/nothere is not in the image (no f or h entry defines it)`,
    `${b}:3: error: hard link usr/y: target usr is a directory (${a}:1), not a file or symlink`,
  ]);
});

test('hard link chains are followed; a cycle is an error', async (t) => {
  const dir = await scratchDir(t);
  const m = await fileIn(dir, 'm', 'f a 0644 root sys\nh b=a\nh c=b\nh x=y\nh y=x\n');
  const loaded = await loadManifests([m], none);
  assert.deepEqual(loaded.diagnostics.map(formatDiagnostic), [
    `${m}:4: error: hard link x: the links from y form a cycle`,
    `${m}:5: error: hard link y: the links from x form a cycle`,
  ]);
});

test('a missing manifest is an error that names it', async (t) => {
  const dir = await scratchDir(t);
  const loaded = await loadManifests([join(dir, 'nope')], none);
  assert.deepEqual(loaded.diagnostics.map(formatDiagnostic), [
    `error: cannot read manifest ${join(dir, 'nope')}: does not exist`,
  ]);
});

test('bytes that are not UTF-8 are an error, not a silently renamed path', async (t) => {
  const dir = await scratchDir(t);
  const m = await fileIn(
    dir,
    'm',
    Buffer.concat([
      Buffer.from('d etc 0755 root sys\nf etc/caf'),
      Buffer.from([0xe9]),
      Buffer.from(' 0644 root sys\n'),
    ]),
  );
  const loaded = await loadManifests([m], none);
  assert.match(
    formatDiagnostic(loaded.diagnostics[0]),
    new RegExp(`^${m}:2: error: not valid UTF-8`),
  );
});

test('a snippet directory: subdirectories are skipped with a warning; no entries at all is an error', async (t) => {
  const dir = await scratchDir(t);
  await mkdir(join(dir, 'snippets', 'nested'), { recursive: true });
  const empty = await loadManifests([join(dir, 'snippets')], none);
  assert.deepEqual(empty.diagnostics.map(formatDiagnostic), [
    `warning: ${join(dir, 'snippets', 'nested')}: not a regular file: skipped (snippets are the files directly in ${join(dir, 'snippets')})`,
    `warning: manifest directory ${join(dir, 'snippets')} has no snippet files`,
  ]);
  await writeFile(join(dir, 'comments-only'), '# nothing here\n');
  const nothing = await loadManifests([join(dir, 'comments-only')], none);
  assert.deepEqual(nothing.diagnostics.map(formatDiagnostic), [
    `error: the manifests define no entries: ${join(dir, 'comments-only')}`,
  ]);
});

test('errors come in file and line order, syntax and structure alike', async (t) => {
  const dir = await scratchDir(t);
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  await writeFile(a, 'h x=nothere\nbogus line\n');
  await writeFile(b, 'd ok 0755 root sys\nf /abs 0644 root sys\n');
  const loaded = await loadManifests([a, b], none);
  assert.deepEqual(
    loaded.diagnostics.map((d) => `${d.loc?.file}:${d.loc?.line}`),
    [`${a}:1`, `${a}:2`, `${b}:2`],
  );
});

test('a hard link may name a symlink (2011: h lib/fs/zfs/mount=etc/fs/zfs/mount)', async (t) => {
  const dir = await scratchDir(t);
  const m = await fileIn(dir, 'm', 's a=../sbin/zfs\nh b=a\n');
  const loaded = await loadManifests([m], none);
  assert.deepEqual(loaded.diagnostics, []);
});
