// The completeness gate on the real 2011 SmartOS manifest (SPEC 6): a
// synthesized proto and overlay for it, into which known defects are
// planted; build-live makes the UFS image, and the real CLI must report
// exactly those defects, each once, with its kind and manifest line.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import type { VerifyReport } from '../src/verify/types.js';
import { buildLiveIn, fileIn, runCli, scratchDir, show } from './helpers/cli.js';
import { hasSharedData, SMARTOS_DATA } from './helpers/paths.js';
import { schemaErrors } from './helpers/report-schema.js';
import { sourceArgs, synthesize2011 } from './helpers/synth-proto.js';

const MANIFEST_2011 = join(SMARTOS_DATA, 'manifest-2011-09.txt');

test(
  'the planted 2011 scenario: the JSON report lists exactly the planted defects, each once, with kind and manifest line',
  { skip: !hasSharedData && `no SmartOS data at ${SMARTOS_DATA}` },
  async (t) => {
    const dir = await scratchDir(t);
    const synth = await synthesize2011(dir, 7);
    const text = await readFile(MANIFEST_2011, 'utf8');
    const lineOf = (line: string) => {
      const i = text.split('\n').indexOf(line);
      assert.ok(i >= 0, line);
      return i + 1;
    };
    const proto = synth.proto;
    const put = async (path: string, body = 'planted\n') => {
      await mkdir(dirname(join(proto, path)), { recursive: true });
      await writeFile(join(proto, path), body);
    };
    // Unshipped: two proto files no entry ships, one under a skip rule.
    await put('usr/lib/libplanted.so.1');
    await put('usr/include/planted.h');
    // An f entry whose proto path is a symlink (to a file in the proto).
    const fLine = 'f usr/bin/ls 0555 root bin';
    await rm(join(proto, 'usr/bin/ls'));
    await symlink('../xpg4/bin/ls', join(proto, 'usr/bin/ls'));
    // The same file in the overlay and the proto: shadowed.
    const both = 'usr/bin/cat';
    await mkdir(join(synth.overlay, 'usr/bin'), { recursive: true });
    await copyFile(join(proto, both), join(synth.overlay, both));
    // Dangling links and a loop, from a second manifest.
    const extra = await fileIn(
      dir,
      'planted.manifest',
      [
        's usr/bin/planted-dangling=../lib/not-there',
        's usr/bin/planted-loop-a=planted-loop-b',
        's usr/bin/planted-loop-b=planted-loop-a',
        's usr/bin/planted-run=/dev/null',
        '',
      ].join('\n'),
    );
    const policy = await fileIn(
      dir,
      'ship-policy',
      '# headers are not in a live image\nskip usr/include/planted*.h\nskip usr/share/nothing/**\nskip usr/bin/cat\n',
    );
    // The synthesized sources, but the proto with the planted defects.
    const sources = sourceArgs({ ...synth, proto });
    const built = await buildLiveIn(dir, [
      ...['-m', MANIFEST_2011, '-m', extra, ...sources, '--archive', 'ufs'],
    ]);
    assert.equal(built.run.code, 0, show(built.run));
    const run = await runCli([
      'verify-manifest',
      ...['--log', built.log, '-m', MANIFEST_2011, '-m', extra, '--platform', built.platform],
      '--overlay',
      synth.overlay,
      '--proto',
      proto,
      '--ship-policy',
      policy,
      // The synthesized proto's .conf files and SMF manifests are random bytes:
      // the boot checks that parse them run on the real overlay in
      // verify-boot-2011.test.ts.
      '--skip-checks',
      'driver-config,smf-method',
      '--format',
      'json',
    ]);
    const report = JSON.parse(run.stdout) as VerifyReport;
    assert.equal(schemaErrors(report), '', show(run));
    const got = report.checks
      .flatMap((c) => c.listed)
      .map((f) => `${f.kind} ${f.path} ${f.file ?? ''}:${f.line ?? ''}`)
      .sort();
    const expected = [
      `unshipped usr/lib/libplanted.so.1 :`,
      `proto-mismatch usr/bin/ls ${MANIFEST_2011}:${lineOf(fLine)}`,
      `stale-policy usr/share/nothing/** ${policy}:3`,
      `stale-policy usr/bin/cat ${policy}:4`,
      `broken-link usr/bin/planted-dangling ${extra}:1`,
      `broken-link usr/bin/planted-loop-a ${extra}:2`,
      `broken-link usr/bin/planted-loop-b ${extra}:3`,
      `shadowed ${both} ${MANIFEST_2011}:${lineOf(`f ${both} 0555 root bin`)}`,
      // Not planted: the real 2011 manifest's own links into nothing (run-time
      // files such as var/adm/utmpx, /opt/local, targets it never ships).
      ...[
        's etc/utmpx=../var/adm/utmpx',
        's etc/wtmpx=../var/adm/wtmpx',
        's usr/bin/amd64/gcaptoinfo=gtic',
        's usr/bin/perl=/opt/local/bin/perl',
        's usr/lib/libwanboot.so=../../lib/libwanboot.so.1',
        's usr/sbin/fiocompress=../../sbin/fiocompress',
        's usr/sfw/man=share/man',
        's usr/xpg4/bin/ipcs=../../bin/ipcs',
        's var/lib/sgml/CATALOG.jade_dsl=CATALOG.openjade',
        's var/sadm/softinfo/INST_RELEASE=../system/admin/INST_RELEASE',
      ].map((l) => `broken-link ${l.slice(2, l.indexOf('='))} ${MANIFEST_2011}:${lineOf(l)}`),
    ].sort();
    assert.deepEqual(got, expected, show(run));
    // The default --fail-on (failed, not-built) lets these pass; all of them fail it.
    assert.equal(run.code, 0, show(run));
  },
);
