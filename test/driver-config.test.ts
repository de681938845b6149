// driver-config (docs/verify.md): the four driver configuration formats,
// read by illumos' own rules, first on the real 2011 SmartOS files, then on
// files made here for what those do not show (format errors, duplicates).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDriverAliases } from '../src/formats/driver-config/driver-aliases.js';
import { parseDriverConf } from '../src/formats/driver-config/driver-conf.js';
import { parseMinorPerm } from '../src/formats/driver-config/minor-perm.js';
import { parseNameToMajor } from '../src/formats/driver-config/name-to-major.js';
import { collectCheck } from '../src/verify/checks/collect.js';
import { driverConfig, emptyDriverSummary } from '../src/verify/checks/driver-config.js';
import type { ImageView } from '../src/verify/image-view.js';
import type { Finding } from '../src/verify/types.js';
import {
  DRIVERS_WITHOUT_MAJOR_2011,
  overlayText,
  view2011,
  type ViewChanges,
} from './helpers/boot-view.js';
import { hasSharedData } from './helpers/paths.js';

const needsData = { skip: !hasSharedData && 'no ../shared/data/smartos' };

async function run(view: ImageView) {
  const summary = emptyDriverSummary();
  const [result] = await collectCheck(driverConfig({ view, summary }), ['driver-config'], []);
  return { result, summary, findings: result.listed };
}
const on = async (changes: ViewChanges) => run(await view2011(changes));
const about = (findings: Finding[], path: string) => findings.filter((f) => f.path === path);

test('the real 2011 files parse without an error, every line read', needsData, async () => {
  const majors = parseNameToMajor(await overlayText('etc/name_to_major'));
  assert.deepEqual(majors.errors, []);
  assert.equal(majors.entries.length, 262);
  assert.deepEqual(majors.entries[0], { driver: 'md', major: 85, line: 1 });
  const aliases = parseDriverAliases(await overlayText('etc/driver_aliases'));
  assert.deepEqual(aliases.errors, []);
  assert.equal(aliases.entries.length, 973);
  assert.deepEqual(aliases.entries[214], { driver: 'dr', alias: 'acpidr_sbd', line: 215 });
  const perms = parseMinorPerm(await overlayText('etc/minor_perm'));
  assert.deepEqual(perms.errors, []);
  assert.equal(perms.entries.length, 267);
  assert.deepEqual(perms.entries[8], {
    ...{ driver: 'pts', minor: '0', mode: 0o620, owner: 'root', group: 'tty', line: 9 },
  });
  const conf = parseDriverConf(await overlayText('kernel/drv/cpqary3.conf'));
  assert.deepEqual(conf.errors, []);
  assert.ok(conf.specs > 0);
});

test(
  'the real 2011 image: the drivers shipped with configuration but no major',
  needsData,
  async () => {
    const { findings, summary, result } = await run(await view2011());
    // Each checked against the real files: shipped in manifest-2011-09.txt,
    // absent from etc/name_to_major, named by etc/driver_aliases (dr: line
    // 215; usbecm: 875-877), etc/minor_perm (vscan: 246) or a .conf.
    const named = findings.map((f) => f.path).sort();
    assert.deepEqual(named, DRIVERS_WITHOUT_MAJOR_2011);
    const dr = about(findings, 'platform/i86pc/kernel/drv/amd64/dr')[0];
    assert.match(dr.message, /driver dr has no line in etc\/name_to_major/);
    assert.match(dr.message, /etc\/driver_aliases:215, platform\/i86pc\/kernel\/drv\/dr\.conf/);
    assert.match(dr.file ?? '', /manifest-2011-09\.txt$/);
    assert.ok((dr.line ?? 0) > 0);
    const usbecm = about(findings, 'kernel/drv/amd64/usbecm')[0];
    assert.match(
      usbecm.message,
      /etc\/driver_aliases:875, etc\/driver_aliases:876, etc\/driver_aliases:877/,
    );
    assert.match(about(findings, 'kernel/drv/amd64/vscan')[0].message, /etc\/minor_perm:246/);
    // The lines for drivers the image does not ship: counted and listed, no finding.
    assert.ok(summary.unshippedDrivers > 24, `${summary.unshippedDrivers}`);
    const nvidia = summary.unshipped.find((u) => u.driver === 'nvidia');
    assert.ok(
      nvidia && nvidia.lines.some((l) => l.startsWith('etc/minor_perm:')),
      JSON.stringify(nvidia),
    );
    assert.equal(summary.majors, 262);
    assert.equal(summary.aliases, 973);
    assert.equal(summary.minorPerms, 267);
    assert.ok(summary.shippedDrivers > 150);
    assert.equal(result.findings, 6);
  },
);

test(
  'a major given to two drivers, a driver given two majors, an alias claimed twice',
  needsData,
  async () => {
    const n2m = (await overlayText('etc/name_to_major')) + 'mydrv 85\nsd 300\n';
    const aliases = (await overlayText('etc/driver_aliases')) + 'e1000g "pci1028,3"\n';
    const { findings } = await on({
      files: { 'etc/name_to_major': n2m, 'etc/driver_aliases': aliases },
      modes: { 'etc/name_to_major': 0o644, 'etc/driver_aliases': 0o644 },
    });
    const msgs = findings.map((f) => `${f.path} ${f.message}`);
    assert.ok(
      msgs.includes('etc/name_to_major line 263: major 85 is given to mydrv, and at line 1 to md'),
      msgs.join('\n'),
    );
    assert.ok(
      msgs.some((m) =>
        /^etc\/name_to_major line 264: driver sd is given major 300, and at line \d+ major \d+$/.test(
          m,
        ),
      ),
      msgs.join('\n'),
    );
    assert.ok(
      msgs.includes(
        'etc/driver_aliases line 974: alias "pci1028,3" is claimed by e1000g, and at line 1 by aac',
      ),
      msgs.join('\n'),
    );
  },
);

test("format errors are findings at the file's own line", needsData, async () => {
  const n2m = (await overlayText('etc/name_to_major'))
    .replace('kstat 2\n', 'kstat two\n')
    .replace('ksyms 3\n', 'ksyms\n');
  const conf = 'name="cpqary3" parent="pci" reg=0;\nfoo="bar;\nbaz=1;\n';
  const aliases = (await overlayText('etc/driver_aliases')).replace(
    'aac "pci1028,a"',
    'aac "pci1028,a',
  );
  const { findings } = await on({
    files: {
      'etc/name_to_major': n2m,
      'kernel/drv/cpqary3.conf': conf,
      'etc/driver_aliases': aliases,
    },
  });
  const msgs = findings.map((f) => `${f.path} ${f.message}`);
  for (const expected of [
    'etc/name_to_major line 7: "kstat": "two" is not a major number',
    'etc/name_to_major line 8: "ksyms" has no major number',
    'kernel/drv/cpqary3.conf line 2: missing closing quote (")',
    'etc/driver_aliases line 2: missing closing quote (")',
  ])
    assert.ok(msgs.includes(expected), `${expected}\n--- got:\n${msgs.join('\n')}`);
  // kstat and ksyms are shipped with minor_perm lines: without a major they are findings too.
  assert.ok(
    msgs.some((m) => /drv\/amd64\/kstat driver kstat has no line/.test(m)),
    msgs.join('\n'),
  );
});

test('name_to_major with CRLF line ends reads as with LF (kobj_lex takes \\r as a newline)', () => {
  const lf = parseNameToMajor('md 85\ndevinfo 88\n# comment\n\nasy 106');
  const crlf = parseNameToMajor('md 85\r\ndevinfo 88\r\n# comment\r\n\r\nasy 106\r\n');
  assert.deepEqual(crlf.errors, []);
  assert.deepEqual(
    crlf.entries.map((e) => [e.driver, e.major, e.line]),
    lf.entries.map((e) => [e.driver, e.major, e.line]),
  );
  assert.deepEqual(
    parseNameToMajor('a 0x10\nb 010\n').entries.map((e) => e.major),
    [16, 8],
  );
  assert.deepEqual(parseNameToMajor('a 99999999999\n').errors, [
    { line: 1, message: '"a": major 99999999999 is larger than 2147483647' },
  ]);
});

test('driver_aliases: several aliases on a line, unquoted ones joined at commas, a driver without one', () => {
  const parsed = parseDriverAliases('e1000g "pci8086,1" pci8086,abc # c\nfoo\n');
  assert.deepEqual(
    parsed.entries.map((e) => [e.driver, e.alias, e.line]),
    [
      ['e1000g', 'pci8086,1', 1],
      ['e1000g', 'pci8086,abc', 1],
    ],
  );
  assert.deepEqual(parsed.errors, [{ line: 2, message: 'driver "foo" has no alias after it' }]);
});

test('minor_perm: no mode, a mode that is not a number; owner and group may be left out', () => {
  const parsed = parseMinorPerm('a:* 0666 root sys\nb:x\nc:* rw root sys\nd:* 0600\n# x\n');
  assert.deepEqual(
    parsed.entries.map((e) => [e.driver, e.minor, e.mode, e.owner]),
    [
      ['a', '*', 0o666, 'root'],
      ['d', '*', 0o600, undefined],
    ],
  );
  assert.deepEqual(
    parsed.errors.map((e) => e.line),
    [2, 3],
  );
});

test('driver.conf: a spec the end of the file cuts off, a node spec without parent or class', () => {
  assert.deepEqual(parseDriverConf('a=1;\nname="x";\nb="y"').errors, [
    { line: 2, message: 'the spec of "x" has neither a parent nor a class' },
    { line: 3, message: 'the file ends inside a spec (its ";" is missing)' },
  ]);
  assert.deepEqual(parseDriverConf('name="x" class="scsi" a=1,2 b="c","d";\n').errors, []);
});

test('a configuration file too large to be one is a finding, not read', needsData, async () => {
  const huge = Buffer.alloc(5 * 1024 * 1024, 0x61);
  const { findings } = await on({ files: { 'etc/minor_perm': huge } });
  const f = about(findings, 'etc/minor_perm');
  assert.equal(f.length, 1);
  assert.match(f[0].message, /larger than 4\.0 MiB: not read/);
});
