/**
 * The one way the engine runs a command. `run()` resolves with what
 * happened (status, signal, the tail of each stream) and never rejects;
 * `runChecked()` throws a CommandFailed, which names the command, its status
 * and the end of what it printed, unless it exited 0. `start()` returns the
 * running command, to stop it (and, started as its own process group, all
 * it started) before it ends.
 *
 * Output is never buffered whole: each stream keeps at most its last
 * `capture` bytes; the rest goes as it comes to a writable (a stage log,
 * with back-pressure), to callbacks, or nowhere.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { Readable, Writable } from 'node:stream';
import { stopOnInterrupt } from './cleanup.js';
import { describeError, errnoCode, UserError } from './errors.js';

/** Bytes kept of each stream by default: its last 64 KiB. */
export const DEFAULT_CAPTURE = 64 * 1024;

export type OutputStream = 'stdout' | 'stderr';

export interface RunOptions {
  cwd?: string;
  /** The command's environment (default: ours). */
  env?: NodeJS.ProcessEnv;
  /**
   * Written to the command's stdin, which is otherwise /dev/null; a
   * promise is written when it resolves (the command may start on what it
   * has before). A promise that rejects leaves stdin open: the caller
   * stops the command.
   */
  input?: Buffer | string | Promise<Buffer | string>;
  /**
   * Where stdout and stderr go: 'pipe' (default) through us (captured,
   * streamed to `to` and the callbacks); 'ignore'; or a file descriptor of
   * ours the command writes to itself (2: our stderr), nothing captured.
   */
  output?: 'pipe' | 'ignore' | number;
  /** Bytes kept of each stream in the result, its last ones (default DEFAULT_CAPTURE; 0: none). */
  capture?: number;
  /** Both streams written here as they come, honouring back-pressure; not ended. */
  to?: Writable;
  /** Each chunk as it comes, raw (hashing git's output, showing a build's). */
  onOutput?: (chunk: Buffer, stream: OutputStream) => void;
  /** Each complete line of each stream, as it comes (installers, long listings). */
  onLine?: (line: string, stream: OutputStream) => void;
  /**
   * Runs the command as the leader of its own process group (setsid, on
   * Linux and illumos alike): kill() and `abort` then signal the whole
   * group, so nothing the command started outlives it.
   */
  processGroup?: boolean;
  /** Aborting it kills the command (its group with processGroup) with `killSignal`. */
  abort?: AbortSignal;
  /** The signal `abort` sends (default SIGTERM). */
  killSignal?: NodeJS.Signals;
}

export interface RunResult {
  /** The command and its arguments, as one line (for messages). */
  command: string;
  /** Exit status; null when a signal ended it or it could not start. */
  status: number | null;
  signal: NodeJS.Signals | null;
  /** The last `capture` bytes of each stream, as UTF-8. */
  stdout: string;
  stderr: string;
  /** True when a stream said more than was kept. */
  truncated: boolean;
  /** Why it could not start ("does not exist", ...), when it could not. */
  error?: string;
  /** The errno code of that (ENOENT, EACCES). */
  errorCode?: string;
}

export interface RunningCommand {
  /** Undefined when it could not start. */
  readonly pid: number | undefined;
  readonly result: Promise<RunResult>;
  /**
   * Sends `signal` to the command, or to its whole process group when it
   * was started with processGroup (the group outlives its leader: this
   * still reaches what is left of it). False when there was nothing to signal.
   */
  kill(signal?: NodeJS.Signals): boolean;
  /**
   * True while the command, or with processGroup anything left in its
   * group, is still there (a zombie not yet reaped counts).
   */
  alive(): boolean;
  /**
   * Stops it: SIGTERM (to the group with processGroup), then SIGKILL to
   * whatever is left after `graceMs`. Resolves once it is gone or killed.
   */
  stop(graceMs?: number): Promise<void>;
}

/** How long a stopped command gets between SIGTERM and SIGKILL by default. */
export const STOP_GRACE_MS = 3000;

/** The last `limit` bytes of a stream, kept in the chunks they came in. */
class Tail {
  private chunks: Buffer[] = [];
  private kept = 0;
  dropped = false;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    if (this.limit <= 0) {
      this.dropped ||= chunk.length > 0;
      return;
    }
    this.chunks.push(chunk);
    this.kept += chunk.length;
    while (this.kept - this.chunks[0].length >= this.limit) {
      this.kept -= this.chunks.shift()!.length;
      this.dropped = true;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    if (all.length <= this.limit) return all.toString('utf8');
    this.dropped = true;
    return all.subarray(all.length - this.limit).toString('utf8');
  }
}

/** Splits chunks into lines; a line cut between two chunks is joined first. */
class Lines {
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  constructor(private readonly each: (line: string) => void) {}
  add(chunk: Buffer): void {
    const parts = (this.partial + this.decoder.write(chunk)).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.each(line);
  }
  end(): void {
    this.partial += this.decoder.end();
    if (this.partial) this.each(this.partial);
    this.partial = '';
  }
}

const shown = (command: string, args: readonly string[]) => [command, ...args].join(' ');

/**
 * One output stream of a command: the owner of its captured tail and its
 * line splitting, and of its own back-pressure (a slow `to` pauses this
 * stream only, never the other).
 */
class StreamCapture {
  readonly tail: Tail;
  private readonly lines: Lines | undefined;

  constructor(
    private readonly name: OutputStream,
    private readonly options: RunOptions,
  ) {
    this.tail = new Tail(options.capture ?? DEFAULT_CAPTURE);
    const each = options.onLine;
    this.lines = each && new Lines((line) => each(line, name));
  }

  attach(stream: Readable | null): void {
    stream?.on('data', (chunk: Buffer) => {
      this.tail.add(chunk);
      this.options.onOutput?.(chunk, this.name);
      this.lines?.add(chunk);
      // A `to` that failed (a full disk) is closed: it will never drain, so
      // the stream is resumed on 'close' too, and its output no longer sent there.
      const to = this.options.to;
      if (to && !to.destroyed && !to.write(chunk)) {
        stream.pause();
        const resume = () => {
          to.off('drain', resume);
          to.off('close', resume);
          stream.resume();
        };
        to.on('drain', resume);
        to.on('close', resume);
      }
    });
  }

  /** The stream ended: a last line without its newline is a line. */
  end(): void {
    this.lines?.end();
  }
}

/**
 * Where a command is: running; exited (its leader has, its streams may
 * still be open); settled (the result is known).
 */
type CommandState =
  { kind: 'running' } | { kind: 'exited' } | { kind: 'settled'; result: RunResult };

/** A started command; see RunningCommand. */
class Command implements RunningCommand {
  readonly result: Promise<RunResult>;
  private state: CommandState = { kind: 'running' };
  private readonly child: ChildProcess;
  private readonly group: boolean;
  private readonly streams: Record<OutputStream, StreamCapture>;
  /** Disposes of the interrupt hook; undefined once released (or never armed). */
  private interruptHook: (() => void) | undefined;
  private startError: Error | undefined;
  private readonly onAbort = () => this.kill(this.options.killSignal ?? 'SIGTERM');

  constructor(
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly options: RunOptions,
  ) {
    const output = options.output ?? 'pipe';
    const stdio: StdioOptions = [options.input !== undefined ? 'pipe' : 'ignore', output, output];
    this.group = options.processGroup === true;
    this.streams = {
      stdout: new StreamCapture('stdout', options),
      stderr: new StreamCapture('stderr', options),
    };
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio,
      detached: this.group,
    });
    // An interrupt (SIGINT, SIGTERM to us) stops it, its group included, before our temporaries go.
    if (this.child.pid !== undefined) {
      this.interruptHook = stopOnInterrupt(() => this.stop(1000));
    }
    if (options.abort?.aborted) queueMicrotask(this.onAbort);
    else options.abort?.addEventListener('abort', this.onAbort, { once: true });
    this.result = new Promise<RunResult>((resolve) => this.wire(resolve));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    const pid = this.child.pid;
    if (pid === undefined) return false;
    if (!this.group) return this.state.kind === 'running' ? this.child.kill(signal) : false;
    try {
      process.kill(-pid, signal);
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ESRCH') return false; // the group is gone
      throw err;
    }
  }

  alive(): boolean {
    const pid = this.child.pid;
    if (pid === undefined) return false;
    if (!this.group) return this.state.kind === 'running';
    try {
      process.kill(-pid, 0);
      return true;
    } catch (err) {
      return errnoCode(err) === 'EPERM';
    }
  }

  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    try {
      if (!this.kill('SIGTERM')) return;
      for (const until = Date.now() + graceMs; Date.now() < until;) {
        if (!this.alive()) return;
        await new Promise((done) => setTimeout(done, 50));
      }
      this.kill('SIGKILL');
    } finally {
      this.releaseInterruptHook();
    }
  }

  /** The one place the interrupt hook is released: once the command, or its whole group, is gone or stopped. */
  private releaseInterruptHook(): void {
    this.interruptHook?.();
    this.interruptHook = undefined;
  }

  private wire(resolve: (result: RunResult) => void): void {
    const child = this.child;
    this.streams.stdout.attach(child.stdout);
    this.streams.stderr.attach(child.stderr);
    if (child.stdin && this.options.input !== undefined) {
      // A command that does not read all of its input closes the pipe early: not our error.
      const stdin = child.stdin.on('error', () => undefined);
      void Promise.resolve(this.options.input).then(
        (input) => stdin.end(input),
        () => undefined,
      );
    }
    child.on('exit', () => {
      if (this.state.kind === 'running') this.state = { kind: 'exited' };
    });
    child.on('error', (err) => {
      // Either it could not start ('close' may not follow), or a kill failed (it will).
      this.startError = err;
      if (child.pid === undefined) resolve(this.settle(null, null));
    });
    child.on('close', (status: number | null, signal: NodeJS.Signals | null) =>
      resolve(this.settle(status, signal)),
    );
  }

  /** Settles the command once (a second call returns the first result). */
  private settle(status: number | null, signal: NodeJS.Signals | null): RunResult {
    if (this.state.kind === 'settled') return this.state.result;
    this.options.abort?.removeEventListener('abort', this.onAbort);
    this.streams.stdout.end();
    this.streams.stderr.end();
    const { stdout, stderr } = this.streams;
    const result: RunResult = {
      command: shown(this.command, this.args),
      status,
      signal,
      stdout: stdout.tail.text(),
      stderr: stderr.tail.text(),
      truncated: stdout.tail.dropped || stderr.tail.dropped,
      ...(this.startError && {
        error: describeError(this.startError),
        errorCode: errnoCode(this.startError),
      }),
    };
    this.state = { kind: 'settled', result };
    // A group may outlive its leader: whoever started it stops the rest (stop()).
    if (!this.alive()) this.releaseInterruptHook();
    return result;
  }
}

/** Starts a command; see RunOptions. */
export function start(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): RunningCommand {
  return new Command(command, args, options);
}

/** Runs a command to its end; resolves with what happened, never rejects. */
export function run(...command: Parameters<typeof start>): Promise<RunResult> {
  return start(...command).result;
}

/** How a run ended, in words: "exit status 2", "killed by SIGTERM", "could not be started: ...". */
export function describeStatus(result: RunResult): string {
  if (result.error && result.status === null && result.signal === null) {
    return `could not be started: ${result.error}`;
  }
  if (result.signal) return `killed by ${result.signal}`;
  return `exit status ${result.status}`;
}

/** The last `count` non-empty lines a run printed, stderr last (where errors go). */
export function lastLines(result: RunResult, count: number): string[] {
  return `${result.stdout}\n${result.stderr}`
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '')
    .slice(-count);
}

/** What to quote of a failed run: why it could not start, else its last line, else its status. */
export function lastLine(result: RunResult): string {
  return result.error ?? lastLines(result, 1)[0]?.trim() ?? describeStatus(result);
}

/** A command that did not exit 0; its message names it, how it ended and its last words. */
export class CommandFailed extends UserError {
  readonly result: RunResult;
  constructor(result: RunResult, message?: string) {
    const said = lastLines(result, 1)[0]?.trim();
    super(
      message ??
        `${result.command}: ${describeStatus(result)}${said && !result.error ? `: ${said}` : ''}`,
    );
    this.name = 'CommandFailed';
    this.result = result;
  }
}

/** Runs a command to its end; throws a CommandFailed unless it exited 0. */
export async function runChecked(...command: Parameters<typeof start>): Promise<RunResult> {
  const result = await run(...command);
  if (result.status !== 0) throw new CommandFailed(result);
  return result;
}
