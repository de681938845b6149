/**
 * The gate fails closed on a crafted boot_archive (issue 23 items 1, 2 and
 * 11; docs/verify.md "integrity"): a real build-live UFS platform, its
 * boot_archive replaced or patched, then resealed (boot_archive.hash and
 * the log's sha1 line rewritten to match) as a hostile pull request would.
 * Every such image fails as `integrity` whatever --fail-on says, in
 * bounded time and memory, with one clear message and no stack trace; an
 * id changed consistently on every inode is found through the image's own
 * etc/passwd and etc/group.
 */
import assert from 'node:assert/strict';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { UfsImageError, UfsReader, type UfsEntry } from '../src/archive/ufs/read.js';
import { reportFindings } from '../src/actions/common/verify-comment.js';
import type { VerifyReport } from '../src/verify/types.js';
import { runCli, scratchDir, type CliRun } from './helpers/cli.js';
import { schemaErrors } from './helpers/report-schema.js';
import {
  buildFixturePlatform,
  INODE,
  inodeOffset,
  int32,
  noise,
  patch,
  reseal,
  SB,
  SB_FIELDS,
  uint64,
  usedInodes,
  type FixturePlatform,
} from './helpers/ufs-image.js';

const show = (r: CliRun) =>
  `exit ${r.code}\n--- stdout\n${r.stdout.slice(0, 4000)}--- stderr\n${r.stderr}`;

async function verifyJson(p: FixturePlatform, extra: readonly string[] = []) {
  const run = await runCli(['verify-manifest', ...p.args, ...extra, '--format', 'json']);
  let report: VerifyReport;
  try {
    report = JSON.parse(run.stdout) as VerifyReport;
  } catch {
    assert.fail(`stdout is not one JSON document\n${show(run)}`);
  }
  assert.equal(schemaErrors(report), '', show(run));
  return { run, report };
}

/** The platform fails as integrity, naming why its boot_archive does not read back. */
async function assertUnreadable(
  p: FixturePlatform,
  why: RegExp,
  claim = /does not read back as UFS/,
): Promise<void> {
  const { run, report } = await verifyJson(p, ['--fail-on', 'failed']);
  assert.equal(run.code, 1, show(run));
  assert.equal(report.verdict, 'fail');
  assert.ok(report.reasons.includes('integrity'), show(run));
  assert.match(report.content?.unreadable ?? '', claim, show(run));
  assert.match(report.content?.unreadable ?? '', why, show(run));
  // The PR comment lists it as a blocking integrity finding on the boot_archive.
  assert.ok(
    reportFindings(report).some((f) => f.kind === 'integrity' && f.path === 'boot_archive'),
    show(run),
  );
  const library = report.checks.find((c) => c.kind === 'missing-library');
  assert.match(library?.note ?? '', /does not read back/, show(run));
  assert.equal(report.logMatches?.[0]?.ok, true, 'the log names the crafted image: sealed');
  assert.equal(report.content?.hash?.ok, true, 'boot_archive.hash matches the crafted image');
  assert.doesNotMatch(run.stderr, /\n\s+at |internal error/, show(run));
  // The text report says it too, in its verdict line.
  const text = await runCli(['verify-manifest', ...p.args]);
  assert.equal(text.code, 1, show(text));
  assert.match(text.stdout, /^verify-manifest: FAIL: the boot_archive does not read back/);
  assert.match(text.stdout, /^content: UNREADABLE: /m);
}

async function fixture(t: Parameters<typeof scratchDir>[0]) {
  return buildFixturePlatform(await scratchDir(t));
}

test('the untouched fixture passes, and its groups and owners are checked through its etc/group and etc/passwd', async (t) => {
  const p = await fixture(t);
  const { run, report } = await verifyJson(p);
  assert.equal(run.code, 0, show(run));
  assert.equal(report.content?.unreadable, undefined);
  assert.ok((report.content?.checked ?? 0) >= 4, show(run));
});

const REPLACEMENTS: [string, (size: number) => Buffer, RegExp][] = [
  ['zeros', (size) => Buffer.alloc(size), /no UFS magic number/],
  ['random bytes', (size) => noise(size, 23), /no UFS magic number/],
  ['a 13-byte text file', () => Buffer.from('hello, world\n'), /only 13 bytes, no superblock/],
];
for (const [what, bytes, why] of REPLACEMENTS) {
  test(`a boot_archive replaced by ${what}, resealed, fails as integrity`, async (t) => {
    const p = await fixture(t);
    await writeFile(p.archive, bytes(17 * 1024 * 1024));
    await reseal(p);
    await assertUnreadable(p, why);
  });
}

const SUPERBLOCK: [string, number, number, RegExp][] = [
  ['magic 0', SB_FIELDS.magic, 0, /no UFS magic number/],
  ['fs_fpg -5', SB_FIELDS.fpg, -5, /fpg -5/],
  ['fs_ncg 1,000,000', SB_FIELDS.ncg, 1_000_000, /inconsistent superblock/],
  ['fs_ipg 2^30', SB_FIELDS.ipg, 2 ** 30, /inconsistent superblock/],
];
for (const [what, field, value, why] of SUPERBLOCK) {
  test(
    `a superblock with ${what}, resealed, fails as integrity at once`,
    { timeout: 120_000 },
    async (t) => {
      const p = await fixture(t);
      await patch(p.archive, SB + field, int32(value));
      await reseal(p);
      await assertUnreadable(p, why);
    },
  );
}

test('a UFS boot_archive the log says is hsfs, resealed, fails as integrity', async (t) => {
  const p = await fixture(t);
  const log = await readFile(p.log, 'utf8');
  await writeFile(p.log, log.replace(/^# archive: ufs$/m, '# archive: hsfs'));
  await assertUnreadable(p, /no ISO 9660 volume descriptor/, /the build log says hsfs/);
});

test('a UFS boot_archive carrying an ISO 9660 signature, resealed, fails as integrity (the log says ufs)', async (t) => {
  const p = await fixture(t);
  // Inside inode 0 (never used): the UFS still reads, but the image now claims hsfs.
  await patch(p.archive, 0x8001, Buffer.from('CD001'));
  await reseal(p);
  await assertUnreadable(p, /is an ISO 9660 image/, /the build log says ufs/);
});

test('a truncated boot_archive, resealed, fails as integrity', async (t) => {
  const p = await fixture(t);
  await truncate(p.archive, 1024 * 1024);
  await reseal(p);
  await assertUnreadable(p, /truncated: 1048576 bytes/);
});

const INODE_SIZES: [string, string, bigint][] = [
  ['the root directory', '', 3n * 2n ** 29n], // 1.5 GiB: was "Array buffer allocation failed"
  ['the root directory', '', 2n ** 40n], // was SIGSEGV
  ['a regular file (2^40 bytes of holes)', 'usr/bin/small', 2n ** 40n - 1n], // hung, ignoring signals
  ['a regular file (far more holes than the image)', 'usr/bin/big', 2n ** 36n],
  ['a symlink', 'usr/bin/link', 4096n],
];
for (const [what, path, size] of INODE_SIZES) {
  test(
    `an inode size of ${size} on ${what}, resealed, fails as integrity in bounded time`,
    { timeout: 120_000 },
    async (t) => {
      const p = await fixture(t);
      const ino = await inodeNumber(p, path);
      await patch(p.archive, (await inodeOffset(p.archive, ino)) + INODE.size, uint64(size));
      await reseal(p);
      await assertUnreadable(p, new RegExp(`inode ${ino}`));
    },
  );
}

test('a block address past the image, resealed, fails as integrity', async (t) => {
  const p = await fixture(t);
  const ino = await inodeNumber(p, 'usr/bin/big');
  // The single indirect block's address (di_ib[0], offset 88).
  await patch(p.archive, (await inodeOffset(p.archive, ino)) + 88, int32(0x7fffff00));
  await reseal(p);
  await assertUnreadable(p, new RegExp(`inode ${ino}: block address`));
});

test('more names for an inode than its link count, resealed, fails as integrity', async (t) => {
  const p = await fixture(t);
  const ino = await inodeNumber(p, 'usr/bin/small');
  await patch(p.archive, (await inodeOffset(p.archive, ino)) + INODE.nlink, Buffer.from([0, 0]));
  await reseal(p);
  await assertUnreadable(p, new RegExp(`inode ${ino} has link count 0`));
});

/** The inode number of `path` in the fixture's image ('' is the root). */
async function inodeNumber(p: FixturePlatform, path: string): Promise<number> {
  const reader = await UfsReader.open(p.archive);
  try {
    for await (const entry of reader.entries()) if (entry.path === path) return entry.inode;
    assert.fail(`no ${path} in the fixture image`);
  } finally {
    await reader.close();
  }
}

/** Sets the 16-bit id at `field` (and its 32-bit twin) from `from` to `to` on every inode. */
async function changeIds(
  p: FixturePlatform,
  short: number,
  long: number,
  from: number,
  to: number,
) {
  const image = await readFile(p.archive);
  let changed = 0;
  for (const { offset } of await usedInodes(p.archive)) {
    if (image.readUInt16LE(offset + short) !== from) continue;
    const id = Buffer.alloc(2);
    id.writeUInt16LE(to);
    await patch(p.archive, offset + short, id);
    await patch(p.archive, offset + long, int32(to));
    changed++;
  }
  assert.ok(changed >= 1, `no inode had id ${from}`);
  await reseal(p);
}

test('the group sys (gid 3) changed to gid 5 on every inode is a finding through the image etc/group', async (t) => {
  const p = await fixture(t);
  await changeIds(p, INODE.sgid, INODE.gid, 3, 5);
  const { run, report } = await verifyJson(p, ['--fail-on', 'failed']);
  assert.equal(run.code, 1, show(run));
  assert.ok(report.reasons.includes('integrity'), show(run));
  const groups = (report.content?.differences ?? []).filter((d) => d.field === 'group');
  assert.deepEqual(
    groups.map((d) => [d.path, d.expected, d.actual]),
    [
      ['etc', "sys = gid 3 (the image's etc/group)", 'gid 5'],
      ['etc/group', "sys = gid 3 (the image's etc/group)", 'gid 5'],
      ['etc/passwd', "sys = gid 3 (the image's etc/group)", 'gid 5'],
      ['usr', "sys = gid 3 (the image's etc/group)", 'gid 5'],
      // Made by build-live for its copy of the manifest (var/log/manifest).
      ['var', "sys = gid 3 (the image's etc/group)", 'gid 5'],
      ['var/log', "sys = gid 3 (the image's etc/group)", 'gid 5'],
    ],
    show(run),
  );
});

test('the owner bin (uid 2) changed to uid 7 on every inode is a finding through the image etc/passwd', async (t) => {
  const p = await fixture(t);
  await changeIds(p, INODE.suid, INODE.uid, 2, 7);
  const { run, report } = await verifyJson(p);
  assert.equal(run.code, 1, show(run));
  const owners = (report.content?.differences ?? []).filter((d) => d.field === 'owner');
  assert.deepEqual(
    owners.map((d) => [d.path, d.expected, d.actual]),
    [['usr/bin/big', "bin = uid 2 (the image's etc/passwd)", 'uid 7']],
    show(run),
  );
});

test('a short read is an error, never the previous buffer read again', async (t) => {
  const p = await fixture(t);
  const reader = await UfsReader.open(p.archive);
  t.after(() => reader.close());
  // The image shrinks under the reader: its inodes are now past the end of the file.
  await truncate(p.archive, 12 * 1024);
  await assert.rejects(
    async () => {
      for await (const entry of reader.entries())
        assert.fail(`read ${entry.path || '/'} from a file that ends`);
    },
    (err: unknown) =>
      err instanceof UfsImageError &&
      /inode 2: 128 bytes at offset \d+ are past the end of the image file/.test(err.message),
  );
});

test('reading a file of holes lets the event loop turn (signals are handled)', async (t) => {
  const p = await fixture(t);
  const ino = await inodeNumber(p, 'usr/bin/small');
  // 16 MiB of holes: within what the image may claim, and 2,048 blocks with no I/O.
  await patch(p.archive, (await inodeOffset(p.archive, ino)) + INODE.size, uint64(16n * 2n ** 20n));
  const reader = await UfsReader.open(p.archive);
  t.after(() => reader.close());
  let entry: UfsEntry | undefined;
  for await (const e of reader.entries()) if (e.path === 'usr/bin/small') entry = e;
  assert.ok(entry);
  let turns = 0;
  let stop = false;
  const spin = () => {
    turns++;
    if (!stop) setImmediate(spin);
  };
  setImmediate(spin);
  await reader.md5(entry);
  stop = true;
  assert.ok(turns >= 4, `the event loop turned ${turns} times while 16 MiB of holes were hashed`);
});
