/**
 * The UFS writer's reads of the files it packs: a read that returns fewer
 * bytes than asked for (a signal, a network file system) is continued,
 * never taken as a changed file; a file that really changed size since the
 * plan is one clear error. Short reads are made at the file-descriptor
 * level: node:fs's readSync is replaced for the length of one write, and
 * the ESM bindings the writer imported are synced to it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { open, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { planUfsWithTable } from '../src/archive/ufs/plan.js';
import { UfsReader, type UfsEntry } from '../src/archive/ufs/read.js';
import { writeUfs } from '../src/archive/ufs/write.js';
import { ROOT_DIR, type ImageNode } from '../src/image/model.js';
import { UserError } from '../src/util/errors.js';
import { scratchDir } from './helpers/cli.js';

const EPOCH = 1323461708;

function fileNode(path: string, size: number): ImageNode {
  return {
    path, type: 'f', origin: 'manifest', mode: 0o644, owner: 'root', group: 'root',
    uid: 0, gid: 0, status: 'ok', size,
  }; // prettier-ignore
}

/** A sparse file (data in a few blocks, holes between), a dense one over a read chunk, a small one. */
async function sourceTree(root: string): Promise<ImageNode[]> {
  const sparse = join(root, 'sparse');
  const sparseSize = 8 * 2 ** 20 + 1234;
  await writeFile(sparse, 'the start of a sparse file');
  await truncate(sparse, sparseSize);
  const fh = await open(sparse, 'r+');
  for (const at of [3 * 2 ** 20 + 100, 5 * 2 ** 20 - 3, sparseSize - 20]) {
    await fh.write(Buffer.alloc(20, at % 251), 0, 20, at);
  }
  await fh.close();
  const dense = Buffer.alloc(1_500_000);
  for (let i = 0; i < dense.length; i++) dense[i] = (i * 7919) % 253;
  await writeFile(join(root, 'dense'), dense);
  await writeFile(join(root, 'small'), 'a small file\n');
  return [fileNode('dense', dense.length), fileNode('small', 13), fileNode('sparse', sparseSize)];
}

/** Writes the image of `nodes` under `root`, with the plan made from the tree as it is now. */
async function writeImage(
  root: string,
  nodes: ImageNode[],
  output: string,
  onHashed?: (path: string, md5: string) => void,
): Promise<void> {
  const { plan, table } = planUfsWithTable(nodes, { stagingRoot: root, minFreeBytes: 0 });
  await writeUfs({
    stagingRoot: root,
    nodes,
    root: ROOT_DIR,
    output,
    epoch: EPOCH,
    plan,
    table,
    onHashed,
  });
}

/** Every file of `nodes` reads back from the image as the bytes under `root`. */
async function assertContent(image: string, root: string, nodes: ImageNode[]): Promise<void> {
  const reader = await UfsReader.open(image);
  try {
    const entries = new Map<string, UfsEntry>();
    for await (const entry of reader.entries()) entries.set(entry.path, entry);
    for (const node of nodes) {
      const entry = entries.get(node.path)!;
      const read = await reader.read(entry, 0, entry.size);
      assert.ok(read.equals(await readFile(join(root, node.path))), `${node.path} in the image`);
    }
  } finally {
    await reader.close();
  }
}

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

/** Runs `work` with every readSync returning at most `most` bytes; returns how many reads were cut. */
async function withShortReads(most: number, work: () => Promise<void>): Promise<number> {
  const original = fs.readSync;
  let cut = 0;
  const short = (fd: number, buffer: NodeJS.ArrayBufferView, ...rest: unknown[]): number => {
    const [offset, length, position] = rest as [number, number, number | null];
    if (length > most) cut++;
    return original(fd, buffer, offset, Math.min(length, most), position);
  };
  fs.readSync = short;
  syncBuiltinESMExports();
  try {
    await work();
  } finally {
    fs.readSync = original;
    syncBuiltinESMExports();
  }
  return cut;
}

test('ufs writer: short reads of sparse, dense and small files give the same image', async (t) => {
  const dir = await scratchDir(t);
  const root = join(dir, 'tree');
  await fs.promises.mkdir(root);
  const nodes = await sourceTree(root);
  assert.ok((await stat(join(root, 'sparse'))).blocks * 512 < 8 * 2 ** 20, 'the file is sparse');
  const whole = join(dir, 'whole.ufs');
  await writeImage(root, nodes, whole);
  const cutUp = join(dir, 'short.ufs');
  const cut = await withShortReads(1000, () => writeImage(root, nodes, cutUp));
  assert.ok(cut > 0, 'reads were cut short');
  assert.ok((await readFile(cutUp)).equals(await readFile(whole)), 'the images are identical');
  await assertContent(cutUp, root, nodes);
});

test('ufs writer: the md5 of each file comes from the reads that place it (sparse, dense, small, empty)', async (t) => {
  const dir = await scratchDir(t);
  const root = join(dir, 'tree');
  await fs.promises.mkdir(root);
  const nodes = await sourceTree(root);
  await writeFile(join(root, 'empty'), '');
  nodes.unshift(fileNode('empty', 0));
  const hashed = new Map<string, string>();
  const image = join(dir, 'image.ufs');
  await withShortReads(4096, () =>
    writeImage(root, nodes, image, (path, sum) => hashed.set(path, sum)),
  );
  const expected = new Map<string, string>();
  for (const node of nodes) expected.set(node.path, md5(await readFile(join(root, node.path))));
  assert.deepEqual(hashed, expected);
  await assertContent(image, root, nodes);
});

test('ufs writer: a file that shrank or grew after the plan is one clear error', async (t) => {
  const dir = await scratchDir(t);
  const root = join(dir, 'tree');
  await fs.promises.mkdir(root);
  for (const [name, change] of [
    ['sparse', -5000],
    ['sparse', +3],
    ['dense', -1],
    ['dense', +1],
    ['small', -1],
    ['small', +4],
  ] as const) {
    const nodes = await sourceTree(root);
    const { plan, table } = planUfsWithTable(nodes, { stagingRoot: root, minFreeBytes: 0 });
    const size = nodes.find((n) => n.path === name)!.size!;
    await truncate(join(root, name), size + change);
    await assert.rejects(
      writeUfs({
        stagingRoot: root,
        nodes,
        root: ROOT_DIR,
        output: join(dir, 'image.ufs'),
        epoch: EPOCH,
        plan,
        table,
      }),
      (err: unknown) =>
        err instanceof UserError &&
        err.message ===
          `${join(root, name)}: the file is no longer ${size} bytes (it changed while the image was made)`,
      `${name} ${change > 0 ? 'grown' : 'shrunk'} by ${Math.abs(change)}`,
    );
  }
});
