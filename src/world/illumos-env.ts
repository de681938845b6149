/**
 * Reads `projects/illumos/illumos.sh`, the env file nightly sources
 * (`export NAME="value"` lines, as illumos-gate's usr/src/tools/env/illumos.sh
 * and setup-illumos-host write it). build-world needs a few of its values:
 * ROOT (where nightly installs), CODEMGR_WS (where nightly leaves its
 * mail_msg) and the compilers (for the cache key).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { describeError, UserError } from '../util/errors.js';

export interface IllumosEnv {
  file: string;
  /** Every `NAME=value` assignment, in file order, `$NAME` references expanded. */
  vars: Map<string, string>;
}

const ASSIGN = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/** `$NAME` and `${NAME}` from earlier assignments; unknown names are left as written. */
function expand(text: string, vars: Map<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a, b) => {
    const name = (a ?? b) as string;
    return vars.get(name) ?? m;
  });
}

/** The value part of an assignment: "double", 'single' or bare, up to a `#` comment. */
function unquote(raw: string, where: string): { value: string; expandable: boolean } {
  const text = raw.trim();
  if (text.startsWith('"')) {
    const end = text.indexOf('"', 1);
    if (end < 0) throw new UserError(`${where}: unterminated "..." value`);
    return { value: text.slice(1, end).replace(/\\(["\\$`])/g, '$1'), expandable: true };
  }
  if (text.startsWith("'")) {
    const end = text.indexOf("'", 1);
    if (end < 0) throw new UserError(`${where}: unterminated '...' value`);
    return { value: text.slice(1, end), expandable: false };
  }
  return { value: text.replace(/\s+#.*$/, '').replace(/;$/, ''), expandable: true };
}

export async function readIllumosEnv(file: string): Promise<IllumosEnv> {
  const vars = new Map<string, string>();
  const stream = createReadStream(file, { encoding: 'utf8' });
  let lineNo = 0;
  try {
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      lineNo++;
      const m = ASSIGN.exec(line);
      if (!m) continue;
      const { value, expandable } = unquote(m[2], `${file}:${lineNo}`);
      vars.set(m[1], expandable ? expand(value, vars) : value);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(
      `cannot read ${file}: ${describeError(err)} (setup-illumos-host writes it)`,
    );
  }
  return { file, vars };
}

export interface CompilerSpec {
  /** illumos' own syntax: `gcc10,/opt/gcc-10/bin/gcc,gnu`. */
  spec: string;
  name: string;
  path: string;
}

/** PRIMARY_CC then each of SHADOW_CCS (space-separated), as illumos.sh names them. */
export function compilersOf(env: IllumosEnv): CompilerSpec[] {
  const specs = [
    env.vars.get('PRIMARY_CC') ?? '',
    ...(env.vars.get('SHADOW_CCS') ?? '').split(/\s+/),
  ];
  const out: CompilerSpec[] = [];
  for (const spec of specs.map((s) => s.trim()).filter(Boolean)) {
    const [name, path] = spec.split(',');
    if (!name || !path) {
      throw new UserError(
        `${env.file}: compiler "${spec}" is not in illumos' name,path,style form (gcc10,/opt/gcc-10/bin/gcc,gnu)`,
      );
    }
    out.push({ spec, name, path });
  }
  return out;
}
