/**
 * A seeded fuzz test of the text and small binary readers whose inputs come
 * from pull requests: the manifest reader (src/manifest/), ship policies
 * (src/verify/checks/ship-policy.ts), build logs of both styles
 * (src/formats/build-log.ts) and the ELF reader (src/verify/elf.ts, its
 * public readElf and readModuleDepends). Each input, from the checked-in corpus
 * (test/fuzz-corpus/<kind>/) and then mutated from it, must end in an
 * accepted result or the reader's own clean error: no other exception, no
 * stack trace in a message, no case past its time limit, no worker past
 * its memory limit, no message out of proportion to its input.
 *
 * Bounded in time: FUZZ_MS milliseconds of mutations per kind (default
 * 1500) after the corpus, at most FUZZ_CASES cases (default 600). FUZZ_SEED
 * changes the seed (default 23): a failure names the seed, the case and the
 * input, and is reproduced by the same seed. FUZZ_GROW=1 adds to the corpus
 * each mutated input (of 4 KiB at most) whose outcome is of a kind not seen
 * before (an error message of a new shape), FUZZ_GROW_MAX of them a kind
 * (default 8), to be reviewed and committed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  corpusName,
  FuzzWorker,
  KINDS,
  mutate,
  readCorpus,
  Rng,
  signature,
  type Kind,
  type Outcome,
} from './helpers/fuzz-text.js';
import { REPO_ROOT } from './helpers/paths.js';
import { fileIn } from './helpers/cli.js';

const SEED = Number(process.env.FUZZ_SEED ?? 23);
const BUDGET_MS = Number(process.env.FUZZ_MS ?? 1500);
const MAX_CASES = Number(process.env.FUZZ_CASES ?? 600);
const GROW = process.env.FUZZ_GROW === '1';
/** Inputs FUZZ_GROW adds to a kind's corpus in one run, at most: the corpus stays small. */
const GROW_MAX = Number(process.env.FUZZ_GROW_MAX ?? 8);
/** Far beyond what any of these small inputs needs, however slow the machine: only a hang gets here. */
const CASE_LIMIT_MS = 20_000;
const MEMORY_MB = 256;

/** What a case's input looked like, for a failure message: JSON-escaped, cut short. */
const shown = (input: Buffer) => {
  const text = JSON.stringify(input.toString('latin1'));
  return text.length > 400 ? `${text.slice(0, 400)}… (${input.length} bytes)` : text;
};

/** Why an outcome is a defect, or undefined when it is a clean end. */
function defect(outcome: Outcome, input: Buffer): string | undefined {
  switch (outcome.result) {
    case 'ok':
      return undefined;
    case 'crash':
      return `crash: ${outcome.name}: ${outcome.message}\n${outcome.stack ?? ''}`;
    case 'hang':
      return `no end after ${outcome.ms} ms`;
    case 'worker-died':
      return `the reader's worker died (over ${MEMORY_MB} MB?): ${outcome.message}`;
    case 'error': {
      if (outcome.message.trim() === '') return 'an empty error message';
      if (/\n\s+at .+:\d+:\d+\)?/.test(outcome.message))
        return `a stack trace in: ${outcome.message}`;
      // Linear in the input's lines (one message a bad line, each naming the file) at most.
      const lines = input.toString('latin1').split('\n').length;
      if (outcome.message.length > 64 * 1024 + 400 * lines + 4 * input.length) {
        return `an error message of ${outcome.message.length} characters for ${input.length} bytes of input`;
      }
      return undefined;
    }
  }
}

async function fuzzKind(
  kind: Kind,
  scratch: string,
): Promise<{ cases: number; failures: string[]; signatures: Set<string> }> {
  const corpusDir = join(REPO_ROOT, 'test', 'fuzz-corpus', kind);
  const corpus = await readCorpus(corpusDir);
  assert.ok(corpus.length > 0, `the corpus ${corpusDir} is empty`);
  const worker = new FuzzWorker(kind, scratch, MEMORY_MB);
  const failures: string[] = [];
  const signatures = new Set<string>();
  let cases = 0;
  let grown = 0;
  const check = async (input: Buffer, what: string, grow: boolean) => {
    cases++;
    const outcome = await worker.run(input, CASE_LIMIT_MS);
    const why = defect(outcome, input);
    if (why && failures.length < 5) failures.push(`${what}: ${why}\n  input: ${shown(input)}`);
    const sig = signature(outcome);
    if (!signatures.has(sig)) {
      signatures.add(sig);
      if (grow && GROW && grown < GROW_MAX && input.length <= 4096) {
        grown++;
        await writeFile(join(corpusDir, corpusName(input)), input);
      }
    }
  };
  try {
    for (const { name, data } of corpus) await check(data, `corpus ${kind}/${name}`, false);
    const rng = new Rng(SEED ^ KINDS.indexOf(kind));
    const inputs = corpus.map((c) => c.data);
    const until = performance.now() + BUDGET_MS;
    for (let i = 0; i < MAX_CASES && performance.now() < until; i++) {
      let input = rng.pick(inputs);
      for (let n = rng.int(4) + 1; n > 0; n--) input = mutate(rng, input, inputs);
      // Inputs stay small: the readers' cost on big inputs is the business of other tests.
      if (input.length > 256 * 1024) input = input.subarray(0, 256 * 1024);
      await check(input, `seed ${SEED}, ${kind} mutation ${i}`, true);
    }
  } finally {
    await worker.close();
  }
  return { cases, failures, signatures };
}

for (const kind of KINDS) {
  test(`fuzz ${kind}: the corpus and seeded mutations of it end in a result or one clean error, never a crash, hang or runaway memory`, async (t) => {
    const scratch = await mkdtemp(join(tmpdir(), `joyent-live-fuzz-${kind}-`));
    t.after(() => rm(scratch, { recursive: true, force: true }));
    const { cases, failures, signatures } = await fuzzKind(kind, scratch);
    t.diagnostic(`${kind}: ${cases} cases, ${signatures.size} kinds of outcome (seed ${SEED})`);
    assert.deepEqual(failures, [], failures.join('\n\n'));
    // The corpus is not all rejected: the readers are reached past their first check.
    assert.ok(signatures.size >= 2, `${kind}: only ${[...signatures].join(', ')}`);
  });
}

test('a ship policy of 1,000 bad lines: one error counting them all, the first 100 listed at their file:line, then how many more', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'joyent-live-policy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = await fileIn(dir, 'policy', 'keep usr/bin/x\n'.repeat(1000));
  const { readShipPolicy } = await import('../src/verify/checks/ship-policy.js');
  await assert.rejects(readShipPolicy(file), (err: Error & { details: string[] }) => {
    assert.equal(err.message, `1000 error(s) in the ship policy ${file}`);
    assert.equal(err.details.length, 101);
    assert.equal(
      err.details[0],
      `${file}:1: unknown verb "keep" (a rule is "skip <glob>" or "setuid <glob>")`,
    );
    assert.equal(
      err.details[99],
      `${file}:100: unknown verb "keep" (a rule is "skip <glob>" or "setuid <glob>")`,
    );
    assert.equal(err.details[100], '... and 900 more error(s) (the first 100 are listed)');
    return true;
  });
});
