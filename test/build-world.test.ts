/**
 * build-world on the fixture workspace (action-fixtures/world): stand-ins
 * for nightly, illumos-extra's and src's Makefiles (run by real GNU make)
 * and the compiler, real git in projects/, and the uname stand-in first on
 * PATH so that this Linux host passes for illumos. Runs the CLI as a user
 * would, with the local and none cache backends.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  appendFile,
  mkdir,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CLI } from './helpers/paths.js';
import { rawTgz } from './helpers/raw-tar.js';
import { runCli, scratchDir, type CliRun } from './helpers/cli.js';
import {
  commitAll,
  freshRunner,
  illumosPath,
  initRepo,
  makeWorldWorkspace,
  snapshot,
} from './helpers/world.js';

const STAMP = '20111209T201508Z'; // SOURCE_DATE_EPOCH=1323461708 in runCli

interface World {
  dir: string;
  ws: string;
  cache: string;
  run(extraArgs?: string[], env?: NodeJS.ProcessEnv): Promise<CliRun>;
}

async function world(t: TestContext, backend: 'local' | 'none' = 'local'): Promise<World> {
  const dir = await scratchDir(t);
  const ws = await makeWorldWorkspace(dir);
  const cache = join(dir, 'cache');
  const backendArgs =
    backend === 'local'
      ? ['--cache-backend', 'local', '--local-cache-dir', cache]
      : ['--cache-backend', 'none'];
  return {
    dir,
    ws,
    cache,
    run: (extraArgs = [], env = {}) =>
      runCli(['build-world', '--workspace', ws, ...backendArgs, ...extraArgs], {
        env: { PATH: illumosPath(), ...env },
      }),
  };
}

const ok = (run: CliRun) => assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);

function assertNoStack(run: CliRun) {
  assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at .+:\d+:\d+\)?/, 'a stack trace');
}

/** `stage X: <status>` lines of a run, as a map. */
function stageLines(run: CliRun): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of run.stdout.matchAll(
    /^ {2}(illumos|illumos-extra|src): (built|up to date|from cache)/gm,
  )) {
    out[m[1]] = m[2];
  }
  return out;
}

const entries = async (dir: string) =>
  (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.tgz')).sort();

test('stand-in illumos host, local cache: the second run restores the proto and skips every stage; after touching src the third says "src changed", rebuilds only src and saves a new entry', async (t) => {
  const w = await world(t);
  const first = await w.run();
  ok(first);
  assert.deepEqual(stageLines(first), { illumos: 'built', 'illumos-extra': 'built', src: 'built' });
  assert.match(first.stdout, /cache miss: no entry for joyent-live-proto-1-[0-9a-f]{40} nor any/);
  const [entry1] = await entries(w.cache);
  assert.match(entry1, /^joyent-live-proto-1-[0-9a-f]{40}\.tgz$/);
  const key1 = entry1.slice(0, -4);
  assert.match(first.stdout, new RegExp(`cache key: ${key1}`));
  for (const stage of ['illumos', 'illumos-extra', 'src']) {
    const log = await readFile(join(w.ws, 'log', `${stage}.${STAMP}.log`), 'utf8');
    assert.ok(log.length > 0, `${stage} log`);
  }
  assert.match(
    await readFile(join(w.ws, 'log', `illumos.${STAMP}.log`), 'utf8'),
    /incremental: y/,
    'nightly -i',
  );
  const proto = await snapshot(join(w.ws, 'proto'));
  assert.deepEqual(
    [...proto.keys()].filter((k) => proto.get(k) !== '<dir>'),
    [
      'kernel/amd64/unix',
      'usr/bin/bash',
      'usr/bin/dir',
      'usr/bin/ls',
      'usr/bin/sh',
      'usr/lib/libc.so.1',
      'usr/sbin/vmadm',
      'usr/share/doc/bash/README',
    ],
  );
  const inputs = JSON.parse(await readFile(join(w.ws, 'cache-key-inputs.json'), 'utf8')) as {
    tool: string;
    compilers: Record<string, string>;
  };
  assert.equal(inputs.tool, '0.1.0');
  assert.deepEqual(Object.values(inputs.compilers), ['gcc (stand-in) 10.4.0']);

  // A new job: same sources, no proto, no stamps.
  await freshRunner(w.ws);
  const second = await w.run();
  ok(second);
  assert.match(second.stdout, new RegExp(`cache hit: restored ${key1} into `));
  assert.deepEqual(stageLines(second), {
    illumos: 'from cache',
    'illumos-extra': 'from cache',
    src: 'from cache',
  });
  assert.deepEqual(await readdir(join(w.ws, 'log')), [], 'no stage ran');
  assert.deepEqual(await snapshot(join(w.ws, 'proto')), proto, 'the proto came back as it was');
  assert.equal(
    (await stat(join(w.ws, 'proto', 'usr', 'bin', 'dir'))).ino,
    (await stat(join(w.ws, 'proto', 'usr', 'bin', 'ls'))).ino,
    'the hard link is kept',
  );
  assert.match(second.stdout, /cache save: not needed/);
  assert.deepEqual(await entries(w.cache), [entry1]);

  // A change in src/, in another new job.
  await appendFile(join(w.ws, 'src', 'vmadm.sh'), 'echo changed\n');
  await freshRunner(w.ws);
  const third = await w.run();
  ok(third);
  assert.match(third.stdout, new RegExp(`restored ${key1} \\(prefix joyent-live-proto-1-\\)`));
  assert.match(
    third.stdout,
    new RegExp(`compared with the restored entry ${key1}: src changed$`, 'm'),
  );
  assert.deepEqual(stageLines(third), {
    illumos: 'from cache',
    'illumos-extra': 'from cache',
    src: 'built',
  });
  assert.deepEqual(await readdir(join(w.ws, 'log')), [`src.${STAMP}.log`]);
  assert.match(await readFile(join(w.ws, 'proto', 'usr', 'sbin', 'vmadm'), 'utf8'), /echo changed/);
  const after = await entries(w.cache);
  assert.equal(after.length, 2);
  assert.ok(after.includes(entry1));
  assert.match(third.stdout, /proto cache: saved joyent-live-proto-1-[0-9a-f]{40} \(local\)/);
});

test('stand-in illumos host, local cache: a runner with another CPU count (only MAX_JOBS and DMAKE_MAX_JOBS differ in illumos.sh) gets an exact cache hit; another variable changed is a miss', async (t) => {
  const w = await world(t);
  const first = await w.run();
  ok(first);
  const [entry1] = await entries(w.cache);
  const key1 = entry1.slice(0, -4);
  const illumosSh = join(w.ws, 'projects', 'illumos', 'illumos.sh');
  const original = await readFile(illumosSh, 'utf8');
  assert.match(original, /^export MAX_JOBS="2"$/m);

  // What setup-illumos-host writes on a 16-CPU runner: both job counts.
  await writeFile(
    illumosSh,
    original.replace(/^export MAX_JOBS="2"$/m, 'export MAX_JOBS="16"\nexport DMAKE_MAX_JOBS="16"'),
  );
  await freshRunner(w.ws);
  const other = await w.run();
  ok(other);
  assert.match(other.stdout, new RegExp(`cache key: ${key1}$`, 'm'));
  assert.match(other.stdout, new RegExp(`cache hit: restored ${key1} into `));
  assert.deepEqual(stageLines(other), {
    illumos: 'from cache',
    'illumos-extra': 'from cache',
    src: 'from cache',
  });
  assert.deepEqual(await entries(w.cache), [entry1]);
  // The stamps restored with the proto still match in this workspace: nothing reruns.
  const same = await w.run();
  ok(same);
  assert.doesNotMatch(same.stdout, /: built/);

  // Any other variable is an input: NIGHTLY_OPTIONS changed is a new key.
  await writeFile(
    illumosSh,
    original.replace('export NIGHTLY_OPTIONS="-nCDAlmprt"', 'export NIGHTLY_OPTIONS="-nCDAlmpr"'),
  );
  await freshRunner(w.ws);
  const changed = await w.run();
  ok(changed);
  assert.doesNotMatch(changed.stdout, new RegExp(`cache key: ${key1}`));
  assert.match(
    changed.stdout,
    new RegExp(`cache miss for joyent-live-proto-1-[0-9a-f]{40}; restored ${key1} `),
  );
  assert.match(changed.stdout, /: illumos\.sh changed$/m);
  assert.deepEqual(stageLines(changed), {
    illumos: 'built',
    'illumos-extra': 'built',
    src: 'built',
  });
  assert.equal((await entries(w.cache)).length, 2);
});

test('stand-in illumos host: in the same workspace, a new illumos commit reruns all three stages and names the change; a compiler upgrade too', async (t) => {
  const w = await world(t, 'none');
  ok(await w.run());
  const same = await w.run();
  ok(same);
  assert.deepEqual(stageLines(same), {
    illumos: 'up to date',
    'illumos-extra': 'up to date',
    src: 'up to date',
  });
  assert.match(same.stdout, /compared with the workspace's last build: no input changed/);

  const illumos = join(w.ws, 'projects', 'illumos');
  const before = JSON.parse(await readFile(join(w.ws, 'cache-key-inputs.json'), 'utf8')) as {
    illumos: { head: string };
  };
  await appendFile(join(illumos, 'usr', 'src', 'uts', 'unix.c'), '/* a fix */\n');
  const dirty = await w.run();
  ok(dirty);
  assert.match(dirty.stdout, /illumos working tree has uncommitted changes now/);
  const head = commitAll(illumos, 'a fix');
  const changed = await w.run();
  ok(changed);
  assert.match(
    changed.stdout,
    new RegExp(
      `illumos HEAD changed \\(${before.illumos.head.slice(0, 12)} → ${head.slice(0, 12)}\\); illumos working tree is clean now`,
    ),
  );
  assert.deepEqual(stageLines(changed), {
    illumos: 'built',
    'illumos-extra': 'built',
    src: 'built',
  });
  assert.match(await readFile(join(w.ws, 'proto', 'kernel', 'amd64', 'unix'), 'utf8'), /a fix/);

  const upgraded = await w.run([], { GCC_STANDIN_VERSION: '10.5.0' });
  ok(upgraded);
  assert.match(
    upgraded.stdout,
    /compiler gcc10 \(\S+\/tools\/gcc\) changed \(gcc \(stand-in\) 10\.4\.0 → gcc \(stand-in\) 10\.5\.0\)/,
  );
  assert.deepEqual(stageLines(upgraded), {
    illumos: 'built',
    'illumos-extra': 'built',
    src: 'built',
  });

  const extra = join(w.ws, 'projects', 'illumos-extra');
  await writeFile(join(extra, 'bash', 'README'), 'bash 5\n');
  commitAll(extra, 'bash 5');
  const extraRun = await w.run([], { GCC_STANDIN_VERSION: '10.5.0' });
  ok(extraRun);
  assert.match(extraRun.stdout, /illumos-extra HEAD changed/);
  assert.deepEqual(stageLines(extraRun), {
    illumos: 'up to date',
    'illumos-extra': 'built',
    src: 'built',
  });
});

test('stand-in illumos host: clean: true runs nightly without -i and every stage, restoring nothing', async (t) => {
  const w = await world(t);
  ok(await w.run());
  await freshRunner(w.ws);
  const clean = await w.run(['--clean']);
  ok(clean);
  assert.match(clean.stdout, /clean: true: nothing is restored/);
  assert.deepEqual(stageLines(clean), { illumos: 'built', 'illumos-extra': 'built', src: 'built' });
  assert.match(await readFile(join(w.ws, 'log', `illumos.${STAMP}.log`), 'utf8'), /incremental: n/);
});

test('a Linux host: build-world fails at once and writes nothing', async (t) => {
  const w = await world(t);
  const run = await w.run([], { UNAME_STANDIN_S: 'Linux' });
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr,
    'joyent-live: error: build-world needs an illumos host (uname -s: Linux); nothing was done\n',
  );
  assert.ok(!existsSync(join(w.ws, 'log')));
  assert.ok(!existsSync(join(w.ws, 'proto')));
  assert.ok(!existsSync(w.cache));
});

test('stand-in illumos host: a failing src stage leaves no stamp, shows its log tail, saves nothing; the next run retries only it', async (t) => {
  const w = await world(t);
  const failed = await w.run([], { SRC_STANDIN_FAIL: '1' });
  assert.equal(failed.code, 1);
  const log = join(w.ws, 'log', `src.${STAMP}.log`);
  assert.match(
    failed.stderr,
    new RegExp(
      `^joyent-live: error: build-world: stage src failed \\(.*make DESTDIR=.*/proto: exit status 2\\); log: ${log}$`,
      'm',
    ),
  );
  assert.match(failed.stdout, new RegExp(`---- last \\d+ lines of ${log}`));
  assert.match(failed.stdout, /vmadm\.sh:1: error: the stand-in was told to fail/);
  assertNoStack(failed);
  assert.ok(existsSync(join(w.ws, '0-illumos-stamp')));
  assert.ok(existsSync(join(w.ws, '0-extra-stamp')));
  assert.ok(!existsSync(join(w.ws, '0-livesrc-stamp')));
  assert.ok(!existsSync(join(w.ws, 'cache-key-inputs.json')));
  assert.deepEqual(await entries(w.cache), [], 'nothing saved after a failure');
  assert.ok(!existsSync(join(w.ws, '.build-world.lock')), 'the lock is released');

  const retry = await w.run();
  ok(retry);
  assert.deepEqual(stageLines(retry), {
    illumos: 'up to date',
    'illumos-extra': 'up to date',
    src: 'built',
  });
  assert.equal((await entries(w.cache)).length, 1);
});

test('stand-in illumos host: a failing nightly shows its mail_msg from where real nightly leaves it, and leaves no stamp', async (t) => {
  const w = await world(t);
  const failed = await w.run([], { NIGHTLY_STANDIN_FAIL: '1' });
  assert.equal(failed.code, 1);
  assert.match(
    failed.stderr,
    /build-world: stage illumos failed \(.*nightly -i .*illumos\.sh: exit status 1\)/,
  );
  const mail = join(w.ws, 'projects', 'illumos', 'log', 'latest', 'mail_msg');
  assert.match(failed.stdout, new RegExp(`---- nightly's mail_msg \\(${mail}\\)`));
  assert.match(failed.stdout, /dmake: Fatal error: Command failed for target `unix\.o'/);
  assert.deepEqual(
    (await readdir(w.ws)).filter((n) => n.endsWith('-stamp')),
    [],
  );
  const retry = await w.run();
  ok(retry);
  assert.deepEqual(stageLines(retry), { illumos: 'built', 'illumos-extra': 'built', src: 'built' });
});

for (const damage of ['corrupt', 'truncated'] as const) {
  test(`stand-in illumos host: a ${damage} cache entry is discarded with a warning and the proto rebuilt`, async (t) => {
    const w = await world(t);
    ok(await w.run());
    const [entry] = await entries(w.cache);
    const file = join(w.cache, entry);
    const { size } = await stat(file);
    if (damage === 'truncated') {
      await truncate(file, Math.floor(size / 2));
    } else {
      const bytes = await readFile(file);
      for (let i = 20; i < size - 8; i += 7) bytes[i] ^= 0x5a;
      await writeFile(file, bytes);
    }
    await freshRunner(w.ws);
    const run = await w.run();
    ok(run);
    assert.match(
      run.stderr,
      new RegExp(
        `^warning: proto cache entry ${entry.slice(0, -4)} is not usable, discarded \\(removed it from ${w.cache}\\); rebuilding: `,
        'm',
      ),
    );
    assert.deepEqual(stageLines(run), { illumos: 'built', 'illumos-extra': 'built', src: 'built' });
    assert.deepEqual(
      (await readdir(w.ws)).filter((n) => n.startsWith('.build-world')),
      [],
      'no half-unpacked entry left behind',
    );
    // Saved again, whole.
    assert.deepEqual(await entries(w.cache), [entry]);
    await freshRunner(w.ws);
    const again = await w.run();
    ok(again);
    assert.match(again.stdout, /cache hit: restored/);
  });
}

test('stand-in illumos host: cache entries whose members escape the proto area are refused, nothing of them is written', async (t) => {
  const w = await world(t);
  const cases = [
    { name: 'proto/../../escaped', data: 'x' },
    { name: 'escaped-beside-the-proto', data: 'x' },
  ];
  for (const [i, member] of cases.entries()) {
    // Only the bad entry: the good one the previous case saved would be an exact hit.
    await rm(w.cache, { recursive: true, force: true });
    await mkdir(w.cache, { recursive: true });
    const key = `joyent-live-proto-1-${String(i).repeat(40)}`;
    await writeFile(
      join(w.cache, `${key}.tgz`),
      rawTgz([
        { name: 'proto/', type: '5' },
        { name: 'proto/usr/bin/ls', data: 'ls' },
        { name: 'cache-key-inputs.json', data: '{}' },
        member,
      ]),
    );
    const run = await w.run();
    ok(run);
    assert.match(
      run.stderr,
      new RegExp(
        `warning: proto cache entry ${key} is not usable, discarded .*member ${member.name.replaceAll('.', '\\.')} .*refusing`,
      ),
    );
    assert.ok(!existsSync(join(w.dir, 'escaped')));
    assert.ok(!existsSync(join(w.ws, 'escaped-beside-the-proto')));
    assert.ok(!existsSync(join(w.cache, `${key}.tgz`)), 'the bad entry is removed');
    await freshRunner(w.ws);
  }
});

test("stand-in illumos host: two builds on one workspace at once: the second fails at once naming the lock and the first one's pid", async (t) => {
  const w = await world(t, 'none');
  const release = join(w.dir, 'release-nightly');
  const first = spawn(process.execPath, [CLI, 'build-world', '--workspace', w.ws], {
    env: {
      ...process.env,
      PATH: illumosPath(),
      SOURCE_DATE_EPOCH: '1323461708',
      NIGHTLY_STANDIN_HOLD: release,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let firstOut = '';
  let exited = false;
  first.stdout.setEncoding('utf8').on('data', (d: string) => (firstOut += d));
  first.stderr.setEncoding('utf8').on('data', (d: string) => (firstOut += d));
  const firstDone = new Promise<number | null>((done) =>
    first.on('close', (code) => {
      exited = true;
      done(code);
    }),
  );
  t.after(async () => {
    if (!exited) first.kill();
    await firstDone;
  });
  // Wait until the first build is inside nightly (it holds the lock).
  const log = join(w.ws, 'log', `illumos.${STAMP}.log`);
  const holding = async () => /holding until/.test(await readFile(log, 'utf8').catch(() => ''));
  while (!(await holding())) {
    assert.ok(!exited, `the first build ended before nightly: ${firstOut}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  const lock = join(w.ws, '.build-world.lock');
  const second = await w.run();
  assert.equal(second.code, 1);
  assert.equal(
    second.stderr,
    `joyent-live: error: another build-world (pid ${first.pid}) is using this workspace: ${lock} is locked; ` +
      'wait for it to finish (remove the lock only if that process is not a build)\n',
  );
  await writeFile(release, '');
  assert.equal(await firstDone, 0, firstOut);
  assert.ok(!existsSync(lock));
});

test('stand-in illumos host: a lock left by a process that is gone is taken over with a warning', async (t) => {
  const w = await world(t, 'none');
  const gone = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => gone.on('close', r));
  await writeFile(join(w.ws, '.build-world.lock'), `${gone.pid}\n`);
  const run = await w.run();
  ok(run);
  assert.match(
    run.stderr,
    new RegExp(
      `warning: taking over the stale workspace lock .*\\.build-world\\.lock \\(pid ${gone.pid} is gone\\)`,
    ),
  );
});

test('build-world usage: the github backend only inside Actions, local needs a directory', async (t) => {
  const w = await world(t, 'none');
  const github = await runCli(['build-world', '--workspace', w.ws, '--cache-backend', 'github'], {
    env: { PATH: illumosPath() },
  });
  assert.equal(github.code, 2);
  assert.match(github.stderr, /--cache-backend github works only inside GitHub Actions/);
  const local = await runCli(['build-world', '--workspace', w.ws, '--cache-backend', 'local'], {
    env: { PATH: illumosPath() },
  });
  assert.equal(local.code, 2);
  assert.match(local.stderr, /--cache-backend local needs --local-cache-dir <dir>/);
  const salt = await runCli(['build-world', '--workspace', w.ws, '--cache-version', 'a/b'], {
    env: { PATH: illumosPath() },
  });
  assert.equal(salt.code, 1);
  assert.match(salt.stderr, /cache-version may hold only letters/);
});

test('stand-in illumos host: local-cache-max-gb removes the oldest entries first', async (t) => {
  const w = await world(t);
  ok(await w.run());
  const [oldest] = await entries(w.cache);
  await appendFile(join(w.ws, 'src', 'vmadm.sh'), '# 2\n');
  // Any limit below two entries keeps only the newest.
  const run = await w.run(['--local-cache-max-gb', '0.000000001']);
  ok(run);
  const now = await entries(w.cache);
  assert.equal(now.length, 1);
  assert.notEqual(now[0], oldest);
  assert.match(run.stderr + run.stdout, new RegExp(`local cache: removed ${oldest.slice(0, -4)}`));
});

test('stand-in illumos host: a workspace that already holds the build fills an empty cache without building, then is a hit without unpacking', async (t) => {
  const w = await world(t);
  const none = await runCli(['build-world', '--workspace', w.ws, '--cache-backend', 'none'], {
    env: { PATH: illumosPath() },
  });
  ok(none);
  const fill = await w.run();
  ok(fill);
  assert.match(
    fill.stdout,
    /the workspace already holds the build of joyent-live-proto-1-\w+; the cache lacks it: saving it/,
  );
  assert.deepEqual(stageLines(fill), {
    illumos: 'up to date',
    'illumos-extra': 'up to date',
    src: 'up to date',
  });
  assert.equal((await entries(w.cache)).length, 1);
  const hit = await w.run();
  ok(hit);
  assert.match(
    hit.stdout,
    /cache hit: joyent-live-proto-1-\w+ \(the workspace already holds this proto: nothing to restore\)/,
  );
  assert.match(hit.stdout, /cache save: not needed/);
});

test('stand-in illumos host: without a built nightly, nightly.sh is run by ksh93 (a stand-in), as smartos-live does on a fresh checkout', async (t) => {
  const w = await world(t, 'none');
  const scripts = join(w.ws, 'projects', 'illumos', 'usr', 'src', 'tools', 'scripts');
  await rename(join(scripts, 'nightly'), join(scripts, 'nightly.sh'));
  const noKsh = await w.run();
  assert.equal(noKsh.code, 1);
  assert.match(
    noKsh.stderr,
    /nightly is not built yet and there is no ksh93 \(or ksh\) on PATH to run .*nightly\.sh/,
  );
  const bin = join(w.dir, 'bin');
  await mkdir(bin);
  // Stand-in for illumos' ksh93: runs the script with sh (the nightly stand-in is sh).
  await writeFile(join(bin, 'ksh93'), '#!/bin/sh\n# stand-in for ksh93\nexec sh "$@"\n', {
    mode: 0o755,
  });
  const run = await w.run([], { PATH: `${bin}:${illumosPath()}` });
  ok(run);
  assert.match(
    await readFile(join(w.ws, 'log', `illumos.${STAMP}.log`), 'utf8'),
    new RegExp(`^==== ${bin}/ksh93 ${scripts}/nightly\\.sh -i `, 'm'),
  );
});

test('stand-in illumos host: a nightly path that cannot be looked up (a loop of symlinks) is an error naming it, not "not an illumos-gate checkout"', async (t) => {
  const w = await world(t, 'none');
  // ELOOP fails for root too (EACCES would not): usr/src/tools/scripts is a symlink to itself.
  const scripts = join(w.ws, 'projects', 'illumos', 'usr', 'src', 'tools', 'scripts');
  await rm(scripts, { recursive: true });
  await symlink('scripts', scripts);
  const run = await w.run();
  assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
  assert.equal(
    run.stderr,
    `joyent-live: error: cannot look up ${join(scripts, 'nightly')}: ` +
      'too many levels of symbolic links (ELOOP)\n',
  );
  assertNoStack(run);
});

test('stand-in illumos host: a workspace directory that cannot be looked up (a loop of symlinks) is an error naming it, not "missing"', async (t) => {
  const w = await world(t, 'none');
  const extra = join(w.ws, 'projects', 'illumos-extra');
  await rm(extra, { recursive: true });
  await symlink('illumos-extra', extra);
  const run = await w.run();
  assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
  assert.equal(
    run.stderr,
    `joyent-live: error: cannot look up ${extra}: too many levels of symbolic links (ELOOP)\n`,
  );
  assertNoStack(run);
});

test('stand-in illumos host: when src/ is in a git work tree, what git ignores (build output) does not change the key; a new source file does', async (t) => {
  const w = await world(t, 'none');
  // The workspace is a smartos-live checkout: a git repository with a .gitignore.
  await writeFile(join(w.ws, '.gitignore'), '/projects/\n/proto/\n/log/\n0-*-stamp\n*.o\n');
  commitAll(initRepo(w.ws), 'smartos-live');
  ok(await w.run());
  await writeFile(join(w.ws, 'src', 'vmadm.o'), 'object code');
  const ignored = await w.run();
  ok(ignored);
  assert.match(ignored.stdout, /compared with the workspace's last build: no input changed/);
  assert.deepEqual(stageLines(ignored), {
    illumos: 'up to date',
    'illumos-extra': 'up to date',
    src: 'up to date',
  });
  await writeFile(join(w.ws, 'src', 'imgadm.sh'), 'echo imgadm\n');
  const added = await w.run();
  ok(added);
  assert.match(added.stdout, /compared with the workspace's last build: src changed$/m);
  assert.deepEqual(stageLines(added), {
    illumos: 'up to date',
    'illumos-extra': 'up to date',
    src: 'built',
  });
});

test('stand-in illumos host: a proto other than the ROOT illumos.sh names is refused before anything is built', async (t) => {
  const w = await world(t, 'none');
  const run = await w.run(['--proto', 'elsewhere']);
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr,
    `joyent-live: error: ${join(w.ws, 'projects', 'illumos', 'illumos.sh')}: ROOT is ${join(w.ws, 'proto')} ` +
      `but the proto area is ${join(w.ws, 'elsewhere')}: nightly would install outside the proto that is cached ` +
      '(give proto the same path, or rerun setup-illumos-host)\n',
  );
  assert.ok(!existsSync(join(w.ws, 'log')));
});
