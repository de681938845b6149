/**
 * An hsfs build with no customize step stages nothing: xorriso adds each
 * file from its source (docs/assembly.md, "One pass"). The same inputs
 * staged (--keep-staging forces the staged tree) give the same bytes:
 * boot_archive, tgz, boot_archive.manifest, log and JSONL twin, with names
 * that xorriso's command file must quote or escape (=, \, quotes,
 * non-ASCII, a leading -), and image files that are one file on disk.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, link, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { writePlatformTgz } from '../src/archive/tgz.js';
import { runCli, scratchDir, show } from './helpers/cli.js';
import { hasXorriso, listIso } from './helpers/iso.js';
import { fixtureArgs, FIXTURES } from './helpers/paths.js';
import { noise } from './helpers/ufs-image.js';

const STAMP = '20111209T201508Z'; // SOURCE_DATE_EPOCH=1323461708, set by runCli
const PLATFORM = `platform-${STAMP}`;
const sha1 = (data: Buffer | string) => createHash('sha1').update(data).digest('hex');
const needsXorriso = { skip: !hasXorriso && 'xorriso is not installed (apt-get install xorriso)' };

/** Awkward names: each file's content is its own name, so a mix-up shows. */
const ODD_FILES = [
  'a=b',
  'c\\d',
  `q'uo"te`,
  'e\\=f',
  'g\\',
  '=lead',
  'tail=',
  'ünï',
  '-dash',
  "it's",
];

/** The fixture inputs without the customize step, plus a manifest part and overlay of odd names. */
async function inputs(dir: string): Promise<string[]> {
  const manifests = join(dir, 'manifests');
  await cp(join(FIXTURES, 'manifests', 'good'), manifests, { recursive: true });
  const overlay = join(dir, 'odd-overlay');
  await mkdir(join(overlay, 'odd', 'd=ir'), { recursive: true });
  const lines = ['d odd 0755 root sys', 'd odd/d=ir 0750 root bin', `d odd/d"q 0700 root root`];
  for (const [i, name] of ODD_FILES.entries()) {
    await writeFile(join(overlay, 'odd', name), `${name}\n`.repeat(i + 1));
    lines.push(`f odd/${name} 0${(0o640 + i).toString(8)} root ${i % 2 ? 'bin' : 'sys'}`);
  }
  await writeFile(join(overlay, 'odd', 'd=ir', `x'y"z`), 'inside\n');
  // One disk file, two image files (not a manifest hard link): two files, as when staged.
  await link(join(overlay, 'odd', 'a=b'), join(overlay, 'odd', 'same_as_a=b'));
  lines.push('f odd/same_as_a=b 0644 root sys');
  lines.push(`f odd/d=ir/x'y"z 0444 root sys`);
  lines.push(`s odd/link=../etc/q'uo"te\\x`, `h odd/hard=odd/c\\d`, `h odd/hard2=odd/q'uo"te`);
  await writeFile(join(manifests, '30-odd.manifest'), lines.join('\n') + '\n');
  // Output and log directories are the build's own (build()).
  const args = fixtureArgs('', '').slice(0, -4);
  const at = args.indexOf('--customize');
  const rest = [...args.slice(0, at), ...args.slice(at + 2)];
  rest[rest.indexOf('--manifest') + 1] = manifests;
  return [...rest, '--overlay', overlay, '--archive', 'hsfs'];
}

async function build(t: TestContext, input: string[], extra: string[] = []) {
  const dir = await scratchDir(t);
  const output = join(dir, 'output');
  const args = [...input, '--output', output, '--log-dir', join(dir, 'log'), ...extra];
  const run = await runCli(args);
  assert.equal(run.code, 0, show(run));
  const archive = join(output, PLATFORM, 'i86pc', 'amd64');
  const log = join(dir, 'log', `build_live.${STAMP}`);
  return {
    run,
    image: join(archive, 'boot_archive'),
    output,
    bytes: {
      tgz: sha1(await readFile(join(output, `${PLATFORM}.tgz`))),
      bootArchive: sha1(await readFile(join(archive, 'boot_archive'))),
      bootManifest: sha1(await readFile(join(archive, 'boot_archive.manifest'))),
      log: sha1(await readFile(`${log}.log`)),
      jsonl: sha1(await readFile(`${log}.jsonl`)),
    },
  };
}

test(
  'hsfs: staging nothing gives the bytes of the staged build (--keep-staging), odd names included',
  needsXorriso,
  async (t) => {
    const input = await inputs(await scratchDir(t));
    const located = await build(t, input);
    const staged = await build(t, input, ['--keep-staging']);
    assert.match(
      located.run.stderr,
      /hsfs: writing boot_archive with xorriso, each file from its source/,
    );
    assert.doesNotMatch(staged.run.stderr, /each file from its source/);
    assert.deepEqual(located.bytes, staged.bytes);

    // And the image holds what the manifest says, under the odd names.
    const nodes = new Map(listIso(located.image).map((n) => [n.path, n]));
    for (const [i, name] of ODD_FILES.entries()) {
      const node = nodes.get(`odd/${name}`);
      assert.ok(node, `odd/${name} is in the image`);
      assert.equal(node.type, 'f', name);
      assert.equal(node.size, Buffer.byteLength(`${name}\n`.repeat(i + 1)), name);
      assert.equal(node.mode.toString(8), (0o640 + i).toString(8), name);
    }
    assert.equal(nodes.get('odd/link')?.target, `../etc/q'uo"te\\x`);
    assert.equal(nodes.get('odd/d=ir')?.mode.toString(8), '750');
    assert.equal(nodes.get('odd/hard')?.type, 'f');
    assert.equal(nodes.get('odd/same_as_a=b')?.size, 4);
  },
);

test(
  'hsfs: the tgz, deflated in part while xorriso wrote the image, is a plain pack of the platform',
  needsXorriso,
  async (t) => {
    const dir = await scratchDir(t);
    const input = await inputs(dir);
    // Some 24 MiB of image: blocks the deflate threads can take while xorriso writes.
    const big = join(dir, 'big-overlay');
    await mkdir(join(big, 'big'), { recursive: true });
    const lines = ['d big 0755 root sys'];
    for (let i = 0; i < 6; i++) {
      await writeFile(join(big, 'big', `f${i}`), noise(4 << 20, i + 1));
      lines.push(`f big/f${i} 0444 root sys`);
    }
    await writeFile(
      join(input[input.indexOf('--manifest') + 1], '40-big.manifest'),
      lines.join('\n') + '\n',
    );
    const located = await build(t, [...input, '--overlay', big]);
    const plain = join(dir, 'plain.tgz');
    const epoch = 1323461708;
    await writePlatformTgz(located.output, PLATFORM, plain, epoch);
    assert.equal(sha1(await readFile(plain)), located.bytes.tgz);
  },
);
