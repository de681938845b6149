/**
 * The process runner (src/util/process.ts) with real commands: sh, a
 * missing one, a shell that leaves a child behind.
 */
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandFailed, run, runChecked, start } from '../src/util/process.js';
import { scratchDir } from './helpers/cli.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('run resolves with the exit status and both streams', async () => {
  const ok = await run('sh', ['-c', 'echo out; echo err >&2']);
  assert.equal(ok.status, 0);
  assert.equal(ok.signal, null);
  assert.equal(ok.stdout, 'out\n');
  assert.equal(ok.stderr, 'err\n');
  assert.equal(ok.truncated, false);
  assert.equal(ok.command, 'sh -c echo out; echo err >&2');

  const failed = await run('sh', ['-c', 'echo why >&2; exit 3']);
  assert.equal(failed.status, 3);
  assert.equal(failed.error, undefined);
});

test('runChecked throws a CommandFailed naming the command, its status and its last line', async () => {
  const ok = await runChecked('sh', ['-c', 'echo fine']);
  assert.equal(ok.stdout, 'fine\n');
  await assert.rejects(runChecked('sh', ['-c', 'echo first >&2; echo last words >&2; exit 4']), {
    name: 'CommandFailed',
    message: 'sh -c echo first >&2; echo last words >&2; exit 4: exit status 4: last words',
  });
});

test('a signal is reported as the signal, with no status', async () => {
  const result = await run('sh', ['-c', 'kill -TERM $$']);
  assert.equal(result.status, null);
  assert.equal(result.signal, 'SIGTERM');
  const err = await runChecked('sh', ['-c', 'kill -KILL $$']).catch((e: unknown) => e);
  assert.ok(err instanceof CommandFailed);
  assert.match(err.message, /killed by SIGKILL$/);
});

test('a missing command gives a clear error, not a rejection', async () => {
  const result = await run('joyent-live-no-such-command', ['x']);
  assert.equal(result.status, null);
  assert.equal(result.errorCode, 'ENOENT');
  assert.equal(result.error, 'does not exist');
  await assert.rejects(runChecked('joyent-live-no-such-command', []), {
    name: 'CommandFailed',
    message: 'joyent-live-no-such-command: could not be started: does not exist',
  });
});

test('capture keeps only the last bytes of each stream', async () => {
  // 4 MiB of output, 1 KiB kept; each line says its number.
  const script = 'i=0; while [ $i -lt 65536 ]; do printf "%063d\\n" $i; i=$((i+1)); done';
  const lines: string[] = [];
  let seen = 0;
  const result = await run('sh', ['-c', script], {
    capture: 1024,
    onOutput: (chunk, stream) => {
      assert.equal(stream, 'stdout');
      seen += chunk.length;
    },
    onLine: (line, stream) => {
      assert.equal(stream, 'stdout');
      if (lines.length < 2) lines.push(line);
    },
  });
  assert.equal(result.status, 0);
  assert.equal(seen, 65536 * 64);
  assert.equal(result.truncated, true);
  assert.equal(result.stdout.length, 1024);
  assert.ok(result.stdout.endsWith(`${String(65535).padStart(63, '0')}\n`));
  assert.deepEqual(lines, ['0'.repeat(63), `${'0'.repeat(62)}1`]);
  const none = await run('sh', ['-c', 'echo a; echo b >&2'], { capture: 0 });
  assert.equal(none.stdout, '');
  assert.equal(none.stderr, '');
  assert.equal(none.truncated, true);
});

test('output streams to a file as it comes, and input goes to stdin', async (t) => {
  const dir = await scratchDir(t);
  const path = join(dir, 'stage.log');
  const log = createWriteStream(path);
  const script =
    'cat; i=0; while [ $i -lt 20000 ]; do echo "line $i"; echo "err $i" >&2; i=$((i+1)); done';
  const result = await run('sh', ['-c', script], { to: log, input: 'from stdin\n', capture: 100 });
  log.end();
  await once(log, 'close');
  assert.equal(result.status, 0);
  const text = await readFile(path, 'utf8');
  assert.ok(text.startsWith('from stdin\n'));
  const lines = text.split('\n').filter(Boolean);
  assert.equal(lines.length, 1 + 40000);
  assert.ok(lines.includes('line 19999') && lines.includes('err 19999'));
  assert.ok((await stat(path)).size > 100 * 1000);
  assert.ok(result.stdout.length <= 100 && result.stderr.length <= 100);
});

test("output to 'ignore' or to a descriptor of ours is not captured", async (t) => {
  const ignored = await run('sh', ['-c', 'echo nothing'], { output: 'ignore' });
  assert.equal(ignored.status, 0);
  assert.equal(ignored.stdout, '');
  const path = join(await scratchDir(t), 'direct.log');
  const file = await open(path, 'w');
  try {
    const direct = await run('sh', ['-c', 'echo out; echo err >&2'], { output: file.fd });
    assert.equal(direct.status, 0);
    assert.equal(direct.stdout + direct.stderr, '');
  } finally {
    await file.close();
  }
  assert.equal(await readFile(path, 'utf8'), 'out\nerr\n');
});

test('kill() of a process group stops the command and every child it started', async (t) => {
  const dir = await scratchDir(t);
  const pidFile = join(dir, 'child.pid');
  // The shell starts a long sleep in the background, records its pid, then waits.
  const running = start('sh', ['-c', `sleep 300 & echo $! > ${pidFile}; wait`], {
    processGroup: true,
  });
  let child: number | undefined;
  for (let i = 0; i < 200 && child === undefined; i++) {
    const text = await readFile(pidFile, 'utf8').catch(() => '');
    if (text.trim()) child = Number(text.trim());
    else await sleep(25);
  }
  assert.ok(child && alive(child), 'the background child runs');
  assert.ok(running.pid && alive(running.pid));
  assert.equal(running.kill('SIGTERM'), true);
  const result = await running.result;
  assert.equal(result.signal, 'SIGTERM');
  for (let i = 0; i < 200 && alive(child); i++) await sleep(25);
  assert.equal(alive(child), false, 'no child is left');
  assert.equal(running.kill('SIGTERM'), false, 'nothing is left to signal');
});

test('abort kills the process group with the signal asked for', async () => {
  const controller = new AbortController();
  const running = start('sh', ['-c', 'sleep 300 & wait'], {
    processGroup: true,
    abort: controller.signal,
    killSignal: 'SIGKILL',
  });
  setTimeout(() => controller.abort(), 100);
  const result = await running.result;
  assert.equal(result.status, null);
  assert.equal(result.signal, 'SIGKILL');
});

test('input given as a promise: the command starts on what it has, stdin gets the rest when it resolves', async () => {
  let give!: (text: string) => void;
  const later = new Promise<string>((resolve) => (give = resolve));
  // The command says it started before it reads stdin; only then does the input come.
  const command = start('sh', ['-c', 'echo started; cat'], {
    input: later,
    onLine: (line) => {
      if (line === 'started') give('the rest\n');
    },
  });
  const result = await command.result;
  assert.equal(result.status, 0);
  assert.equal(result.stdout, 'started\nthe rest\n');
});

test('input given as a promise that rejects: stdin stays open, the caller stops the command', async () => {
  const failed = Promise.reject(new Error('no input'));
  failed.catch(() => undefined);
  const command = start('sh', ['-c', 'cat; echo ended'], { input: failed, processGroup: true });
  await sleep(200);
  assert.ok(command.alive(), 'cat still waits on stdin');
  await command.stop();
  const result = await command.result;
  assert.equal(result.signal, 'SIGTERM');
  assert.doesNotMatch(result.stdout, /ended/);
});
