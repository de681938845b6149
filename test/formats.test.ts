// Round trips of every on-disk format the project writes and reads
// (src/formats/, docs/): what the writer writes, the reader reads back the
// same; lines of the real SmartOS manifests are among the inputs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { KeyInputs } from '../src/cache/key.js';
import {
  bootManifestLines,
  readBootManifest,
  type BootEntry,
} from '../src/formats/boot-manifest.js';
import { formatLogLine, parseLogLine, readBuildLog } from '../src/formats/build-log.js';
import {
  formatKeyInputs,
  KEY_INPUTS_FILE,
  readKeyInputsFile,
} from '../src/formats/cache-inputs.js';
import { formatLogRecord, readTwinFailures, twinPath } from '../src/formats/jsonl-twin.js';
import {
  formatEntry,
  formatMode,
  parseManifestFile,
  parseManifestLine,
} from '../src/formats/manifest-line.js';
import { logFileNames } from '../src/formats/output-layout.js';
import { IdentityTable } from '../src/image/identity.js';
import { ROOT_DIR, type ImageNode } from '../src/image/model.js';
import type { ImageIdentities } from '../src/image/owners.js';
import type { ManifestEntry } from '../src/manifest/types.js';
import type { LogEntry } from '../src/verify/types.js';
import { fileIn, scratchDir } from './helpers/cli.js';
import { hasSharedData, SMARTOS_DATA } from './helpers/paths.js';

const skip = hasSharedData ? false : `no real SmartOS data at ${SMARTOS_DATA}`;
const REAL_MANIFESTS = [
  'manifest-2011-09.txt',
  'manifest-2010-10.txt',
  'illumos-extra.manifest',
  'smartos-live-src.manifest',
  'smartos-live-man.manifest',
];
const DEFINES = new Map([['LIBSTDCXXVER', '6.0.28']]);
const NO_DEFINES = new Map<string, string>();
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** An entry without where it came from. */
const bare = (e: ManifestEntry): Partial<ManifestEntry> => ({
  ...e,
  file: undefined,
  line: undefined,
});

async function realEntries(name: string): Promise<ManifestEntry[]> {
  const parsed = await parseManifestFile(join(SMARTOS_DATA, name), DEFINES);
  assert.deepEqual(
    parsed.diagnostics.filter((d) => d.severity === 'error'),
    [],
    `${name} parses without errors`,
  );
  return parsed.entries;
}

/** An image node for a manifest entry, as assembly and owner resolution leave it. */
function nodeOf(entry: ManifestEntry, ids: ImageIdentities, index: number): ImageNode {
  const loc = { file: entry.file, line: entry.line };
  const base = { path: entry.path, type: entry.type, origin: 'manifest' as const, loc };
  if (entry.type === 'd' || entry.type === 'f') {
    return {
      ...base,
      mode: entry.mode,
      owner: entry.owner,
      group: entry.group,
      uid: ids.users.idOf(entry.owner) ?? 0,
      gid: ids.groups.idOf(entry.group) ?? 0,
      status: 'ok',
      ...(entry.type === 'f'
        ? { tag: (['A', 'P', 'M', 'S'] as const)[index % 4], md5: md5(entry.path), size: index }
        : {}),
    };
  }
  return {
    ...base,
    mode: 0o777,
    owner: 'root',
    group: 'root',
    uid: 0,
    gid: 0,
    status: 'ok',
    target: entry.target,
  };
}

async function overlayIds(): Promise<ImageIdentities> {
  const etc = join(SMARTOS_DATA, 'overlay-2011-09', 'etc');
  return {
    users: await IdentityTable.read('user', join(etc, 'passwd')),
    groups: await IdentityTable.read('group', join(etc, 'group')),
  };
}

test(
  'manifest lines: every entry of the real manifests is written and read back the same',
  { skip },
  async () => {
    let count = 0;
    for (const name of REAL_MANIFESTS) {
      for (const entry of await realEntries(name)) {
        const line = formatEntry(entry);
        const back = parseManifestLine(line, entry, NO_DEFINES);
        assert.deepEqual(back.diagnostics, [], line);
        assert.deepEqual(bare(back.entry!), bare(entry), line);
        count++;
      }
    }
    assert.ok(count > 20_000, `${count} entries`);
  },
);

test('manifest lines: the writer normalizes blanks and modes; the reader takes tabs and CRLF', () => {
  const loc = { file: 'm', line: 1 };
  const read = (text: string) => parseManifestLine(text, loc, NO_DEFINES).entry!;
  assert.equal(formatEntry(read('f\tusr/bin/su  4555 root\tsys\r')), 'f usr/bin/su 4555 root sys');
  assert.equal(formatEntry(read('d tmp 1777 root sys')), 'd tmp 1777 root sys');
  assert.equal(formatEntry(read('d var/empty 755 root sys')), 'd var/empty 0755 root sys');
  assert.equal(formatEntry(read('s bin=./usr/bin')), 's bin=./usr/bin');
  assert.equal(formatEntry(read('h usr/bin/ksh=usr/bin/ksh93')), 'h usr/bin/ksh=usr/bin/ksh93');
  assert.equal(formatMode(0o44), '0044');
  assert.equal(formatMode(0o7555), '7555');
});

test('build log: every kind of line build-live writes is read back as that entry', () => {
  const node = (over: Partial<ImageNode>): ImageNode => ({
    path: 'usr/bin/ls',
    type: 'f',
    origin: 'manifest',
    mode: 0o555,
    owner: 'root',
    group: 'bin',
    uid: 0,
    gid: 2,
    status: 'ok',
    ...over,
  });
  const cases: [ImageNode, Omit<LogEntry, 'line' | 'style'>][] = [
    [node({ type: 'd', path: 'usr/bin' }), { status: 'OK', kind: 'DIR', path: 'usr/bin' }],
    [node({ type: 'd', status: 'failed' }), { status: 'FAILED', kind: 'DIR', path: 'usr/bin/ls' }],
    ...(['A', 'P', 'M', 'S'] as const).map((tag): [ImageNode, Omit<LogEntry, 'line' | 'style'>] => [
      node({ tag }),
      { status: 'OK', kind: 'FILE', path: 'usr/bin/ls', tag },
    ]),
    [node({ status: 'failed' }), { status: 'FAILED', kind: 'FILE', path: 'usr/bin/ls' }],
    [
      node({ type: 's', path: 'bin', target: './usr/bin' }),
      { status: 'OK', kind: 'SYMLINK', path: 'bin', target: './usr/bin' },
    ],
    [
      node({ type: 's', path: 'etc/motd', target: 'link text with blanks', status: 'failed' }),
      { status: 'FAILED', kind: 'SYMLINK', path: 'etc/motd', target: 'link text with blanks' },
    ],
    [
      node({ type: 'h', path: 'usr/bin/ksh', target: 'usr/bin/ksh93' }),
      { status: 'OK', kind: 'LINK', path: 'usr/bin/ksh', target: 'usr/bin/ksh93' },
    ],
  ];
  for (const [n, want] of cases) {
    const line = formatLogLine(n);
    assert.deepEqual(parseLogLine(line), { ...want, style: 'joyent-live' }, line);
  }
});

test(
  'build log: a whole log of the real 2011 manifest reads back entry by entry',
  { skip },
  async (t) => {
    const dir = await scratchDir(t);
    const ids = await overlayIds();
    const entries = await realEntries('manifest-2011-09.txt');
    const nodes = entries.map((e, i) => nodeOf(e, ids, i));
    nodes[7].status = 'failed';
    const { log } = logFileNames('20111209T201508Z');
    const path = join(dir, log);
    const lines = [
      '# joyent-live build-live 0.1.0',
      '# buildstamp: 20111209T201508Z',
      ...nodes.map(formatLogLine),
      '# warning: admin: owner "admin" is not a user of the image (etc/passwd): using id 0',
      `# summary: ${nodes.length} entries, 1 FAILED`,
    ];
    await writeFile(path, lines.join('\n') + '\n');
    const read: LogEntry[] = [];
    const summary = await readBuildLog(path, (e) => read.push(e));
    assert.equal(summary.style, 'joyent-live');
    assert.equal(summary.entries, nodes.length);
    assert.equal(summary.lines, lines.length);
    assert.equal(summary.truncatedLastLine, false);
    assert.deepEqual(
      read.map((e) => [e.path, e.status, e.tag, e.target, e.line]),
      nodes.map((n, i) => [
        n.path,
        n.status === 'ok' ? 'OK' : 'FAILED',
        n.status === 'ok' ? n.tag : undefined,
        n.target,
        i + 3,
      ]),
    );
  },
);

test('build log: the smartos-live C builder style is read too', () => {
  const read = (line: string) => parseLogLine(line);
  assert.deepEqual(read('DIR: [usr/bin][0755][root/0][sys/3]: OK'), {
    status: 'OK',
    kind: 'DIR',
    path: 'usr/bin',
    sourceDir: undefined,
    style: 'smartos-live',
  });
  assert.deepEqual(read('FILE: [usr/bin/ls][0555][root/0][bin/2]: OK (/proto)'), {
    status: 'OK',
    kind: 'FILE',
    path: 'usr/bin/ls',
    sourceDir: '/proto',
    style: 'smartos-live',
  });
  assert.equal(read('FILE: [usr/bin/gone][0555][root/0][bin/2]: FAILED')?.status, 'FAILED');
  assert.deepEqual(read('LINK(symlink): bin => ./usr/bin: OK'), {
    status: 'OK',
    kind: 'SYMLINK',
    path: 'bin',
    target: './usr/bin',
    style: 'smartos-live',
  });
  assert.equal(read('LINK(link): usr/bin/ksh => usr/bin/ksh93: OK')?.kind, 'LINK');
  assert.equal(read('make: Entering directory'), undefined);
});

test('JSONL twin: FAILED records read back with their manifest file:line and places searched', async (t) => {
  const dir = await scratchDir(t);
  const names = logFileNames('20111209T201508Z');
  assert.equal(twinPath(join(dir, names.log)), join(dir, names.jsonl));
  const ok: ImageNode = {
    path: 'usr/bin/ls',
    type: 'f',
    origin: 'manifest',
    loc: { file: 'm/base', line: 3 },
    mode: 0o555,
    owner: 'root',
    group: 'bin',
    uid: 0,
    gid: 2,
    status: 'ok',
    tag: 'P',
    md5: md5('ls'),
    size: 2,
  };
  const failed: ImageNode = {
    ...ok,
    path: 'usr/share/man/man1/gone.1',
    loc: { file: 'm/man', line: 12 },
    status: 'failed',
    tag: undefined,
    md5: undefined,
    size: undefined,
    searched: ['overlay/usr/share/man/man1/gone.1', 'man/man1/gone.1'],
  };
  const unreadable: ImageNode = { ...failed, path: 'etc/shadow', searched: [], error: 'EACCES' };
  const link: ImageNode = { ...ok, type: 's', path: 'bin', target: './usr/bin', tag: undefined };
  const nodes = [ok, failed, unreadable, link];
  await writeFile(join(dir, names.jsonl), nodes.map(formatLogRecord).join('\n') + '\n');
  const failures = await readTwinFailures(join(dir, names.log));
  assert.deepEqual(
    [...failures],
    [
      [failed.path, { manifest: { file: 'm/man', line: 12 }, searched: failed.searched }],
      [unreadable.path, { manifest: { file: 'm/man', line: 12 }, searched: ['(EACCES)'] }],
    ],
  );
  const records = nodes.map((n) => JSON.parse(formatLogRecord(n)) as Record<string, unknown>);
  assert.deepEqual(
    records.map((r) => [r.mode, r.owner, r.uid, r.status]),
    [
      ['0555', 'root', 0, 'OK'],
      ['0555', 'root', 0, 'FAILED'],
      ['0555', 'root', 0, 'FAILED'],
      [null, null, null, 'OK'],
    ],
  );
});

test(
  'boot_archive.manifest: the real 2011 image written and read back, modes as numbers',
  { skip },
  async (t) => {
    const dir = await scratchDir(t);
    const ids = await overlayIds();
    const entries = await realEntries('manifest-2011-09.txt');
    // Hard links appear as files with their file's md5; keep d, f and s here.
    const nodes = entries.filter((e) => e.type !== 'h').map((e, i) => nodeOf(e, ids, i));
    const file = join(dir, 'boot_archive.manifest');
    const lines = [...bootManifestLines(nodes, ids)];
    assert.ok(
      lines.every((l) => !/\s$/.test(l)),
      'no trailing blanks',
    );
    await writeFile(file, lines.join('\n') + '\n');
    const read = await readBootManifest(file);
    assert.equal(read.format, 'boot_archive.manifest');
    assert.equal(read.entries.size, nodes.length + 1);
    assert.deepEqual(read.entries.get(''), {
      type: 'd',
      path: '',
      mode: ROOT_DIR.mode,
      owner: 'root',
      group: 'root',
      md5: undefined,
    });
    const name = (table: IdentityTable, id: number) => table.nameOf(id) ?? String(id);
    for (const node of nodes) {
      const want: BootEntry =
        node.type === 's'
          ? { type: 's', path: node.path, target: node.target }
          : {
              type: node.type as 'd' | 'f',
              path: node.path,
              mode: node.mode,
              owner: name(ids.users, node.uid),
              group: name(ids.groups, node.gid),
              md5: node.md5,
            };
      assert.deepEqual(read.entries.get(node.path), want, node.path);
    }
    // Real modes of the 2011 manifest survive as numbers: setuid, sticky, odd ones.
    assert.equal(read.entries.get('usr/bin/su')?.mode, 0o4555);
    assert.equal(read.entries.get('tmp')?.mode, 0o1777);
  },
);

test('boot_archive.manifest: an md5sum listing is read as files with md5s', async (t) => {
  const dir = await scratchDir(t);
  const file = await fileIn(
    dir,
    'manifest.md5',
    `${md5('a')}  ./usr/bin/ls\n${md5('b')} *./etc/motd\n`,
  );
  const read = await readBootManifest(file);
  assert.equal(read.format, 'md5sum');
  assert.deepEqual(read.entries.get('etc/motd'), { type: 'f', path: 'etc/motd', md5: md5('b') });
});

test('cache inputs file: written with keys in byte order and read back the same', async (t) => {
  const dir = await scratchDir(t);
  const inputs: KeyInputs = {
    format: 1,
    tool: '0.1.0',
    salt: 'v1',
    illumos: { head: 'a'.repeat(40), dirty: false },
    'illumos-extra': { head: 'b'.repeat(40), dirty: true, changes: 'c'.repeat(64) },
    src: 'git:' + 'd'.repeat(64),
    'illumos.sh': 'e'.repeat(64),
    compilers: { 'gcc10,/opt/gcc-10/bin/gcc,gnu': 'gcc (GCC) 10.4.0' },
  };
  const file = join(dir, KEY_INPUTS_FILE);
  const text = formatKeyInputs(inputs);
  await writeFile(file, text);
  assert.deepEqual(await readKeyInputsFile(file), inputs);
  const keys = Object.keys(JSON.parse(await readFile(file, 'utf8')) as object);
  assert.deepEqual(keys, [...keys].sort());
  assert.ok(text.endsWith('}\n') && text.includes('\n  "compilers": {\n'));
  assert.equal(await readKeyInputsFile(join(dir, 'absent.json')), undefined);
  await writeFile(file, '{"format": 2}\n');
  assert.equal(await readKeyInputsFile(file), undefined, 'not ours');
});
