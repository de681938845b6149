import type { EntryType, SourceLocation } from '../manifest/types.js';
import type { SourceTag } from '../sources/search.js';

/** Why a node is in the image. */
export type NodeOrigin =
  | 'manifest' // an entry of the merged manifests
  | 'implicit' // a parent directory no `d` entry names (SPEC 2)
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
  size?: number;
  md5?: string;
  /** s: link text; h: the existing path as written in the manifest. */
  target?: string;
  /** h: the file the link chain ends at. */
  linkedFile?: string;
  /** FAILED: the places searched or the reason. */
  searched?: string[];
  error?: string;
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
