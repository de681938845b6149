/**
 * The three build-live artifacts: the platform tgz (stored, not compressed
 * again: it is gzip already), the build log with its JSONL twin, and
 * boot_archive.manifest. Named `<prefix>-<kind>-<BUILDSTAMP>`; each one's id
 * and URL become the `<kind>-artifact-id` and `<kind>-artifact-url` outputs,
 * as actions/upload-artifact gives them. On GitHub Enterprise Server, where
 * @actions/artifact (artifacts v4) does not work, nothing is uploaded and one
 * warning says why and what to use instead.
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
  /** `<server>/<repository>/actions/runs/<run id>/artifacts/<id>`, when the run is known. */
  url?: string;
}

/**
 * GitHub Enterprise Server, as @actions/artifact tells it: a server that is
 * neither github.com nor a GHE.com data-residency host.
 */
export function isGhes(serverUrl = process.env.GITHUB_SERVER_URL ?? 'https://github.com'): boolean {
  let host: string;
  try {
    host = new URL(serverUrl).hostname.toUpperCase();
  } catch {
    return false;
  }
  return host !== 'GITHUB.COM' && !host.endsWith('.GHE.COM') && !host.endsWith('.GHE.LOCALHOST');
}

function artifactUrl(id: number): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run } = process.env;
  return server && repo && run
    ? `${server}/${repo}/actions/runs/${run}/artifacts/${id}`
    : undefined;
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

  if (isGhes()) {
    core.warning(
      `upload-artifacts: GitHub Enterprise Server (${process.env.GITHUB_SERVER_URL}) does not support the artifact service @actions/artifact uses, so build-live uploaded no artifacts; upload ${planned.flatMap((p) => p.files).join(', ')} with your server's actions/upload-artifact (v3 on GHES), or set upload-artifacts: false`,
    );
    return [];
  }

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
    const url = artifactUrl(id);
    uploaded.push({ kind: p.kind, name, id, size, url });
    core.setOutput(`${p.kind}-artifact-id`, String(id));
    core.setOutput(`${p.kind}-artifact-url`, url ?? '');
  }
  return uploaded;
}
