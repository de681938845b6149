// The boot checks of the finished image (docs/verify.md, "What boots"),
// black box: UFS images made by the real build-live CLI, read by the real
// verify-manifest CLI. missing-interpreter on the real scripts of the 2011
// SmartOS overlay (usr/bin/json is `#!/usr/bin/env node`, usr/bin/ack
// `#!/usr/perl5/bin/perl`); isaexec with the 2011 manifest's kind of hard
// links (`h usr/bin/ksh=usr/lib/isaexec`); setuid against policy rules and
// a baseline; --fail-on all.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FAIL_ON } from '../src/verify/types.js';
import { fileIn, runCli, scratchDir } from './helpers/cli.js';
import { buildImage, findings, show, verifyJson, type Item } from './helpers/image-build.js';
import { SMARTOS_DATA } from './helpers/paths.js';

const OVERLAY = join(SMARTOS_DATA, 'overlay-2011-09');
const real = (path: string): Item => ({ path, from: join(OVERLAY, path) });
const file = (path: string, mode = '0555'): Item => ({ path, text: `${path}\n`, mode });

test('missing-interpreter: the real scripts whose interpreters the image lacks, at their manifest lines; with them, none', async (t) => {
  const dir = await scratchDir(t);
  const scripts = [
    real('usr/bin/json'),
    real('usr/bin/ack'),
    real('lib/svc/method/net-physical'),
    real('lib/svc/method/console-login'),
  ];
  const base = [file('usr/bin/env'), file('usr/bin/ksh93'), file('sbin/sh')];
  const image = await buildImage(join(dir, 'without'), [...scripts, ...base]);
  const { run, report } = await verifyJson([...image.args, '--fail-on', 'missing-interpreter']);
  assert.equal(run.code, 1, show(run));
  const found = findings(report, 'missing-interpreter');
  assert.deepEqual(
    found.map((f) => [f.path, f.message]),
    [
      [
        'usr/bin/ack',
        '#!/usr/perl5/bin/perl: the interpreter /usr/perl5/bin/perl is missing (/usr/perl5/bin/perl is not in the image)',
      ],
      [
        'usr/bin/json',
        '#!/usr/bin/env node: env finds no node in /usr/bin, /usr/sbin, /bin, /sbin of the image',
      ],
    ],
  );
  assert.ok(found.every((f) => f.file === image.manifest && typeof f.line === 'number'));
  assert.equal(report.checks.find((c) => c.kind === 'missing-interpreter')?.checked, 4);
  const good = await buildImage(join(dir, 'with'), [
    ...scripts,
    ...base,
    file('usr/perl5/5.12/bin/perl'),
    { path: 'usr/perl5/bin', link: '5.12/bin' },
    file('usr/sbin/node'),
  ]);
  const ok = await verifyJson([...good.args, '--fail-on', 'missing-interpreter']);
  assert.equal(ok.run.code, 0, show(ok.run));
  assert.deepEqual(findings(ok.report, 'missing-interpreter'), []);
});

test('missing-interpreter: no newline in 1 MiB, a relative name, a non-executable interpreter, run-time paths and --allow-dangling', async (t) => {
  const dir = await scratchDir(t);
  const image = await buildImage(dir, [
    { path: 'usr/bin/long', text: `#!/bin/sh${'x'.repeat(1 << 20)}` },
    { path: 'usr/bin/rel', text: '#! sh -e\necho\n' },
    { path: 'usr/bin/noexec', text: '#!/usr/lib/data\n' },
    { path: 'usr/lib/data', text: 'data\n', mode: '0644' },
    { path: 'usr/bin/runtime', text: '#!/system/contract/tool\n' },
    { path: 'usr/bin/allowed', text: '#!/opt/local/bin/python\n' },
    // Not executable: never run, never checked.
    { path: 'usr/share/doc.sh', text: '#!/nowhere\n', mode: '0644' },
  ]);
  const { run, report } = await verifyJson([...image.args, '--allow-dangling', 'opt/local/**']);
  assert.doesNotMatch(run.stderr, /^\s+at /m, show(run));
  assert.deepEqual(
    findings(report, 'missing-interpreter').map((f) => [f.path, f.message]),
    [
      ['usr/bin/long', 'its #! line has no newline in its first 256 bytes (INTPSZ)'],
      [
        'usr/bin/noexec',
        '#!/usr/lib/data: the interpreter /usr/lib/data is not an executable file in the image',
      ],
      [
        'usr/bin/rel',
        '#!sh -e: the interpreter sh is not an absolute path (the kernel looks it up from the current directory)',
      ],
    ],
  );
});

test('isaexec: a hard link to usr/lib/isaexec needs its name in an ISA directory; a link that runs isaexec again is a loop', async (t) => {
  const dir = await scratchDir(t);
  const image = await buildImage(dir, [
    file('usr/lib/isaexec'),
    { path: 'usr/bin/ksh', hardlink: 'usr/lib/isaexec' },
    file('usr/bin/amd64/ksh'),
    { path: 'usr/bin/w', hardlink: 'usr/lib/isaexec' },
    file('usr/bin/i86/w'),
    { path: 'usr/bin/mdb', hardlink: 'usr/lib/isaexec' },
    // The first ISA directory's gcore is isaexec again: it would run itself for ever.
    { path: 'usr/bin/gcore', hardlink: 'usr/lib/isaexec' },
    { path: 'usr/bin/amd64/gcore', hardlink: 'usr/lib/isaexec' },
    file('usr/bin/i86/gcore'),
    // A symlink loop where the ISA binary should be.
    { path: 'usr/bin/truss', hardlink: 'usr/lib/isaexec' },
    { path: 'usr/bin/amd64/truss', link: 'truss' },
  ]);
  const { run, report } = await verifyJson([...image.args, '--fail-on', 'isaexec']);
  assert.equal(run.code, 1, show(run));
  const looked = (name: string, at = 'usr/bin') =>
    ['amd64', 'pentium_pro+mmx', 'pentium_pro', 'pentium+mmx', 'pentium', 'i486', 'i386', 'i86']
      .map((isa) => `/${at}/${isa}/${name}`)
      .join(', ');
  assert.deepEqual(
    findings(report, 'isaexec').map((f) => [f.path, f.message]),
    [
      [
        'usr/bin/amd64/gcore',
        `is a link to /usr/lib/isaexec, but no ISA directory has an executable gcore; looked in ${looked('gcore', 'usr/bin/amd64')}`,
      ],
      [
        'usr/bin/gcore',
        "is a link to /usr/lib/isaexec, and so is /usr/bin/amd64/gcore, the first ISA directory's gcore: isaexec would run itself again and again",
      ],
      [
        'usr/bin/mdb',
        `is a link to /usr/lib/isaexec, but no ISA directory has an executable mdb; looked in ${looked('mdb')}`,
      ],
      [
        'usr/bin/truss',
        `is a link to /usr/lib/isaexec, but no ISA directory has an executable truss; looked in ${looked('truss')}`,
      ],
    ],
  );
  assert.equal(report.checks.find((c) => c.kind === 'isaexec')?.checked, 6);
});

test('setuid: policy rules cover setuid/setgid files, a stale rule is stale-policy; --baseline names gained and lost bits', async (t) => {
  const dir = await scratchDir(t);
  const policy = await fileIn(
    dir,
    'policy',
    '# who may be setuid\nsetuid usr/bin/passwd\nsetuid usr/lib/gone/*\n',
  );
  const before = await buildImage(join(dir, 'before'), [
    file('usr/bin/passwd', '4555'),
    file('usr/bin/su', '4555'),
    file('usr/bin/ls', '0555'),
  ]);
  const after = await buildImage(join(dir, 'after'), [
    file('usr/bin/passwd', '4555'),
    file('usr/bin/su', '0555'),
    file('usr/bin/ls', '2555'),
    file('usr/bin/newgrp', '4755'),
  ]);
  const { run, report } = await verifyJson([
    ...after.args,
    '--ship-policy',
    policy,
    '--fail-on',
    'setuid',
  ]);
  assert.equal(run.code, 1, show(run));
  assert.deepEqual(
    findings(report, 'setuid').map((f) => [f.path, f.message]),
    [
      ['usr/bin/ls', `is setgid (mode 2555) and no setuid rule of ${policy} covers it`],
      ['usr/bin/newgrp', `is setuid (mode 4755) and no setuid rule of ${policy} covers it`],
    ],
  );
  assert.deepEqual(
    findings(report, 'stale-policy').map((f) => [f.file, f.line, f.message]),
    [[policy, 3, 'setuid usr/lib/gone/* covers no setuid or setgid file of the image']],
  );
  // With the baseline: gained and lost bits, policy or not.
  const baseline = join(
    before.args[before.args.indexOf('--platform') + 1],
    'i86pc/amd64/boot_archive.manifest',
  );
  const diff = await verifyJson([...after.args, '--baseline', baseline]);
  assert.deepEqual(
    findings(diff.report, 'setuid').map((f) => [f.path, f.message]),
    [
      ['usr/bin/ls', 'gained setgid against the baseline (mode 0555 there, 2555 here)'],
      [
        'usr/bin/newgrp',
        `is new and setuid (mode 4755); the baseline ${baseline} does not have it`,
      ],
      ['usr/bin/su', 'lost setuid against the baseline (mode 4555 there, 0555 here)'],
    ],
  );
  // --fail-on all: every kind fails, these findings among them.
  const all = await verifyJson([...after.args, '--ship-policy', policy, '--fail-on', 'all']);
  assert.equal(all.run.code, 1, show(all.run));
  assert.deepEqual(all.report.failOn, [...FAIL_ON]);
  assert.ok(all.report.reasons.includes('setuid'), all.report.reasons.join(','));
  const lax = await runCli(['verify-manifest', ...after.args]);
  assert.equal(lax.code, 0, show(lax));
});

test('--archive none: the boot checks and missing-module read the staged tree kept beside the platform', async (t) => {
  const dir = await scratchDir(t);
  const image = await buildImage(
    dir,
    [
      real('usr/bin/ack'),
      { path: 'kernel/drv/amd64/bnx', from: join(OVERLAY, 'kernel/drv/amd64/bnx') },
      file('usr/lib/isaexec'),
      { path: 'usr/bin/mdb', hardlink: 'usr/lib/isaexec' },
    ],
    'none',
  );
  const { run, report } = await verifyJson(image.args);
  assert.equal(run.code, 0, show(run));
  const got = report.checks.flatMap((c) => c.listed).map((f) => `${f.kind} ${f.path}`);
  assert.deepEqual(got, [
    'missing-module kernel/drv/amd64/bnx',
    'missing-module kernel/drv/amd64/bnx',
    'missing-interpreter usr/bin/ack',
    'isaexec usr/bin/mdb',
    // A driver shipped with no etc/name_to_major at all (the kernel would panic).
    'driver-config etc/name_to_major',
  ]);
});
