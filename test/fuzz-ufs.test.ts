/**
 * The seeded UFS fuzz slice of `npm test` (docs/ufs.md, "Crafted images"; issue
 * 23): the checked-in corpus (test/fuzz-corpus/ufs, grown by
 * test/fuzz-ufs-run.ts) replayed, then fresh seeded mutations of the
 * fixture boot_archive for a few seconds, all through verifyManifest():
 * none may throw anything but a UserError (the CLI would print a stack
 * trace), and none may PASS an image that does not read back. A few of
 * them also go through the real CLI, for crash signals and peak memory.
 * The long run (2,000 cases through the CLI) is test/fuzz-ufs-run.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { mutate, readCorpus, Rng } from './helpers/fuzz.js';
import {
  UFS_CORPUS,
  ufsFuzzFixture,
  verifyInProcess,
  verifyWithCli,
  writeCase,
} from './helpers/ufs-fuzz.js';

const fixture = await ufsFuzzFixture();
after(() => fixture.cleanup());

/** How long the fresh cases run: a budget, never a failure on a slow machine. */
const BUDGET_MS = 4000;
/** The seed of the slice: fixed, so a failure here is reproduced by the same run. */
const SLICE_SEED = 7_000_000;

test('the UFS fuzz corpus replays: each case still ends the way the gate allows', async () => {
  const corpus = await readCorpus(UFS_CORPUS);
  assert.ok(corpus.length >= 5, `only ${corpus.length} cases in ${UFS_CORPUS}`);
  let unreadable = 0;
  for (const { name, case: c } of corpus) {
    await writeCase(fixture, c.edits);
    const out = await verifyInProcess(fixture);
    assert.equal(out.violation, undefined, `${name}: ${out.violation}`);
    // A case found unreadable stays unreadable (or is refused earlier).
    if (c.outcome.startsWith('unreadable')) {
      unreadable++;
      assert.notEqual(out.result, 'pass', `${name}: was ${c.outcome}, now passes`);
    }
  }
  assert.ok(unreadable >= 1, 'the corpus holds no unreadable image');
});

test('fresh seeded mutations of the fixture boot_archive: no throw but UserError, no PASS that does not read back', async (t) => {
  const started = performance.now();
  let ran = 0;
  const results: Record<string, number> = {};
  for (let i = 0; ran < 10 || performance.now() - started < BUDGET_MS; i++, ran++) {
    if (ran >= 400) break;
    const edits = mutate(fixture.image, fixture.offsets, new Rng(SLICE_SEED + i));
    await writeCase(fixture, edits);
    const out = await verifyInProcess(fixture);
    assert.equal(out.violation, undefined, `seed ${SLICE_SEED + i}: ${out.violation}`);
    results[out.result] = (results[out.result] ?? 0) + 1;
  }
  assert.ok(ran >= 10, `ran ${ran}`);
  // Many single edits are harmless (a timestamp, a free count): a PASS is fine when the image reads back.
  t.diagnostic(`${ran} cases from seed ${SLICE_SEED}: ${JSON.stringify(results)}`);
});

test('a few seeded mutations through the real CLI: no crash signal, no stack trace', async (t) => {
  const scratch = await mkdtemp(join(tmpdir(), 'joyent-live-fuzz-rss-'));
  t.after(() => rm(scratch, { recursive: true, force: true }));
  for (let i = 0; i < 4; i++) {
    const seed = SLICE_SEED + 1000 + i;
    await writeCase(fixture, mutate(fixture.image, fixture.offsets, new Rng(seed)));
    const out = await verifyWithCli(fixture, join(scratch, `rss-${i}`));
    assert.equal(out.violation, undefined, `seed ${seed}: ${out.violation}`);
    assert.ok((out.rss ?? 0) < 300 * 1024 * 1024, `seed ${seed}: peak memory ${out.rss} bytes`);
  }
});
