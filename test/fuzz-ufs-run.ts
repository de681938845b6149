/**
 * The long UFS fuzz run (docs/ufs.md, "Crafted images"), by hand:
 *
 *   npm run build && node build/test/fuzz-ufs-run.js [--count 2000] [--seed 1] [--jobs 2] [--grow]
 *
 * Case i mutates the fixture boot_archive with seed `seed + i` (1 to 3
 * edits of the bytes a reader trusts), reseals it and runs the real
 * verify-manifest CLI on it. Every case must end without a crash signal or
 * a stack trace, within 10 s, under 300 MB of peak memory, and never PASS
 * an image that does not read back. With --grow, a case whose outcome
 * signature is new is added to test/fuzz-corpus/ufs (which `npm test`
 * replays). Prints one summary line of JSON; exit 1 on any violation.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addToCorpus, mutate, readCorpus, Rng } from './helpers/fuzz.js';
import {
  CLI_LIMIT_MS,
  UFS_CORPUS,
  ufsFuzzFixture,
  verifyWithCli,
  writeCase,
} from './helpers/ufs-fuzz.js';

const MAX_RSS = 300 * 1024 * 1024;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

const count = option('count', 2000);
const seed = option('seed', 1);
const jobs = option('jobs', 2);
const grow = process.argv.includes('--grow');

const known = new Set((await readCorpus(UFS_CORPUS)).map((c) => c.case.outcome));
const histogram: Record<string, number> = {};
const violations: string[] = [];
const added: string[] = [];
let maxMs = 0;
let maxRss = 0;
let next = 0;
let done = 0;
const started = performance.now();

/** The figures so far, as one line of JSON (printed every 50 cases, and at the end). */
function summary(): string {
  return JSON.stringify({
    done,
    count,
    seed,
    seconds: Math.round((performance.now() - started) / 1000),
    results: histogram,
    maxMs: Math.round(maxMs),
    maxRssMB: Math.round(maxRss / 2 ** 20),
    violations,
    added,
  });
}

async function worker(): Promise<void> {
  const f = await ufsFuzzFixture();
  const scratch = await mkdtemp(join(tmpdir(), 'joyent-live-fuzz-rss-'));
  try {
    for (let i = next++; i < count; i = next++) {
      const caseSeed = seed + i;
      const edits = mutate(f.image, f.offsets, new Rng(caseSeed));
      await writeCase(f, edits);
      const out = await verifyWithCli(f, join(scratch, `rss-${caseSeed}`));
      histogram[out.result] = (histogram[out.result] ?? 0) + 1;
      maxMs = Math.max(maxMs, out.ms);
      maxRss = Math.max(maxRss, out.rss ?? 0);
      const problems = [
        ...(out.violation ? [out.violation] : []),
        ...(out.ms > CLI_LIMIT_MS ? [`${Math.round(out.ms)} ms`] : []),
        ...((out.rss ?? 0) > MAX_RSS ? [`peak memory ${out.rss} bytes`] : []),
      ];
      if (problems.length > 0) violations.push(`seed ${caseSeed}: ${problems.join('; ')}`);
      if (grow && (problems.length > 0 || !known.has(out.signature))) {
        known.add(out.signature);
        added.push(
          await addToCorpus(UFS_CORPUS, { seed: caseSeed, edits, outcome: out.signature }),
        );
      }
      if (++done % 50 === 0) process.stderr.write(`fuzz-ufs: ${summary()}\n`);
    }
  } finally {
    await f.cleanup();
    await rm(scratch, { recursive: true, force: true });
  }
}

await Promise.all(Array.from({ length: jobs }, worker));
console.log(summary());
process.exitCode = violations.length > 0 ? 1 : 0;
