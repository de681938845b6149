// The boot checks on the real 2011 SmartOS image (docs/verify.md,
// driver-config, smf-method, smf-dependency), black box: the real 2011
// manifest built by build-live (UFS) from a synthesized proto plus the
// whole real 2011 overlay (its driver configuration, 18 SMF manifests and
// their methods), then read by the real CLI.
//
// The synthesized proto's files are random bytes. Two kinds of them would
// bury the real findings, so the test says what it does with them:
// - kernel/drv/*.conf: written as a comment only (a valid, empty
//   driver.conf); the real cpqary3.conf comes from the overlay;
// - the 109 SMF manifests the overlay does not have stay random bytes:
//   each is an XML finding, and a dependency on a service one of them
//   would define says that some manifests could not be read.
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { VerifyReport } from '../src/verify/types.js';
import { DRIVERS_WITHOUT_MAJOR_2011, MANIFEST_2011, OVERLAY_2011 } from './helpers/boot-view.js';
import { buildLiveIn, runCli, scratchDir, type CliRun } from './helpers/cli.js';
import { hasSharedData, SMARTOS_DATA } from './helpers/paths.js';
import { schemaErrors } from './helpers/report-schema.js';
import { sourceArgs, synthesize2011 } from './helpers/synth-proto.js';

const show = (r: CliRun) =>
  `exit ${r.code}\n--- stdout\n${r.stdout.slice(0, 8000)}--- stderr\n${r.stderr.slice(0, 4000)}`;

async function blankConfs(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.conf')) continue;
    const parent = entry.parentPath;
    if (!/\/drv$/.test(parent)) continue;
    await writeFile(join(parent, entry.name), '# synthesized: the real file is not in the data\n');
    n++;
  }
  return n;
}

test(
  'the real 2011 image: driver-config names dr, usbecm and the other drivers shipped without a major; no smf-method',
  { skip: !hasSharedData && `no SmartOS data at ${SMARTOS_DATA}` },
  async (t) => {
    const dir = await scratchDir(t);
    const synth = await synthesize2011(dir, 11);
    assert.ok((await blankConfs(synth.proto)) > 100);
    const built = await buildLiveIn(dir, [
      ...['-m', MANIFEST_2011, '--overlay', OVERLAY_2011, ...sourceArgs(synth), '--archive', 'ufs'],
    ]);
    assert.equal(built.run.code, 0, show(built.run));
    const args = [
      'verify-manifest',
      ...['--log', built.log, '-m', MANIFEST_2011, '--platform', built.platform],
    ];
    const run = await runCli([...args, '--format', 'json']);
    const report = JSON.parse(run.stdout) as VerifyReport;
    assert.equal(schemaErrors(report), '', show(run));
    const check = (kind: string) => report.checks.find((c) => c.kind === kind)!;
    const lines = (kind: string) => check(kind).listed.map((f) => `${f.path} ${f.message}`);

    // driver-config: each checked against the real files (see docs/verify.md).
    const drivers = check('driver-config').listed;
    assert.deepEqual(
      drivers.map((f) => f.path).sort(),
      DRIVERS_WITHOUT_MAJOR_2011,
      lines('driver-config').join('\n'),
    );
    for (const f of drivers) assert.match(f.file ?? '', /manifest-2011-09\.txt$/);
    assert.ok(report.driverConfig && report.driverConfig.unshippedDrivers > 24);
    assert.equal(report.driverConfig.majors, 262);

    // smf-method: every method of the real manifests is shipped, executable.
    assert.deepEqual(lines('smf-method'), []);
    assert.equal(report.smf?.manifests, 17);
    // smf-dependency: the synthesized manifests (random bytes) do not parse...
    const deps = check('smf-dependency').listed;
    const xml = deps.filter((f) => f.message.startsWith('not well-formed XML'));
    assert.equal(xml.length, 109, lines('smf-dependency').join('\n'));
    assert.ok(xml.every((f) => !f.path.startsWith('lib/svc/manifest/system/smartdc')));
    // ...so what they would define is missing, and each such finding says so.
    const rest = deps.filter((f) => !xml.includes(f));
    assert.ok(
      rest.length > 0 &&
        rest.every((f) => f.message.endsWith('109 manifest(s) of the image could not be read')),
    );

    // The text and markdown reports name each kind and finding too.
    const text = await runCli(args);
    const markdown = await runCli([...args, '--format', 'markdown']);
    for (const out of [text, markdown]) {
      for (const want of [
        'driver-config',
        'platform/i86pc/kernel/drv/amd64/dr',
        'kernel/drv/amd64/usbecm',
        'smf-dependency',
      ])
        assert.ok(out.stdout.includes(want), `${want}\n${show(out)}`);
    }
    t.diagnostic(lines('driver-config').join('\n'));
  },
);
