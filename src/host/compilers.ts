/**
 * Compilers as illumos names them in illumos.sh (PRIMARY_CC, SHADOW_CCS):
 * `<name>,<path>,<style>`, e.g. `gcc10,/opt/gcc-10/bin/gcc,gnu`. Each one
 * must exist and answer `--version`; its first line is the version
 * reported, its whole output part of build-world's proto cache key.
 */
import { createHash } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { describeError, UserError } from '../util/errors.js';
import { lastLine, run } from '../util/process.js';
import type { Distro } from './release.js';

export interface CompilerSpec {
  name: string;
  path: string;
  style: string;
  /** The spec as given: `gcc10,/opt/gcc-10/bin/gcc,gnu`. */
  spec: string;
}

export interface CheckedCompiler extends CompilerSpec {
  role: 'primary' | 'shadow';
  /** First line of `<path> --version`. */
  version: string;
}

/** Where each distribution's build compiler lives (gcc 10, what illumos builds with). */
export const DEFAULT_PRIMARY_COMPILER: Record<Distro, string> = {
  SmartOS: 'gcc10,/opt/local/gcc10/bin/gcc,gnu',
  OmniOS: 'gcc10,/opt/gcc-10/bin/gcc,gnu',
  OpenIndiana: 'gcc10,/usr/gcc/10/bin/gcc,gnu',
};

const STYLES = ['gnu', 'studio', 'smatch'];

/** Parses `name,path,style`; `what` names the option in messages. */
export function parseCompilerSpec(spec: string, what: string): CompilerSpec {
  const parts = spec.split(',');
  if (parts.length !== 3 || parts.some((p) => p.trim() === '')) {
    throw new UserError(
      `${what}: ${JSON.stringify(spec)} is not name,path,style (e.g. gcc10,/opt/gcc-10/bin/gcc,gnu)`,
    );
  }
  const [name, path, style] = parts.map((p) => p.trim());
  if (!/^[A-Za-z0-9_.+-]+$/.test(name)) {
    throw new UserError(`${what}: compiler name ${JSON.stringify(name)} must be a plain word`);
  }
  if (!isAbsolute(path)) throw new UserError(`${what}: compiler path ${path} must be absolute`);
  if (!STYLES.includes(style)) {
    throw new UserError(
      `${what}: style ${JSON.stringify(style)} is not one of ${STYLES.join(', ')}`,
    );
  }
  return { name, path, style, spec: `${name},${path},${style}` };
}

/** The C++ driver beside a C compiler (illumos.sh's PRIMARY_CCC/SHADOW_CCCS): gcc -> g++. */
export function cxxSpec(c: CompilerSpec): string {
  const base = basename(c.path);
  const cxx = base === 'gcc' ? 'g++' : base.replace(/gcc(?=[^/]*$)/, 'g++');
  return `${c.name},${join(dirname(c.path), cxx)},${c.style}`;
}

export async function checkCompiler(
  c: CompilerSpec,
  role: 'primary' | 'shadow',
  env: NodeJS.ProcessEnv = process.env,
): Promise<CheckedCompiler> {
  try {
    await access(c.path, constants.X_OK);
  } catch (err) {
    throw new UserError(`${role} compiler ${c.name}: ${c.path} ${describeError(err)}`);
  }
  const result = await run(c.path, ['--version'], { env });
  const first = result.stdout.split('\n')[0]?.trim() ?? '';
  if (result.status !== 0 || !first) {
    throw new UserError(
      `${role} compiler ${c.name}: ${c.path} --version failed: ${lastLine(result)}`,
    );
  }
  return { ...c, role, version: first };
}

/** The most of a `--version` output the key holds as text; beyond, its first line and sha256. */
export const VERSION_TEXT_LIMIT = 16 * 1024;

/** One stream of `--version`: its first bytes as text, all of it hashed. */
class VersionOutput {
  private readonly hash = createHash('sha256');
  private readonly head: Buffer[] = [];
  private kept = 0;
  bytes = 0;

  add(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.kept <= VERSION_TEXT_LIMIT) {
      this.head.push(chunk);
      this.kept += chunk.length;
    }
  }

  /** The whole output (trailing blank space trimmed), or its first line and sha256 when too long. */
  text(): string {
    const text = Buffer.concat(this.head).toString('utf8');
    if (this.bytes <= VERSION_TEXT_LIMIT) return text.trimEnd();
    const first = text.split('\n')[0].trim();
    return `${first} (${this.bytes} bytes, sha256 ${this.hash.digest('hex')})`;
  }
}

/**
 * `<compiler> --version`'s whole output for the proto cache key (stdout,
 * then stderr when it said anything), or why there is none (a missing
 * compiler fails the build itself, not the key).
 */
export async function compilerVersion(path: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const out = { stdout: new VersionOutput(), stderr: new VersionOutput() };
  const result = await run(path, ['--version'], {
    env,
    capture: 4096,
    onOutput: (chunk, stream) => out[stream].add(chunk),
  });
  if (result.error) return `unavailable: ${result.error}`;
  if (result.status !== 0) {
    // Worded as before the runner: this text is part of the key.
    const how = result.signal ? `was killed by ${result.signal}` : `exited ${result.status}`;
    const said = result.stderr.trim().split('\n').pop();
    return `unavailable: ${path} --version ${how}${said ? `: ${said}` : ''}`;
  }
  const stdout = out.stdout.text();
  const stderr = out.stderr.text();
  const text = stderr ? `${stdout}\n(stderr)\n${stderr}` : stdout;
  return text.trim() ? text : '(no version output)';
}
