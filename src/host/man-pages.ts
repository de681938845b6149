/**
 * The man pages tarball (smartos-live's `man` download): fetched from a URL,
 * streamed to a temporary file while hashed, checked against the sha256
 * given (a mismatch unpacks nothing), its members checked by the shared tar
 * safety check, unpacked beside the man directory and renamed into place.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { dirname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { extract } from 'tar';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { partialName } from '../util/atomic.js';
import { describeError, UserError } from '../util/errors.js';
import { checkTarMembers } from '../util/tar-safety.js';
import { proxyFor } from '../util/proxy.js';

export interface ManPagesOptions {
  url: string;
  sha256: string;
  manDir: string;
  /** Leading path components to drop from each member (tar --strip-components). */
  stripComponents?: number;
  onInfo?: (message: string) => void;
  /** Where the proxy variables are read (default process.env; src/util/proxy.ts). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface ManPagesResult {
  url: string;
  sha256: string;
  bytes: number;
  manDir: string;
}

const MAX_REDIRECTS = 5;
/** A server silent this long is given up on. */
const IDLE_MS = 120_000;

/** Parses and checks the URL: http, https or file only. */
export function parseManUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`man-url ${JSON.stringify(text)} is not a URL`);
  }
  if (!['http:', 'https:', 'file:'].includes(url.protocol)) {
    throw new UserError(`man-url ${shownUrl(url)}: only http, https and file URLs are supported`);
  }
  return url;
}

export function checkSha256(text: string): string {
  const hex = text.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new UserError(`man-sha256 ${JSON.stringify(text)} is not a sha256 (64 hex digits)`);
  }
  return hex;
}

/** The URL as messages show it: without a user name or password. */
export function shownUrl(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

/** One shared agent for direct downloads; a proxied one gets its own. */
function dispatcherFor(url: URL, env: ProxyEnv): { dispatcher: Dispatcher; via?: URL } {
  const proxy = proxyFor(url, env);
  if (!proxy) return { dispatcher: new Agent() };
  return { dispatcher: new ProxyAgent({ uri: proxy.href }), via: proxy };
}

type ProxyEnv = Readonly<Record<string, string | undefined>>;

async function openHttp(url: URL, env: ProxyEnv, redirects = 0): Promise<Readable> {
  const { dispatcher, via } = dispatcherFor(url, env);
  const through = via ? ` through the proxy ${shownUrl(via)}` : '';
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      dispatcher,
      maxRedirections: 0,
      headersTimeout: IDLE_MS,
      bodyTimeout: IDLE_MS,
    });
  } catch (err) {
    await dispatcher.close().catch(() => undefined);
    throw new UserError(`cannot download ${shownUrl(url)}${through}: ${describeError(err)}`);
  }
  const status = res.statusCode;
  const location = res.headers.location;
  if (status >= 300 && status < 400 && typeof location === 'string') {
    await res.body.dump();
    await dispatcher.close();
    if (redirects >= MAX_REDIRECTS) {
      throw new UserError(`${shownUrl(url)}: more than ${MAX_REDIRECTS} redirects`);
    }
    const next = new URL(location, url);
    if (!['http:', 'https:'].includes(next.protocol)) {
      throw new UserError(`${shownUrl(url)}: redirect to unsupported ${shownUrl(next)}`);
    }
    return openHttp(next, env, redirects + 1);
  }
  if (status !== 200) {
    await res.body.dump();
    await dispatcher.close();
    throw new UserError(
      `cannot download ${shownUrl(url)}${through}: HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trim(),
    );
  }
  // The agent goes when the body has been read (or given up on).
  res.body.once('close', () => void dispatcher.close().catch(() => undefined));
  return res.body;
}

async function openSource(url: URL, env: ProxyEnv): Promise<Readable> {
  if (url.protocol === 'file:') {
    const path = fileURLToPath(url);
    const stream = createReadStream(path);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (err) =>
        reject(new UserError(`cannot read ${shownUrl(url)}: ${describeError(err)}`)),
      );
    });
    return stream;
  }
  return openHttp(url, env);
}

export async function fetchManPages(options: ManPagesOptions): Promise<ManPagesResult> {
  const url = parseManUrl(options.url);
  const expected = checkSha256(options.sha256);
  const manDir = options.manDir;
  const staging = partialName(manDir);
  const download = `${staging}.download`;
  const old = `${staging}.old`;
  try {
    await mkdir(dirname(manDir), { recursive: true });
  } catch (err) {
    throw new UserError(`cannot create ${dirname(manDir)}: ${describeError(err)}`);
  }
  await rm(staging, { recursive: true, force: true });
  await rm(download, { force: true });
  try {
    options.onInfo?.(`downloading ${shownUrl(url)}`);
    const source = await openSource(url, options.env ?? process.env);
    const hash = createHash('sha256');
    let bytes = 0;
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    try {
      // wx: created exclusively (the leftover was removed above), never through a planted name.
      await pipeline(source, hasher, createWriteStream(download, { flags: 'wx' }));
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`cannot download ${shownUrl(url)}: ${describeError(err)}`);
    }
    const actual = hash.digest('hex');
    if (actual !== expected) {
      throw new UserError(
        `${shownUrl(url)}: sha256 mismatch: expected ${expected}, got ${actual} (${bytes} bytes); nothing was unpacked`,
      );
    }
    await checkTarMembers(download, { into: manDir });
    await mkdir(staging);
    try {
      await extract({
        file: download,
        cwd: staging,
        strict: true,
        preservePaths: false,
        strip: options.stripComponents ?? 0,
      });
    } catch (err) {
      throw new UserError(`cannot unpack ${shownUrl(url)}: ${describeError(err)}`);
    }
    const had = await lstat(manDir).catch(() => undefined);
    if (had) {
      await rm(old, { recursive: true, force: true });
      await rename(manDir, old);
    }
    await rename(staging, manDir);
    if (had) await rm(old, { recursive: true, force: true });
    options.onInfo?.(`man pages: ${bytes} bytes, sha256 ${actual}, unpacked into ${manDir}`);
    return { url: shownUrl(url), sha256: actual, bytes, manDir };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot install the man pages into ${manDir}: ${describeError(err)}`);
  } finally {
    await rm(download, { force: true });
  }
}
