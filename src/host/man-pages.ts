/**
 * The man pages tarball (smartos-live's `man` download): fetched from a URL,
 * streamed to a temporary file while hashed, checked against the sha256
 * given (a mismatch unpacks nothing), its members checked by the shared tar
 * safety check, unpacked beside the man directory and renamed into place.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { dirname } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { extract } from 'tar';
import { partialName } from '../util/atomic.js';
import { describeError, UserError } from '../util/errors.js';
import { checkTarMembers } from '../util/tar-safety.js';

export interface ManPagesOptions {
  url: string;
  sha256: string;
  manDir: string;
  /** Leading path components to drop from each member (tar --strip-components). */
  stripComponents?: number;
  onInfo?: (message: string) => void;
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

function openHttp(url: URL, redirects = 0): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? httpsGet : httpGet;
    const req = get(url, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) {
          reject(new UserError(`${shownUrl(url)}: more than ${MAX_REDIRECTS} redirects`));
          return;
        }
        const next = new URL(res.headers.location, url);
        if (!['http:', 'https:'].includes(next.protocol)) {
          reject(new UserError(`${shownUrl(url)}: redirect to unsupported ${shownUrl(next)}`));
          return;
        }
        openHttp(next, redirects + 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(
          new UserError(
            `cannot download ${shownUrl(url)}: HTTP ${status} ${res.statusMessage ?? ''}`.trim(),
          ),
        );
        return;
      }
      resolve(res);
    });
    req.setTimeout(IDLE_MS, () => req.destroy(new Error(`no answer for ${IDLE_MS / 1000} s`)));
    req.on('error', (err) =>
      reject(new UserError(`cannot download ${shownUrl(url)}: ${describeError(err)}`)),
    );
  });
}

async function openSource(url: URL): Promise<Readable> {
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
  return openHttp(url);
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
    const source = await openSource(url);
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
