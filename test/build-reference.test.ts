/**
 * The fixture build with and without its customize step, each made twice:
 * the outputs the customize step shapes, equal bytes from run to run, and
 * the same bytes the build made before the build's fast paths (no staging,
 * one source lookup, the tgz and the sha1 in one pass) came in: the sha1s
 * below were recorded from that build of these fixtures. A change meant to
 * alter the outputs updates them, and says so.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, scratchDir, show } from './helpers/cli.js';
import { fixtureArgs } from './helpers/paths.js';

const STAMP = '20111209T201508Z'; // SOURCE_DATE_EPOCH=1323461708, set by runCli
const PLATFORM = `platform-${STAMP}`;
const sha1 = (data: Buffer | string) => createHash('sha1').update(data).digest('hex');
const md5 = (data: string) => createHash('md5').update(data).digest('hex');

const REFERENCE = {
  customize: {
    tgz: 'fe8b7a5e724ee86bd31bbd300d31aea61649b127',
    bootArchive: 'fab35e05bb0726188cf520f8a774b55d7d84e140',
    bootManifest: 'ad62104f36f63ec45990fbd489199f3cdd30b8be',
  },
  none: {
    tgz: '5fcbe32fc1364d76ebca532a8f51112b694b8e23',
    bootArchive: '62acf46e48d92fd560ff1f307ccfed59fa1a9a47',
    bootManifest: 'bb9ce3aaa0baad691e1c2b32047d2fdf981c7dba',
  },
};

/** The good fixture build (--archive ufs), with or without its customize step. */
async function build(t: TestContext, customize: boolean, extra: string[] = []) {
  const dir = await scratchDir(t);
  const output = join(dir, 'output');
  let args = [...fixtureArgs(output, join(dir, 'log')), '--archive', 'ufs', ...extra];
  if (!customize) {
    const at = args.indexOf('--customize');
    args = [...args.slice(0, at), ...args.slice(at + 2)];
  }
  const run = await runCli(args);
  assert.equal(run.code, 0, show(run));
  const archive = join(output, PLATFORM, 'i86pc', 'amd64');
  const bootArchive = await readFile(join(archive, 'boot_archive'));
  const manifest = await readFile(join(archive, 'boot_archive.manifest'), 'utf8');
  return {
    tgz: sha1(await readFile(join(output, `${PLATFORM}.tgz`))),
    bootArchive: sha1(bootArchive),
    bootManifest: sha1(manifest),
    log: await readFile(join(dir, 'log', `build_live.${STAMP}.log`), 'utf8'),
    jsonl: await readFile(join(dir, 'log', `build_live.${STAMP}.jsonl`), 'utf8'),
    hashFile: await readFile(join(archive, 'boot_archive.hash'), 'utf8'),
    manifest,
  };
}

for (const customize of [true, false]) {
  const name = customize ? 'with its customize step' : 'without a customize step';
  test(`the fixture build ${name}: the expected outputs, the same bytes twice and as before`, async (t) => {
    const one = await build(t, customize);
    const two = await build(t, customize);
    assert.equal(one.hashFile, `${one.bootArchive}\n`, 'boot_archive.hash is its sha1');
    const release = one.manifest.split('\n').find((l) => l.startsWith('f ./etc/release '));
    if (customize) {
      // The fixture's customize step writes etc/release (action-fixtures/customize/customize).
      assert.equal(
        release,
        `f ./etc/release 0444 root root ${md5(`joyent-live fixture ${STAMP}\n`)}`,
      );
    } else {
      assert.equal(release, undefined, 'no customize step, no etc/release');
    }
    const hashes = (b: typeof one) => ({
      tgz: b.tgz,
      bootArchive: b.bootArchive,
      bootManifest: b.bootManifest,
    });
    assert.deepEqual(hashes(two), hashes(one), 'two builds, the same bytes');
    assert.deepEqual(hashes(one), REFERENCE[customize ? 'customize' : 'none']);
  });
}

test('without a customize step, staging everything (--keep-staging) gives the bytes of the build that stages nothing', async (t) => {
  // The two take different paths: the one that stages nothing finds and
  // hashes its files before the output directory exists, and its UFS
  // writer reads them from the sources (docs/assembly.md).
  const located = await build(t, false);
  const staged = await build(t, false, ['--keep-staging']);
  assert.equal(staged.tgz, REFERENCE.none.tgz);
  assert.equal(staged.bootArchive, REFERENCE.none.bootArchive);
  assert.equal(staged.bootManifest, REFERENCE.none.bootManifest);
  assert.equal(located.log, staged.log, 'the same log, line for line');
  assert.equal(located.jsonl, staged.jsonl, 'the same JSONL twin');
});
