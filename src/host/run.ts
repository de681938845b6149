/**
 * Runs a host tool (pkgin, pkg, git, a compiler's --version) to its end and
 * keeps what it printed, capped: a chatty installer cannot fill memory.
 */
import { spawn } from 'node:child_process';
import { describeError } from '../util/errors.js';

export interface ToolRun {
  /** Exit code; null when it could not start or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why it could not start (ENOENT, EACCES, ...), when it could not. */
  error?: string;
}

/** What is kept of each stream: its last characters. */
const KEEP = 64 * 1024;

const append = (kept: string, more: string) => {
  const joined = kept + more;
  return joined.length > KEEP ? joined.slice(joined.length - KEEP) : joined;
};

export interface RunToolOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Each line of output as it comes (installers, git clone). */
  onLine?: (line: string) => void;
}

export function runTool(
  command: string,
  args: readonly string[],
  options: RunToolOptions = {},
): Promise<ToolRun> {
  return new Promise((done) => {
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines = (chunk: string) => {
      if (!options.onLine) return;
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) options.onLine(line);
    };
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout = append(stdout, d);
      lines(d);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = append(stderr, d);
      lines(d);
    });
    child.on('error', (err) => done({ code: null, stdout, stderr, error: describeError(err) }));
    child.on('close', (code) => {
      if (partial && options.onLine) options.onLine(partial);
      done({ code, stdout, stderr });
    });
  });
}

/** The last non-empty line a failed tool printed (its error, usually). */
export function lastLine(run: ToolRun): string {
  const lines = `${run.stdout}\n${run.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return run.error ?? lines.at(-1) ?? `exit code ${run.code}`;
}
