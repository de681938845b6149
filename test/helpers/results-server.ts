/**
 * A loopback stand-in for GitHub's results service, for tests only.
 *
 * GitHub's results service (the backend of `@actions/artifact` v2+ and of
 * `@actions/cache` with cache service v2) cannot be reached from here, so
 * this HTTP server on 127.0.0.1 speaks the subset of it the real clients
 * call, learnt from their sources and generated twirp clients:
 *
 * - JSON twirp, `POST /twirp/<service>/<method>` with a Bearer token:
 *   `github.actions.results.api.v1.ArtifactService` (CreateArtifact,
 *   FinalizeArtifact, ListArtifacts, GetSignedArtifactURL, DeleteArtifact)
 *   and `github.actions.results.api.v1.CacheService` (CreateCacheEntry,
 *   FinalizeCacheEntryUpload, GetCacheEntryDownloadURL). Requests carry
 *   proto field names (snake_case); answers use them too. Errors are twirp
 *   errors: `{"code": ..., "msg": ...}` with the matching HTTP status.
 * - Signed URLs `/<account>/<container>/<blob>?sig=...` (three path
 *   segments, so that @azure/storage-blob reads them as a path-style
 *   account URL, as it does for Azurite) speaking the Azure Blob REST
 *   subset @azure/storage-blob uses: Put Block (`comp=block&blockid=`),
 *   Put Block List (`comp=blocklist`, blocks assembled by block id in the
 *   listed order), Put Blob (single shot, `x-ms-blob-type: BlockBlob`),
 *   Get Blob (whole or ranged by `x-ms-range` / `Range`) and Get Blob
 *   Properties (HEAD). Errors are the XML `<Error><Code>` documents the SDK
 *   parses.
 *
 * It keeps everything in memory, records every request, and can refuse the
 * next request(s) of a kind to test failure paths.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const ARTIFACT_SERVICE = 'github.actions.results.api.v1.ArtifactService';
const CACHE_SERVICE = 'github.actions.results.api.v1.CacheService';

export type ArtifactMethod =
  | 'CreateArtifact'
  | 'FinalizeArtifact'
  | 'ListArtifacts'
  | 'GetSignedArtifactURL'
  | 'DeleteArtifact';
export type CacheMethod =
  'CreateCacheEntry' | 'FinalizeCacheEntryUpload' | 'GetCacheEntryDownloadURL';
export type BlobOperation =
  'PutBlock' | 'PutBlockList' | 'PutBlob' | 'GetBlob' | 'GetBlobProperties';
/** What `refuseNext` can refuse: a twirp method or a blob operation. */
export type RefusableKind = ArtifactMethod | CacheMethod | BlobOperation;

export interface Refusal {
  /** HTTP status; default 403, which neither client retries (5xx and 429 are retried with back-off). */
  status?: number;
  /** Twirp error code (default from the status) or Azure error code for blobs. */
  code?: string;
  message?: string;
  /**
   * Answer HTTP 200 with `{"ok": false, "message": ...}` instead of a twirp
   * error (the shape the service uses for e.g. a cache reservation conflict).
   */
  notOk?: boolean;
  /** How many consecutive requests of the kind to refuse (default 1). */
  times?: number;
}

export interface StoredBlob {
  data: Buffer;
  contentType: string;
  etag: string;
  lastModified: Date;
}

export interface StoredArtifact {
  id: number;
  name: string;
  workflowRunBackendId: string;
  workflowJobRunBackendId: string;
  /** Path of the blob on this server (`/blob/artifacts/...`). */
  blobPath: string;
  mimeType?: string;
  expiresAt?: string;
  version?: number;
  finalized: boolean;
  deleted: boolean;
  size?: number;
  /** `sha256:<hex>` as the client reported it at FinalizeArtifact. */
  digest?: string;
  createdAt: Date;
}

export interface StoredCacheEntry {
  id: number;
  key: string;
  version: string;
  blobPath: string;
  finalized: boolean;
  sizeBytes?: number;
  createdAt: Date;
}

export interface LoggedRequest {
  method: string;
  /** The path without its query string. */
  path: string;
  /** Twirp method or blob operation, `unknown` for anything else. */
  kind: RefusableKind | 'unknown';
  status: number;
}

export interface ResultsServer {
  /** Origin with a trailing slash, as ACTIONS_RESULTS_URL is on a runner. */
  url: string;
  /** What the clients need to find this server; pass it to the child process. */
  env: Record<string, string>;
  workflowRunBackendId: string;
  workflowJobRunBackendId: string;
  artifacts: StoredArtifact[];
  caches: StoredCacheEntry[];
  /** Committed blobs by path. */
  blobs: ReadonlyMap<string, StoredBlob>;
  requests: LoggedRequest[];
  /** The bytes stored for an artifact or cache entry (or a blob path). */
  blobOf(what: StoredArtifact | StoredCacheEntry | string): Buffer | undefined;
  /** Makes the next request(s) of `kind` fail; see Refusal for the answer. */
  refuseNext(kind: RefusableKind, how?: Refusal): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

class TwirpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const TWIRP_CODE_BY_STATUS: Record<number, string> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  403: 'permission_denied',
  404: 'not_found',
  409: 'already_exists',
  412: 'failed_precondition',
  429: 'resource_exhausted',
  500: 'internal',
  503: 'unavailable',
};

const AZURE_CODE_BY_STATUS: Record<number, string> = {
  400: 'InvalidInput',
  403: 'AuthorizationFailure',
  404: 'BlobNotFound',
  412: 'ConditionNotMet',
  416: 'InvalidRange',
  500: 'InternalError',
  503: 'ServerBusy',
};

/** A JWT-shaped runtime token whose `scp` carries the backend ids the artifact client parses. */
function runtimeToken(runId: string, jobId: string): string {
  const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const header = b64url({ typ: 'JWT', alg: 'none' });
  const payload = b64url({
    scp: `Actions.ExampleScope Actions.Results:${runId}:${jobId}`,
    iat: now,
    exp: now + 6 * 3600,
    iss: 'loopback-results-service',
  });
  return `${header}.${payload}.${randomBytes(16).toString('base64url')}`;
}

/** Query parameters, percent-decoded without turning `+` into a space (block ids are base64). */
function queryOf(rawUrl: string): Map<string, string> {
  const params = new Map<string, string>();
  const at = rawUrl.indexOf('?');
  if (at < 0) return params;
  for (const part of rawUrl.slice(at + 1).split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    params.set(decodeURIComponent(name).toLowerCase(), decodeURIComponent(value));
  }
  return params;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function str(body: Json, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') {
    throw new TwirpError(400, 'invalid_argument', `${field} is required`);
  }
  return value;
}

/** Parses `bytes=a-b` / `bytes=a-` against a length; undefined for no range. */
function rangeOf(header: string | undefined, length: number): [number, number] | 'bad' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m) return 'bad';
  const start = Number(m[1]);
  const end = m[2] === '' ? length - 1 : Math.min(Number(m[2]), length - 1);
  if (start >= length || end < start) return 'bad';
  return [start, end];
}

export async function startResultsServer(): Promise<ResultsServer> {
  const workflowRunBackendId = randomUUID();
  const workflowJobRunBackendId = randomUUID();
  const token = runtimeToken(workflowRunBackendId, workflowJobRunBackendId);
  const sig = randomBytes(24).toString('base64url');
  const artifacts: StoredArtifact[] = [];
  const caches: StoredCacheEntry[] = [];
  const blobs = new Map<string, StoredBlob>();
  const uncommitted = new Map<string, Map<string, Buffer>>();
  const requests: LoggedRequest[] = [];
  const refusals = new Map<RefusableKind, Refusal & { left: number }>();
  let nextArtifactId = 1;
  let nextCacheId = 1;
  let origin = '';

  const signedUrl = (blobPath: string) => {
    const expiry = new Date(Date.now() + 3600_000).toISOString();
    return `${origin}${blobPath}?sv=2025-01-05&sr=b&sp=rcw&se=${encodeURIComponent(expiry)}&sig=${encodeURIComponent(sig)}`;
  };

  const takeRefusal = (kind: RefusableKind): Refusal | undefined => {
    const refusal = refusals.get(kind);
    if (!refusal) return undefined;
    if (--refusal.left <= 0) refusals.delete(kind);
    return refusal;
  };

  // ---- twirp --------------------------------------------------------------

  const artifactHandlers: Record<ArtifactMethod, (body: Json) => Json> = {
    CreateArtifact(body) {
      const runId = str(body, 'workflow_run_backend_id');
      const jobId = str(body, 'workflow_job_run_backend_id');
      const name = str(body, 'name');
      if (
        artifacts.some(
          (a) => a.finalized && !a.deleted && a.workflowRunBackendId === runId && a.name === name,
        )
      ) {
        throw new TwirpError(
          409,
          'already_exists',
          `an artifact with this name already exists on the workflow run: ${name}`,
        );
      }
      const id = nextArtifactId++;
      const mimeType = body.mime_type;
      const artifact: StoredArtifact = {
        id,
        name,
        workflowRunBackendId: runId,
        workflowJobRunBackendId: jobId,
        blobPath: `/blob/artifacts/${id}-${encodeURIComponent(name)}.zip`,
        mimeType: typeof mimeType === 'string' ? mimeType : undefined,
        expiresAt: typeof body.expires_at === 'string' ? body.expires_at : undefined,
        version: typeof body.version === 'number' ? body.version : undefined,
        finalized: false,
        deleted: false,
        createdAt: new Date(),
      };
      // A new upload under the same name replaces an unfinished one.
      for (const a of artifacts) {
        if (!a.finalized && a.workflowRunBackendId === runId && a.name === name) a.deleted = true;
      }
      artifacts.push(artifact);
      return { ok: true, signed_upload_url: signedUrl(artifact.blobPath) };
    },
    FinalizeArtifact(body) {
      const runId = str(body, 'workflow_run_backend_id');
      const name = str(body, 'name');
      const artifact = artifacts.find(
        (a) => !a.finalized && !a.deleted && a.workflowRunBackendId === runId && a.name === name,
      );
      if (!artifact)
        throw new TwirpError(404, 'not_found', `no artifact upload in progress named ${name}`);
      const blob = blobs.get(artifact.blobPath);
      if (!blob)
        throw new TwirpError(412, 'failed_precondition', `artifact ${name} has no committed blob`);
      const size = Number(body.size ?? 0);
      if (size !== blob.data.length) {
        throw new TwirpError(
          412,
          'failed_precondition',
          `size ${size} does not match the ${blob.data.length} bytes stored`,
        );
      }
      const digest = `sha256:${createHash('sha256').update(blob.data).digest('hex')}`;
      if (typeof body.hash === 'string' && body.hash !== digest) {
        throw new TwirpError(
          412,
          'failed_precondition',
          `hash ${body.hash} does not match the stored ${digest}`,
        );
      }
      artifact.finalized = true;
      artifact.size = size;
      artifact.digest = digest;
      return { ok: true, artifact_id: String(artifact.id) };
    },
    ListArtifacts(body) {
      const runId = str(body, 'workflow_run_backend_id');
      const nameFilter = typeof body.name_filter === 'string' ? body.name_filter : undefined;
      const idFilter = body.id_filter === undefined ? undefined : Number(body.id_filter);
      const found = artifacts.filter(
        (a) =>
          a.finalized &&
          !a.deleted &&
          a.workflowRunBackendId === runId &&
          (nameFilter === undefined || a.name === nameFilter) &&
          (idFilter === undefined || a.id === idFilter),
      );
      return {
        artifacts: found.map((a) => ({
          workflow_run_backend_id: a.workflowRunBackendId,
          workflow_job_run_backend_id: a.workflowJobRunBackendId,
          database_id: String(a.id),
          name: a.name,
          size: String(a.size ?? 0),
          created_at: a.createdAt.toISOString(),
          ...(a.digest ? { digest: a.digest } : {}),
        })),
      };
    },
    GetSignedArtifactURL(body) {
      const runId = str(body, 'workflow_run_backend_id');
      const name = str(body, 'name');
      const artifact = artifacts.find(
        (a) => a.finalized && !a.deleted && a.workflowRunBackendId === runId && a.name === name,
      );
      if (!artifact) throw new TwirpError(404, 'not_found', `artifact not found: ${name}`);
      return { signed_url: signedUrl(artifact.blobPath) };
    },
    DeleteArtifact(body) {
      const runId = str(body, 'workflow_run_backend_id');
      const name = str(body, 'name');
      const artifact = artifacts.find(
        (a) => a.finalized && !a.deleted && a.workflowRunBackendId === runId && a.name === name,
      );
      if (!artifact) throw new TwirpError(404, 'not_found', `artifact not found: ${name}`);
      artifact.deleted = true;
      blobs.delete(artifact.blobPath);
      return { ok: true, artifact_id: String(artifact.id) };
    },
  };

  const cacheHandlers: Record<CacheMethod, (body: Json) => Json> = {
    CreateCacheEntry(body) {
      const key = str(body, 'key');
      const version = str(body, 'version');
      if (caches.some((c) => c.finalized && c.key === key && c.version === version)) {
        throw new TwirpError(
          409,
          'already_exists',
          `cache entry with key ${key} and this version already exists`,
        );
      }
      const id = nextCacheId++;
      const entry: StoredCacheEntry = {
        id,
        key,
        version,
        blobPath: `/blob/caches/${id}-${createHash('sha256').update(`${key}\0${version}`).digest('hex').slice(0, 16)}`,
        finalized: false,
        createdAt: new Date(),
      };
      caches.push(entry);
      return { ok: true, signed_upload_url: signedUrl(entry.blobPath) };
    },
    FinalizeCacheEntryUpload(body) {
      const key = str(body, 'key');
      const version = str(body, 'version');
      const entry = caches.findLast((c) => !c.finalized && c.key === key && c.version === version);
      if (!entry) return { ok: false, message: `no cache upload in progress for key ${key}` };
      const blob = blobs.get(entry.blobPath);
      const size = Number(body.size_bytes ?? 0);
      if (!blob || blob.data.length !== size) {
        return {
          ok: false,
          message: `size ${size} does not match the ${blob?.data.length ?? 0} bytes stored`,
        };
      }
      entry.finalized = true;
      entry.sizeBytes = size;
      entry.createdAt = new Date();
      return { ok: true, entry_id: String(entry.id) };
    },
    GetCacheEntryDownloadURL(body) {
      const key = str(body, 'key');
      const version = str(body, 'version');
      const restoreKeys = Array.isArray(body.restore_keys) ? body.restore_keys.map(String) : [];
      const ready = caches.filter((c) => c.finalized && c.version === version);
      const newest = (list: StoredCacheEntry[]) =>
        list.reduce<StoredCacheEntry | undefined>(
          (best, c) => (!best || c.createdAt >= best.createdAt ? c : best),
          undefined,
        );
      // Each key in order: an exact match first, then the newest entry it prefixes.
      for (const candidate of [key, ...restoreKeys]) {
        const hit =
          newest(ready.filter((c) => c.key === candidate)) ??
          newest(ready.filter((c) => c.key.startsWith(candidate)));
        if (hit)
          return { ok: true, signed_download_url: signedUrl(hit.blobPath), matched_key: hit.key };
      }
      return { ok: false, signed_download_url: '', matched_key: '' };
    },
  };

  async function twirp(
    req: IncomingMessage,
    res: ServerResponse,
    service: string,
    method: string,
  ): Promise<number> {
    const handlers: Record<string, ((body: Json) => Json) | undefined> =
      service === ARTIFACT_SERVICE
        ? artifactHandlers
        : service === CACHE_SERVICE
          ? cacheHandlers
          : {};
    const send = (status: number, body: Json) => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      return status;
    };
    const fail = (e: TwirpError) => send(e.status, { code: e.code, msg: e.message });
    const handler = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
    const raw = await readBody(req);
    if (req.method !== 'POST' || !handler) {
      return fail(
        new TwirpError(404, 'bad_route', `no handler for ${req.method} ${service}/${method}`),
      );
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return fail(new TwirpError(404, 'bad_route', 'this stand-in speaks JSON twirp only'));
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      return fail(new TwirpError(401, 'unauthenticated', 'missing or wrong bearer token'));
    }
    const refusal = takeRefusal(method as RefusableKind);
    if (refusal) {
      const message =
        refusal.message ??
        `${method} refused by the loopback stand-in for GitHub's results service`;
      if (refusal.notOk) return send(200, { ok: false, message });
      const status = refusal.status ?? 403;
      return fail(
        new TwirpError(status, refusal.code ?? TWIRP_CODE_BY_STATUS[status] ?? 'unknown', message),
      );
    }
    let body: Json;
    try {
      body = JSON.parse(raw.toString('utf8')) as Json;
    } catch {
      return fail(new TwirpError(400, 'malformed', 'the request body is not JSON'));
    }
    try {
      return send(200, handler(body));
    } catch (e) {
      if (e instanceof TwirpError) return fail(e);
      return fail(new TwirpError(500, 'internal', String(e)));
    }
  }

  // ---- Azure Blob subset --------------------------------------------------

  function blobHeaders(
    extra: Record<string, string | number> = {},
  ): Record<string, string | number> {
    return {
      'x-ms-request-id': randomUUID(),
      'x-ms-version': '2025-01-05',
      Date: new Date().toUTCString(),
      ...extra,
    };
  }

  function blobError(
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    head = false,
  ): number {
    const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
    res.writeHead(
      status,
      blobHeaders({
        'x-ms-error-code': code,
        'Content-Type': 'application/xml',
        'Content-Length': Buffer.byteLength(xml),
      }),
    );
    res.end(head ? undefined : xml);
    return status;
  }

  function commit(path: string, data: Buffer, contentType: string): StoredBlob {
    const blob = {
      data,
      contentType,
      etag: `"0x${createHash('md5').update(data).update(String(Date.now())).digest('hex').slice(0, 15).toUpperCase()}"`,
      lastModified: new Date(),
    };
    blobs.set(path, blob);
    uncommitted.delete(path);
    return blob;
  }

  function blobOperation(method: string, query: Map<string, string>): BlobOperation | undefined {
    const comp = query.get('comp');
    if (method === 'PUT' && comp === 'block') return 'PutBlock';
    if (method === 'PUT' && comp === 'blocklist') return 'PutBlockList';
    if (method === 'PUT' && comp === undefined) return 'PutBlob';
    if (method === 'GET' && comp === undefined) return 'GetBlob';
    if (method === 'HEAD' && comp === undefined) return 'GetBlobProperties';
    return undefined;
  }

  async function blob(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    query: Map<string, string>,
    op: BlobOperation,
  ): Promise<number> {
    const head = op === 'GetBlobProperties';
    const body = await readBody(req);
    if (query.get('sig') !== sig) {
      return blobError(res, 403, 'AuthenticationFailed', 'Signature did not match.', head);
    }
    const refusal = takeRefusal(op);
    if (refusal) {
      const status = refusal.status ?? 403;
      return blobError(
        res,
        status,
        refusal.code ?? AZURE_CODE_BY_STATUS[status] ?? 'InternalError',
        refusal.message ?? `${op} refused by the loopback stand-in for GitHub's results service`,
        head,
      );
    }
    const created = (stored?: StoredBlob) => {
      res.writeHead(
        201,
        blobHeaders({
          'Content-Length': 0,
          'x-ms-request-server-encrypted': 'true',
          ...(stored
            ? { ETag: stored.etag, 'Last-Modified': stored.lastModified.toUTCString() }
            : {}),
        }),
      );
      res.end();
      return 201;
    };
    switch (op) {
      case 'PutBlock': {
        const id = query.get('blockid');
        if (!id) return blobError(res, 400, 'InvalidQueryParameterValue', 'blockid is required');
        const staged = uncommitted.get(path) ?? new Map<string, Buffer>();
        staged.set(id, body);
        uncommitted.set(path, staged);
        return created();
      }
      case 'PutBlockList': {
        const staged = uncommitted.get(path) ?? new Map<string, Buffer>();
        const committed = blobs.get(path);
        const parts: Buffer[] = [];
        for (const m of body
          .toString('utf8')
          .matchAll(/<(Latest|Uncommitted|Committed)>([^<]*)<\/\1>/g)) {
          const [, list, id] = m as unknown as [string, string, string];
          // Only uncommitted blocks are kept; re-committing earlier blocks is not supported here.
          const data = list === 'Committed' ? undefined : staged.get(id);
          if (!data) {
            return blobError(
              res,
              400,
              'InvalidBlockList',
              `block ${id} (${list}) is not staged${committed ? ' (committed blocks are not kept)' : ''}`,
            );
          }
          parts.push(data);
        }
        return created(
          commit(
            path,
            Buffer.concat(parts),
            String(req.headers['x-ms-blob-content-type'] ?? 'application/octet-stream'),
          ),
        );
      }
      case 'PutBlob': {
        if (req.headers['x-ms-blob-type'] !== 'BlockBlob') {
          return blobError(res, 400, 'InvalidHeaderValue', 'x-ms-blob-type must be BlockBlob');
        }
        const type =
          req.headers['x-ms-blob-content-type'] ??
          req.headers['content-type'] ??
          'application/octet-stream';
        return created(commit(path, body, String(type)));
      }
      case 'GetBlob':
      case 'GetBlobProperties': {
        const stored = blobs.get(path);
        if (!stored)
          return blobError(res, 404, 'BlobNotFound', 'The specified blob does not exist.', head);
        const ifMatch = req.headers['if-match'];
        if (ifMatch && ifMatch !== '*' && ifMatch !== stored.etag) {
          return blobError(
            res,
            412,
            'ConditionNotMet',
            'The condition specified using HTTP conditional header(s) is not met.',
            head,
          );
        }
        const common = {
          ETag: stored.etag,
          'Last-Modified': stored.lastModified.toUTCString(),
          'Content-Type': stored.contentType,
          'Accept-Ranges': 'bytes',
          'x-ms-blob-type': 'BlockBlob',
          'x-ms-creation-time': stored.lastModified.toUTCString(),
          'x-ms-lease-state': 'available',
          'x-ms-lease-status': 'unlocked',
          'x-ms-server-encrypted': 'true',
          'Content-Disposition': `attachment; filename="${decodeURIComponent(path.slice(path.lastIndexOf('/') + 1))}"`,
        };
        const rangeHeader = head ? undefined : (req.headers['x-ms-range'] ?? req.headers.range);
        const range = rangeOf(
          Array.isArray(rangeHeader) ? rangeHeader[0] : rangeHeader,
          stored.data.length,
        );
        if (range === 'bad') {
          return blobError(
            res,
            416,
            'InvalidRange',
            'The range specified is invalid for the current size of the resource.',
          );
        }
        if (range) {
          const [start, end] = range;
          res.writeHead(
            206,
            blobHeaders({
              ...common,
              'Content-Length': end - start + 1,
              'Content-Range': `bytes ${start}-${end}/${stored.data.length}`,
              'x-ms-blob-content-length': stored.data.length,
            }),
          );
          res.end(stored.data.subarray(start, end + 1));
          return 206;
        }
        res.writeHead(200, blobHeaders({ ...common, 'Content-Length': stored.data.length }));
        res.end(head ? undefined : stored.data);
        return 200;
      }
    }
  }

  // ---- the server ---------------------------------------------------------

  const server = createServer((req, res) => {
    const rawUrl = req.url ?? '/';
    const path = rawUrl.split('?', 1)[0] ?? '/';
    const query = queryOf(rawUrl);
    const log: LoggedRequest = { method: req.method ?? '', path, kind: 'unknown', status: 0 };
    requests.push(log);
    const twirpMatch = /^\/twirp\/([^/]+)\/([^/]+)$/.exec(path);
    let handled: Promise<number>;
    if (twirpMatch) {
      const [, service, method] = twirpMatch as unknown as [string, string, string];
      log.kind = method as RefusableKind;
      handled = twirp(req, res, service, method);
    } else {
      const op = path.split('/').length >= 4 ? blobOperation(req.method ?? '', query) : undefined;
      if (op) {
        log.kind = op;
        handled = blob(req, res, path, query, op);
      } else {
        handled = readBody(req).then(() =>
          blobError(res, 400, 'UnsupportedHttpVerb', `not supported here: ${req.method} ${path}`),
        );
      }
    }
    handled.then(
      (status) => (log.status = status),
      (e: unknown) => {
        log.status = 500;
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(e));
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `${origin}/`;

  return {
    url,
    env: {
      ACTIONS_RESULTS_URL: url,
      ACTIONS_RUNTIME_TOKEN: token,
      // As GitHub's runner sets it for node actions (.NET's bool.TrueString), and github-act-runner too.
      ACTIONS_CACHE_SERVICE_V2: 'True',
      // Only the v1 cache service reads this; set so a client without v2 fails against us, not GitHub.
      ACTIONS_CACHE_URL: url,
      // github.com, so neither client takes the GHES path (no v2 artifacts or cache there).
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'joyent-live/build-live',
      GITHUB_RUN_ID: '1',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_ACTIONS: 'true',
    },
    workflowRunBackendId,
    workflowJobRunBackendId,
    artifacts,
    caches,
    blobs,
    requests,
    blobOf(what) {
      return blobs.get(typeof what === 'string' ? what : what.blobPath)?.data;
    },
    refuseNext(kind, how = {}) {
      refusals.set(kind, { ...how, left: how.times ?? 1 });
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
