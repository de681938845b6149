import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { parallelGzip } from '../src/archive/gzip.js';

/** Deterministic test data: pseudo-random runs mixed with repeats (compressible). */
function sample(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = i % 4096 < 2048 ? (x >>> 16) & 0xff : out[i - 2048];
  }
  return out;
}

async function gzipOf(data: Buffer, threads?: number): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  // Feed it in odd-sized chunks, as a tar stream would.
  const pieces = [];
  for (let i = 0; i < data.length; i += 70_001) pieces.push(data.subarray(i, i + 70_001));
  await parallelGzip(Readable.from(pieces), sink, { threads });
  return Buffer.concat(chunks);
}

for (const size of [0, 1, 1 << 20, (1 << 20) + 1, 5 * (1 << 20) + 12345]) {
  test(`parallel gzip of ${size} bytes: GNU gzip reads it back, equal bytes for any thread count`, async () => {
    const data = sample(size, size + 1);
    const one = await gzipOf(data, 1);
    const four = await gzipOf(data, 4);
    assert.deepEqual(one, four, 'the output does not depend on the thread count');
    const gunzip = spawnSync('gzip', ['-dc'], { input: one, maxBuffer: 64 << 20 });
    assert.equal(gunzip.status, 0, String(gunzip.stderr));
    assert.equal(
      createHash('md5').update(gunzip.stdout).digest('hex'),
      createHash('md5').update(data).digest('hex'),
    );
    const header = one.subarray(0, 10);
    assert.deepEqual([...header], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    if (size > 1 << 20) assert.ok(one.length < size * 0.75, 'it compresses');
  });
}

test('a write that fails leaves no failure of a block in hand unhandled', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    // Blocks from the third on come "made ahead" and failed (a spill file on a full disk).
    const premade = {
      take: (index: number) => (index >= 2 ? Promise.reject(new Error('spill failed')) : undefined),
    };
    let writes = 0;
    const output = new Writable({
      write(_chunk, _encoding, done) {
        done(++writes > 1 ? new Error('no space left on device') : undefined);
      },
    });
    const input = Readable.from([sample(8 << 20, 7)]);
    await assert.rejects(parallelGzip(input, output, { threads: 3, premade }), /no space left/);
    await new Promise((settle) => setTimeout(settle, 50));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
