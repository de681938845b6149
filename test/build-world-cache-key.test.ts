/**
 * build-world's proto cache against a hostile or odd workspace (issue 23):
 * what the key covers (untracked files of the projects, the whole
 * `--version` of each compiler, the build environment), and a build that
 * packs hard links among more files than node-tar's Pack could. Real git,
 * real GNU make, the fixture workspace of test/helpers/world.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  chmod,
  link,
  mkdir,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { REPO_ROOT } from './helpers/paths.js';
import { runCli, scratchDir, type CliRun } from './helpers/cli.js';
import {
  commitAll,
  freshRunner,
  illumosPath,
  makeWorldWorkspace,
  snapshot,
} from './helpers/world.js';

async function world(t: TestContext) {
  const dir = await scratchDir(t);
  const ws = await makeWorldWorkspace(dir);
  const cache = join(dir, 'cache');
  return {
    ws,
    cache,
    run: (env: NodeJS.ProcessEnv = {}) =>
      runCli(
        ['build-world', '--workspace', ws, '--cache-backend', 'local', '--local-cache-dir', cache],
        { env: { PATH: illumosPath(), ...env } },
      ),
  };
}

const ok = (run: CliRun) => assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);

const keyOf = (run: CliRun) => /proto cache key: (\S+)/.exec(run.stdout)?.[1];

/**
 * An untracked GNUmakefile in projects/illumos-extra: GNU make reads it
 * before Makefile, so it adds to (or replaces) what the tracked Makefile installs.
 */
async function untrackedGnuMakefile(ws: string, rules: string, include = true): Promise<void> {
  await writeFile(
    join(ws, 'projects', 'illumos-extra', 'GNUmakefile'),
    `${include ? 'include Makefile\n' : ''}${rules}`,
  );
}

const EXTRA_RULE =
  'install: extra\nextra:\n\tmkdir -p $(DESTDIR)/usr/bin\n' +
  '\tprintf "#!/bin/sh\\necho extra\\n" > $(DESTDIR)/usr/bin/extra\n.PHONY: extra\n';

test('stand-in illumos host, local cache: a stage that installs one more file (beside the proto hard link) still packs and saves the entry, and ends with exit 0 and no lock', async (t) => {
  const w = await world(t);
  await untrackedGnuMakefile(w.ws, EXTRA_RULE);
  const run = await w.run();
  // Before: node-tar's Pack never ended, and the CLI exited 13 with no message.
  ok(run);
  assert.match(run.stdout, /proto cache: saved joyent-live-proto-1-[0-9a-f]{40} \(local\)/);
  assert.ok(!existsSync(join(w.ws, '.build-world.lock')), 'the lock is removed');
  assert.ok(!existsSync(join(w.ws, '.build-world-cache')), 'the staging directory is removed');
  const proto = await snapshot(join(w.ws, 'proto'));
  assert.equal(proto.get('usr/bin/extra'), '#!/bin/sh\necho extra\n');

  // The entry restores the same proto, hard link included, on a new runner.
  await freshRunner(w.ws);
  const again = await w.run();
  ok(again);
  assert.match(again.stdout, /cache hit: restored /);
  assert.deepEqual(await snapshot(join(w.ws, 'proto')), proto);
  const [entry] = (await readdir(w.cache)).filter((n) => n.endsWith('.tgz'));
  const listing = spawnSync('tar', ['tvzf', join(w.cache, entry)], { encoding: 'utf8' });
  assert.equal(listing.status, 0, listing.stderr);
  assert.match(listing.stdout, /^h.* proto\/usr\/bin\/ls link to proto\/usr\/bin\/dir$/m);
  assert.match(listing.stdout, /^l.* proto\/usr\/bin\/sh -> \.\.\/\.\.\/sbin\/sh$/m);
});

test('a build whose awaited work can never finish ends with a message naming its phase and exit 1, not 13 in silence', async (t) => {
  const dir = await scratchDir(t);
  const script = join(dir, 'stall.mjs');
  const stall = join(REPO_ROOT, 'build', 'src', 'world', 'stall.js');
  await writeFile(
    script,
    `import { failOnStall } from ${JSON.stringify(stall)};\n` +
      'try {\n' +
      "  await failOnStall(new Promise(() => {}), 'build-world', () => 'packing the proto');\n" +
      '} catch (err) {\n' +
      '  console.error(err.message);\n' +
      '  await new Promise((done) => setTimeout(done, 10));\n' +
      "  console.error('cleanup ran');\n" +
      '  process.exitCode = 1;\n' +
      '}\n',
  );
  const run = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /^build-world stopped while packing the proto: .*this is a bug/);
  assert.match(run.stderr, /cleanup ran/);
  // A promise that settles is passed through untouched.
  const { failOnStall } = (await import(stall)) as typeof import('../src/world/stall.js');
  assert.equal(await failOnStall(Promise.resolve(7), 'x', () => 'y'), 7);
});

test('stand-in illumos host, local cache: an untracked GNUmakefile in projects/illumos-extra (make reads it first) that installs another usr/bin/bash is a new key, named in the log; a clean runner then restores the clean proto, not the poisoned one', async (t) => {
  const w = await world(t);
  const clean = await w.run();
  ok(clean);
  const cleanKey = keyOf(clean);
  const cleanProto = await snapshot(join(w.ws, 'proto'));
  assert.equal(cleanProto.get('usr/bin/bash'), '#!/bin/sh\necho bash\n');

  // A poisoned job: same commits, one untracked file.
  await freshRunner(w.ws);
  await untrackedGnuMakefile(
    w.ws,
    'install:\n\tmkdir -p $(DESTDIR)/usr/bin $(DESTDIR)/usr/share/doc/bash\n' +
      '\tcp bash/README $(DESTDIR)/usr/share/doc/bash/README\n' +
      '\tprintf "#!/bin/sh\\necho pwned\\n" > $(DESTDIR)/usr/bin/bash\n' +
      '\tchmod 755 $(DESTDIR)/usr/bin/bash\n.PHONY: install\n',
    false,
  );
  const poisoned = await w.run();
  ok(poisoned);
  const poisonedKey = keyOf(poisoned);
  assert.ok(poisonedKey && cleanKey);
  assert.notEqual(poisonedKey, cleanKey, 'the untracked GNUmakefile is in the key');
  assert.match(
    poisoned.stdout,
    /^projects\/illumos-extra has 1 untracked file git does not ignore, built and keyed with it: "GNUmakefile"$/m,
  );
  assert.match(
    poisoned.stdout,
    /: illumos-extra has 1 untracked file not ignored by git now$/m,
    'the change is said',
  );
  assert.equal(
    (await snapshot(join(w.ws, 'proto'))).get('usr/bin/bash'),
    '#!/bin/sh\necho pwned\n',
  );
  const inputs = JSON.parse(await readFile(join(w.ws, 'cache-key-inputs.json'), 'utf8')) as {
    'illumos-extra': { untracked?: { files: number; sha256: string; names: string[] } };
  };
  assert.equal(inputs['illumos-extra'].untracked?.files, 1);
  assert.deepEqual(inputs['illumos-extra'].untracked?.names, ['GNUmakefile']);
  assert.match(inputs['illumos-extra'].untracked?.sha256 ?? '', /^[0-9a-f]{64}$/);

  // A clean runner: the clean key, restored from the clean entry.
  await rm(join(w.ws, 'projects', 'illumos-extra', 'GNUmakefile'));
  await freshRunner(w.ws);
  const restored = await w.run();
  ok(restored);
  assert.equal(keyOf(restored), cleanKey);
  assert.match(restored.stdout, new RegExp(`cache hit: restored ${cleanKey} into `));
  assert.deepEqual(await snapshot(join(w.ws, 'proto')), cleanProto);

  // What the untracked file says counts, not only that it is there.
  await untrackedGnuMakefile(w.ws, '# nothing more\n');
  const first = keyOf(await w.run());
  await untrackedGnuMakefile(w.ws, '# nothing more, said otherwise\n');
  const second = await w.run();
  ok(second);
  assert.notEqual(keyOf(second), first);
  assert.match(
    second.stdout,
    /: illumos-extra untracked files changed \(1 untracked file not ignored by git\)$/m,
  );
  // What git ignores (build output) is not an input.
  await writeFile(join(w.ws, 'projects', 'illumos-extra', '.gitignore'), '/bash/*.o\n');
  await writeFile(join(w.ws, 'projects', 'illumos-extra', 'bash', 'bash.o'), 'object');
  commitAll(join(w.ws, 'projects', 'illumos-extra'), 'ignore objects');
  const withIgnored = keyOf(await w.run());
  await writeFile(join(w.ws, 'projects', 'illumos-extra', 'bash', 'other.o'), 'object');
  assert.equal(keyOf(await w.run()), withIgnored);
});

/** Replaces the workspace's compiler stand-in by one whose --version says two lines, the second from a file. */
async function twoLineCompiler(ws: string): Promise<string> {
  const second = join(ws, 'tools', 'gcc-second-line');
  await writeFile(second, 'Configured with: --enable-languages=c\n');
  await writeFile(
    join(ws, 'tools', 'gcc'),
    `#!/bin/sh\n[ "$1" = --version ] || exit 1\necho "gcc (stand-in) 10.4.0"\ncat ${JSON.stringify(second)}\n`,
  );
  await chmod(join(ws, 'tools', 'gcc'), 0o755);
  return second;
}

test('stand-in illumos host: the whole --version output of each compiler is in the key, not its first line only', async (t) => {
  const w = await world(t);
  const second = await twoLineCompiler(w.ws);
  const before = await w.run();
  ok(before);
  const inputs = JSON.parse(await readFile(join(w.ws, 'cache-key-inputs.json'), 'utf8')) as {
    compilers: Record<string, string>;
  };
  const [gcc] = Object.entries(inputs.compilers);
  assert.match(gcc[0], /^gcc10,\S+\/tools\/gcc,gnu$/);
  assert.equal(gcc[1], 'gcc (stand-in) 10.4.0\nConfigured with: --enable-languages=c');

  await writeFile(second, 'Configured with: --enable-languages=c --with-evil-specs\n');
  const after = await w.run();
  ok(after);
  assert.notEqual(keyOf(after), keyOf(before));
  assert.match(
    after.stdout,
    /compiler gcc10 \(\S+\/tools\/gcc\) changed \(its --version output differs after its first line\)/,
  );
  assert.deepEqual(
    [...after.stdout.matchAll(/^stage (\S+): built/gm)].map((m) => m[1]),
    ['illumos', 'illumos-extra', 'src'],
  );
});

test('stand-in illumos host: the build environment nightly, illumos.sh and make read is in the key (listed in cache-key-inputs.json); job counts and unrelated variables are not', async (t) => {
  const w = await world(t);
  const base = await w.run({ UNRELATED_VARIABLE: 'a' });
  ok(base);
  const keyed = (await readFile(join(w.ws, 'cache-key-inputs.json'), 'utf8')).toString();
  const env = (JSON.parse(keyed) as { env: Record<string, string> }).env;
  // PATH names the runner's own directories (RUNNER_TEMP shims): keyed, no two runners would share.
  assert.equal(env.PATH, undefined, 'PATH is not keyed');
  assert.equal(env.UNRELATED_VARIABLE, undefined);

  for (const [name, value] of [
    ['CW_NO_SHADOW', '1'], // cw(1ONBLD)
    ['__GNUC', '""'],
    ['ONBLD_TOOLS', '/opt/onbld'],
    ['MAKEFILES', '/tmp/evil.mk'], // GNU make reads these before any makefile
    ['LD_PRELOAD', '/tmp/evil.so'],
    ['GATE', 'other'], // set by illumos.sh: its environment value is keyed too
    ['NIGHTLY_OPTIONS', '-nCDAlmprt'],
  ]) {
    const run = await w.run({ UNRELATED_VARIABLE: 'a', [name]: value });
    ok(run);
    assert.notEqual(keyOf(run), keyOf(base), name);
    assert.match(run.stdout, new RegExp(`build environment: (.*, )?${name} set`), name);
    const listed = JSON.parse(await readFile(join(w.ws, 'cache-key-inputs.json'), 'utf8')) as {
      env: Record<string, string>;
    };
    assert.equal(listed.env[name], value, `${name} is listed in cache-key-inputs.json`);
  }
  // Back to the base environment: the same key again; job counts and other variables change nothing.
  const same = await w.run({ UNRELATED_VARIABLE: 'b', MAX_JOBS: '64', DMAKE_MAX_JOBS: '64' });
  ok(same);
  assert.equal(keyOf(same), keyOf(base));
});

test('a cache entry packs what node-tar deadlocked on (a file hard-linked from 14 other directories), long names and link texts (pax), setuid modes; GNU tar reads it back as the same tree, hard links kept', async (t) => {
  const dir = await scratchDir(t);
  const proto = join(dir, 'proto');
  for (let i = 0; i < 20; i++) {
    await mkdir(join(proto, `dir${String(i).padStart(3, '0')}`), { recursive: true });
    await writeFile(join(proto, `dir${String(i).padStart(3, '0')}`, 'file.txt'), `content-${i}`);
  }
  const source = join(proto, 'dir000', 'hardlink-source.txt');
  await writeFile(source, 'I am the link target');
  for (let i = 1; i < 15; i++)
    await link(source, join(proto, `dir${String(i).padStart(3, '0')}`, 'hardlink.txt'));
  const deep = join(proto, 'x'.repeat(90), 'y'.repeat(90));
  await mkdir(deep, { recursive: true });
  await writeFile(join(deep, 'long-name.txt'), 'deep');
  await symlink(`../${'z'.repeat(150)}/target`, join(proto, 'long-link'));
  await writeFile(join(proto, 'setuid'), '#!/bin/sh\n');
  await chmod(join(proto, 'setuid'), 0o4755);
  await writeFile(join(dir, '0-livesrc-stamp'), 'stamp\n');
  await writeFile(join(dir, 'cache-key-inputs.json'), '{}\n');

  const { packEntry } = (await import(
    join(REPO_ROOT, 'build', 'src', 'cache', 'entry.js')
  )) as typeof import('../src/cache/entry.js');
  const entry = join(dir, 'entry.tgz');
  await packEntry(proto, ['0-livesrc-stamp', 'cache-key-inputs.json'], entry);

  const listing = spawnSync('tar', ['tvzf', entry], { encoding: 'utf8' });
  assert.equal(listing.status, 0, listing.stderr);
  const links = listing.stdout.split('\n').filter((l) => l.startsWith('h'));
  assert.equal(links.length, 14, 'one file, 14 link members');
  assert.match(
    listing.stdout,
    new RegExp(`proto/${'x'.repeat(90)}/${'y'.repeat(90)}/long-name\\.txt`),
  );
  assert.match(listing.stdout, new RegExp(`proto/long-link -> \\.\\./${'z'.repeat(150)}/target`));
  assert.match(listing.stdout, /^-rwsr-xr-x .* proto\/setuid$/m);

  const out = join(dir, 'out');
  await mkdir(out);
  const extracted = spawnSync('tar', ['xzf', entry, '-C', out], { encoding: 'utf8' });
  assert.equal(extracted.status, 0, extracted.stderr);
  assert.deepEqual(await snapshot(join(out, 'proto')), await snapshot(proto));
  assert.equal(
    (await stat(join(out, 'proto', 'dir014', 'hardlink.txt'))).ino,
    (await stat(join(out, 'proto', 'dir000', 'hardlink-source.txt'))).ino,
  );
});

test(
  'a stage whose log cannot be written (a full disk: /dev/full) ends with an error naming the log, not a command paused for ever',
  { skip: !existsSync('/dev/full') && 'no /dev/full here', timeout: 120_000 },
  async () => {
    const { runStageCommands } = (await import(
      join(REPO_ROOT, 'build', 'src', 'world', 'stages.js')
    )) as typeof import('../src/world/stages.js');
    // Megabytes of output: the log's buffer fills, the command is paused, the write fails.
    const command = { command: 'sh', args: ['-c', 'head -c 20000000 /dev/zero'], cwd: '/' };
    await assert.rejects(runStageCommands([command], '/dev/full', { env: process.env }), {
      name: 'UserError',
      message: /^cannot write the stage log \/dev\/full: .*(ENOSPC|no space)/i,
    });
  },
);
