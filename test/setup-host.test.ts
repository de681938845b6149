/**
 * `joyent-live setup-host` (README.md setup-host, issue 5 part 1) on Linux, against
 * stand-ins that speak the illumos interfaces: uname saying SunOS, pkgin
 * and pkg with a fake package list, gtar running Linux's GNU tar. Git,
 * tar, the compilers' --version, the HTTP download and illumos.sh under
 * sh are real.
 */
import assert from 'node:assert/strict';
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REQUIRED_PACKAGES } from '../src/host/packages.js';
import { listTree, runCaptured, runCli, type CliRun } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/paths.js';
import {
  git,
  hostScene,
  makeManTarball,
  narrowPath,
  RELEASE_OF,
  releaseFile,
  serveFiles,
  STANDIN_BIN,
  standinTools,
  type HostScene,
} from './helpers/illumos-host.js';

const GCC = '/usr/bin/gcc';
const hasGcc = (await runCaptured('sh', ['-c', `test -x ${GCC}`])).code === 0;

/** The options every run here shares; `extra` after them. */
function args(scene: HostScene, distro: keyof typeof RELEASE_OF, extra: string[] = []): string[] {
  return [
    'setup-host',
    '--workspace',
    scene.workspace,
    '--release-file',
    RELEASE_OF[distro],
    '--primary-compiler',
    `gcc10,${GCC},gnu`,
    '--illumos-repo',
    scene.repo,
    '--illumos-extra-repo',
    scene.repo,
    ...extra,
  ];
}

/**
 * The compression the real @actions/cache client picks with this PATH
 * (its internal getCompressionMethod, loaded by file: the package exports
 * only its entry point).
 */
async function cacheCompression(path: string): Promise<string> {
  const utils = pathToFileURL(
    join(REPO_ROOT, 'node_modules', '@actions', 'cache', 'lib', 'internal', 'cacheUtils.js'),
  ).href;
  const run = await runCaptured(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const u = await import(${JSON.stringify(utils)}); process.stdout.write('\\n' + (await u.getCompressionMethod()));`,
    ],
    { env: { PATH: path } },
  );
  assert.equal(run.code, 0, run.stderr);
  // Its debug lines come first (::debug:: workflow commands on stdout).
  return run.stdout.split('\n').at(-1) ?? '';
}

function assertClean(run: CliRun): void {
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(run.stderr, /internal error/);
}

/** Nothing under projects/ that looks like a finished or half-made tree. */
async function assertNoProjects(scene: HostScene): Promise<void> {
  assert.deepEqual(
    (await listTree(scene.workspace)).filter((p) => p.startsWith('projects/')),
    [],
  );
}

test(
  'stand-in OmniOS host: installs what is missing, clones at a ref, writes illumos.sh, unpacks the man pages; a rerun changes nothing',
  { skip: !hasGcc && 'no /usr/bin/gcc' },
  async (t) => {
    const required = REQUIRED_PACKAGES.OmniOS.packages;
    const scene = await hostScene(t, 'OmniOS', required.slice(1));
    const man = await makeManTarball(scene.dir, 'share/man');
    const base = await serveFiles(t, { 'man.tgz': man.file });
    const extra = [
      '--install-packages',
      '--illumos-ref',
      'v1',
      '--illumos-extra-ref',
      'feature',
      '--shadow-compiler',
      `gcc12,${GCC},gnu`,
      '--on-closed-bins',
      '/opt/onbld/closed',
      '--illumos-env',
      'PERL=/usr/perl5/bin/perl',
      '--max-jobs',
      '3',
      '--man-url',
      `${base}/redirect/man.tgz`,
      '--man-sha256',
      man.sha256,
      '--man-strip-components',
      '3',
      '--json',
    ];
    const run = await runCli(args(scene, 'OmniOS', extra), { env: scene.env });
    assert.equal(run.code, 0, run.stderr);
    assertClean(run);
    const result = JSON.parse(run.stdout) as {
      distro: string;
      release: string;
      packages: { missing: string[]; installed: string[] };
      compilers: { role: string; version: string }[];
      tools: { gnuTar: string; compression: string; shimDir: string };
      projects: { name: string; state: string }[];
    };
    assert.equal(result.distro, 'OmniOS');
    assert.equal(result.release, 'OmniOS v11 r151026');
    assert.deepEqual(result.packages.installed, [required[0]]);
    assert.deepEqual(await scene.calls(), [
      'pkg list -H',
      `pkg install --accept ${required[0]}`,
      'pkg list -H',
    ]);
    assert.deepEqual(
      result.compilers.map((c) => c.role),
      ['primary', 'shadow'],
    );
    assert.match(result.compilers[0].version, /gcc/);
    assert.equal(result.tools.gnuTar, join(STANDIN_BIN, 'gtar'));
    assert.equal(await readlink(join(result.tools.shimDir, 'tar')), join(STANDIN_BIN, 'gtar'));
    assert.equal(result.tools.shimDir, join(scene.workspace, '.joyent-live', 'bin'));
    assert.deepEqual(
      result.projects.map((p) => `${p.name}:${p.state}`),
      ['illumos:cloned', 'illumos-extra:cloned'],
    );
    const illumos = join(scene.workspace, 'projects', 'illumos');
    const extraDir = join(scene.workspace, 'projects', 'illumos-extra');
    assert.equal(await readFile(join(illumos, 'README'), 'utf8'), 'feature\n');
    assert.equal(await git(['describe', '--tags', '--exact-match'], illumos), 'v1');
    assert.equal(await git(['rev-parse', '--abbrev-ref', 'HEAD'], extraDir), 'feature');
    assert.match(run.stderr, /export PATH='.*\/\.joyent-live\/bin':"\$PATH"/);

    const sh = join(illumos, 'illumos.sh');
    const env = await readFile(sh, 'utf8');
    const ws = scene.workspace;
    assert.equal(
      env,
      [
        '# illumos.sh: the nightly(1) environment of this workspace.',
        '# Written by joyent-live setup-host from its inputs; a rerun replaces it,',
        '# so change the inputs rather than this file.',
        'export GATE="joyent-live"',
        `export CODEMGR_WS="${illumos}"`,
        `export SRC="${illumos}/usr/src"`,
        `export ROOT="${ws}/proto"`,
        `export PARENT_ROOT="${ws}/proto"`,
        'export MULTI_PROTO="no"',
        'export NIGHTLY_OPTIONS="-CiLmMNnt"',
        `export ATLOG="${illumos}/log"`,
        `export LOGFILE="${illumos}/log/nightly.log"`,
        'export MAX_JOBS="3"',
        'export DMAKE_MAX_JOBS="3"',
        'export __GNUC=""',
        `export PRIMARY_CC="gcc10,${GCC},gnu"`,
        'export PRIMARY_CCC="gcc10,/usr/bin/g++,gnu"',
        `export SHADOW_CCS="gcc12,${GCC},gnu"`,
        'export SHADOW_CCCS="gcc12,/usr/bin/g++,gnu"',
        'export ON_CLOSED_BINS="/opt/onbld/closed"',
        'export PERL="/usr/perl5/bin/perl"',
        '',
      ].join('\n'),
    );
    // The man pages, stripped of share/man/ (./share/man: three components).
    assert.deepEqual(await listTree(join(ws, 'man')), ['man1', 'man1/ls.1', 'man8', 'man8/init.8']);
    // Nothing half-made beside them.
    assert.deepEqual((await readdir(ws)).sort(), ['.joyent-live', 'man', 'projects']);

    // Again: nothing installed, nothing cloned, the same illumos.sh bytes.
    const again = await runCli(args(scene, 'OmniOS', extra), { env: scene.env });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual((await scene.calls()).slice(3), ['pkg list -H']);
    assert.deepEqual(
      (JSON.parse(again.stdout) as typeof result).projects.map((p) => p.state),
      ['existing', 'existing'],
    );
    assert.equal(await readFile(sh, 'utf8'), env);
  },
);

test(
  'stand-in SmartOS host: pkgin, the default MAX_JOBS, an existing checkout and a symlink to one are used as they are',
  { skip: !hasGcc && 'no /usr/bin/gcc' },
  async (t) => {
    const scene = await hostScene(t, 'SmartOS');
    await mkdir(join(scene.workspace, 'projects', 'illumos'), { recursive: true });
    const elsewhere = join(scene.dir, 'illumos-extra-checkout');
    await mkdir(elsewhere);
    await symlink(elsewhere, join(scene.workspace, 'projects', 'illumos-extra'));
    const run = await runCli(
      [
        'setup-host',
        '--workspace',
        scene.workspace,
        '--release-file',
        RELEASE_OF.SmartOS,
        '--primary-compiler',
        `gcc10,${GCC},gnu`,
      ],
      { env: scene.env },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^setup-host: SmartOS \(SmartOS 20160330T234717Z x86_64\): ready$/m);
    assert.match(run.stdout, /projects\/illumos: existing$/m);
    assert.match(run.stdout, /projects\/illumos-extra: existing \(symlink\)$/m);
    assert.deepEqual(await scene.calls(), ['pkgin list']);
    const env = await readFile(join(scene.workspace, 'projects', 'illumos', 'illumos.sh'), 'utf8');
    assert.match(env, new RegExp(`^export MAX_JOBS="${availableParallelism()}"$`, 'm'));
    assert.doesNotMatch(env, /ON_CLOSED_BINS/);
  },
);

test('stand-in OpenIndiana host: pkg with short names, the distribution default compiler is checked', async (t) => {
  const scene = await hostScene(t, 'OpenIndiana');
  const run = await runCli(
    [
      'setup-host',
      '--workspace',
      scene.workspace,
      '--release-file',
      RELEASE_OF.OpenIndiana,
      '--illumos-repo',
      scene.repo,
      '--illumos-extra-repo',
      scene.repo,
    ],
    { env: scene.env },
  );
  // /usr/gcc/10/bin/gcc is OpenIndiana's gcc 10: not on this machine.
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /^joyent-live: error: primary compiler gcc10: \/usr\/gcc\/10\/bin\/gcc does not exist$/m,
  );
  assertClean(run);
  await assertNoProjects(scene);
});

test("a Linux host fails at once: the uname stand-in saying Linux, and this machine's real uname", async (t) => {
  const scene = await hostScene(t, 'OmniOS');
  const told = await runCli(args(scene, 'OmniOS'), {
    env: { ...scene.env, UNAME_STANDIN_S: 'Linux' },
  });
  assert.equal(told.code, 1);
  assert.equal(
    told.stderr,
    'joyent-live: error: setup-host needs an illumos host (uname -s: Linux); nothing was done\n',
  );
  const real = (await runCaptured('uname', ['-s'])).stdout.trim();
  const here = await runCli(args(scene, 'OmniOS'), {
    env: { PKG_STANDIN_DB: scene.db, PKG_STANDIN_LOG: scene.log },
  });
  assert.equal(here.code, real === 'SunOS' ? 0 : 1);
  if (real !== 'SunOS') {
    assert.match(
      here.stderr,
      new RegExp(`needs an illumos host \\(uname -s: ${real}\\); nothing was done`),
    );
  }
  assert.deepEqual(await scene.calls(), []);
  assert.deepEqual(await listTree(scene.workspace), []);
});

test('a package that fails to install is named even though pkgin (stand-in) exits 0', async (t) => {
  const required = REQUIRED_PACKAGES.SmartOS.packages;
  const scene = await hostScene(
    t,
    'SmartOS',
    required.filter((p) => p !== 'nasm' && p !== 'pigz'),
  );
  const run = await runCli(args(scene, 'SmartOS', ['--install-packages']), {
    env: { ...scene.env, PKG_STANDIN_FAIL: 'pigz' },
  });
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /^joyent-live: error: 1 package did not install: pigz \(pkgin exit code 0: pkgin: pigz: no package found \(stand-in told to fail\)\)$/m,
  );
  assertClean(run);
  assert.deepEqual(await scene.calls(), ['pkgin list', 'pkgin -y install nasm pigz', 'pkgin list']);
  assert.match(await readFile(scene.db, 'utf8'), /^nasm$/m);
  await assertNoProjects(scene);
});

test('pkg (stand-in): a failed install is judged by the package list, every missing package named', async (t) => {
  const scene = await hostScene(t, 'OmniOS', []);
  const run = await runCli(args(scene, 'OmniOS', ['--install-packages']), {
    env: { ...scene.env, PKG_STANDIN_FAIL: 'developer/illumos-tools archiver/gnu-tar' },
  });
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /error: 2 packages did not install: archiver\/gnu-tar, developer\/illumos-tools \(pkg exit code 1: /,
  );
  assertClean(run);
});

test('stand-in host: missing packages without --install-packages: named, nothing installed', async (t) => {
  const scene = await hostScene(t, 'OpenIndiana', ['metapackages/build-essential']);
  const run = await runCli(args(scene, 'OpenIndiana'), { env: scene.env });
  assert.equal(run.code, 1);
  assert.match(
    run.stderr,
    /error: 2 required OpenIndiana packages are missing: archiver\/gnu-tar, developer\/versioning\/git \(install them, or set install-packages to true\)/,
  );
  assert.deepEqual(await scene.calls(), ['pkg list -H']);
});

test('stand-in host: an unknown distribution names the release file and its first line', async (t) => {
  const scene = await hostScene(t, 'OmniOS');
  const run = await runCli(
    ['setup-host', '--workspace', scene.workspace, '--release-file', releaseFile('solaris')],
    {
      env: scene.env,
    },
  );
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr,
    `joyent-live: error: ${releaseFile('solaris')}:1: unknown illumos distribution "Oracle Solaris 11.3 X86" (setup-host knows SmartOS, OmniOS, OpenIndiana)\n`,
  );
  const missing = await runCli(
    ['setup-host', '--workspace', scene.workspace, '--release-file', join(scene.dir, 'nope')],
    {
      env: scene.env,
    },
  );
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read the release file .*\/nope: does not exist/);
});

test('stand-in host: a missing compiler, and one whose --version fails', async (t) => {
  const scene = await hostScene(t, 'OmniOS');
  const absent = await runCli(
    args(scene, 'OmniOS', [
      '--shadow-compiler',
      `gcc14,${join(scene.dir, 'gcc-14', 'bin', 'gcc')},gnu`,
    ]),
    { env: scene.env },
  );
  assert.equal(absent.code, 1);
  assert.match(
    absent.stderr,
    /error: shadow compiler gcc14: .*\/gcc-14\/bin\/gcc does not exist$/m,
  );
  const broken = join(scene.dir, 'broken-gcc');
  await writeFile(broken, '#!/bin/sh\necho "broken-gcc: cannot exec cc1" >&2\nexit 1\n', {
    mode: 0o755,
  });
  const fails = await runCli(args(scene, 'OmniOS', ['--primary-compiler', `gcc10,${broken},gnu`]), {
    env: scene.env,
  });
  assert.equal(fails.code, 1);
  assert.match(
    fails.stderr,
    /error: primary compiler gcc10: .*broken-gcc --version failed: broken-gcc: cannot exec cc1$/m,
  );
  const bad = await runCli(args(scene, 'OmniOS', ['--primary-compiler', 'gcc10:/usr/bin/gcc']), {
    env: scene.env,
  });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /primary-compiler: "gcc10:\/usr\/bin\/gcc" is not name,path,style/);
  await assertNoProjects(scene);
});

test(
  'stand-in host: no GNU tar anywhere (no gtar on PATH, no /usr/gnu/bin/tar): a clear error',
  { skip: !hasGcc && 'no /usr/bin/gcc' },
  async (t) => {
    const scene = await hostScene(t, 'OmniOS');
    const bin = await narrowPath(scene.dir, await standinTools());
    const run = await runCli(args(scene, 'OmniOS'), { env: { ...scene.env, PATH: bin } });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /error: no GNU tar found; @actions\/cache needs it on illumos \(tried gtar \(not on PATH\), \/usr\/gnu\/bin\/tar \(absent\)\)/,
    );
    assertClean(run);
    // A tar that is not GNU tar is refused by name too.
    const notGnu = join(scene.dir, 'bsdtar');
    await writeFile(notGnu, '#!/bin/sh\necho "bsdtar 3.6.2 - libarchive 3.6.2"\n', { mode: 0o755 });
    const refused = await runCli(args(scene, 'OmniOS', ['--gnu-tar', notGnu]), {
      env: { ...scene.env, PATH: bin },
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /tried .*\/bsdtar \(not GNU tar or does not run\)/);
  },
);

test(
  'stand-in host: compression: zstd when it works; gzip hides an existing zstd from @actions/cache; zstd without one fails',
  { skip: !hasGcc && 'no /usr/bin/gcc' },
  async (t) => {
    const scene = await hostScene(t, 'OmniOS');
    const tools = await standinTools();
    const zstdBin = join(scene.dir, 'zstd-bin');
    await mkdir(zstdBin);
    await writeFile(
      join(zstdBin, 'zstd'),
      '#!/bin/sh\necho "*** Zstandard CLI (64-bit) v1.5.5, by Yann Collet ***"\n',
      { mode: 0o755 },
    );
    const bin = await narrowPath(scene.dir, { ...tools, gtar: join(STANDIN_BIN, 'gtar') });
    const withZstd = { ...scene.env, PATH: `${bin}:${zstdBin}` };
    const shim = join(scene.workspace, '.joyent-live', 'bin');

    const auto = await runCli(args(scene, 'OmniOS', ['--json']), { env: withZstd });
    assert.equal(auto.code, 0, auto.stderr);
    assert.equal(
      (JSON.parse(auto.stdout) as { tools: { compression: string } }).tools.compression,
      'zstd',
    );
    assert.deepEqual((await readdir(shim)).sort(), ['tar']);

    const gzip = await runCli(args(scene, 'OmniOS', ['--compression', 'gzip']), { env: withZstd });
    assert.equal(gzip.code, 0, gzip.stderr);
    assert.match(gzip.stdout, /caches compress with: gzip/);
    // What @actions/cache runs to decide: `zstd --quiet --version` from PATH,
    // zstd whenever it prints anything. With the shim first it prints nothing.
    const seen = await runCaptured('/bin/sh', ['-c', 'zstd --quiet --version'], {
      env: { PATH: `${shim}:${bin}:${zstdBin}` },
    });
    assert.equal(seen.stdout + seen.stderr, '');
    assert.notEqual(seen.code, 0);
    // And the real @actions/cache client's own decision, with and without the shim.
    assert.equal(await cacheCompression(`${shim}:${bin}:${zstdBin}`), 'gzip');
    assert.equal(await cacheCompression(`${bin}:${zstdBin}`), 'zstd-without-long');

    // zstd again: the hider goes.
    const back = await runCli(args(scene, 'OmniOS', ['--compression', 'zstd']), { env: withZstd });
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual((await readdir(shim)).sort(), ['tar']);

    const none = await runCli(args(scene, 'OmniOS', ['--compression', 'zstd']), {
      env: { ...scene.env, PATH: bin },
    });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /error: compression is zstd, but there is no working zstd on PATH/);

    // A zstd that does not work is hidden under auto, so the caches agree on gzip.
    await writeFile(
      join(zstdBin, 'zstd'),
      '#!/bin/sh\necho "zstd: error while loading shared libraries" >&2\nexit 127\n',
      { mode: 0o755 },
    );
    const broken = await runCli(args(scene, 'OmniOS'), { env: withZstd });
    assert.equal(broken.code, 0, broken.stderr);
    assert.match(broken.stdout, /caches compress with: gzip/);
    assert.equal((await lstat(join(shim, 'zstd'))).isFile(), true);
  },
);

test(
  'stand-in host: illumos.sh: values with shell metacharacters read back exactly under sh',
  { skip: !hasGcc && 'no /usr/bin/gcc' },
  async (t) => {
    const scene = await hostScene(t, 'OmniOS');
    const tricky = 'a "quoted" $HOME `id` \\ back; \'single\' & more';
    const run = await runCli(
      args(scene, 'OmniOS', [
        '--illumos-env',
        `TRICKY=${tricky}`,
        '--gate',
        'my gate',
        '--proto',
        'out/proto dir',
      ]),
      { env: scene.env },
    );
    assert.equal(run.code, 0, run.stderr);
    const sh = join(scene.workspace, 'projects', 'illumos', 'illumos.sh');
    const read = await runCaptured(
      'sh',
      ['-c', '. "$1" && printf "%s\\n%s\\n%s" "$TRICKY" "$GATE" "$ROOT"', 'sh', sh],
      {
        env: { PATH: process.env.PATH, HOME: '/should-not-appear' },
      },
    );
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout, `${tricky}\nmy gate\n${join(scene.workspace, 'out', 'proto dir')}`);

    const twice = await runCli(args(scene, 'OmniOS', ['--illumos-env', 'ROOT=/elsewhere']), {
      env: scene.env,
    });
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /illumos\.sh: ROOT is set by its own option/);
    const badEnv = await runCli(args(scene, 'OmniOS', ['--illumos-env', 'not a pair']), {
      env: scene.env,
    });
    assert.equal(badEnv.code, 2);
    assert.match(badEnv.stderr, /--illumos-env "not a pair" is not NAME=VALUE/);
  },
);

test(
  'stand-in host: man pages: a sha256 mismatch names both hashes and unpacks nothing',
  { skip: !hasGcc && 'no /usr/bin/gcc' },
  async (t) => {
    const scene = await hostScene(t, 'OmniOS');
    const man = await makeManTarball(scene.dir);
    const base = await serveFiles(t, { 'man.tgz': man.file });
    const wrong = '0'.repeat(64);
    const run = await runCli(
      args(scene, 'OmniOS', ['--man-url', `${base}/man.tgz`, '--man-sha256', wrong]),
      {
        env: scene.env,
      },
    );
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      new RegExp(
        `error: ${base}/man\\.tgz: sha256 mismatch: expected ${wrong}, got ${man.sha256} \\(\\d+ bytes\\); nothing was unpacked`,
      ),
    );
    assertClean(run);
    assert.deepEqual(
      (await readdir(scene.workspace)).filter((n) => n.includes('man')),
      [],
    );
    // The same tarball by file:// with the right hash goes in.
    const file = await runCli(
      args(scene, 'OmniOS', [
        '--man-url',
        pathToFileURL(man.file).href,
        '--man-sha256',
        man.sha256,
        '--man-dir',
        'mandir',
      ]),
      { env: scene.env },
    );
    assert.equal(file.code, 0, file.stderr);
    assert.deepEqual(await listTree(join(scene.workspace, 'mandir')), [
      'man1',
      'man1/ls.1',
      'man8',
      'man8/init.8',
    ]);
  },
);

test(
  'stand-in host: man pages: a member that climbs out is refused; bad URLs fail clearly',
  { skip: !hasGcc && 'no /usr/bin/gcc' },
  async (t) => {
    const scene = await hostScene(t, 'OmniOS');
    const { rawTgz } = await import('./helpers/raw-tar.js');
    const evil = join(scene.dir, 'evil.tgz');
    await writeFile(
      evil,
      rawTgz([
        { name: 'man1/ok.1', data: 'ok' },
        { name: '../escaped.1', data: 'x' },
      ]),
    );
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256')
      .update(await readFile(evil))
      .digest('hex');
    const base = await serveFiles(t, { 'evil.tgz': evil });
    const run = await runCli(
      args(scene, 'OmniOS', ['--man-url', `${base}/evil.tgz`, '--man-sha256', sha]),
      { env: scene.env },
    );
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /member \.\.\/escaped\.1 would land outside .*\/man; refusing to unpack it/,
    );
    assert.deepEqual(
      (await readdir(scene.workspace)).filter((n) => n.includes('man')),
      [],
    );
    assert.deepEqual(
      (await readdir(scene.dir)).filter((n) => n.includes('escaped')),
      [],
    );

    const cases: [string, RegExp][] = [
      [
        'ftp://example.invalid/man.tgz',
        /man-url ftp:\/\/example\.invalid\/man\.tgz: only http, https and file URLs are supported/,
      ],
      ['not a url', /man-url "not a url" is not a URL/],
      [
        `${base}/missing.tgz`,
        /cannot download http:\/\/127\.0\.0\.1:\d+\/missing\.tgz: HTTP 404 Not Found/,
      ],
      [
        `${base.replace('//', '//user:s3cret@')}/missing.tgz`,
        /cannot download http:\/\/127\.0\.0\.1:\d+\/missing\.tgz: HTTP 404 Not Found/,
      ],
      [
        'http://127.0.0.1:1/man.tgz',
        /cannot download http:\/\/127\.0\.0\.1:1\/man\.tgz: .*ECONNREFUSED/,
      ],
    ];
    for (const [url, message] of cases) {
      const bad = await runCli(args(scene, 'OmniOS', ['--man-url', url, '--man-sha256', sha]), {
        env: scene.env,
      });
      assert.equal(bad.code, 1, url);
      assert.match(bad.stderr, message);
      assertClean(bad);
      assert.doesNotMatch(bad.stderr, /s3cret/);
    }
    const half = await runCli(args(scene, 'OmniOS', ['--man-url', `${base}/evil.tgz`]), {
      env: scene.env,
    });
    assert.equal(half.code, 1);
    assert.match(half.stderr, /man-url and man-sha256 go together/);
  },
);

test('stand-in host: projects: a clone that fails leaves nothing; a missing project without a repository is named', async (t) => {
  const scene = await hostScene(t, 'OmniOS');
  const run = await runCli(
    args(scene, 'OmniOS', [
      '--illumos-ref',
      'no-such-branch',
      '--primary-compiler',
      `gcc10,${process.execPath},gnu`,
    ]),
    { env: scene.env },
  );
  assert.equal(run.code, 1);
  assert.match(run.stderr, /error: cannot check out no-such-branch of .*\/repo: .*no-such-branch/);
  assertClean(run);
  assert.deepEqual(await readdir(join(scene.workspace, 'projects')), []);

  const gone = await runCli(
    args(scene, 'OmniOS', [
      '--illumos-repo',
      join(scene.dir, 'no-such-repo'),
      '--primary-compiler',
      `gcc10,${process.execPath},gnu`,
    ]),
    { env: scene.env },
  );
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /error: cannot clone .*\/no-such-repo: /);
  assert.deepEqual(await readdir(join(scene.workspace, 'projects')), []);

  // A clone interrupted earlier (its temporary directory left behind) is redone.
  await mkdir(join(scene.workspace, 'projects', '.illumos-extra.partial', 'half'), {
    recursive: true,
  });
  const redo = await runCli(
    args(scene, 'OmniOS', ['--primary-compiler', `gcc10,${process.execPath},gnu`]),
    { env: scene.env },
  );
  assert.equal(redo.code, 0, redo.stderr);
  assert.deepEqual((await readdir(join(scene.workspace, 'projects'))).sort(), [
    'illumos',
    'illumos-extra',
  ]);
  assert.equal(
    await readFile(join(scene.workspace, 'projects', 'illumos-extra', 'README'), 'utf8'),
    'master\n',
  );
  await rm(join(scene.workspace, 'projects'), { recursive: true });
  await mkdir(join(scene.workspace, 'projects'));

  const noRepo = await runCli(
    [
      'setup-host',
      '--workspace',
      scene.workspace,
      '--release-file',
      RELEASE_OF.OmniOS,
      '--primary-compiler',
      `gcc10,${process.execPath},gnu`,
    ],
    { env: scene.env },
  );
  assert.equal(noRepo.code, 1);
  assert.match(
    noRepo.stderr,
    /error: .*\/projects\/illumos does not exist and no illumos-repo was given to clone it from/,
  );

  await writeFile(join(scene.workspace, 'projects', 'illumos'), 'not a tree');
  const file = await runCli(
    args(scene, 'OmniOS', ['--primary-compiler', `gcc10,${process.execPath},gnu`]),
    { env: scene.env },
  );
  assert.equal(file.code, 1);
  assert.match(file.stderr, /projects\/illumos exists but is not a directory/);
});

test('stand-in host: an unwritable workspace fails before anything is installed', async (t) => {
  const scene = await hostScene(t, 'OmniOS', []);
  const { chmod } = await import('node:fs/promises');
  await chmod(scene.workspace, 0o555);
  const run = await runCli(args(scene, 'OmniOS', ['--install-packages']), {
    env: scene.env,
    unprivileged: true,
  });
  await chmod(scene.workspace, 0o755);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /error: workspace .*\/ws cannot be used: permission denied/);
  assert.deepEqual(await scene.calls(), []);
});

test('stand-in host: usage errors exit 2', async (t) => {
  const scene = await hostScene(t, 'OmniOS');
  for (const bad of [
    ['--compression', 'xz'],
    ['--max-jobs', 'many'],
    ['--man-strip-components', '-1'],
  ]) {
    const run = await runCli(args(scene, 'OmniOS', bad), { env: scene.env });
    assert.equal(run.code, 2, bad.join(' '));
    assertClean(run);
  }
});

test('setup-host takes -w for --workspace, as build-world does', async () => {
  for (const command of ['setup-host', 'build-world']) {
    const help = await runCli([command, '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /-w, --workspace <dir>/, command);
  }
});
