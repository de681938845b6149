// Files replaced in place (build-world's stamps and key inputs, setup-host's
// zstd hider) go through replaceFile: a temporary created exclusively, then
// a rename. A name planted where the temporary goes is never written through.
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { partialName, replaceFile } from '../src/util/atomic.js';
import { writeStamp } from '../src/world/stages.js';
import { fileIn, scratchDir } from './helpers/cli.js';

test('replaceFile writes the new content with exactly the mode asked, and leaves no temporary', async (t) => {
  const dir = await scratchDir(t);
  const path = await fileIn(dir, 'zstd', 'old\n');
  const umask = process.umask(0o077);
  try {
    await replaceFile(path, 'new\n', 0o755);
  } finally {
    process.umask(umask);
  }
  assert.equal(await readFile(path, 'utf8'), 'new\n');
  assert.equal((await stat(path)).mode & 0o777, 0o755);
  assert.deepEqual(await readdir(dir), ['zstd']);
});

test('a symlink planted at the temporary name is removed, not written through', async (t) => {
  const dir = await scratchDir(t);
  const victim = await fileIn(dir, 'victim', 'keep me\n');
  const stages = join(dir, 'stages');
  await mkdir(stages);
  const path = join(stages, 'illumos.stamp');
  await symlink(victim, partialName(path));
  await writeStamp(path, 'inputs-hash');
  assert.equal(await readFile(victim, 'utf8'), 'keep me\n');
  assert.equal(await readFile(path, 'utf8'), 'inputs-hash\n');
  assert.ok((await lstat(path)).isFile());
  assert.deepEqual(await readdir(stages), ['illumos.stamp']);
});

test('a replacement that cannot be renamed into place leaves no temporary', async (t) => {
  const dir = await scratchDir(t);
  // A directory with something in it at the final name: the rename fails.
  const path = join(dir, 'cache-key-inputs.json');
  await mkdir(join(path, 'inside'), { recursive: true });
  await assert.rejects(replaceFile(path, '{}\n'));
  assert.deepEqual(await readdir(dir), ['cache-key-inputs.json']);
  assert.deepEqual(await readdir(path), ['inside']);
});
