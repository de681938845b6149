/**
 * The three build-live artifacts: the platform tgz (stored, not compressed
 * again: it is gzip already), the build log with its JSONL twin, and
 * boot_archive.manifest. Named `<prefix>-<kind>-<BUILDSTAMP>`.
 */
import { basename, dirname } from 'node:path';
import { DefaultArtifactClient } from '@actions/artifact';
import * as core from '@actions/core';
import type { BuildLiveResult } from '../../live/build-live.js';
import { UserError } from '../../util/errors.js';

export interface UploadedArtifact {
  kind: 'tgz' | 'log' | 'manifest';
  name: string;
  id: number;
  size?: number;
}

interface Planned {
  kind: UploadedArtifact['kind'];
  files: string[];
  compressionLevel?: number;
}

export async function uploadBuildArtifacts(
  result: BuildLiveResult,
  prefix: string,
  retentionDays: number | undefined,
): Promise<UploadedArtifact[]> {
  const planned: Planned[] = [];
  if (result.tgz) planned.push({ kind: 'tgz', files: [result.tgz], compressionLevel: 0 });
  else core.info(`no tgz to upload (archive: ${result.archive})`);
  planned.push({ kind: 'log', files: [result.log, result.jsonl] });
  planned.push({ kind: 'manifest', files: [result.bootManifest] });

  const client = new DefaultArtifactClient();
  const uploaded: UploadedArtifact[] = [];
  for (const p of planned) {
    const name = `${prefix}-${p.kind}-${result.buildstamp}`;
    const root = dirname(p.files[0]);
    core.info(`uploading artifact ${name}: ${p.files.map((f) => basename(f)).join(', ')}`);
    let id: number | undefined;
    let size: number | undefined;
    try {
      const res = await client.uploadArtifact(name, p.files, root, {
        ...(retentionDays !== undefined ? { retentionDays } : {}),
        ...(p.compressionLevel !== undefined ? { compressionLevel: p.compressionLevel } : {}),
      });
      id = res.id;
      size = res.size;
    } catch (err) {
      throw new UserError(
        `cannot upload artifact ${name}: ${err instanceof Error ? err.message : String(err)}` +
          ' (set upload-artifacts: false to skip the uploads)',
      );
    }
    if (id === undefined) {
      throw new UserError(`cannot upload artifact ${name}: the results service returned no id`);
    }
    uploaded.push({ kind: p.kind, name, id, size });
  }
  return uploaded;
}
