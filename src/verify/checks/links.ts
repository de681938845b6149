/**
 * broken-link: every symlink of the finished image resolved inside the
 * image root; dangling links and loops are findings, except into the
 * paths that only exist at run time on illumos (the default allow list
 * below, documented in docs/verify.md) and --allow-dangling globs.
 */
import type { ManifestEntry } from '../../manifest/types.js';
import { imageDir, resolveInImage, type ImageTree } from '../image-tree.js';
import type { Finding } from '../types.js';
import { imageGlob } from './ignore-diff.js';

/** Paths that exist only on a running illumos system (devfs, procfs, ctfs, objfs, mnttab, tmpfs). */
export const RUNTIME_PATHS = [
  'dev',
  'dev/**',
  'devices',
  'devices/**',
  'proc',
  'proc/**',
  'system/contract',
  'system/contract/**',
  'system/object',
  'system/object/**',
  'etc/mnttab',
  'etc/svc/volatile',
  'etc/svc/volatile/**',
  'var/run',
  'var/run/**',
  'tmp',
  'tmp/**',
] as const;

export interface LinksInput {
  tree: ImageTree;
  /** Extra globs (image paths, no leading `/`) a link may dangle into. */
  allowDangling?: readonly string[];
  /** The manifests' entries, for each finding's file:line. */
  manifest?: ReadonlyMap<string, ManifestEntry>;
}

/** Whether a path may be missing from the image: the run-time paths and --allow-dangling globs. */
export function mayDangle(allowDangling: readonly string[] = []): (path: string) => boolean {
  const allowed = [
    ...RUNTIME_PATHS.map((g) => imageGlob(g, 'the run-time allow list')),
    ...allowDangling.map((g) => imageGlob(g, '--allow-dangling')),
  ];
  return (path) => allowed.some((match) => match(path));
}

export function* brokenLinks(input: LinksInput): Generator<Finding, number> {
  const allowed = mayDangle(input.allowDangling);
  let checked = 0;
  for (const [path, entry] of input.tree) {
    if (entry.type !== 's') continue;
    checked++;
    const target = entry.target ?? '';
    const result = resolveInImage(input.tree, target, imageDir(path));
    if (result.kind === 'found') continue;
    if (result.kind !== 'loop' && allowed(result.at)) continue;
    const loc = input.manifest?.get(path);
    yield {
      kind: 'broken-link',
      path,
      ...(loc ? { file: loc.file, line: loc.line } : {}),
      message:
        result.kind === 'loop'
          ? `symlink -> ${target}: a loop (more than 40 links to follow, at /${result.at})`
          : result.kind === 'missing'
            ? `symlink -> ${target}: dangling, /${result.at} is not in the image`
            : `symlink -> ${target}: dangling, /${result.at} is not a directory`,
    };
  }
  return checked;
}
