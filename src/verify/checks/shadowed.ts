/**
 * shadowed: files that more than one source had. build-live takes the
 * first (in the order of docs/assembly.md, "Where a file's content comes
 * from") and records the others in the JSONL twin's `shadows`; each such
 * file is listed with the source that won and the ones it hid (buildroot's check-uniq-files; OS-654's duplicate libCrun.so).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { existingTwin } from '../../formats/jsonl-twin.js';
import type { Finding } from '../types.js';

// Only records with a non-empty shadows array are parsed.
const SHADOWS = /"shadows"\s*:\s*\[\s*"/;

export async function* shadowed(logs: readonly string[]): AsyncGenerator<Finding, number> {
  let checked = 0;
  for (const log of logs) {
    const path = await existingTwin(log);
    if (path === undefined) continue;
    const lines = createInterface({
      input: createReadStream(path, { encoding: 'utf8' }),
      crlfDelay: Infinity,
    });
    for await (const line of lines) {
      checked++;
      if (!SHADOWS.test(line)) continue;
      let record: {
        path?: unknown;
        manifest?: unknown;
        line?: unknown;
        tag?: unknown;
        source?: unknown;
        shadows?: unknown;
      };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        continue; // a damaged twin line only costs that entry its finding
      }
      if (typeof record.path !== 'string' || !Array.isArray(record.shadows)) continue;
      yield {
        kind: 'shadowed',
        path: record.path,
        ...(typeof record.manifest === 'string' && typeof record.line === 'number'
          ? { file: record.manifest, line: record.line }
          : {}),
        message: `taken from ${String(record.tag)}:${String(record.source)}; also in ${record.shadows.map(String).join(', ')}`,
      };
    }
  }
  return checked;
}
