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
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { REPO_ROOT } from './helpers/paths.js';
import { runCli, scratchDir, type CliRun } from './helpers/cli.js';
import { freshRunner, illumosPath, makeWorldWorkspace, snapshot } from './helpers/world.js';

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

/**
 * An untracked GNUmakefile in projects/illumos-extra: GNU make reads it
 * before Makefile, so it adds to (or replaces) what the tracked Makefile installs.
 */
async function untrackedGnuMakefile(ws: string, rules: string): Promise<void> {
  await writeFile(
    join(ws, 'projects', 'illumos-extra', 'GNUmakefile'),
    `include Makefile\n${rules}`,
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
