/**
 * The bench's scale rows (bench/build-live.bench.ts): the 2011 manifest
 * scaled n times, every entry under n top-level prefixes `x0/` .. `x<n-1>/`
 * (hard link targets with them), plus the unprefixed etc/passwd and
 * etc/group the build reads owners from. Its sources are the synthesized
 * 1x files, the same bytes per file: under each source root (the man
 * directory's files go into the proto, since `M` serves only
 * `usr/share/man/`), `x0` .. `x3` are real trees of hard links to them
 * (a build reads every one of its files, as at 1x), and `x4` on are
 * symlinks to `x0` in the same root (for `--plan`, which only looks files up).
 */
import { link, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatEntry, parseManifestFile } from '../src/formats/manifest-line.js';
import type { ManifestEntry } from '../src/manifest/types.js';
import type { SynthSources, SynthTag } from '../test/helpers/synth-proto.js';

/** Prefixes made as real trees of hard links; the others are symlinks to x0. */
export const REAL_COPIES = 4;

const TOP_LEVEL = ['etc', 'etc/passwd', 'etc/group'];

export interface ScaledSources {
  overlay: string;
  proto: string;
  systemRoot: string;
}

/** The build-live options naming each root. */
export function scaledSourceArgs(roots: ScaledSources): string[] {
  return ['--overlay', roots.overlay, '--proto', roots.proto, '--system-root', roots.systemRoot];
}

/** Writes the manifest scaled `copies` times into `file`; returns its entry count. */
export async function scaledManifest(real: string, copies: number, file: string): Promise<number> {
  const parsed = await parseManifestFile(real, new Map());
  if (parsed.diagnostics.some((d) => d.severity === 'error')) {
    throw new Error(`${real}: ${parsed.diagnostics.map((d) => d.message).join('; ')}`);
  }
  const lines: string[] = [];
  const paths = new Set<string>();
  const add = (entry: ManifestEntry) => {
    lines.push(formatEntry(entry));
    paths.add(entry.path);
  };
  for (const entry of parsed.entries) if (TOP_LEVEL.includes(entry.path)) add(entry);
  for (let k = 0; k < copies; k++) {
    const prefix = `x${k}`;
    add({ type: 'd', path: prefix, mode: 0o755, owner: 'root', group: 'sys' } as ManifestEntry);
    for (const entry of parsed.entries) {
      const path = `${prefix}/${entry.path}`;
      add(
        entry.type === 'h'
          ? { ...entry, path, target: `${prefix}/${entry.target}` }
          : { ...entry, path },
      );
    }
  }
  await writeFile(file, lines.join('\n') + '\n');
  return paths.size;
}

/**
 * The source roots for the scaled manifests under `dir` (made once: a stamp
 * names the 1x sources they link to), with prefixes up to `copies`.
 */
export async function scaledSources(
  synth: SynthSources,
  dir: string,
  copies: number,
): Promise<ScaledSources> {
  const roots = {
    overlay: join(dir, 'overlay'),
    proto: join(dir, 'proto'),
    systemRoot: join(dir, 'system-root'),
  };
  const rootOf: Record<SynthTag, string> = {
    A: roots.overlay,
    P: roots.proto,
    M: roots.proto,
    S: roots.systemRoot,
  };
  const stampFile = join(dir, 'stamp');
  const stamp = `${synth.proto} ${synth.files} ${synth.bytes}\n`;
  if ((await readFile(stampFile, 'utf8').catch(() => '')) !== stamp) {
    const made = new Set<string>();
    const linkInto = async (file: string, to: string) => {
      if (!made.has(dirname(to))) {
        await mkdir(dirname(to), { recursive: true });
        made.add(dirname(to));
      }
      await link(file, to).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    };
    for (const [path, { tag, file }] of synth.sources) {
      if (TOP_LEVEL.includes(path)) await linkInto(file, join(rootOf[tag], path));
      for (let k = 0; k < REAL_COPIES; k++) await linkInto(file, join(rootOf[tag], `x${k}`, path));
    }
    await writeFile(stampFile, stamp);
  }
  for (const root of Object.values(roots)) {
    await mkdir(join(root, 'x0'), { recursive: true });
    for (let k = REAL_COPIES; k < copies; k++) {
      await symlink('x0', join(root, `x${k}`)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
  }
  return roots;
}
