import { join } from 'node:path';
import type { EntryType, SourceLocation } from '../manifest/types.js';
import type { SourceTag } from '../sources/search.js';

/** Why a node is in the image. */
export type NodeOrigin =
  | 'manifest' // an entry of the merged manifests
  | 'implicit' // a parent directory no `d` entry names (docs/assembly.md)
  | 'buildstamp' // etc/joyent_buildstamp
  | 'customize' // created by the customize scripts
  | 'manifest-copy'; // var/log/manifest

/**
 * One node of the image as the engine models it. Modes and owners live
 * here, not on the staging files, so no root is needed to build; the
 * packers (hsfs, tgz, later ufs) apply them.
 */
export interface ImageNode {
  path: string;
  type: EntryType;
  origin: NodeOrigin;
  loc?: SourceLocation;
  /** Permission bits incl. setuid/setgid/sticky (d, f; h carries its file's). */
  mode: number;
  owner: string;
  group: string;
  uid: number;
  gid: number;
  status: 'ok' | 'failed';
  /** Files: where the content came from. */
  tag?: SourceTag;
  source?: string;
  resolved?: string;
  /**
   * Files of a build that stages nothing (no customize step): the host file
   * whose bytes are the image file's, read by the archive writer.
   */
  content?: string;
  /**
   * With `content`: the bytes that file takes on disk (st_blocks x 512), as
   * the source lookup found them; fewer than `size` means sparse (the UFS
   * plan then reads which blocks are holes).
   */
  diskBytes?: number;
  size?: number;
  md5?: string;
  /** s: link text; h: the existing path as written in the manifest. */
  target?: string;
  /** h: the file (or symlink) the link chain ends at. */
  linkedFile?: string;
  /**
   * h to a symlink (the 2011 manifest has `h lib/fs/zfs/mount=etc/fs/zfs/mount`):
   * the symlink's text. Such a link is made as a symlink with the same text,
   * which is what every host's link(2) gives or is equivalent to.
   */
  linkText?: string;
  /** Later sources that also had the file (`TAG:path`): the first one won. */
  shadows?: string[];
  /** FAILED: the places searched or the reason. */
  searched?: string[];
  error?: string;
}

/** Mode and owner of the image root (`d . ...` in boot_archive.manifest). */
export const ROOT_DIR = { mode: 0o755, uid: 0, gid: 0 } as const;

/**
 * A file the build writes itself (the buildstamp, the copy of
 * boot_archive.manifest): root's, as docs/output-layout.md gives them.
 */
export function builtFileNode(path: string, origin: NodeOrigin, mode: number): ImageNode {
  return {
    path,
    type: 'f',
    origin,
    mode,
    owner: 'root',
    group: 'root',
    uid: 0,
    gid: 0,
    status: 'ok',
  };
}

/** True for nodes that are symlinks in the image (no mode or owner of their own). */
export function isSymlinkNode(node: ImageNode): boolean {
  return node.type === 's' || node.linkText !== undefined;
}

export interface SourceCounts {
  A: number;
  P: number;
  M: number;
  S: number;
}

export interface BuildCounts extends SourceCounts {
  dirs: number;
  files: number;
  symlinks: number;
  hardlinks: number;
  failed: number;
  unknownOwners: number;
  /** Bytes of file content copied into the image. */
  bytes: number;
}

export function emptyCounts(): BuildCounts {
  return {
    A: 0,
    P: 0,
    M: 0,
    S: 0,
    dirs: 0,
    files: 0,
    symlinks: 0,
    hardlinks: 0,
    failed: 0,
    unknownOwners: 0,
    bytes: 0,
  };
}

/**
 * Where the bytes of an image file are: its source, when the build did not
 * stage it, else its copy in the staging tree.
 */
export function contentPath(
  node: Pick<ImageNode, 'content' | 'path'>,
  stagingRoot: string,
): string {
  return node.content ?? join(stagingRoot, node.path);
}
