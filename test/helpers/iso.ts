import { spawnSync } from 'node:child_process';

/** One node of an ISO image as xorriso (a tool we did not write) lists it. */
export interface IsoNode {
  path: string;
  type: 'd' | 'f' | 's';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  target?: string;
}

export const hasXorriso = spawnSync('xorriso', ['-version']).status === 0;

/** `drwsr-xr-t`-style permissions to a number (setuid/setgid/sticky included). */
export function parseSymbolicMode(text: string): number {
  const bit = (i: number, c: string, value: number) => (text[i] === c ? value : 0);
  let mode = 0;
  for (const [offset, shift] of [
    [1, 6],
    [4, 3],
    [7, 0],
  ] as const) {
    mode |= bit(offset, 'r', 4 << shift) | bit(offset + 1, 'w', 2 << shift);
    const x = text[offset + 2];
    if (x === 'x' || x === 's' || x === 't') mode |= 1 << shift;
  }
  if ('sS'.includes(text[3])) mode |= 0o4000;
  if ('sS'.includes(text[6])) mode |= 0o2000;
  if ('tT'.includes(text[9])) mode |= 0o1000;
  return mode;
}

const unquote = (s: string) => s.replace(/'"'"'/g, "'").replace(/^'|'$/g, '');

/** Lists every node of an ISO image with `xorriso -find / -exec lsdl`. */
export function listIso(image: string): IsoNode[] {
  const run = spawnSync('xorriso', ['-no_rc', '-indev', image, '-find', '/', '-exec', 'lsdl'], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  if (run.status !== 0) throw new Error(`xorriso failed: ${run.stderr}`);
  const nodes: IsoNode[] = [];
  for (const line of run.stdout.split('\n')) {
    const m =
      /^([-dl][-rwxsStT]{9})\s+\d+\s+(\d+)\s+(\d+)\s+(\d+)\s+\w+\s+\d+\s+\S+\s+('.*?')(?: -> ('.*'))?$/.exec(
        line,
      );
    if (!m) continue;
    const path = unquote(m[5]).replace(/^\//, '') || '.';
    nodes.push({
      path,
      type: m[1][0] === 'd' ? 'd' : m[1][0] === 'l' ? 's' : 'f',
      mode: parseSymbolicMode(m[1]),
      uid: Number(m[2]),
      gid: Number(m[3]),
      size: Number(m[4]),
      target: m[6] === undefined ? undefined : unquote(m[6]),
    });
  }
  return nodes;
}
