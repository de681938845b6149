import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import {
  chown,
  link,
  mkdir,
  open,
  readFile,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { ROOT_DIR } from '../src/image/model.js';
import {
  CBLKNO,
  dblkno,
  decodeSuperblock,
  FSCLEAN,
  FSOKAY,
  FS_MAGIC,
  MAX_FILE_SIZE,
  SBLOCK_OFFSET,
  FS_SBSIZE,
} from '../src/archive/ufs/layout.js';
import { BootUfsReader } from '../src/archive/ufs/boot-read.js';
import { fsckUfs } from '../src/archive/ufs/fsck.js';
import { MAX_IPG } from '../src/archive/ufs/layout.js';
import { planUfs, type UfsPlan } from '../src/archive/ufs/plan.js';
import { UfsReader, type UfsEntry } from '../src/archive/ufs/read.js';
import { writeUfs } from '../src/archive/ufs/write.js';
import type { ImageNode } from '../src/image/model.js';
import { readBootManifest } from '../src/formats/boot-manifest.js';
import { UserError } from '../src/util/errors.js';
import { fileIn, isRoot, runCli, scratchDir } from './helpers/cli.js';
import { fixtureArgs } from './helpers/paths.js';

const EPOCH = 1323461708;
const STAMP = '20111209T201508Z';
const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

async function fileHash(path: string, algorithm = 'sha256'): Promise<string> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** A staging tree and its image model, built side by side. */
class Tree {
  readonly nodes: ImageNode[] = [];
  constructor(readonly root: string) {}

  private node(path: string, type: ImageNode['type'], extra: Partial<ImageNode> = {}): ImageNode {
    const node: ImageNode = {
      path,
      type,
      origin: 'manifest',
      mode: 0o755,
      owner: 'root',
      group: 'sys',
      uid: 0,
      gid: 3,
      status: 'ok',
      ...extra,
    };
    this.nodes.push(node);
    return node;
  }
  async dir(path: string, extra: Partial<ImageNode> = {}): Promise<void> {
    await mkdir(join(this.root, path), { recursive: true });
    this.node(path, 'd', extra);
  }
  async file(path: string, content: Buffer | string, extra: Partial<ImageNode> = {}) {
    const data = Buffer.from(content);
    await writeFile(join(this.root, path), data);
    this.node(path, 'f', { mode: 0o644, size: data.length, md5: md5(data), ...extra });
  }
  /** An empty file in the model only: the writer never reads an empty file, so none is made on disk. */
  emptyFile(path: string): void {
    this.node(path, 'f', { mode: 0o644, size: 0, md5: md5('') });
  }
  async symlink(path: string, target: string): Promise<void> {
    await symlink(target, join(this.root, path));
    this.node(path, 's', { target });
  }
  async hardlink(path: string, to: string): Promise<void> {
    const file = this.nodes.find((n) => n.path === to)!;
    if (file.type === 's') {
      await symlink(file.target!, join(this.root, path));
      this.node(path, 'h', { target: to, linkedFile: to, linkText: file.target });
    } else {
      await link(join(this.root, to), join(this.root, path));
      this.node(path, 'h', {
        target: to,
        linkedFile: to,
        mode: file.mode,
        uid: file.uid,
        gid: file.gid,
      });
    }
  }
}

async function newTree(dir: string): Promise<Tree> {
  const root = join(dir, 'root');
  await mkdir(root, { recursive: true });
  return new Tree(root);
}

async function write(tree: Tree, output: string, plan?: UfsPlan): Promise<UfsPlan> {
  const p = plan ?? planUfs(tree.nodes, { stagingRoot: tree.root });
  await writeUfs({
    stagingRoot: tree.root,
    nodes: tree.nodes,
    root: ROOT_DIR,
    output,
    epoch: EPOCH,
    plan: p,
  });
  return p;
}

async function readAll(
  image: string,
): Promise<{ entries: Map<string, UfsEntry>; md5s: Map<string, string> }> {
  const reader = await UfsReader.open(image);
  const entries = new Map<string, UfsEntry>();
  const md5s = new Map<string, string>();
  const order: string[] = [];
  try {
    for await (const e of reader.entries()) {
      entries.set(e.path, e);
      order.push(e.path);
      if (e.type === 'f') md5s.set(e.path, await reader.md5(e));
    }
  } finally {
    await reader.close();
  }
  // What illumos's fsck -n would say: nothing, so illumos mounts it read-write as it is.
  assert.deepEqual(await fsckUfs(image), []);
  // The boot-time reader's view: every file's bytes, every symlink's text
  // (the first 512 bytes of its block), holes read from the device's first
  // block, which the writer keeps zero.
  const fh = await open(image, 'r');
  const head = Buffer.alloc(8192);
  await fh.read(head, 0, head.length, 0);
  await fh.close();
  assert.ok(head.equals(Buffer.alloc(8192)), 'the first 8 KiB of the image are zero');
  const boot = await BootUfsReader.open(image);
  try {
    for (const e of entries.values()) {
      if (e.type === 'f') assert.equal(await boot.md5(e.path), md5s.get(e.path), `boot: ${e.path}`);
      if (e.type === 'd' && e.path !== '')
        assert.equal(await boot.lookup(e.path), e.inode, `boot: ${e.path}`);
    }
  } finally {
    await boot.close();
  }
  const sorted = [...order].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual(order, sorted, 'entries come in byte order of their paths');
  return { entries, md5s };
}

/** A tree with every kind of thing the writer must get right. */
async function richTree(dir: string): Promise<Tree> {
  const t = await newTree(dir);
  await t.dir('etc');
  await t.dir('tmp', { mode: 0o1777 });
  await t.dir('usr');
  await t.dir('usr/bin', { gid: 2 });
  await t.file('etc/empty', '');
  await t.file('etc/one', 'x');
  await t.file('etc/frag-1023', Buffer.alloc(1023, 1));
  await t.file('etc/frag-1024', Buffer.alloc(1024, 2));
  await t.file('etc/block-8191', Buffer.alloc(8191, 3));
  await t.file('etc/block-8192', Buffer.alloc(8192, 4));
  await t.file('etc/block-8193', Buffer.alloc(8193, 5));
  const pattern = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 9)) & 0xff;
    return b;
  };
  await t.file('etc/direct-full', pattern(12 * 8192));
  await t.file('etc/single-indirect', pattern(12 * 8192 + 1));
  await t.file('etc/double-indirect', pattern((12 + 2048) * 8192 + 5000));
  const holes = pattern(40 * 8192);
  holes.fill(0, 8192, 30 * 8192); // all-zero blocks in the middle become holes
  await t.file('etc/with-holes', holes);
  await t.file('usr/bin/su', 'su binary\n', { mode: 0o4555 });
  await t.file('usr/bin/sgid', 'sgid binary\n', { mode: 0o2755, gid: 70000 });
  await t.file('usr/bin/big-uid', 'owner above 65535\n', { uid: 123456, gid: 65535 });
  await t.hardlink('usr/bin/a-link-first', 'usr/bin/su'); // sorts before its file
  await t.hardlink('usr/bin/sz', 'usr/bin/su');
  await t.symlink('bin', 'usr/bin');
  await t.symlink('usr/bin/long', 'x/'.repeat(400) + 'end'); // 803 bytes: in a data block
  await t.symlink('usr/bin/max', 'y'.repeat(1023));
  await t.hardlink('usr/bin/link-to-symlink', 'bin');
  // A directory of thousands of entries spans many directory blocks, and indirect ones.
  await t.dir('usr/many');
  for (let i = 0; i < 3000; i++)
    await t.file(`usr/many/entry-with-a-longish-name-${String(i).padStart(5, '0')}`, `${i}\n`);
  return t;
}

test('ufs: writer and reader agree on every kind of entry (modes, owners, links, holes, big directories)', async (t) => {
  const dir = await scratchDir(t);
  const tree = await richTree(dir);
  const image = join(dir, 'image.ufs');
  const plan = await write(tree, image);
  assert.equal((await stat(image)).size, plan.imageBytes);
  const { entries, md5s } = await readAll(image);

  const root = entries.get('')!;
  assert.equal(root.type, 'd');
  assert.equal(root.mode, ROOT_DIR.mode);
  assert.equal(root.inode, 2);
  assert.equal(root.nlink, 2 + 3); // etc, tmp, usr
  assert.equal(entries.size, tree.nodes.length + 1);
  for (const node of tree.nodes) {
    const e = entries.get(node.path);
    assert.ok(e, `${node.path} is in the image`);
    assert.equal(e.mtime, EPOCH, `${node.path}: mtime`);
    if (node.type === 's' || node.linkText !== undefined) {
      assert.equal(e.type, 's', node.path);
      assert.equal(e.target, node.target && node.type === 's' ? node.target : node.linkText);
      assert.ok(e.blocks > 0, `${node.path}: the target is in a data block, as illumos writes it`);
      continue;
    }
    const file = node.type === 'h' ? tree.nodes.find((n) => n.path === node.linkedFile)! : node;
    assert.equal(e.type, node.type === 'd' ? 'd' : 'f', node.path);
    assert.equal(e.mode, node.mode, `${node.path}: mode`);
    assert.equal(e.uid, file.uid, `${node.path}: uid`);
    assert.equal(e.gid, file.gid, `${node.path}: gid`);
    if (e.type === 'f') {
      assert.equal(e.size, file.size, `${node.path}: size`);
      assert.equal(md5s.get(node.path), file.md5, `${node.path}: md5`);
    }
  }
  // Hard links: one inode, its link count the number of paths.
  const su = entries.get('usr/bin/su')!;
  assert.equal(entries.get('usr/bin/sz')!.inode, su.inode);
  assert.equal(entries.get('usr/bin/a-link-first')!.inode, su.inode);
  assert.equal(su.nlink, 3);
  assert.equal(entries.get('etc/one')!.nlink, 1);
  assert.equal(entries.get('usr')!.nlink, 2 + 2);
  // Inodes follow the byte order of the first path.
  assert.ok(entries.get('bin')!.inode < entries.get('etc')!.inode);
  // Holes: 29 zero blocks of etc/with-holes take no space.
  assert.equal(entries.get('etc/with-holes')!.blocks, (40 - 29) * 16 + 16 /* indirect */);
  assert.equal(entries.get('etc/empty')!.blocks, 0);
  assert.equal(entries.get('etc/one')!.blocks, 2); // one 1 KiB fragment
  // Thousands of entries: a directory of many blocks.
  assert.ok(entries.get('usr/many')!.size > 12 * 8192, 'usr/many needs an indirect block');

  // The superblock says clean, so illumos and Linux mount it without fsck.
  const raw = Buffer.alloc(FS_SBSIZE);
  const fh = await open(image, 'r');
  await fh.read(raw, 0, FS_SBSIZE, SBLOCK_OFFSET);
  await fh.close();
  const sb = decodeSuperblock(raw);
  assert.equal(sb.magic, FS_MAGIC);
  assert.equal(sb.clean, FSCLEAN);
  assert.equal((sb.state + sb.time) | 0, FSOKAY);
  assert.equal(sb.time, EPOCH);
  assert.equal(sb.size * 1024, plan.imageBytes);
  assert.equal(sb.cstotal.nifree, plan.inodes - plan.inodesUsed - 2);
});

test('ufs: two writes of the same input are byte-identical', async (t) => {
  const dir = await scratchDir(t);
  const tree = await richTree(dir);
  await write(tree, join(dir, 'a.ufs'));
  // Same content, nodes given in another order.
  const shuffled = Object.assign(Object.create(Tree.prototype) as Tree, tree, {
    nodes: [...tree.nodes].reverse(),
  });
  await write(shuffled, join(dir, 'b.ufs'));
  assert.equal(await fileHash(join(dir, 'a.ufs')), await fileHash(join(dir, 'b.ufs')));
});

test('ufs plan: sized from the content, headroom as asked, never too small', async (t) => {
  const dir = await scratchDir(t);
  const tree = await newTree(dir);
  await tree.dir('d');
  for (let i = 0; i < 50; i++) await tree.file(`d/f${i}`, Buffer.alloc(20_000 + i * 1000, i + 1));
  const noFloor = { minFreeBytes: 0, minFreeInodes: 0 };
  const plan0 = planUfs(tree.nodes, { freePercent: 0, freeInodes: 0, stagingRoot: tree.root, ...noFloor }); // prettier-ignore
  const plan10 = planUfs(tree.nodes, { stagingRoot: tree.root, ...noFloor });
  const plan50 = planUfs(tree.nodes, { freePercent: 50, freeInodes: 5000, ...noFloor });
  // By default the floors govern an image this small: 16 MiB and 4096 inodes free.
  const floored = planUfs(tree.nodes, { stagingRoot: tree.root });
  assert.equal(floored.freeSpaceFrom, 'minimum');
  assert.equal(floored.freeInodesFrom, 'minimum');
  assert.equal(plan10.freeSpaceFrom, 'percent');
  assert.equal(plan10.freeInodesFrom, 'default');
  assert.equal(plan50.freeInodesFrom, 'option');
  assert.ok(floored.imageBytes >= plan10.imageBytes + 16 * 2 ** 20 - 2 ** 20 * 2);
  assert.ok(floored.inodes >= floored.inodesUsed + 2 + 4096);
  assert.equal(plan10.freePercent, 10);
  assert.equal(plan0.inodesUsed, 52);
  assert.equal(
    plan0.dataBytes,
    tree.nodes.reduce((n, x) => n + (x.size ?? 0), 0),
  );
  // 20,000..69,000 bytes: 2..8 full blocks each, tails in fragments.
  const frags = tree.nodes
    .filter((n) => n.type === 'f')
    .reduce((n, x) => n + Math.floor(x.size! / 8192) * 8 + Math.ceil((x.size! % 8192) / 1024), 0);
  assert.equal(plan0.dataFragments, frags);
  assert.ok(plan10.imageBytes >= plan0.imageBytes);
  assert.ok(plan50.imageBytes > plan0.imageBytes);
  assert.ok(plan50.inodes >= 52 + 2 + 5000);
  assert.ok(plan0.imageBytes < plan0.dataBytes * 1.2 + 2 * 1024 * 1024, 'not wasteful');
  for (const [name, plan] of Object.entries({ plan0, plan10, plan50, floored })) {
    const image = join(dir, `${name}.ufs`);
    await write(tree, image, plan);
    const { md5s } = await readAll(image);
    assert.equal(md5s.size, 50, name);
  }
  // Exact: with no headroom only the rounding to whole 1 MiB cylinders is free;
  // with 10%, a tenth of the blocks in use.
  const free = async (name: string) => {
    const raw = Buffer.alloc(FS_SBSIZE);
    const fh = await open(join(dir, `${name}.ufs`), 'r');
    await fh.read(raw, 0, FS_SBSIZE, SBLOCK_OFFSET);
    await fh.close();
    return decodeSuperblock(raw).cstotal.nbfree;
  };
  assert.ok((await free('plan0')) < 128, `plan0: ${await free('plan0')} free blocks`);
  const free10 = await free('plan10');
  assert.ok(free10 >= plan10.usedBlocks / 10 && free10 < plan10.usedBlocks / 10 + 128, `${free10}`);
  const freeFloored = await free('floored');
  assert.ok(freeFloored >= 2048 && freeFloored < 2048 + 128, `${freeFloored}`);
});

test("ufs: more inodes than one cylinder group may hold (30,000 empty files): more groups, each within illumos fsck's limit", async (t) => {
  const dir = await scratchDir(t);
  const tree = await newTree(dir);
  await tree.dir('many');
  for (let i = 0; i < 30_000; i++) tree.emptyFile(`many/${i}`);
  const plan = planUfs(tree.nodes);
  // newfs' default (2048 bytes per inode) would give this image a few thousand inodes.
  assert.ok(plan.imageBytes / 2048 < 30_000, `${plan.imageBytes} bytes`);
  assert.ok(plan.inodes >= 30_002 + 2);
  assert.ok(plan.bytesPerInode < 2048);
  // illumos fsck's MAXIpG: roundup(8192 * 8 / 3, 64).
  assert.equal(MAX_IPG, 21_888);
  assert.ok(plan.cylinderGroups > 1, `${plan.cylinderGroups} groups`);
  assert.ok(plan.inodesPerGroup <= MAX_IPG, `${plan.inodesPerGroup} inodes per group`);
  const image = join(dir, 'image.ufs');
  await write(tree, image, plan);
  const { entries } = await readAll(image);
  assert.equal(entries.size, 30_002);
  assert.equal(entries.get('many/29999')!.size, 0);
  assert.ok(
    [...entries.values()].some((e) => e.inode >= plan.inodesPerGroup),
    'inodes in the second group are used',
  );
});

test('ufs: a sparse file beyond the double-indirect range (33 GiB) uses triple indirect blocks and holes', async (t) => {
  const dir = await scratchDir(t);
  const tree = await newTree(dir);
  const size = 33 * 2 ** 30; // double indirect ends at (12 + 2048 + 2048^2) * 8 KiB, about 32.02 GiB
  const path = join(tree.root, 'sparse');
  await writeFile(path, 'start of the file');
  await truncate(path, size);
  const marks = [
    [0, 'start of the file'],
    [20 * 2 ** 30, 'in the double indirect range'],
    [32.5 * 2 ** 30, 'in the triple indirect range'],
    [size - 7, 'the end'],
  ] as const;
  const fh = await open(path, 'r+');
  for (const [at, text] of marks) await fh.write(text, at);
  await fh.close();
  tree.nodes.push({
    path: 'sparse', type: 'f', origin: 'manifest', mode: 0o644, owner: 'root', group: 'root',
    uid: 0, gid: 0, status: 'ok', size,
  }); // prettier-ignore
  const plan = planUfs(tree.nodes, { stagingRoot: tree.root, minFreeBytes: 0 });
  assert.ok(plan.imageBytes < 4 * 2 ** 20, `the plan counts holes as free: ${plan.imageBytes}`);
  const image = join(dir, 'image.ufs');
  await write(tree, image, plan);
  assert.ok((await stat(image)).size < 4 * 2 ** 20);
  const reader = await UfsReader.open(image);
  t.after(() => reader.close());
  let entry: UfsEntry | undefined;
  for await (const e of reader.entries()) if (e.path === 'sparse') entry = e;
  assert.equal(entry!.size, size);
  // 4 data blocks; no single indirect, 2 double (top, one below), 4 triple (top, one, two): 10 blocks of 16 sectors
  assert.equal(entry!.blocks, 10 * 16);
  for (const [at, text] of marks)
    assert.equal((await reader.read(entry!, at, text.length)).toString(), text);
  assert.deepEqual(await fsckUfs(image), []);
  assert.deepEqual(await reader.read(entry!, 2 ** 30, 16), Buffer.alloc(16));
  // The boot-time reader reads a hole from the device's first block: zeros here.
  const boot = await BootUfsReader.open(image);
  t.after(() => boot.close());
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const part of boot.content('sparse')) {
    if (bytes < 2 * 8192) parts.push(part);
    bytes += part.length;
    if (bytes >= 2 * 8192) break;
  }
  const start = Buffer.concat(parts);
  assert.equal(start.toString('latin1', 0, 17), 'start of the file');
  assert.ok(start.subarray(8192, 16384).equals(Buffer.alloc(8192)), 'a hole reads as zeros');
});

test('ufs fsck: a free map that disagrees with the blocks in use is found', async (t) => {
  const dir = await scratchDir(t);
  const tree = await newTree(dir);
  await tree.file('a', Buffer.alloc(20_000, 1));
  const image = join(dir, 'image.ufs');
  await write(tree, image);
  const fh = await open(image, 'r+');
  const cg = Buffer.alloc(8192);
  await fh.read(cg, 0, cg.length, CBLKNO * 1024);
  const freeoff = cg.readInt32LE(96);
  const ipg = cg.readInt16LE(18);
  const frag = dblkno(ipg) + 8; // the first block of file a
  cg[freeoff + (frag >> 3)] |= 1 << (frag & 7); // say it is free
  await fh.write(cg, 0, cg.length, CBLKNO * 1024);
  await fh.close();
  assert.deepEqual(await fsckUfs(image), ['CG 0: FRAG BITMAP WRONG (1 fragment)']);
});

test('ufs fsck: the cg_niblk this writer used to write (inode blocks, not inodes) is found', async (t) => {
  const dir = await scratchDir(t);
  const tree = await newTree(dir);
  await tree.file('a', 'a');
  const image = join(dir, 'image.ufs');
  const plan = await write(tree, image);
  const fh = await open(image, 'r+');
  const field = Buffer.alloc(2);
  await fh.read(field, 0, 2, CBLKNO * 1024 + 18);
  assert.equal(field.readInt16LE(0), plan.inodesPerGroup, 'cg_niblk is fs_ipg, as mkfs writes it');
  field.writeInt16LE(plan.inodesPerGroup / 64, 0);
  await fh.write(field, 0, 2, CBLKNO * 1024 + 18);
  await fh.close();
  assert.deepEqual(await fsckUfs(image), [
    `CG 0: INCORRECT NUMBER OF INODES IN GROUP (${plan.inodesPerGroup / 64} should be ${plan.inodesPerGroup})`,
  ]);
});

test('ufs fsck: a directory entry crossing its 512-byte chunk, a bad backup superblock, a wrong link count', async (t) => {
  const dir = await scratchDir(t);
  const tree = await newTree(dir);
  await tree.dir('d');
  await tree.file('d/f', 'x');
  const image = join(dir, 'image.ufs');
  const plan = await write(tree, image);
  const fh = await open(image, 'r+');
  // The root directory's first block: '.', '..', 'd'; the last entry takes the chunk's rest.
  const rootIno = Buffer.alloc(128);
  await fh.read(rootIno, 0, 128, 32 * 1024 + 2 * 128);
  const rootBlock = rootIno.readInt32LE(40);
  const entries = Buffer.alloc(512);
  await fh.read(entries, 0, 512, rootBlock * 1024);
  const third = 12 + 12; // after '.' (12 bytes) and '..' (12 bytes)
  entries.writeUInt16LE(entries.readUInt16LE(third + 4) + 4, third + 4);
  await fh.write(entries, 0, 512, rootBlock * 1024);
  // The file's link count.
  const fileIno = Buffer.alloc(128);
  await fh.read(fileIno, 0, 128, 32 * 1024 + 4 * 128);
  fileIno.writeInt16LE(2, 2);
  await fh.write(fileIno, 0, 128, 32 * 1024 + 4 * 128);
  // The backup superblock fsck compares (the last group's copy) says another size.
  const size = Buffer.alloc(4);
  size.writeInt32LE(plan.sizeFragments + 1024, 0);
  const last = plan.cylinderGroups - 1;
  await fh.write(size, 0, 4, (last * 16384 + 16) * 1024 + 36);
  await fh.close();
  assert.deepEqual(await fsckUfs(image), [
    `BAD SUPERBLOCK AT BLOCK 16: BAD VALUES IN SUPER BLOCK (the backup in group ${last} differs at byte 37)`, // fs_size: 1024 fragments more
    'DIRECTORY I=2: DIRECTORY CORRUPTED at offset 24 (record length 492 crosses its 512-byte chunk)',
    'UNREF DIR I=3',
    'LINK COUNT DIR I=3 COUNT 2 SHOULD BE 1',
    'LINK COUNT FILE I=4 COUNT 2 SHOULD BE 1',
  ]);
});

test('ufs boot-time reader: paths through relative and absolute symlinks, as krtld resolves them', async (t) => {
  const dir = await scratchDir(t);
  const tree = await newTree(dir);
  await tree.dir('platform');
  await tree.dir('platform/i86pc');
  await tree.dir('platform/i86pc/kernel');
  await tree.file('platform/i86pc/kernel/unix', Buffer.alloc(100_000, 7));
  await tree.symlink('platform/i86pc/amd64', 'kernel');
  await tree.symlink('abs', '/platform/i86pc');
  await tree.symlink('up', 'platform/i86pc/../i86pc/amd64/unix');
  await tree.symlink('loop', 'loop');
  const image = join(dir, 'image.ufs');
  await write(tree, image);
  await readAll(image);
  const boot = await BootUfsReader.open(image);
  t.after(() => boot.close());
  const want = md5(Buffer.alloc(100_000, 7));
  for (const path of ['platform/i86pc/amd64/unix', 'abs/kernel/unix', 'abs/amd64/unix', 'up'])
    assert.equal(await boot.md5(path), want, path);
  assert.equal(await boot.lookup('platform/none'), 0);
  await assert.rejects(boot.lookup('loop'), (err: unknown) => err instanceof UserError && /a loop of symlinks/.test(err.message)); // prettier-ignore
});

test('ufs bad input: a name longer than 255 bytes, before anything is written', async (t) => {
  const dir = await scratchDir(t);
  const tree = await newTree(dir);
  await tree.dir('etc');
  const name = 'n'.repeat(256);
  tree.nodes.push({ ...tree.nodes[0], path: `etc/${name}`, type: 'f', size: 0 });
  const output = join(dir, 'image.ufs');
  for (const attempt of [() => planUfs(tree.nodes), () => write(tree, output, {} as UfsPlan)]) {
    await assert.rejects(
      async () => attempt(),
      (err: unknown) =>
        err instanceof UserError &&
        err.message.includes(`etc/${name}`) &&
        err.message.includes('256 bytes') &&
        err.message.includes('at most 255'),
    );
  }
  assert.equal(existsSync(output), false);
});

test('ufs bad input: a symlink target of 1024 bytes or more; 1023 is fine', async (t) => {
  const dir = await scratchDir(t);
  const tree = await newTree(dir);
  await tree.symlink('ok', 'a'.repeat(1023));
  tree.nodes.push({ ...tree.nodes[0], path: 'too-long', target: 'b'.repeat(9000) });
  const output = join(dir, 'image.ufs');
  assert.throws(
    () => planUfs(tree.nodes),
    (err: unknown) =>
      err instanceof UserError &&
      /^too-long: the symlink target is 9000 bytes long/.test(err.message),
  );
  tree.nodes.pop();
  await write(tree, output);
  const { entries } = await readAll(output);
  assert.equal(entries.get('ok')!.target, 'a'.repeat(1023));
});

test('ufs bad input: a file larger than illumos UFS holds (1 TiB)', async (t) => {
  const dir = await scratchDir(t);
  const tree = await newTree(dir);
  tree.nodes.push({
    path: 'huge', type: 'f', origin: 'manifest', mode: 0o644, owner: 'root', group: 'root',
    uid: 0, gid: 0, status: 'ok', size: MAX_FILE_SIZE + 1,
  }); // prettier-ignore
  assert.throws(
    () => planUfs(tree.nodes),
    (err: unknown) =>
      err instanceof UserError && err.message.startsWith('huge: 1099511627776 bytes'),
  );
});

test('ufs reader: not a UFS image, or a truncated one, is a UserError naming the file', async (t) => {
  const dir = await scratchDir(t);
  const junk = await fileIn(dir, 'junk', Buffer.alloc(64 * 1024, 7));
  await assert.rejects(
    UfsReader.open(junk),
    (err: unknown) =>
      err instanceof UserError && err.message.startsWith(`${junk}: not a readable UFS image`),
  );
  const tree = await newTree(dir);
  await tree.file('a', 'a');
  const image = join(dir, 'image.ufs');
  await write(tree, image);
  await truncate(image, 100 * 1024);
  await assert.rejects(
    UfsReader.open(image),
    (err: unknown) => err instanceof UserError && /truncated: 102400 bytes/.test(err.message),
  );
  await assert.rejects(
    UfsReader.open(join(dir, 'missing')),
    (err: unknown) => err instanceof UserError && err.message.includes('does not exist'),
  );
});

test('build-live --archive ufs: unprivileged, reproducible, the image holds what boot_archive.manifest says', async (t) => {
  const dir = await scratchDir(t);
  const hashes: string[] = [];
  for (const name of ['one', 'two']) {
    const out = join(dir, name);
    await mkdir(out);
    if (isRoot) await chown(out, 65534, 65534);
    const run = await runCli(
      [...fixtureArgs(join(out, 'output'), join(out, 'log')), '--archive', 'ufs'],
      { unprivileged: true },
    );
    assert.equal(run.code, 0, run.stderr);
    const archive = join(out, 'output', `platform-${STAMP}`, 'i86pc', 'amd64');
    const image = join(archive, 'boot_archive');
    hashes.push(await fileHash(image));
    assert.equal(
      (await readFile(join(archive, 'boot_archive.hash'), 'utf8')).trim(),
      await fileHash(image, 'sha1'),
    );
    assert.ok(existsSync(join(out, 'output', `platform-${STAMP}.tgz`)));
    const manifest = await readBootManifest(join(archive, 'boot_archive.manifest'));
    const { entries, md5s } = await readAll(image);
    for (const [path, want] of manifest.entries) {
      const got = entries.get(path);
      assert.ok(got, `${path} is in the image`);
      assert.equal(got.type, want.type, path);
      if (want.type === 's') assert.equal(got.target, want.target, path);
      else assert.equal(got.mode, want.mode, path);
      if (want.type === 'f') assert.equal(md5s.get(path), want.md5, path);
    }
    assert.equal(entries.size, manifest.entries.size + 1); // + var/log/manifest
  }
  assert.equal(hashes[0], hashes[1]);
});
