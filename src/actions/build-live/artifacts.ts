/**
 * The three build-live artifacts (docs/actions.md, "Artifacts"): the
 * platform tgz, uploaded as it is (not zipped: @actions/artifact's
 * skipArchive, whose artifact is named after the file, so the tgz is
 * uploaded through a link named `<prefix>-tgz-<BUILDSTAMP>.tgz`), the build
 * log with its JSONL twin, and boot_archive.manifest (both zipped, as
 * several files or text). Each one's id, URL and sha256 digest become the
 * `<kind>-artifact-id`, `-url` and `-digest` outputs. With `overwrite` an
 * artifact of the same name in this run (a re-run with the same BUILDSTAMP)
 * is deleted first, as actions/upload-artifact does. On GitHub Enterprise
 * Server, where @actions/artifact (artifacts v4) does not work, nothing is
 * uploaded and one warning says why and what to use instead.
 */
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { DefaultArtifactClient } from '@actions/artifact';
import * as core from '@actions/core';
import type { BuildLiveResult } from '../../live/build-live.js';
import { UserError } from '../../util/errors.js';

export interface UploadedArtifact {
  kind: 'tgz' | 'log' | 'manifest';
  name: string;
  id: number;
  size?: number;
  /** `sha256:<hex>` of what was uploaded (the tgz itself, or the zip). */
  digest?: string;
  /** `<server>/<repository>/actions/runs/<run id>/artifacts/<id>`, when the run is known. */
  url?: string;
}

export interface ArtifactPlan {
  prefix: string;
  /** Undefined: the repository's default. */
  retentionDays?: number;
  overwrite: boolean;
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

const SKIP_HINT = ' (set upload-artifacts: false to skip the uploads)';

/**
 * The job's runtime token, checked before any upload: the results service
 * needs it, and its `scp` claim names the run and job (`Actions.Results:<run>:<job>`).
 * A runner gives it to node actions only (docs/runners.md).
 */
export function checkRuntimeToken(token = process.env.ACTIONS_RUNTIME_TOKEN): void {
  if (!token || !process.env.ACTIONS_RESULTS_URL) {
    throw new UserError(
      'upload-artifacts: the job has no results service (ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL are not set); a runner gives them to node actions only, see docs/runners.md' +
        SKIP_HINT,
    );
  }
  let scp: unknown;
  try {
    const payload = token.split('.')[1] ?? '';
    scp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { scp?: unknown }).scp;
  } catch {
    scp = undefined;
  }
  if (typeof scp !== 'string' || !/(^| )Actions\.Results:[^: ]+:[^: ]+( |$)/.test(scp)) {
    throw new UserError(
      'upload-artifacts: the results service token (ACTIONS_RUNTIME_TOKEN) carries no "Actions.Results:<run>:<job>" scope in its scp claim, so no artifact can be made for this job; the runner or its service gave a token for another purpose' +
        SKIP_HINT,
    );
  }
}

interface Planned {
  kind: UploadedArtifact['kind'];
  files: string[];
  /** Uploaded as it is, not zipped (one file). */
  raw?: boolean;
}

type Client = InstanceType<typeof DefaultArtifactClient>;

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));
const isConflict = (err: unknown) => /\(409\)|already exists/i.test(reason(err));

/** Deletes the artifact `name` of this run, if there is one; says so. */
async function deleteOld(client: Client, name: string): Promise<void> {
  let id: number;
  try {
    id = (await client.deleteArtifact(name)).id;
  } catch (err) {
    if (/not found|\(404\)/i.test(reason(err))) return;
    throw new UserError(
      `cannot delete the earlier artifact ${name} (overwrite is true): ${reason(err)}` + SKIP_HINT,
    );
  }
  core.info(`overwrite: deleted the earlier artifact ${name} (id ${id}) of this run`);
}

async function uploadOne(
  client: Client,
  p: Planned,
  name: string,
  plan: ArtifactPlan,
): Promise<{ id?: number; size?: number; digest?: string }> {
  const options = {
    ...(plan.retentionDays !== undefined ? { retentionDays: plan.retentionDays } : {}),
    ...(p.raw ? { skipArchive: true } : {}),
  };
  // A link named as the artifact: skipArchive names the artifact after the file.
  const linkDir = p.raw
    ? await mkdtemp(join(process.env.RUNNER_TEMP || tmpdir(), 'joyent-live-artifact-'))
    : undefined;
  const files = linkDir ? [join(linkDir, name)] : p.files;
  try {
    if (linkDir) await symlink(resolve(p.files[0]), files[0]);
    // 409: an artifact of that name exists. With overwrite it is deleted and the upload
    // tried once more (another job may have made it meanwhile); a second 409 is an error.
    for (let attempt = 1; ; attempt++) {
      if (plan.overwrite) await deleteOld(client, name);
      try {
        return await client.uploadArtifact(name, files, dirname(files[0]), options);
      } catch (err) {
        if (!isConflict(err)) throw err;
        if (!plan.overwrite) {
          throw new UserError(
            `cannot upload artifact ${name}: the results service answered 409 Conflict, an artifact of that name exists in this run (a re-run with the same BUILDSTAMP, or another job with the same artifact-prefix); set overwrite: true to replace it, or give each job its own artifact-prefix`,
          );
        }
        if (attempt >= 2) {
          throw new UserError(
            `cannot upload artifact ${name}: the results service answered 409 Conflict twice, although the earlier artifact was deleted each time; another job of this run is uploading the same name: give each job its own artifact-prefix`,
          );
        }
      }
    }
  } finally {
    if (linkDir) await rm(linkDir, { recursive: true, force: true });
  }
}

export async function uploadBuildArtifacts(
  result: BuildLiveResult,
  plan: ArtifactPlan,
): Promise<UploadedArtifact[]> {
  const planned: Planned[] = [];
  if (result.tgz) planned.push({ kind: 'tgz', files: [result.tgz], raw: true });
  else core.info(`no tgz to upload (archive: ${result.archive})`);
  planned.push({ kind: 'log', files: [result.log, result.jsonl] });
  planned.push({ kind: 'manifest', files: [result.bootManifest] });

  if (isGhes()) {
    core.warning(
      `upload-artifacts: GitHub Enterprise Server (${process.env.GITHUB_SERVER_URL}) does not support the artifact service @actions/artifact uses, so build-live uploaded no artifacts; upload ${planned.flatMap((p) => p.files).join(', ')} with your server's actions/upload-artifact (v3 on GHES), or set upload-artifacts: false`,
    );
    return [];
  }
  checkRuntimeToken();

  const client = new DefaultArtifactClient();
  const uploaded: UploadedArtifact[] = [];
  for (const p of planned) {
    const name = `${plan.prefix}-${p.kind}-${result.buildstamp}${p.raw ? '.tgz' : ''}`;
    core.info(`uploading artifact ${name}: ${p.files.map((f) => basename(f)).join(', ')}`);
    let res: { id?: number; size?: number; digest?: string };
    try {
      res = await uploadOne(client, p, name, plan);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`cannot upload artifact ${name}: ${reason(err)}` + SKIP_HINT);
    }
    if (res.id === undefined) {
      throw new UserError(`cannot upload artifact ${name}: the results service returned no id`);
    }
    const digest = res.digest ? `sha256:${res.digest.replace(/^sha256:/, '')}` : undefined;
    uploaded.push({
      kind: p.kind,
      name,
      id: res.id,
      size: res.size,
      digest,
      url: artifactUrl(res.id),
    });
  }
  return uploaded;
}
