import { access } from 'node:fs/promises';
import { isSymlinkNode, type ImageNode } from '../image/model.js';
import { forEachLine } from '../util/lines.js';
import { formatMode } from './manifest-line.js';

// ---- writer ----

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

// ---- reader ----

export interface TwinFailure {
  manifest?: { file: string; line: number };
  searched: string[];
}

// Only FAILED records are parsed; any JSON spacing is accepted.
const FAILED_RECORD = /"status"\s*:\s*"FAILED"/;

/** `build_live.X.log` -> `build_live.X.jsonl`, the twin docs/build-log.md describes. */
export function twinPath(logPath: string): string | undefined {
  return logPath.endsWith('.log') ? `${logPath.slice(0, -4)}.jsonl` : undefined;
}

/**
 * The twin of a log when it is there and accessible, else undefined (a
 * smartos-live log, or a joyent-live log whose twin was not kept).
 */
export async function existingTwin(logPath: string): Promise<string | undefined> {
  const path = twinPath(logPath);
  if (path === undefined) return undefined;
  return access(path).then(
    () => path,
    () => undefined,
  );
}

/**
 * The FAILED records of a log's JSONL twin, by path: their manifest
 * file:line and the places searched. Only FAILED lines are parsed.
 */
export async function readTwinFailures(logPath: string): Promise<Map<string, TwinFailure>> {
  const failures = new Map<string, TwinFailure>();
  const path = await existingTwin(logPath);
  if (path === undefined) return failures;
  await forEachLine(path, 'JSONL twin', (line) => {
    if (!FAILED_RECORD.test(line)) return;
    try {
      const record = JSON.parse(line) as {
        path?: unknown;
        manifest?: unknown;
        line?: unknown;
        searched?: unknown;
        error?: unknown;
      };
      if (typeof record.path !== 'string') return;
      const searched = Array.isArray(record.searched) ? record.searched.map(String) : [];
      if (typeof record.error === 'string' && record.error) searched.push(`(${record.error})`);
      failures.set(record.path, {
        manifest:
          typeof record.manifest === 'string' && typeof record.line === 'number'
            ? { file: record.manifest, line: record.line }
            : undefined,
        searched,
      });
    } catch {
      // A damaged twin line only costs that entry its details.
    }
  });
  return failures;
}
