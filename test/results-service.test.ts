/**
 * The real `@actions/artifact` and `@actions/cache` clients, run end to end
 * against the loopback stand-in for GitHub's results service
 * (helpers/results-server.ts). Each client runs in a child process, as in a
 * runner: it reads the service's address and token from the environment.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileIn, runCaptured, scratchDir } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/paths.js';
import { startResultsServer, type ResultsServer } from './helpers/results-server.js';

const hasUnzip = spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0;

interface ClientRun<T> {
  /** What the script's `main` returned, or the error it threw. */
  outcome: { ok: true; value: T } | { ok: false; name: string; message: string };
  stdout: string;
  stderr: string;
  code: number | null;
}

/**
 * Runs `body` (an ES module text defining `async function main(args)`) in a
 * child node with the server's environment, from the repository root so that
 * `await import('@actions/…')` finds the installed clients. Variables of the
 * runner this test may itself run on (ACTIONS_*, GITHUB_*, RUNNER_*) are
 * dropped so that the clients can only reach the stand-in.
 */
async function runClient<T>(
  t: TestContext,
  server: ResultsServer,
  body: string,
  args: Record<string, unknown>,
): Promise<ClientRun<T>> {
  const dir = await scratchDir(t);
  const out = join(dir, 'outcome.json');
  const argsFile = await fileIn(dir, 'args.json', JSON.stringify(args));
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(ACTIONS_|GITHUB_|RUNNER_|INPUT_)/.test(name)) env[name] = value;
  }
  Object.assign(env, server.env, {
    RUNNER_TEMP: join(dir, 'runner-temp'),
    GITHUB_WORKSPACE: join(dir, 'workspace'),
    CLIENT_ARGS: argsFile,
    CLIENT_OUTCOME: out,
  });
  await mkdir(join(dir, 'runner-temp'));
  await mkdir(join(dir, 'workspace'));
  const script = `
import { readFileSync, writeFileSync } from 'node:fs';
${body}
try {
  const value = await main(JSON.parse(readFileSync(process.env.CLIENT_ARGS, 'utf8')));
  writeFileSync(process.env.CLIENT_OUTCOME, JSON.stringify({ ok: true, value: value ?? null }));
} catch (e) {
  writeFileSync(process.env.CLIENT_OUTCOME, JSON.stringify({ ok: false, name: e?.name, message: e?.message ?? String(e) }));
  process.exitCode = 1;
}
`;
  const run = await runCaptured(process.execPath, ['--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    env,
  });
  let outcome: ClientRun<T>['outcome'];
  try {
    outcome = JSON.parse(await readFile(out, 'utf8')) as ClientRun<T>['outcome'];
  } catch {
    assert.fail(
      `the client script wrote no outcome (exit ${run.code}):\n${run.stdout}\n${run.stderr}`,
    );
  }
  return { outcome, ...run };
}

function valueOf<T>(run: ClientRun<T>): T {
  if (!run.outcome.ok) {
    assert.fail(
      `client failed: ${run.outcome.name}: ${run.outcome.message}\n${run.stdout}\n${run.stderr}`,
    );
  }
  return run.outcome.value;
}

async function withServer(t: TestContext): Promise<ResultsServer> {
  const server = await startResultsServer();
  t.after(() => server.close());
  return server;
}

const UPLOAD_AND_DOWNLOAD = `
async function main({ name, file, rootDir, downloadTo }) {
  const { DefaultArtifactClient } = await import('@actions/artifact');
  const client = new DefaultArtifactClient();
  const uploaded = await client.uploadArtifact(name, [file], rootDir, { compressionLevel: 0, retentionDays: 3 });
  const { artifact } = await client.getArtifact(name);
  const listed = await client.listArtifacts();
  const downloaded = await client.downloadArtifact(uploaded.id, { path: downloadTo });
  return { uploaded, artifact, listed, downloaded };
}`;

test("artifact: the real client uploads a tgz to the loopback stand-in for GitHub's results service and downloads it byte-identical", async (t) => {
  const server = await withServer(t);
  const dir = await scratchDir(t);
  const rootDir = join(dir, 'output');
  const downloadTo = join(dir, 'downloaded');
  await mkdir(rootDir);
  const tgz = join(rootDir, 'platform-20111209T201508Z.tgz');
  const bytes = randomBytes(2 * 1024 * 1024 + 12345); // incompressible, like a gzip
  await writeFile(tgz, bytes);

  interface Result {
    uploaded: { id: number; size: number; digest: string };
    artifact: { id: number; name: string; size: number; digest?: string };
    listed: { artifacts: { id: number; name: string }[] };
    downloaded: { downloadPath: string; digestMismatch: boolean };
  }
  const run = await runClient<Result>(t, server, UPLOAD_AND_DOWNLOAD, {
    name: 'platform-20111209T201508Z',
    file: tgz,
    rootDir,
    downloadTo,
  });
  const { uploaded, artifact, listed, downloaded } = valueOf(run);

  // What the service recorded agrees with what the client reported.
  assert.equal(server.artifacts.length, 1);
  const stored = server.artifacts[0];
  assert.equal(stored.finalized, true);
  assert.equal(stored.name, 'platform-20111209T201508Z');
  assert.equal(stored.workflowRunBackendId, server.workflowRunBackendId);
  assert.equal(stored.workflowJobRunBackendId, server.workflowJobRunBackendId);
  assert.equal(stored.mimeType, 'application/zip');
  assert.equal(stored.version, 7);
  assert.ok(stored.expiresAt, 'retention-days becomes expires_at');
  assert.equal(uploaded.id, stored.id);
  assert.equal(uploaded.size, stored.size);
  assert.equal(`sha256:${uploaded.digest}`, stored.digest);
  assert.deepEqual(
    [artifact.id, artifact.name, artifact.size],
    [stored.id, stored.name, stored.size],
  );
  assert.deepEqual(
    listed.artifacts.map((a) => [a.id, a.name]),
    [[stored.id, stored.name]],
  );
  assert.equal(downloaded.downloadPath, downloadTo);

  // The upload went through Put Block + Put Block List on a three-segment signed URL.
  const blobCalls = server.requests.filter((r) => r.path.startsWith('/blob/'));
  assert.ok(
    blobCalls.some((r) => r.kind === 'PutBlock' && r.status === 201),
    JSON.stringify(blobCalls),
  );
  assert.ok(blobCalls.some((r) => r.kind === 'PutBlockList' && r.status === 201));
  assert.ok(blobCalls.every((r) => r.path.split('/').filter(Boolean).length >= 3));
  assert.deepEqual(
    server.requests.filter((r) => r.path.startsWith('/twirp/')).map((r) => [r.kind, r.status]),
    [
      ['CreateArtifact', 200],
      ['FinalizeArtifact', 200],
      ['ListArtifacts', 200], // getArtifact
      ['ListArtifacts', 200], // listArtifacts
      ['ListArtifacts', 200], // downloadArtifact
      ['GetSignedArtifactURL', 200],
    ],
  );

  // The downloaded (and unzipped by the client) file is byte-identical.
  assert.deepEqual(await readdir(downloadTo), ['platform-20111209T201508Z.tgz']);
  assert.ok(bytes.equals(await readFile(join(downloadTo, 'platform-20111209T201508Z.tgz'))));

  // The stored blob is a zip holding that file, stored (level 0) not deflated.
  const zip = server.blobOf(stored)!;
  assert.equal(zip.readUInt32LE(0), 0x04034b50, 'a zip local file header');
  assert.equal(zip.readUInt16LE(8), 0, 'compression method 0 (stored)');
  if (hasUnzip) {
    const zipPath = await fileIn(dir, 'stored.zip', zip);
    const unzipped = spawnSync('unzip', ['-p', zipPath, 'platform-20111209T201508Z.tgz'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(unzipped.status, 0, String(unzipped.stderr));
    assert.ok(bytes.equals(unzipped.stdout));
  }
});

const STAGE_OUT_OF_ORDER = `
async function main({ url, parts, readBlockSize }) {
  const { BlockBlobClient } = await import('@azure/storage-blob');
  const client = new BlockBlobClient(url);
  const id = (i) => Buffer.from('block-' + String(i).padStart(6, '0')).toString('base64');
  const order = parts.map((_, i) => i).reverse(); // stage last block first
  for (const i of order) {
    const body = Buffer.from(parts[i], 'base64');
    await client.stageBlock(id(i), body, body.length);
  }
  await client.commitBlockList(parts.map((_, i) => id(i)), { blobHTTPHeaders: { blobContentType: 'application/gzip' } });
  const props = await client.getProperties();
  const whole = await client.downloadToBuffer(0, undefined, { blockSize: readBlockSize, concurrency: 3 });
  const middle = await client.downloadToBuffer(5, 100);
  return {
    contentLength: props.contentLength,
    contentType: props.contentType,
    etag: props.etag,
    whole: whole.toString('base64'),
    middle: middle.toString('base64'),
  };
}`;

test('blob storage: the stand-in assembles blocks by block id in the listed order and serves ranged reads to @azure/storage-blob', async (t) => {
  const server = await withServer(t);
  // A signed URL obtained the way the artifact client does, with CreateArtifact.
  const create = await fetch(
    `${server.url}twirp/github.actions.results.api.v1.ArtifactService/CreateArtifact`,
    {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${server.env.ACTIONS_RUNTIME_TOKEN}`,
      },
      body: JSON.stringify({
        workflow_run_backend_id: server.workflowRunBackendId,
        workflow_job_run_backend_id: server.workflowJobRunBackendId,
        name: 'blocks',
        version: 7,
      }),
    },
  );
  assert.equal(create.status, 200);
  const { signed_upload_url: url } = (await create.json()) as { signed_upload_url: string };
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/blob\/artifacts\/[^/?]+\?.*sig=/);

  const parts = [randomBytes(300_000), randomBytes(1), randomBytes(250_000), randomBytes(4096)];
  const expected = Buffer.concat(parts);
  const run = await runClient<{
    contentLength: number;
    contentType: string;
    etag: string;
    whole: string;
    middle: string;
  }>(t, server, STAGE_OUT_OF_ORDER, {
    url,
    parts: parts.map((p) => p.toString('base64')),
    readBlockSize: 100_000,
  });
  const result = valueOf(run);
  assert.ok(
    server.blobOf(server.artifacts[0])!.equals(expected),
    'blocks joined in the listed order',
  );
  assert.equal(result.contentLength, expected.length);
  assert.equal(result.contentType, 'application/gzip');
  assert.equal(result.etag, server.blobs.get(server.artifacts[0].blobPath)!.etag);
  assert.ok(Buffer.from(result.whole, 'base64').equals(expected));
  assert.ok(Buffer.from(result.middle, 'base64').equals(expected.subarray(5, 105)));
  const kinds = server.requests.map((r) => r.kind);
  assert.equal(kinds.filter((k) => k === 'PutBlock').length, 4);
  assert.ok(kinds.includes('GetBlobProperties'));
  assert.ok(kinds.filter((k) => k === 'GetBlob').length >= 6, 'downloadToBuffer read in ranges');
});

const CACHE_ROUND_TRIP = `
async function main({ dir, key, restoreKey }) {
  const { rm } = await import('node:fs/promises');
  const cache = await import('@actions/cache');
  const saved = await cache.saveCache([dir], key);
  await rm(dir, { recursive: true, force: true });
  const miss = await cache.restoreCache([dir], 'some-other-key');
  const missOtherPath = await cache.restoreCache([dir + '-elsewhere'], key);
  const hit = await cache.restoreCache([dir], key);
  return { saved, miss: miss ?? 'undefined', missOtherPath: missOtherPath ?? 'undefined', hit };
}`;

const CACHE_RESTORE = `
async function main({ dir, key, restoreKeys }) {
  const cache = await import('@actions/cache');
  return { hit: (await cache.restoreCache([dir], key, restoreKeys)) ?? 'undefined' };
}`;

async function listFiles(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files.set(path.slice(root.length + 1), await readFile(path));
    }
  }
  return files;
}

test("cache: the real client saves a proto to the loopback stand-in for GitHub's results service and restores it byte-identical", async (t) => {
  const server = await withServer(t);
  const dir = await scratchDir(t);
  const proto = join(dir, 'proto');
  await mkdir(join(proto, 'usr', 'bin'), { recursive: true });
  await mkdir(join(proto, 'kernel', 'amd64'), { recursive: true });
  await writeFile(join(proto, 'kernel', 'amd64', 'unix'), randomBytes(1536 * 1024));
  await writeFile(join(proto, 'usr', 'bin', 'ls'), randomBytes(40_000));
  await writeFile(join(proto, 'README'), 'proto restored from cache\n');
  const before = await listFiles(proto);
  const key = 'proto-illumos-abc123';

  const run = await runClient<{ saved: number; miss: string; missOtherPath: string; hit: string }>(
    t,
    server,
    CACHE_ROUND_TRIP,
    { dir: proto, key },
  );
  const result = valueOf(run);
  assert.equal(server.caches.length, 1);
  const entry = server.caches[0];
  assert.equal(entry.finalized, true);
  assert.equal(entry.key, key);
  assert.equal(result.saved, entry.id, 'saveCache returns the entry id');
  assert.equal(result.miss, 'undefined', 'an unknown key is a miss');
  assert.equal(result.missOtherPath, 'undefined', 'another path set is another version: a miss');
  assert.equal(result.hit, key);
  assert.deepEqual(await listFiles(proto), before);
  assert.deepEqual(
    server.requests.filter((r) => r.path.startsWith('/twirp/')).map((r) => [r.kind, r.status]),
    [
      ['CreateCacheEntry', 200],
      ['FinalizeCacheEntryUpload', 200],
      ['GetCacheEntryDownloadURL', 200],
      ['GetCacheEntryDownloadURL', 200],
      ['GetCacheEntryDownloadURL', 200],
    ],
  );
  assert.ok(server.requests.some((r) => r.kind === 'PutBlob' && r.status === 201));
  assert.ok(server.requests.some((r) => r.kind === 'GetBlob' && r.status === 200));

  // A restore key matches by prefix.
  await rm(proto, { recursive: true });
  const byPrefix = await runClient<{ hit: string }>(t, server, CACHE_RESTORE, {
    dir: proto,
    key: 'proto-illumos-def456',
    restoreKeys: ['proto-smartos-', 'proto-illumos-'],
  });
  assert.equal(valueOf(byPrefix).hit, key);
  assert.match(byPrefix.stdout, /Cache hit for restore-key: proto-illumos-abc123/);
  assert.deepEqual(await listFiles(proto), before);
});

const UPLOAD_ONLY = `
async function main({ name, file, rootDir }) {
  const { DefaultArtifactClient } = await import('@actions/artifact');
  return await new DefaultArtifactClient().uploadArtifact(name, [file], rootDir, { compressionLevel: 0 });
}`;

test("refused: an artifact upload the loopback stand-in for GitHub's results service refuses rejects with a clear message", async (t) => {
  const server = await withServer(t);
  const dir = await scratchDir(t);
  const file = await fileIn(dir, 'build.log', 'a log\n');
  server.refuseNext('CreateArtifact', { message: 'artifact storage is read-only for this run' });

  const run = await runClient(t, server, UPLOAD_ONLY, { name: 'log', file, rootDir: dir });
  assert.equal(run.outcome.ok, false);
  assert.ok(!run.outcome.ok);
  assert.equal(
    run.outcome.message,
    'Failed to CreateArtifact: Received non-retryable error: Failed request: (403) Forbidden: ' +
      'artifact storage is read-only for this run',
  );
  // DefaultArtifactClient's "Artifact upload failed" warning never fires: its
  // try block returns the upload promise without awaiting it. The caller
  // (the build-live action) must report the rejection itself.
  assert.doesNotMatch(run.stdout, /::warning::/);
  // Refused once, not retried, nothing stored.
  assert.deepEqual(
    server.requests.map((r) => [r.kind, r.status]),
    [['CreateArtifact', 403]],
  );
  assert.equal(server.artifacts.length, 0);

  // The refusal was for the next request only: the same upload now succeeds.
  const again = await runClient<{ id: number }>(t, server, UPLOAD_ONLY, {
    name: 'log',
    file,
    rootDir: dir,
  });
  assert.equal(valueOf(again).id, server.artifacts[0].id);
});

test('refused: a blob commit the stand-in refuses fails the artifact upload and nothing is finalized', async (t) => {
  const server = await withServer(t);
  const dir = await scratchDir(t);
  const file = await fileIn(dir, 'boot_archive.manifest', 'f etc/motd 0644 root sys\n');
  server.refuseNext('PutBlockList', { status: 403, message: 'This request is not authorized' });

  const run = await runClient(t, server, UPLOAD_ONLY, { name: 'manifest', file, rootDir: dir });
  assert.ok(!run.outcome.ok);
  assert.match(run.outcome.message, /This request is not authorized/);
  assert.equal(server.artifacts.length, 1);
  assert.equal(server.artifacts[0].finalized, false);
  assert.ok(!server.requests.some((r) => r.kind === 'FinalizeArtifact'));
});

const SAVE_ONLY = `
async function main({ dir, key }) {
  const cache = await import('@actions/cache');
  return { saved: await cache.saveCache([dir], key) };
}`;

test('refused: saveCache against a refused CreateCacheEntry returns -1 without throwing', async (t) => {
  const server = await withServer(t);
  const dir = await scratchDir(t);
  const proto = join(dir, 'proto');
  await mkdir(proto);
  await writeFile(join(proto, 'file'), 'x\n');

  // A twirp error (HTTP 403 permission_denied).
  server.refuseNext('CreateCacheEntry');
  const run = await runClient<{ saved: number }>(t, server, SAVE_ONLY, {
    dir: proto,
    key: 'proto-1',
  });
  assert.equal(valueOf(run).saved, -1);
  assert.match(run.stdout, /Failed to save: Unable to reserve cache with key proto-1/);

  // The service's own "not ok" answer: @actions/cache also warns with its message.
  server.refuseNext('CreateCacheEntry', {
    notOk: true,
    message: 'cache entry is being written by another job',
  });
  const notOk = await runClient<{ saved: number }>(t, server, SAVE_ONLY, {
    dir: proto,
    key: 'proto-1',
  });
  assert.equal(valueOf(notOk).saved, -1);
  assert.match(
    notOk.stdout,
    /::warning::Cache reservation failed: cache entry is being written by another job/,
  );

  assert.equal(server.caches.length, 0);
  assert.deepEqual(
    server.requests.map((r) => [r.kind, r.status]),
    [
      ['CreateCacheEntry', 403],
      ['CreateCacheEntry', 200],
    ],
  );
});
