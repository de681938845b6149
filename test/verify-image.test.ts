// verify-manifest's checks of the finished image (SPEC 6), black box: a
// real build-live UFS image is made here from a small manifest and a proto
// holding real ELF files no one here wrote (the illumos esbuild binary,
// fetched by .ci/run; the machine's own Debian binaries), then the real CLI
// reads its boot_archive: missing-library, bad-runpath, bad-elf,
// missing-module (kernel modules of our own making and Debian's),
// broken-link, low-headroom.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import type { Finding, VerifyReport } from '../src/verify/types.js';
import { isRoot, runCli, scratchDir, show } from './helpers/cli.js';
import { verifyJson } from './helpers/verify-json.js';
import { elfRel } from './helpers/elf-rel.js';
import { REPO_ROOT } from './helpers/paths.js';

/** Where .ci/run puts bin/esbuild of @esbuild/sunos-x64 (never committed). */
const ESBUILD = join(REPO_ROOT, '.cache', 'esbuild-sunos', 'esbuild');
const needsEsbuild = {
  skip:
    !existsSync(ESBUILD) &&
    `no illumos ELF at ${ESBUILD} (.ci/run fetches it with npm pack @esbuild/sunos-x64)`,
};
const EXPR = '/usr/bin/expr';
const JAVA_LIB = '/usr/lib/jvm/java-17-openjdk-amd64/lib';
const needsDebian = { skip: !existsSync(EXPR) && `no ${EXPR} (a Debian binary with RUNPATH)` };
const needsJava = {
  skip:
    !existsSync(join(JAVA_LIB, 'libmanagement.so')) &&
    `no ${JAVA_LIB}/libmanagement.so (a Debian library with RPATH $ORIGIN)`,
};

interface Item {
  /** Image path. */
  path: string;
  /** A file copied into the proto, text written there, or a symlink's text. */
  from?: string;
  text?: string | Buffer;
  link?: string;
}

/** Builds a UFS image of `items` (parents made as `d` entries); returns the paths to verify it. */
async function buildImage(dir: string, items: readonly Item[]) {
  const proto = join(dir, 'proto');
  const lines: string[] = [];
  const dirs = new Set<string>();
  for (const item of items) {
    const parts = item.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of [...dirs].sort()) lines.push(`d ${d} 0755 root root`);
  for (const item of items) {
    if (item.link !== undefined) {
      lines.push(`s ${item.path}=${item.link}`);
      continue;
    }
    const file = join(proto, item.path);
    await mkdir(dirname(file), { recursive: true });
    if (item.from) await copyFile(item.from, file);
    else await writeFile(file, item.text ?? 'x\n');
    lines.push(`f ${item.path} 0755 root root`);
  }
  const manifest = join(dir, 'manifest');
  await writeFile(manifest, lines.join('\n') + '\n');
  const out = join(dir, 'out');
  const logDir = join(dir, 'log');
  const run = await runCli([
    'build-live',
    '-m',
    manifest,
    '--proto',
    proto,
    '--archive',
    'ufs',
    '-o',
    out,
    '--log-dir',
    logDir,
  ]);
  assert.equal(run.code, 0, show(run));
  const stamp = '20111209T201508Z';
  return {
    manifest,
    proto,
    args: [
      '--log',
      join(logDir, `build_live.${stamp}.log`),
      '-m',
      manifest,
      '--platform',
      join(out, `platform-${stamp}`),
    ],
  };
}

const findings = (report: VerifyReport, kind: string): Finding[] =>
  report.checks.filter((c) => c.kind === kind).flatMap((c) => c.listed);

/** What an illumos amd64 image needs around esbuild, except libsocket.so. */
const ILLUMOS_BASE: Item[] = [
  { path: 'usr/bin/esbuild', from: ESBUILD },
  { path: 'lib/amd64/ld.so.1', text: 'the runtime linker\n' },
  { path: 'lib/64', link: 'amd64' },
  { path: 'lib/amd64/libc.so.1', text: 'libc\n' },
  { path: 'lib/amd64/libc.so', link: 'libc.so.1' },
  { path: 'usr/lib/amd64/libsendfile.so.1', text: 'libsendfile\n' },
  { path: 'usr/lib/amd64/libsendfile.so', link: 'libsendfile.so.1' },
  { path: 'usr/lib/64', link: 'amd64' },
];

test(
  'the illumos esbuild binary without libsocket.so: missing-library names it and every directory searched, at its manifest line',
  needsEsbuild,
  async (t) => {
    const dir = await scratchDir(t);
    const image = await buildImage(dir, ILLUMOS_BASE);
    const { run, report } = await verifyJson([
      ...image.args,
      '--fail-on',
      'failed,not-built,missing-library',
    ]);
    assert.equal(run.code, 1, show(run));
    assert.deepEqual(report.reasons, ['missing-library']);
    const missing = findings(report, 'missing-library');
    const line =
      (await readFile(image.manifest, 'utf8'))
        .split('\n')
        .indexOf('f usr/bin/esbuild 0755 root root') + 1;
    assert.deepEqual(
      missing.map((f) => [f.path, f.file, f.line]),
      [['usr/bin/esbuild', image.manifest, line]],
    );
    assert.match(missing[0].message, /needs libsocket\.so .*searched \/lib\/64, \/usr\/lib\/64$/);
    assert.equal(report.checks.find((c) => c.kind === 'missing-library')?.checked, 1);
    // By default it is reported, not fatal.
    const lax = await runCli(['verify-manifest', ...image.args]);
    assert.equal(lax.code, 0, show(lax));
    assert.match(lax.stdout, /missing-library: usr\/bin\/esbuild .*libsocket\.so/);
  },
);

for (const [how, items] of [
  ['a file in /lib/64', [{ path: 'lib/amd64/libsocket.so', text: 'libsocket\n' }]],
  [
    'a symlink in /lib/64 to a file',
    [
      { path: 'lib/amd64/libsocket.so.1', text: 'libsocket\n' },
      { path: 'lib/amd64/libsocket.so', link: '../amd64/libsocket.so.1' },
    ],
  ],
] as const) {
  test(
    `the illumos esbuild binary with libsocket.so as ${how}: every library resolves, it passes`,
    needsEsbuild,
    async (t) => {
      const dir = await scratchDir(t);
      const image = await buildImage(dir, [...ILLUMOS_BASE, ...items]);
      const { run, report } = await verifyJson([
        ...image.args,
        '--fail-on',
        'failed,not-built,missing-library,bad-runpath,bad-elf,broken-link',
      ]);
      assert.equal(run.code, 0, show(run));
      assert.deepEqual(findings(report, 'missing-library'), []);
      assert.deepEqual(findings(report, 'broken-link'), []);
    },
  );
}

test(
  'the interpreter must be in the image: without /lib/amd64/ld.so.1 esbuild is a missing-library',
  needsEsbuild,
  async (t) => {
    const dir = await scratchDir(t);
    const items = ILLUMOS_BASE.filter((i) => i.path !== 'lib/amd64/ld.so.1');
    const image = await buildImage(dir, [
      ...items,
      { path: 'lib/amd64/libsocket.so', text: 's\n' },
    ]);
    const { report } = await verifyJson(image.args);
    assert.deepEqual(
      findings(report, 'missing-library').map((f) => f.message),
      ['its interpreter /lib/amd64/ld.so.1 (PT_INTERP) is not a file in the image'],
    );
  },
);

test(
  'Debian binaries: RUNPATH is searched (expr finds libgmp there); $ORIGIN is expanded; a runpath that is not in the image is bad-runpath',
  needsDebian,
  async (t) => {
    const dir = await scratchDir(t);
    const image = await buildImage(dir, [
      { path: 'usr/bin/expr', from: EXPR },
      { path: 'lib64/ld-linux-x86-64.so.2', text: 'ld.so\n' },
      { path: 'usr/lib/x86_64-linux-gnu/libgmp.so.10', text: 'gmp\n' },
      { path: 'lib/64/libc.so.6', text: 'libc\n' },
      // A second copy under a runpath that is not in the image.
      { path: 'usr/bin/catman', from: '/usr/bin/catman' },
    ]);
    const { report } = await verifyJson(image.args);
    const of = (path: string, kind: string) =>
      findings(report, kind)
        .filter((f) => f.path === path)
        .map((f) => f.message);
    assert.deepEqual(of('usr/bin/expr', 'missing-library'), []);
    assert.deepEqual(of('usr/bin/expr', 'bad-runpath'), []);
    assert.deepEqual(of('usr/bin/catman', 'bad-runpath'), [
      'DT_RUNPATH entry /usr/lib/man-db is not a directory in the image',
    ]);
    assert.ok(
      of('usr/bin/catman', 'missing-library').some((m) =>
        m.includes('searched /usr/lib/man-db, /lib/64, /usr/lib/64'),
      ),
    );
  },
);

test(
  'a Debian library with RPATH $ORIGIN finds its neighbours; the one that is not there is named',
  needsJava,
  async (t) => {
    const dir = await scratchDir(t);
    const image = await buildImage(dir, [
      { path: 'usr/lib/java/libmanagement.so', from: join(JAVA_LIB, 'libmanagement.so') },
      { path: 'usr/lib/java/libjava.so', text: 'not even an ELF\n' },
      { path: 'lib/64/libc.so.6', text: 'libc\n' },
    ]);
    const { report } = await verifyJson(image.args);
    assert.deepEqual(
      findings(report, 'missing-library').map((f) => [f.path, f.message]),
      [
        [
          'usr/lib/java/libmanagement.so',
          'needs libjvm.so (DT_NEEDED): not in the image; searched /usr/lib/java, /lib/64, /usr/lib/64',
        ],
      ],
    );
  },
);

test(
  'bad ELF files are findings, never crashes: truncated in the program headers, a dynamic section past the end',
  needsDebian,
  async (t) => {
    const dir = await scratchDir(t);
    const real = await readFile(EXPR);
    const phoff = Number(real.readBigUInt64LE(32));
    const cut = real.subarray(0, phoff + 20);
    // The PT_DYNAMIC header's p_offset moved past the end of the file.
    const moved = Buffer.from(real);
    const phnum = moved.readUInt16LE(56);
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * 56;
      if (moved.readUInt32LE(o) === 2) moved.writeBigUInt64LE(BigInt(real.length + 4096), o + 8);
    }
    const image = await buildImage(dir, [
      { path: 'usr/bin/cut', text: cut },
      { path: 'usr/bin/moved', text: moved },
    ]);
    const { run, report } = await verifyJson([...image.args, '--fail-on', 'bad-elf']);
    assert.equal(run.code, 1, show(run));
    const bad = findings(report, 'bad-elf');
    assert.deepEqual(
      bad.map((f) => f.path),
      ['usr/bin/cut', 'usr/bin/moved'],
    );
    assert.match(bad[0].message, /truncated: .*program headers/);
    assert.match(bad[1].message, /dynamic section .* past the end of the file/);
    assert.doesNotMatch(run.stderr, /^\s+at /m);
  },
);

test('links: dangling and loops (of 1 and of 40) are broken-link; run-time paths and --allow-dangling are not', async (t) => {
  const dir = await scratchDir(t);
  const chain = Array.from({ length: 40 }, (_, i) => ({
    path: `loop/l${i}`,
    link: `l${(i + 1) % 40}`,
  }));
  const image = await buildImage(dir, [
    { path: 'usr/bin/ls', text: 'ls\n' },
    { path: 'usr/bin/dir', link: 'ls' },
    { path: 'usr/bin/gone', link: '../lib/gone' },
    { path: 'usr/bin/self', link: 'self' },
    ...chain,
    { path: 'etc/mnttab-link', link: '/etc/mnttab' },
    { path: 'usr/bin/null', link: '../../dev/null' },
    { path: 'usr/bin/site', link: '/opt/site/bin/tool' },
    { path: 'usr/bin/abs', link: '/usr/bin/ls' },
  ]);
  const { report } = await verifyJson([...image.args, '--allow-dangling', 'opt/site/**']);
  const broken = findings(report, 'broken-link');
  assert.deepEqual(
    broken.map((f) => f.path).sort(),
    ['usr/bin/gone', 'usr/bin/self', ...chain.map((c) => c.path)].sort(),
  );
  assert.match(
    broken.find((f) => f.path === 'usr/bin/gone')!.message,
    /dangling, \/usr\/lib\/gone is not in the image/,
  );
  assert.match(broken.find((f) => f.path === 'usr/bin/self')!.message, /loop/);
  const m = (await readFile(image.manifest, 'utf8')).split('\n');
  assert.equal(
    broken.find((f) => f.path === 'usr/bin/gone')!.line,
    m.indexOf('s usr/bin/gone=../lib/gone') + 1,
  );
});

test('headroom: free blocks and inodes always shown; --min-free and --min-free-inodes make too little a finding', async (t) => {
  const dir = await scratchDir(t);
  const image = await buildImage(dir, [{ path: 'etc/motd', text: 'hello\n' }]);
  const { run, report } = await verifyJson(image.args);
  assert.equal(run.code, 0, show(run));
  const h = report.headroom!;
  assert.ok(
    h.freeBlocks > 0 && h.freeBlocks < h.blocks && h.freeInodes > 0 && h.freeInodes < h.inodes,
    JSON.stringify(h),
  );
  const low = await verifyJson([
    ...image.args,
    '--min-free',
    '100%',
    '--min-free-inodes',
    String(h.inodes),
    '--fail-on',
    'low-headroom',
  ]);
  assert.equal(low.run.code, 1, show(low.run));
  assert.equal(findings(low.report, 'low-headroom').length, 2);
  const enough = await runCli([
    'verify-manifest',
    ...image.args,
    '--min-free',
    '1K',
    '--fail-on',
    'low-headroom',
  ]);
  assert.equal(enough.code, 0, show(enough));
  assert.match(enough.stdout, /^headroom: .* free of .* inodes free/m);
  const bad = await runCli(['verify-manifest', ...image.args, '--min-free', 'lots']);
  assert.equal(bad.code, 2, show(bad));
  assert.match(bad.stderr, /--min-free "lots"/);
});

test(
  'a platform whose boot_archive is not readable: one message naming it, exit 1, no stack trace',
  { skip: !isRoot && 'needs root to run the check as another user' },
  async (t) => {
    const dir = await scratchDir(t);
    const image = await buildImage(dir, [{ path: 'etc/motd', text: 'hello\n' }]);
    await chmod(dir, 0o755);
    const platform = image.args[image.args.indexOf('--platform') + 1];
    const archive = join(platform, 'i86pc', 'amd64', 'boot_archive');
    await chmod(archive, 0);
    const r = await runCli(['verify-manifest', ...image.args], { unprivileged: true });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, new RegExp(`cannot read ${archive}: permission denied`), show(r));
    assert.doesNotMatch(r.stdout + r.stderr, /^\s+at |internal error/m, show(r));
  },
);

test('kernel modules: each _depends_on name is looked up in the module path (amd64/ below); the missing one is missing-module', async (t) => {
  const dir = await scratchDir(t);
  const image = await buildImage(dir, [
    { path: 'kernel/drv/amd64/vnic', text: elfRel({ depends: 'misc/mac drv/ip  misc/gone' }) },
    { path: 'kernel/misc/amd64/mac', text: elfRel({ depends: 'drv/ip' }) },
    { path: 'platform/i86pc/kernel/drv/amd64/ip', text: elfRel() },
    // Not under a module directory: an ET_REL there is not a module.
    { path: 'usr/lib/objects/vnic.o', text: elfRel({ depends: 'misc/nowhere' }) },
  ]);
  const { run, report } = await verifyJson([...image.args, '--fail-on', 'missing-module']);
  assert.equal(run.code, 1, show(run));
  const check = report.checks.find((c) => c.kind === 'missing-module');
  assert.equal(check?.checked, 4, show(run));
  assert.deepEqual(findings(report, 'missing-module'), [
    {
      kind: 'missing-module',
      path: 'kernel/drv/amd64/vnic',
      file: image.manifest,
      line: findings(report, 'missing-module')[0]?.line,
      message:
        'needs module misc/gone (_depends_on): not in the image; searched ' +
        '/platform/i86pc/kernel/misc/amd64/gone, /kernel/misc/amd64/gone, /usr/kernel/misc/amd64/gone',
    },
  ]);
  const lines = (await readFile(image.manifest, 'utf8')).split('\n');
  assert.equal(
    lines[findings(report, 'missing-module')[0].line! - 1],
    'f kernel/drv/amd64/vnic 0755 root root',
  );
  for (const kind of ['missing-library', 'bad-elf', 'bad-runpath'])
    assert.deepEqual(findings(report, kind), [], kind);
  // Not in --fail-on: reported, the exit stays 0.
  const again = await verifyJson(image.args);
  assert.equal(again.run.code, 0, show(again.run));
  assert.equal(findings(again.report, 'missing-module').length, 1);
});

test('kernel modules: a truncated one and one whose _depends_on points past .data are bad-elf, never crashes', async (t) => {
  const dir = await scratchDir(t);
  const whole = elfRel({ depends: 'misc/mac' });
  const shoff = Number(whole.readBigUInt64LE(40));
  const image = await buildImage(dir, [
    { path: 'kernel/misc/amd64/cut', text: whole.subarray(0, shoff + 70) },
    { path: 'kernel/misc/amd64/wild', text: elfRel({ depends: 'misc/mac', dependsValue: 4096 }) },
  ]);
  const { run, report } = await verifyJson([...image.args, '--fail-on', 'bad-elf']);
  assert.equal(run.code, 1, show(run));
  const bad = findings(report, 'bad-elf');
  assert.deepEqual(
    bad.map((f) => f.path),
    ['kernel/misc/amd64/cut', 'kernel/misc/amd64/wild'],
  );
  assert.match(bad[0].message, /truncated: 5 section headers at offset \d+ end past the end/);
  assert.match(bad[1].message, /_depends_on at 4096 is past its section \(\d+ bytes\)/);
  assert.deepEqual(findings(report, 'missing-module'), []);
  assert.doesNotMatch(run.stderr, /^\s+at /m);
});

/** A few of Debian's kernel modules (ET_REL, no _depends_on): from the machine, the kernel check's cache or apt's. */
async function debianModules(dir: string): Promise<string[]> {
  const roots = [
    ...(await readdir('/lib/modules').catch(() => [] as string[])).map((v) =>
      join('/lib/modules', v),
    ),
  ];
  const kc = join(REPO_ROOT, '.cache', 'kernel-check');
  for (const pkg of await readdir(kc).catch(() => [] as string[])) {
    for (const v of await readdir(join(kc, pkg, 'lib', 'modules')).catch(() => [] as string[]))
      roots.push(join(kc, pkg, 'lib', 'modules', v));
  }
  const found: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (found.length >= 4) return;
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (e.isFile() && e.name.endsWith('.ko')) found.push(join(d, e.name));
    }
  };
  for (const r of roots) await walk(r);
  if (found.length > 0) return found;
  const apt = '/var/cache/apt/archives';
  const deb = (await readdir(apt).catch(() => [] as string[])).find((f) =>
    /^linux-image-\d.*\.deb$/.test(f),
  );
  if (!deb) return [];
  const out = join(dir, 'deb');
  await mkdir(out, { recursive: true });
  const r = spawnSync(
    'sh',
    [
      '-c',
      `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards '*/drivers/virtio/*.ko'`,
      'sh',
      join(apt, deb),
      out,
    ],
    { stdio: 'ignore' },
  );
  if (r.status !== 0) return [];
  await walk(out);
  return found;
}

test("kernel modules: Debian's (ET_REL with no _depends_on) need nothing: no finding, no crash", async (t) => {
  const dir = await scratchDir(t);
  const modules = await debianModules(dir);
  if (modules.length === 0) {
    t.skip(
      "no Debian kernel modules (/lib/modules, .cache/kernel-check, or a linux-image .deb in apt's cache)",
    );
    return;
  }
  const image = await buildImage(
    dir,
    modules.map((from, i) => ({ path: `kernel/drv/amd64/linux${i}`, from })),
  );
  const { run, report } = await verifyJson([
    ...image.args,
    '--fail-on',
    'missing-module,missing-library,bad-elf,bad-runpath',
  ]);
  assert.equal(run.code, 0, show(run));
  assert.equal(report.checks.find((c) => c.kind === 'missing-module')?.checked, modules.length);
  for (const kind of ['missing-module', 'missing-library', 'bad-elf', 'bad-runpath'])
    assert.deepEqual(findings(report, kind), [], kind);
});
