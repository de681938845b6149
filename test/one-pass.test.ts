/**
 * One pass (docs/assembly.md): a build that stages nothing reads each
 * source file once, the md5 and the bytes placed in the image coming from
 * the same reads. Reads are counted at the file-descriptor level: node:fs's
 * openSync, readSync and closeSync are wrapped for the length of one
 * in-process build, and the ESM bindings the engine imported are synced.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs, { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { readBootManifest } from '../src/formats/boot-manifest.js';
import { buildLive } from '../src/live/build-live.js';
import { scratchDir } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';

const ROOTS = ['proto', 'overlay-base', 'overlay-site', 'man', 'system-root'].map((d) =>
  realpathSync(join(FIXTURES, d)),
);

/** Runs `work` counting the bytes read through readSync from each file opened with openSync. */
async function countingReads(work: () => Promise<void>): Promise<Map<string, number>> {
  const { openSync, readSync, closeSync } = fs;
  const pathOf = new Map<number, string>();
  const bytes = new Map<string, number>();
  fs.openSync = (path: fs.PathLike, ...rest: unknown[]) => {
    const fd = (openSync as (...args: unknown[]) => number)(path, ...rest);
    pathOf.set(fd, realpathSync(String(path)));
    return fd;
  };
  fs.readSync = (fd: number, ...rest: unknown[]) => {
    const n = (readSync as (...args: unknown[]) => number)(fd, ...rest);
    const path = pathOf.get(fd);
    if (path !== undefined) bytes.set(path, (bytes.get(path) ?? 0) + n);
    return n;
  };
  fs.closeSync = (fd: number) => {
    pathOf.delete(fd);
    closeSync(fd);
  };
  syncBuiltinESMExports();
  try {
    await work();
  } finally {
    Object.assign(fs, { openSync, readSync, closeSync });
    syncBuiltinESMExports();
  }
  return bytes;
}

test('a build with no customize step reads each source file once: md5 and image from the same reads', async (t) => {
  const dir = await scratchDir(t);
  let built: { bootManifest: string; jsonl: string } | undefined;
  const bytes = await countingReads(async () => {
    const result = await buildLive({
      manifests: [join(FIXTURES, 'manifests', 'good')],
      proto: join(FIXTURES, 'proto'),
      overlays: [join(FIXTURES, 'overlay-base'), join(FIXTURES, 'overlay-site')],
      manDir: join(FIXTURES, 'man'),
      systemRoot: join(FIXTURES, 'system-root'),
      output: join(dir, 'out'),
      logDir: join(dir, 'log'),
      archive: 'ufs',
      sourceDateEpoch: '1323461708',
    });
    built = result;
  });
  const jsonl = (await readFile(built!.jsonl, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as JsonlRecord);
  const { entries: listed } = await readBootManifest(built!.bootManifest);
  // The image's etc/passwd and etc/group are also read for the owners' ids (docs/assembly.md).
  const files = jsonl.filter(
    (r) => r.type === 'f' && r.status === 'OK' && r.path !== 'etc/passwd' && r.path !== 'etc/group',
  );
  // A source that two entries name (one through a symlink in the source) is two files of the image.
  const sourceOf = (r: JsonlRecord) => realpathSync(r.resolved ?? r.source!);
  const uses = new Map<string, number>();
  for (const r of files) uses.set(sourceOf(r), (uses.get(sourceOf(r)) ?? 0) + 1);
  for (const record of files) {
    const source = sourceOf(record);
    assert.ok(
      ROOTS.some((root) => source.startsWith(root + '/')),
      source,
    );
    const content = await readFile(source);
    const once = content.length * uses.get(source)!;
    assert.equal(bytes.get(source) ?? 0, once, `${record.path}: read once (${source})`);
    const md5 = createHash('md5').update(content).digest('hex');
    assert.equal(record.md5, md5, `${record.path}: the JSONL md5`);
    assert.equal(
      listed.get(record.path)?.md5,
      md5,
      `${record.path}: the boot_archive.manifest md5`,
    );
  }
  assert.ok(files.length >= 5, `${files.length} source files checked`);
});

interface JsonlRecord {
  path: string;
  type: string;
  status: string;
  source: string | null;
  resolved: string | null;
  md5: string | null;
}
