import { formatMode } from '../manifest/types.js';
import { isSymlinkNode, type ImageNode } from '../image/model.js';

/** File names of the build log and its JSONL twin (SPEC 3). */
export function logFileNames(buildstamp: string) {
  return { log: `build_live.${buildstamp}.log`, jsonl: `build_live.${buildstamp}.jsonl` };
}

/** The SPEC 3 line for one applied entry. */
export function formatLogLine(node: ImageNode): string {
  const status = node.status === 'ok' ? 'OK' : '*FAILED*';
  switch (node.type) {
    case 'd':
      return `${status} - DIR: ${node.path}`;
    case 'f':
      return node.status === 'ok'
        ? `OK[${node.tag}] - FILE: ${node.path}`
        : `${status} - FILE: ${node.path}`;
    case 's':
      return `${status} - SYMLINK: ${node.target} -> ${node.path}`;
    case 'h':
      return `${status} - LINK: ${node.target} -> ${node.path}`;
  }
}

/** The JSONL twin's record for one entry: a stable key order. */
export function formatLogRecord(node: ImageNode): string {
  const link = isSymlinkNode(node);
  const record = {
    path: node.path,
    type: node.type,
    origin: node.origin,
    manifest: node.loc?.file ?? null,
    line: node.loc?.line ?? null,
    mode: link ? null : formatMode(node.mode),
    owner: link ? null : node.owner,
    uid: link ? null : node.uid,
    group: link ? null : node.group,
    gid: link ? null : node.gid,
    tag: node.tag ?? null,
    source: node.source ?? null,
    resolved: node.resolved && node.resolved !== node.source ? node.resolved : null,
    size: node.size ?? null,
    md5: node.md5 ?? null,
    target: node.target ?? null,
    status: node.status === 'ok' ? 'OK' : 'FAILED',
    searched: node.status === 'failed' ? (node.searched ?? []) : null,
    error: node.error ?? null,
    shadows: node.shadows ?? null,
  };
  return JSON.stringify(record);
}

export interface SummaryCounts {
  entries: number;
  A: number;
  P: number;
  M: number;
  S: number;
  failed: number;
  unknownOwners: number;
  bytes: number;
}

/**
 * The closing summary line, the last line of every finished log: a log
 * without it was cut short (verify-manifest says so: docs/verify.md).
 */
export function formatSummaryLine(c: SummaryCounts): string {
  return (
    `# summary: ${c.entries} entries, A=${c.A} P=${c.P} M=${c.M} S=${c.S}, ` +
    `${c.failed} FAILED, ${c.unknownOwners} unknown owners, ${c.bytes} bytes`
  );
}

/** Matches exactly the lines formatSummaryLine writes. */
export const SUMMARY_LINE =
  /^# summary: \d+ entries, A=\d+ P=\d+ M=\d+ S=\d+, \d+ FAILED, \d+ unknown owners, \d+ bytes$/;
