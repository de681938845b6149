// missing-module as illumos krtld resolves dependencies (docs/verify.md,
// "Kernel modules"), black box: UFS images made by the real build-live CLI
// holding the REAL illumos drivers of the 2011 SmartOS overlay (bnx needs
// drv/ip and misc/mac through DT_NEEDED of its SHT_DYNAMIC section;
// cpqary3 names misc/amd64/scsi), read by the real verify-manifest CLI.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildLiveIn, scratchDir } from './helpers/cli.js';
import { elfDyn } from './helpers/elf-dyn.js';
import { elfRel } from './helpers/elf-rel.js';
import { buildImage, findings, show, verifyJson } from './helpers/image-build.js';
import { hasSharedData, SMARTOS_DATA } from './helpers/paths.js';
import { sourceArgs, synthesize2011 } from './helpers/synth-proto.js';

const OVERLAY = join(SMARTOS_DATA, 'overlay-2011-09');
const BNX = { path: 'kernel/drv/amd64/bnx', from: join(OVERLAY, 'kernel/drv/amd64/bnx') };
const CPQARY3 = {
  path: 'kernel/drv/amd64/cpqary3',
  from: join(OVERLAY, 'kernel/drv/amd64/cpqary3'),
};
const IP = { path: 'kernel/drv/amd64/ip', text: elfRel() };
const MAC = { path: 'kernel/misc/amd64/mac', text: elfRel() };

const searched = (name: string) => {
  const slash = name.lastIndexOf('/');
  const isa = `${name.slice(0, slash)}/amd64/${name.slice(slash + 1)}`;
  const dirs = ['/system/boot/kernel', '/platform/i86pc/kernel', '/kernel', '/usr/kernel'];
  return [...dirs.map((d) => `${d}/${isa}`), ...dirs.map((d) => `${d}/${name}`)].join(', ');
};

test('the real bnx without kernel/misc/amd64/mac: missing-module names misc/mac (DT_NEEDED) and every place searched', async (t) => {
  const dir = await scratchDir(t);
  const image = await buildImage(dir, [BNX, IP]);
  const { run, report } = await verifyJson([...image.args, '--fail-on', 'missing-module']);
  assert.equal(run.code, 1, show(run));
  const found = findings(report, 'missing-module');
  assert.deepEqual(
    found.map((f) => [f.path, f.file, f.message]),
    [
      [
        'kernel/drv/amd64/bnx',
        image.manifest,
        `needs module misc/mac (DT_NEEDED): not in the image; searched ${searched('misc/mac')}`,
      ],
    ],
  );
  assert.equal(found[0].line, 4, 'the f line of bnx (after its three d lines)');
  for (const kind of ['bad-elf', 'missing-library']) assert.deepEqual(findings(report, kind), []);
});

test('the real bnx with drv/ip and misc/mac shipped: no finding', async (t) => {
  const dir = await scratchDir(t);
  const image = await buildImage(dir, [BNX, IP, MAC]);
  const { run, report } = await verifyJson([...image.args, '--fail-on', 'missing-module,bad-elf']);
  assert.equal(run.code, 0, show(run));
  assert.deepEqual(findings(report, 'missing-module'), []);
});

test('the real cpqary3 names misc/amd64/scsi: with kernel/misc/amd64/scsi shipped no finding; without it, missing', async (t) => {
  const dir = await scratchDir(t);
  const scsi = { path: 'kernel/misc/amd64/scsi', text: elfRel() };
  const good = await buildImage(join(dir, 'good'), [CPQARY3, scsi]);
  const ok = await verifyJson([...good.args, '--fail-on', 'missing-module,bad-elf']);
  assert.equal(ok.run.code, 0, show(ok.run));
  assert.deepEqual(findings(ok.report, 'missing-module'), []);
  const bad = await buildImage(join(dir, 'bad'), [CPQARY3]);
  const { report } = await verifyJson(bad.args);
  assert.deepEqual(
    findings(report, 'missing-module').map((f) => f.message),
    [
      `needs module misc/amd64/scsi (DT_NEEDED): not in the image; searched ${searched('misc/amd64/scsi')}`,
    ],
  );
});

test('a module the path finds first must be an x86-64 ET_REL: a text file, an i386 object, a symlink into the image', async (t) => {
  const dir = await scratchDir(t);
  const image = await buildImage(dir, [
    BNX,
    // Found first (amd64/ form in /platform/i86pc/kernel): krtld stops there.
    { path: 'platform/i86pc/kernel/misc/amd64/mac', text: 'not a module\n' },
    { path: 'kernel/misc/amd64/mac', text: elfRel() },
    { path: 'kernel/drv/amd64/ip', text: elfRel({ machine: 3 }) },
    // A link is followed, as the boot file system follows it.
    { path: 'kernel/misc/amd64/real', text: elfRel() },
    { path: 'kernel/misc/amd64/linked', link: 'real' },
    { path: 'kernel/drv/amd64/user', text: elfRel({ needed: ['misc/linked'] }) },
  ]);
  const { report } = await verifyJson(image.args);
  assert.deepEqual(
    findings(report, 'missing-module').map((f) => [f.path, f.message]),
    [
      [
        'kernel/drv/amd64/bnx',
        'needs module drv/ip (DT_NEEDED): krtld loads /kernel/drv/amd64/ip, which is not an x86-64 object',
      ],
      [
        'kernel/drv/amd64/bnx',
        'needs module misc/mac (DT_NEEDED): krtld loads /platform/i86pc/kernel/misc/amd64/mac, which is not an ELF object',
      ],
    ],
  );
});

test('DT_NEEDED wins over _depends_on; _depends_on only when there is no DT_NEEDED; genunix needs no file', async (t) => {
  const dir = await scratchDir(t);
  const image = await buildImage(dir, [
    MAC,
    { path: 'kernel/drv/amd64/both', text: elfRel({ needed: ['misc/mac'], depends: 'misc/gone' }) },
    { path: 'kernel/drv/amd64/old', text: elfRel({ depends: 'misc/mac misc/gone2' }) },
    { path: 'kernel/drv/amd64/core', text: elfRel({ needed: ['genunix', 'dtracestubs'] }) },
    // Not under a module directory: an ET_REL there is not a module.
    { path: 'usr/lib/objects/vnic.o', text: elfRel({ needed: ['misc/nowhere'] }) },
  ]);
  const { report } = await verifyJson(image.args);
  assert.deepEqual(
    findings(report, 'missing-module').map((f) => [f.path, f.message]),
    [
      [
        'kernel/drv/amd64/old',
        `needs module misc/gone2 (_depends_on): not in the image; searched ${searched('misc/gone2')}`,
      ],
    ],
  );
});

test('dependency cycles and a module that is its own dependency: one finding each, no hang', async (t) => {
  const dir = await scratchDir(t);
  const image = await buildImage(dir, [
    { path: 'kernel/misc/amd64/a', text: elfRel({ needed: ['misc/b'] }) },
    { path: 'kernel/misc/amd64/b', text: elfRel({ needed: ['misc/c'] }) },
    { path: 'kernel/misc/amd64/c', text: elfRel({ needed: ['misc/a'] }) },
    { path: 'kernel/misc/amd64/self', text: elfRel({ needed: ['misc/self'] }) },
    { path: 'kernel/drv/amd64/user', text: elfRel({ needed: ['misc/a'] }) },
  ]);
  const { report } = await verifyJson(image.args);
  const found = findings(report, 'missing-module');
  assert.deepEqual(
    found.map((f) => f.path),
    ['kernel/misc/amd64/a', 'kernel/misc/amd64/b', 'kernel/misc/amd64/c', 'kernel/misc/amd64/self'],
  );
  assert.match(
    found[0].message,
    /^is in a dependency cycle: \/kernel\/misc\/amd64\/a -> \/kernel\/misc\/amd64\/b -> \/kernel\/misc\/amd64\/c -> \/kernel\/misc\/amd64\/a: krtld refuses circular dependencies/,
  );
  assert.match(found[3].message, /^names itself as a dependency: krtld refuses/);
});

test('bad .dynamic: strings past the string table are bad-elf; 100,000 DT_NEEDED are read up to a cap and counted once', async (t) => {
  const dir = await scratchDir(t);
  const many = Array.from({ length: 100_000 }, (_, i) => `misc/m${i}`);
  const image = await buildImage(dir, [
    { path: 'kernel/misc/amd64/past', text: elfRel({ needed: ['misc/x'], neededOffsets: [9999] }) },
    { path: 'kernel/misc/amd64/many', text: elfRel({ needed: many }) },
    { path: 'kernel/misc/amd64/long', text: elfRel({ needed: [`misc/${'x'.repeat(40)}`] }) },
  ]);
  const { run, report } = await verifyJson(image.args);
  assert.doesNotMatch(run.stderr, /^\s+at /m, show(run));
  assert.deepEqual(
    findings(report, 'bad-elf').map((f) => [f.path, f.message]),
    [
      [
        'kernel/misc/amd64/past',
        'not a readable ELF object: DT_NEEDED string offset 9999 is past its string table (8 bytes)',
      ],
    ],
  );
  const found = findings(report, 'missing-module');
  const long = found.filter((f) => f.path === 'kernel/misc/amd64/long');
  assert.deepEqual(
    long.map((f) => f.message),
    [
      `needs module misc/${'x'.repeat(40)} (DT_NEEDED): a name of 45 characters, krtld refuses 31 or more`,
    ],
  );
  const counted = found.filter((f) => f.path === 'kernel/misc/amd64/many');
  // The first 256 names, each missing, and one line for the 99,744 not read.
  assert.equal(counted.length, 257);
  assert.equal(
    counted[0].message,
    'names 99744 dependencies past the first 256 (DT_NEEDED): not checked',
  );
});

test('a crafted object: 100,000 runpath entries x 1,000 DT_NEEDED cost a bounded report, each excess counted once', async (t) => {
  const dir = await scratchDir(t);
  const crafted = elfDyn({
    needed: Array.from({ length: 1000 }, (_, i) => `libc${i}.so.1`),
    runpath: Array.from({ length: 100_000 }, () => '/x').join(':'),
  });
  assert.ok(crafted.length > 300_000 && crafted.length < 340_000, String(crafted.length));
  const distinct = elfDyn({
    needed: ['libc.so.1'],
    runpath: Array.from({ length: 1000 }, (_, i) => `/d${i}`).join(':'),
  });
  const image = await buildImage(dir, [
    { path: 'usr/bin/crafted', text: crafted },
    { path: 'usr/bin/distinct', text: distinct },
  ]);
  const { run, report } = await verifyJson(image.args);
  assert.doesNotMatch(run.stderr, /^\s+at /m, show(run));
  // Was 401 MB: 1,000 messages naming 100,000 directories each.
  assert.ok(run.stdout.length < 1e6, `a report of ${run.stdout.length} bytes`);
  const runpath = (path: string) =>
    findings(report, 'bad-runpath')
      .filter((f) => f.path === path)
      .map((f) => f.message);
  // The same entry 100,000 times is one entry.
  assert.deepEqual(runpath('usr/bin/crafted'), [
    'DT_RUNPATH entry /x is not a directory in the image',
  ]);
  const many = runpath('usr/bin/distinct');
  assert.equal(many.length, 65);
  assert.equal(many[63], 'DT_RUNPATH entry /d63 is not a directory in the image');
  assert.equal(many[64], 'DT_RUNPATH has 1000 distinct entries: only the first 64 were used');
  const missing = findings(report, 'missing-library').filter((f) => f.path === 'usr/bin/crafted');
  assert.equal(missing.length, 256);
  assert.equal(
    missing[0].message,
    'needs libc0.so.1 (DT_NEEDED): not in the image; searched /x, /lib/64, /usr/lib/64',
  );
  assert.deepEqual(
    findings(report, 'bad-elf').map((f) => f.message),
    ['1000 DT_NEEDED entries: only the first 256 were resolved'],
  );
});

test(
  'the real 2011 manifest from a synthetic proto (its modules ET_REL stand-ins) and the whole real overlay: no missing-module',
  { skip: !hasSharedData && `no SmartOS data at ${SMARTOS_DATA}` },
  async (t) => {
    const dir = await scratchDir(t);
    const manifest = join(SMARTOS_DATA, 'manifest-2011-09.txt');
    const synth = await synthesize2011(dir, 2011);
    // The proto's 64-bit kernel modules as modules (random bytes are not ELF).
    let modules = 0;
    for (const line of (await readFile(manifest, 'utf8')).split('\n')) {
      const m = /^f ((?:kernel|usr\/kernel|platform\/[^/]+\/kernel)\/\S*\/amd64\/[^/\s]+) /.exec(
        line,
      );
      if (!m) continue;
      await writeFile(join(synth.proto, m[1]), elfRel());
      modules++;
    }
    assert.ok(modules > 400, `${modules} modules`);
    const built = await buildLiveIn(dir, [
      '-m',
      manifest,
      '--overlay',
      OVERLAY,
      ...sourceArgs(synth),
      '--archive',
      'ufs',
    ]);
    assert.equal(built.run.code, 0, show(built.run));
    const { report } = await verifyJson([
      '--log',
      built.log,
      '-m',
      manifest,
      '--platform',
      built.platform,
    ]);
    const check = report.checks.find((c) => c.kind === 'missing-module');
    assert.deepEqual(findings(report, 'missing-module'), []);
    assert.ok((check?.checked ?? 0) >= modules, JSON.stringify(check));
    t.diagnostic(report.checks.map((c) => `${c.kind} ${c.checked}/${c.findings}`).join(', '));
    for (const f of report.checks.flatMap((c) => c.listed).filter((f) => f.kind !== 'broken-link'))
      t.diagnostic(`${f.kind} ${f.path}: ${f.message}`);
  },
);
