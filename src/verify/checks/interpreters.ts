/**
 * missing-interpreter: every executable regular file of the image that
 * starts with `#!` names an interpreter the image has, read as the illumos
 * kernel reads the line (docs/verify.md, "Interpreters"; exec/intp/intp.c
 * getintphead): at most INTPSZ bytes, tabs as spaces, the name up to the
 * first space, one optional argument. For `/usr/bin/env NAME`, NAME must be
 * an executable file in /usr/bin, /usr/sbin, /bin or /sbin of the image.
 * Paths into run-time file systems and --allow-dangling globs may be
 * missing, as for links.
 */
import { imageFinding, type ImageEntry, type ImageView } from '../image-view.js';
import type { Finding } from '../types.js';

/** sys/exec.h INTPSZ: the kernel reads this much of a `#!` line, newline included. */
export const INTPSZ = 256;
/** Where `env NAME` finds NAME in a boot-time PATH of the image. */
export const ENV_PATH = ['usr/bin', 'usr/sbin', 'bin', 'sbin'] as const;
/** Files read a head of, between yields to the event loop. */
const YIELD_EVERY = 256;

const isExec = (entry: ImageEntry | undefined) =>
  entry !== undefined && entry.type === 'f' && (entry.mode & 0o111) !== 0;

/** A `#!` line as the kernel splits it, or why it cannot run. */
export function parseShebang(head: Buffer): { name: string; arg?: string } | { error: string } {
  const text = head.toString('latin1', 0, Math.min(head.length, INTPSZ));
  const newline = text.indexOf('\n');
  if (newline < 0)
    return { error: `its #! line has no newline in its first ${INTPSZ} bytes (INTPSZ)` };
  const line = text.slice(2, newline).replace(/\t/g, ' ');
  const words = line.split(' ').filter((w) => w !== '');
  if (words.length === 0) return { error: 'its #! line names no interpreter' };
  // The kernel passes everything after the name as one argument.
  const rest = line.slice(line.indexOf(words[0]) + words[0].length).trim();
  return { name: words[0], ...(rest !== '' ? { arg: rest } : {}) };
}

export async function* interpreters(image: ImageView): AsyncGenerator<Finding, number> {
  let checked = 0;
  let read = 0;
  for (const entry of image.entries.values()) {
    if (!isExec(entry) || entry.size < 2) continue;
    if (++read % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
    const head = await image.read(entry, 0, INTPSZ);
    if (head[0] !== 0x23 || head[1] !== 0x21) continue;
    checked++;
    const problem = judge(image, entry.path, parseShebang(head));
    if (problem) {
      yield imageFinding(image, 'missing-interpreter', entry.path, problem);
    }
  }
  return checked;
}

/** Why the interpreter of `path` cannot run from the image, or undefined when it can. */
function judge(
  image: ImageView,
  path: string,
  shebang: ReturnType<typeof parseShebang>,
): string | undefined {
  if ('error' in shebang) return shebang.error;
  const { name, arg } = shebang;
  const said = `#!${name}${arg !== undefined ? ` ${arg}` : ''}`;
  if (!name.startsWith('/'))
    return `${said}: the interpreter ${name} is not an absolute path (the kernel looks it up from the current directory)`;
  const found = image.resolve(name);
  if (found.kind !== 'found') {
    if (found.kind !== 'loop' && image.mayDangle(found.at)) return undefined;
    const why =
      found.kind === 'loop' ? `a symlink loop at /${found.at}` : `/${found.at} is not in the image`;
    return `${said}: the interpreter ${name} is missing (${why})`;
  }
  if (!isExec(found.entry))
    return `${said}: the interpreter ${name} is not an executable file in the image`;
  if (!/(^|\/)env$/.test(found.path) || arg === undefined) return undefined;
  const command = arg.split(' ')[0];
  if (command.startsWith('-') || command.includes('=')) return undefined;
  if (command.includes('/')) {
    const r = image.resolve(command, path.slice(0, path.lastIndexOf('/')));
    if (r.kind === 'found' && isExec(r.entry)) return undefined;
    if (r.kind !== 'found' && r.kind !== 'loop' && image.mayDangle(r.at)) return undefined;
    return `${said}: env runs ${command}, which is not an executable file in the image`;
  }
  for (const dir of ENV_PATH) {
    const r = image.resolve(`${dir}/${command}`);
    if (r.kind === 'found' && isExec(r.entry)) return undefined;
  }
  return `${said}: env finds no ${command} in ${ENV_PATH.map((d) => `/${d}`).join(', ')} of the image`;
}
