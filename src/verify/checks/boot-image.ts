/**
 * Reading configuration files of the image view (src/verify/image-view.ts)
 * for the boot checks that parse them (driver-config, smf-method,
 * smf-dependency): bounded, whole files only (docs/verify.md).
 */
import { humanBytes } from '../../util/format.js';
import { MAX_IMAGE_READ, type ImageEntry, type ImageView } from '../image-view.js';

/** The regular file a path resolves to in the image, if it is one. */
export function regularFile(image: ImageView, path: string): ImageEntry | undefined {
  const found = image.resolve(path);
  return found.kind === 'found' && found.entry.type === 'f'
    ? image.entries.get(found.path)
    : undefined;
}

export type TextRead =
  | { kind: 'text'; path: string; text: string; bytes: Buffer }
  | { kind: 'absent' }
  | { kind: 'too-large'; message: string };

/**
 * A configuration file of the image, read whole only when it is at most
 * `maxBytes` (memory stays bounded whatever the image holds); `text` has
 * one character a byte.
 */
export async function readImageText(
  image: ImageView,
  path: string,
  maxBytes: number,
): Promise<TextRead> {
  const entry = regularFile(image, path);
  if (entry === undefined) return { kind: 'absent' };
  if (entry.size > maxBytes) {
    return {
      kind: 'too-large',
      message: `${humanBytes(entry.size)}, larger than ${humanBytes(maxBytes)}: not read (such a file is a few KB)`,
    };
  }
  const chunks: Buffer[] = [];
  for (let at = 0; at < entry.size;) {
    const chunk = await image.read(entry, at, Math.min(MAX_IMAGE_READ, entry.size - at));
    if (chunk.length === 0) break;
    chunks.push(chunk);
    at += chunk.length;
  }
  const bytes = Buffer.concat(chunks);
  return { kind: 'text', path: entry.path, text: bytes.toString('latin1'), bytes };
}

/** Lets signals and other work through between files of a long pass. */
export const yieldToLoop = () => new Promise<void>((done) => setImmediate(done));
