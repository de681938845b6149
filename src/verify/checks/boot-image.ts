/**
 * What the boot checks (driver-config, smf-method, smf-dependency) read of
 * a finished image: its entries, and the first bytes of a regular file.
 * They never run anything from it (docs/verify.md).
 */
import { humanBytes } from '../../util/format.js';
import type { ManifestEntry } from '../../manifest/types.js';
import { resolveInImage, type ImageTree } from '../image-tree.js';
import type { Finding } from '../types.js';

export interface BootImageView {
  tree: ImageTree;
  /**
   * The first `maxBytes` bytes of the regular file at `path` (an image
   * path, symlinks already resolved); undefined when it is not a regular
   * file of the image. An I/O error is thrown.
   */
  read: (path: string, maxBytes: number) => Promise<Buffer | undefined>;
  /** The manifests given: where each image path is shipped. */
  manifest?: ReadonlyMap<string, ManifestEntry>;
}

/** The manifest file:line that ships `path`, when the manifests were given. */
export function shippedAt(view: BootImageView, path: string): Pick<Finding, 'file' | 'line'> {
  const entry = view.manifest?.get(path);
  return entry ? { file: entry.file, line: entry.line } : {};
}

/** The image path a path resolves to when it is a regular file there. */
export function regularFile(tree: ImageTree, path: string): string | undefined {
  const found = resolveInImage(tree, path);
  return found.kind === 'found' && found.entry.type === 'f' ? found.path : undefined;
}

export type TextRead =
  | { kind: 'text'; path: string; text: string; bytes: Buffer }
  | { kind: 'absent' }
  | { kind: 'too-large'; message: string };

/**
 * A configuration file of the image as text (one character a byte), read
 * only when it is at most `maxBytes`: memory stays bounded whatever the
 * image holds.
 */
export async function readImageText(
  view: BootImageView,
  path: string,
  maxBytes: number,
): Promise<TextRead> {
  const real = regularFile(view.tree, path);
  if (real === undefined) return { kind: 'absent' };
  const bytes = await view.read(real, maxBytes + 1);
  if (bytes === undefined) return { kind: 'absent' };
  if (bytes.length > maxBytes) {
    return {
      kind: 'too-large',
      message: `larger than ${humanBytes(maxBytes)}: not read (such a file is a few KB)`,
    };
  }
  return { kind: 'text', path: real, text: bytes.toString('latin1'), bytes };
}

/** Lets signals and other work through between files of a long pass. */
export const yieldToLoop = () => new Promise<void>((done) => setImmediate(done));
