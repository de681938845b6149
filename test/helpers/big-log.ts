/**
 * A large joyent-live build log (docs/build-log.md) for the memory test and the
 * verify-manifest benchmark, written a chunk at a time: the log is never
 * held in memory, whatever its size.
 *
 * The log looks like a real one: `#` header lines, then the entries in the
 * order build-live applies them (directories, files with every source tag,
 * symlinks, hard links), about 0.1% of them `*FAILED*` (every
 * `failedEvery`-th entry), then `#` footer lines (a warning with file:line
 * and the summary). The content depends only on the options, so a cached
 * file can be reused; the returned stats say what a reader must count.
 */
import { open } from 'node:fs/promises';

export interface BigLogOptions {
  /** Total lines, `#` lines included (at least 20). */
  lines: number;
  /** Every this-many-th entry FAILED (default 1000: 0.1%). */
  failedEvery?: number;
  seed?: number;
}

export type Kind = 'DIR' | 'FILE' | 'SYMLINK' | 'LINK';
export type Tag = 'A' | 'P' | 'M' | 'S';

export interface BigLogStats {
  lines: number;
  bytes: number;
  /** Entry lines (OK and FAILED). */
  entries: number;
  comments: number;
  ok: number;
  failed: number;
  /** OK files by the source tag of their line. */
  byTag: Record<Tag, number>;
  /** All entries (OK and FAILED) by kind. */
  byKind: Record<Kind, number>;
  /** The first few FAILED paths, in log order, with their 1-based log line. */
  firstFailures: { path: string; kind: Kind; line: number }[];
}

const HEADER = [
  '# joyent-live build-live 0.1.0',
  '# buildstamp: 20111209T201508Z',
  '# manifest: manifests/big/00-dirs.manifest',
  '# manifest: manifests/big/10-files.manifest',
  '# manifest: manifests/big/20-links.manifest',
  '# source A: overlay-base',
  '# source A: overlay-site',
  '# source P: proto',
  '# source M: man',
  '# source S: system-root',
  '# customize: customize/customize',
  '# archive: hsfs',
];
const FOOTER_LINES = 2;

/** A small seeded generator (mulberry32): same seed, same log. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOPS = ['usr/lib', 'usr/bin', 'usr/share/man', 'kernel/drv', 'lib/svc', 'etc', 'opt/local'];

/** The image path of the i-th entry of a kind: unique, 30-70 characters. */
function entryPath(kind: Kind, i: number, rnd: () => number): string {
  const top = TOPS[i % TOPS.length];
  const dir = `${top}/pkg${(i >>> 6) % 977}/sub${i % 13}`;
  switch (kind) {
    case 'DIR':
      return `${dir}/d${i}`;
    case 'FILE':
      return `${dir}/file-${i}${rnd() < 0.5 ? '.so.1' : rnd() < 0.5 ? '.1' : ''}`;
    case 'SYMLINK':
      return `${dir}/link-${i}`;
    case 'LINK':
      return `${dir}/hard-${i}`;
  }
}

/**
 * Writes the log to `file` and returns what it holds. Memory stays bounded
 * by the chunk size, whatever `lines` is.
 */
export async function writeBigLog(file: string, options: BigLogOptions): Promise<BigLogStats> {
  const failedEvery = options.failedEvery ?? 1000;
  const rnd = random(options.seed ?? 1);
  const entries = options.lines - HEADER.length - FOOTER_LINES;
  if (entries < 1) throw new Error(`writeBigLog: ${options.lines} lines is too few`);
  // Shares of the entries, in the order build-live applies them.
  const dirs = Math.floor(entries * 0.08);
  const symlinks = Math.floor(entries * 0.08);
  const links = Math.floor(entries * 0.04);
  const files = entries - dirs - symlinks - links;
  const plan: [Kind, number][] = [
    ['DIR', dirs],
    ['FILE', files],
    ['SYMLINK', symlinks],
    ['LINK', links],
  ];

  const stats: BigLogStats = {
    lines: 0,
    bytes: 0,
    entries: 0,
    comments: 0,
    ok: 0,
    failed: 0,
    byTag: { A: 0, P: 0, M: 0, S: 0 },
    byKind: { DIR: 0, FILE: 0, SYMLINK: 0, LINK: 0 },
    firstFailures: [],
  };
  const handle = await open(file, 'w');
  let chunk = '';
  const flush = async () => {
    if (!chunk) return;
    const data = Buffer.from(chunk, 'utf8');
    stats.bytes += data.length;
    chunk = '';
    await handle.write(data);
  };
  const emit = async (line: string) => {
    chunk += `${line}\n`;
    stats.lines++;
    if (chunk.length >= 1 << 20) await flush();
  };

  try {
    for (const line of HEADER) {
      await emit(line);
      stats.comments++;
    }
    let n = 0;
    for (const [kind, count] of plan) {
      for (let i = 0; i < count; i++, n++) {
        const path = entryPath(kind, n, rnd);
        const failed = n % failedEvery === failedEvery - 1;
        stats.entries++;
        stats.byKind[kind]++;
        if (failed) {
          stats.failed++;
          if (stats.firstFailures.length < 10) {
            stats.firstFailures.push({ path, kind, line: stats.lines + 1 });
          }
        } else {
          stats.ok++;
        }
        const status = failed ? '*FAILED*' : 'OK';
        switch (kind) {
          case 'DIR':
            await emit(`${status} - DIR: ${path}`);
            break;
          case 'FILE': {
            if (failed) {
              await emit(`*FAILED* - FILE: ${path}`);
              break;
            }
            // Mostly the proto area, as in a real build; every tag occurs.
            const r = rnd();
            const tag: Tag = r < 0.05 ? 'A' : r < 0.93 ? 'P' : r < 0.999 ? 'M' : 'S';
            stats.byTag[tag]++;
            await emit(`OK[${tag}] - FILE: ${path}`);
            break;
          }
          case 'SYMLINK':
            await emit(`${status} - SYMLINK: ../lib/target-${n % 4099} -> ${path}`);
            break;
          case 'LINK':
            await emit(`${status} - LINK: ${entryPath('FILE', n - links, rnd)} -> ${path}`);
            break;
        }
      }
    }
    await emit(
      '# manifests/big/10-files.manifest:7: warning: parent directory opt of opt/x is not in the manifest: created 0755 root sys',
    );
    await emit(
      `# summary: ${stats.entries} entries, A=${stats.byTag.A} P=${stats.byTag.P} ` +
        `M=${stats.byTag.M} S=${stats.byTag.S}, ${stats.failed} FAILED, 0 unknown owners, 0 bytes`,
    );
    stats.comments += FOOTER_LINES;
    await flush();
  } finally {
    await handle.close();
  }
  return stats;
}
