/**
 * The md5s of a located hsfs build (src/live/hash-located.ts): one read of
 * each source, hard links taking their file's, image files that are one
 * disk file copied apart, and a source that changed or vanished since it
 * was found is one clear error.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { link, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ImageNode } from '../src/image/model.js';
import { hashLocatedFiles, separateSharedSources } from '../src/live/hash-located.js';
import { UserError } from '../src/util/errors.js';
import { scratchDir } from './helpers/cli.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

function fileNode(path: string, content: string | undefined, size: number): ImageNode {
  return {
    path,
    type: 'f',
    origin: 'manifest',
    mode: 0o444,
    owner: 'root',
    group: 'root',
    uid: 0,
    gid: 0,
    status: 'ok',
    size,
    ...(content === undefined ? {} : { content }),
  };
}

async function sources(t: Parameters<typeof scratchDir>[0]) {
  const dir = await scratchDir(t);
  const a = join(dir, 'a');
  await writeFile(a, 'alpha\n');
  await link(a, join(dir, 'a-again'));
  await writeFile(join(dir, 'b'), 'beta\n');
  const work = join(dir, 'work');
  return { dir, a, work };
}

test('each source hashed once; two image files that are one disk file: the second copied apart', async (t) => {
  const { dir, a, work } = await sources(t);
  const image = new Map<string, ImageNode>([
    ['x/a', fileNode('x/a', a, 6)],
    ['x/b', fileNode('x/b', join(dir, 'b'), 5)],
    ['y/a-again', fileNode('y/a-again', join(dir, 'a-again'), 6)],
    ['x/hard', { ...fileNode('x/hard', undefined, 6), type: 'h', linkedFile: 'x/a' }],
  ]);
  await separateSharedSources(image, work);
  const again = image.get('y/a-again')!;
  assert.equal(again.content, join(work, 'y/a-again'), 'the second one is a copy in the work root');
  assert.equal(await readFile(again.content, 'utf8'), 'alpha\n');
  assert.notEqual((await stat(again.content)).ino, (await stat(a)).ino);
  assert.equal(image.get('x/a')!.content, a, 'the first stays where it is');
  await hashLocatedFiles(image, work);
  assert.equal(image.get('x/a')!.md5, md5('alpha\n'));
  assert.equal(image.get('x/b')!.md5, md5('beta\n'));
  assert.equal(again.md5, md5('alpha\n'));
  assert.equal(image.get('x/hard')!.md5, md5('alpha\n'), 'a hard link takes its file md5');
});

test('a source that changed size since it was found, or vanished: one error naming it', async (t) => {
  const { dir, a, work } = await sources(t);
  const changed = new Map([['x/a', fileNode('x/a', a, 3)]]);
  await assert.rejects(hashLocatedFiles(changed, work), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(
      err.message,
      /\/a: the file is no longer 3 bytes \(it changed while the image was made\)/,
    );
    return true;
  });
  await rm(join(dir, 'b'));
  const gone = new Map([['x/b', fileNode('x/b', join(dir, 'b'), 5)]]);
  for (const step of [separateSharedSources, hashLocatedFiles]) {
    await assert.rejects(step(gone, work), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /cannot read .*\/b: /);
      return true;
    });
  }
});
