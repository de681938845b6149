/**
 * The stages of the world build, in smartos-live's order (its Makefile's
 * 0-illumos-stamp, 0-extra-stamp, 0-livesrc-stamp rules): illumos with
 * nightly, illumos-extra and src with GNU make into DESTDIR=<proto>. Each
 * stage's output is streamed to log/<stage>.<BUILDSTAMP>.log; its stamp,
 * which records the inputs it was built from, is written only after it
 * succeeded.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, type KeyInputs } from '../cache/key.js';
import { replaceFile } from '../util/atomic.js';
import { describeError, UserError } from '../util/errors.js';
import { describeStatus, run } from '../util/process.js';
import { which } from '../util/which.js';

export const STAGES = ['illumos', 'illumos-extra', 'src'] as const;
export type StageName = (typeof STAGES)[number];

/** Stamp file names, as smartos-live's Makefile names them. */
export const STAMP_FILES: Record<StageName, string> = {
  illumos: '0-illumos-stamp',
  'illumos-extra': '0-extra-stamp',
  src: '0-livesrc-stamp',
};

/**
 * The inputs each stage is built from. A change to one reruns that stage
 * and every later one; the tool version and salt belong to the first.
 */
export function stageInputs(stage: StageName, inputs: KeyInputs): string {
  switch (stage) {
    case 'illumos':
      return canonicalJson({
        stage,
        format: inputs.format,
        tool: inputs.tool,
        salt: inputs.salt,
        illumos: inputs.illumos,
        // The hash without MAX_JOBS/DMAKE_MAX_JOBS (hashIllumosSh): a job count is no input.
        'illumos.sh': inputs['illumos.sh'],
        compilers: inputs.compilers,
        // Read by every stage; the first one rebuilt reruns those after it.
        env: inputs.env,
      });
    case 'illumos-extra':
      return canonicalJson({
        stage,
        'illumos-extra': inputs['illumos-extra'],
        compilers: inputs.compilers,
      });
    case 'src':
      return canonicalJson({ stage, src: inputs.src });
  }
}

/** True when the stamp exists and records exactly these inputs. */
export async function stampCurrent(stampPath: string, expected: string): Promise<boolean> {
  const text = await readFile(stampPath, 'utf8').catch(() => undefined);
  return text !== undefined && text.trimEnd() === expected;
}

export async function writeStamp(stampPath: string, content: string): Promise<void> {
  await replaceFile(stampPath, content + '\n');
}

export async function removeStamp(stampPath: string): Promise<void> {
  await rm(stampPath, { force: true });
}

/** `gmake` when on PATH, else `make` if it is GNU make, else a clear error. */
export async function findGnuMake(env: NodeJS.ProcessEnv): Promise<string> {
  const path = env.PATH ?? '';
  const gmake = await which('gmake', path);
  if (gmake) return gmake;
  const make = await which('make', path);
  if (make) {
    const version = await run(make, ['--version'], { env });
    if (/GNU Make/.test(version.stdout)) return make;
  }
  throw new UserError(
    'build-world needs GNU make: no gmake on PATH' +
      (make ? `, and ${make} is not GNU make` : ' and no make either') +
      ' (on illumos: pkg install developer/build/gnu-make, or pkgin install gmake)',
  );
}

export interface StageCommand {
  command: string;
  args: string[];
  cwd: string;
}

export interface StageRunOptions {
  env: NodeJS.ProcessEnv;
  /** Every chunk of output, as it comes (the action shows it inside a log group). */
  onOutput?: (chunk: Buffer) => void;
}

/**
 * Writes to the stage log, honouring back-pressure. A log that failed is
 * closed and will never drain: its error is reported when the stage ends
 * (runStageCommands), so nothing is awaited from it here.
 */
async function write(stream: WriteStream, chunk: Buffer | string): Promise<void> {
  if (stream.destroyed) return;
  if (!stream.write(chunk)) await once(stream, 'drain').catch(() => undefined);
}

/**
 * Runs the commands of one stage in turn, stdout and stderr streamed to
 * `logPath` (never held in memory), stopping at the first that fails.
 * Returns undefined on success, else what failed.
 */
export async function runStageCommands(
  commands: readonly StageCommand[],
  logPath: string,
  options: StageRunOptions,
): Promise<{ command: string; status: string } | undefined> {
  const log = createWriteStream(logPath, { mode: 0o644 });
  let logError: Error | undefined;
  log.on('error', (err) => (logError = err));
  try {
    for (const c of commands) {
      const line = `==== ${[c.command, ...c.args].join(' ')} (in ${c.cwd})\n`;
      await write(log, line);
      options.onOutput?.(Buffer.from(line));
      const result = await run(c.command, c.args, {
        cwd: c.cwd,
        env: options.env,
        to: log,
        capture: 0,
        onOutput: options.onOutput,
      });
      if (result.status !== 0) {
        const status = describeStatus(result);
        await write(log, `==== ${c.command} failed: ${status}\n`);
        return { command: [c.command, ...c.args].join(' '), status };
      }
    }
    return undefined;
  } finally {
    log.end();
    // A log that failed has closed already: 'close' will not come again.
    if (!log.closed) await once(log, 'close').catch(() => undefined);
    if (logError) {
      // eslint-disable-next-line no-unsafe-finally
      throw new UserError(`cannot write the stage log ${logPath}: ${describeError(logError)}`);
    }
  }
}

/** The last `count` lines of a file, read from its end (a log may be huge). */
export async function tailLines(path: string, count: number): Promise<string[]> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    const want = Math.min(size, 64 * 1024);
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(want), 0, want, size - want);
    const lines = buffer.subarray(0, bytesRead).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    if (want < size) lines.shift(); // a partial first line
    return lines.slice(-count);
  } finally {
    await handle.close();
  }
}

/** Where real nightly leaves mail_msg: `$ATLOG/latest/mail_msg`, ATLOG being `$CODEMGR_WS/log`. */
export function mailMsgPath(codemgrWs: string): string {
  return join(codemgrWs, 'log', 'latest', 'mail_msg');
}
