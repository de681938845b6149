/**
 * Checks a tar (or tar.gz) before anything is unpacked from it: every
 * member must land inside the directory it is unpacked into. Used for
 * platform tgzs (verify-manifest), man page tarballs and proto cache
 * entries, which all come from elsewhere and must not be trusted.
 */
import { open } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { list } from 'tar';
import { describeError, UserError } from './errors.js';

export interface TarSafetyOptions {
  /** What the members are unpacked into, for messages ("the platform directory"). */
  into: string;
  /** Refuse anything that is not gzip (a .tgz), with this hint in the message. */
  gzip?: { expected: string };
  /**
   * Symlink members whose text is absolute or climbs with `..` are normal
   * in a proto area (they are never followed here) but not in a platform
   * directory; a member written through a symlink is refused either way.
   */
  allowOutwardSymlinks?: boolean;
}

const escapes = (member: string) =>
  isAbsolute(member) || member.split('/').some((part) => part === '..');

const trimSlashes = (path: string) => path.replace(/^(\.\/)+/, '').replace(/\/+$/, '');

/** Throws a UserError naming the first member that would land outside, or an unreadable archive. */
export async function checkTarMembers(file: string, options: TarSafetyOptions): Promise<void> {
  if (options.gzip) {
    const handle = await open(file, 'r');
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    await handle.close();
    if (bytesRead < 2 || buffer[0] !== 0x1f || buffer[1] !== 0x8b) {
      throw new UserError(`${file} is not a gzip file (expected ${options.gzip.expected})`);
    }
  }
  const symlinks = new Set<string>();
  let bad: string | undefined;
  const underSymlink = (path: string) => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (symlinks.has(parts.slice(0, i).join('/'))) return true;
    }
    return false;
  };
  try {
    await list({
      file,
      strict: true,
      onReadEntry: (entry) => {
        if (bad !== undefined) return;
        const path = trimSlashes(entry.path);
        const link = entry.linkpath;
        if (escapes(entry.path) || underSymlink(path)) bad = entry.path;
        else if (entry.type === 'Link' && link && escapes(link)) bad = entry.path;
        else if (entry.type === 'SymbolicLink') {
          if (!options.allowOutwardSymlinks && link && (isAbsolute(link) || link.includes('..')))
            bad = entry.path;
          symlinks.add(path);
        }
      },
    });
  } catch (err) {
    throw new UserError(
      `${file} is not a readable ${options.gzip ? 'tar.gz' : 'tar'}: ${describeError(err)}`,
    );
  }
  if (bad !== undefined) {
    throw new UserError(
      `${file}: member ${bad} would land outside ${options.into}; refusing to unpack it`,
    );
  }
}
