/**
 * The tgz deflated while the UFS writer writes the image
 * (src/archive/early-deflate.ts): the blocks made ahead of the stream are
 * the ones the stream would make, so the tgz is the same bytes; the
 * writer's word on which bytes are final is checked against the bytes
 * themselves, and a block made from bytes that changed afterwards is never used.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { EarlyDeflate, type SettledImage } from '../src/archive/early-deflate.js';
import { BLOCK } from '../src/archive/gzip.js';
import { contentOffset, writePlatformTgz } from '../src/archive/tgz.js';
import { planUfsWithTable, type UfsPlan } from '../src/archive/ufs/plan.js';
import { writeUfs } from '../src/archive/ufs/write.js';
import { ROOT_DIR, type ImageNode } from '../src/image/model.js';
import { scratchDir } from './helpers/cli.js';
import { noise } from './helpers/ufs-image.js';

const EPOCH = 1323461708;
const PLATFORM = 'platform-20111209T201508Z';
const ARCHIVE = 'i86pc/amd64/boot_archive';
const DEFERRED = 'var/log/manifest';

function node(path: string, type: 'd' | 'f', size?: number): ImageNode {
  return {
    path, type, origin: 'manifest', mode: type === 'd' ? 0o755 : 0o644, owner: 'root',
    group: 'root', uid: 0, gid: 0, status: 'ok', size,
  }; // prettier-ignore
}

/** A scratch directory with the tree below under `root/`. */
async function scratchTree(t: TestContext) {
  const dir = await scratchDir(t);
  const root = join(dir, 'root');
  await mkdir(root);
  return { dir, root, nodes: await tree(root) };
}

/**
 * A tree that spans several cylinder groups and every way the writer
 * places bytes: many small files (fragment tails packed together), a file
 * with double indirect blocks, a dense file with all-zero blocks (holes
 * found while it is written), and a file filled in last (the deferred copy).
 */
async function tree(root: string): Promise<ImageNode[]> {
  const nodes: ImageNode[] = [];
  const add = async (path: string, bytes: Buffer) => {
    await writeFile(join(root, path), bytes);
    nodes.push(node(path, 'f', bytes.length));
  };
  for (const dir of ['a', 'b', 'var', 'var/log']) {
    await mkdir(join(root, dir));
    nodes.push(node(dir, 'd'));
  }
  for (let i = 0; i < 400; i++) await add(`a/f${i}`, noise(100 + ((i * 2399) % 9000), i + 1));
  await add('b/big', noise(20 * 2 ** 20, 7));
  const holes = noise(3 * 2 ** 20, 9);
  holes.fill(0, 2 ** 20, 2 * 2 ** 20);
  await add('b/holes', holes);
  for (let i = 0; i < 200; i++) await add(`b/g${i}`, noise(1 + ((i * 7877) % 20000), 500 + i));
  nodes.push({ ...node(DEFERRED, 'f', 5000), diskBytes: 5000 });
  return nodes;
}

/** Writes the image of the tree into a platform directory; returns the plan. */
async function writeImage(
  dir: string,
  root: string,
  nodes: ImageNode[],
  watch?: (plan: UfsPlan) => (settled: SettledImage) => void,
): Promise<{ plan: UfsPlan; image: string }> {
  const { plan, table } = planUfsWithTable(nodes, { stagingRoot: root, minFreeBytes: 0 });
  const onSettled = watch?.(plan);
  const image = join(dir, 'boot_archive.ufs');
  const deferredFile = join(dir, 'deferred');
  await writeUfs({
    stagingRoot: root,
    nodes,
    root: ROOT_DIR,
    output: image,
    epoch: EPOCH,
    plan,
    table,
    onSettled,
    deferred: {
      path: DEFERRED,
      content: async () => {
        await writeFile(deferredFile, noise(5000, 99));
        return deferredFile;
      },
    },
  });
  return { plan, image };
}

/** The platform tgz of the image, with and without the blocks made ahead. */
async function tgzBoth(dir: string, image: string, early: EarlyDeflate) {
  const archiveDir = join(dir, PLATFORM, 'i86pc', 'amd64');
  await mkdir(archiveDir, { recursive: true });
  await rename(image, join(archiveDir, 'boot_archive'));
  await writeFile(join(archiveDir, 'boot_archive.hash'), `${'0'.repeat(40)}\n`);
  await writeFile(join(archiveDir, 'boot_archive.manifest'), 'f ./x\n');
  const digest = { of: ARCHIVE, into: `${ARCHIVE}.hash` };
  early.stop();
  const premadeTgz = join(dir, 'premade.tgz');
  const sha1 = await writePlatformTgz(dir, PLATFORM, premadeTgz, EPOCH, { digest, premade: early });
  early.dispose();
  const plainTgz = join(dir, 'plain.tgz');
  const plainSha1 = await writePlatformTgz(dir, PLATFORM, plainTgz, EPOCH, { digest });
  return { premade: await readFile(premadeTgz), plain: await readFile(plainTgz), sha1, plainSha1 };
}

function earlyFor(dir: string, plan: UfsPlan): EarlyDeflate {
  return new EarlyDeflate({
    image: join(dir, 'boot_archive.ufs'),
    imageBytes: plan.imageBytes,
    imageOffset: contentOffset(PLATFORM, ARCHIVE, plan.imageBytes, EPOCH),
    spill: join(dir, 'spill'),
    threads: 2,
  });
}

const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');

test('most blocks are final and deflated while the image is written, and the tgz is the same', async (t) => {
  const { dir, root, nodes } = await scratchTree(t);
  let early: EarlyDeflate | undefined;
  const { plan, image } = await writeImage(dir, root, nodes, (planned) => (settled) => {
    early ??= earlyFor(dir, planned);
    early.settled(settled);
  });
  assert.ok(plan.cylinderGroups >= 2, `the image spans ${plan.cylinderGroups} groups`);
  assert.ok(early, 'the writer said what was settled');
  const out = await tgzBoth(dir, image, early);
  assert.equal(sha1(out.premade), sha1(out.plain), 'the same tgz, byte for byte');
  assert.equal(out.sha1, out.plainSha1);
  const blocks = Math.ceil(plan.imageBytes / BLOCK);
  assert.equal(early.counts.mismatched, 0);
  assert.ok(
    early.counts.ready >= blocks / 2,
    `${early.counts.ready} of about ${blocks} blocks were final while the image was written`,
  );
  assert.ok(early.counts.taken > 0, 'the stream took blocks deflated ahead of it');
});

test('a block made from bytes that changed afterwards is not used', async (t) => {
  const { dir, root, nodes } = await scratchTree(t);
  let early: EarlyDeflate | undefined;
  // Told at the first turn that the whole image is final: most of it is still zeros.
  const { image } = await writeImage(dir, root, nodes, (planned) => (settled) => {
    if (early) return;
    early = earlyFor(dir, planned);
    early.settled({ below: Infinity, except: settled.except });
  });
  const out = await tgzBoth(dir, image, early!);
  assert.equal(sha1(out.premade), sha1(out.plain), 'the same tgz, byte for byte');
  assert.ok(early!.counts.mismatched > 0, 'the blocks made from zeros were refused');
});
