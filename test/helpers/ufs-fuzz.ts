/**
 * The UFS side of the fuzz tests (docs/ufs.md, "Crafted images"): the fixture
 * platform of test/helpers/ufs-image.ts, the offsets of its boot_archive a
 * reader trusts (superblock, cylinder group headers, inodes in use,
 * directory, symlink and indirect blocks), a case written as the fixture
 * plus its edits and resealed (hash and log sha1 rewritten to match), and
 * what verify-manifest made of it: in this process (the quick slice of
 * `npm test`) or as the real CLI in a child (crash signals, time, peak
 * memory: test/fuzz-ufs-run.ts). A PASS is checked against the boot-time
 * reader (src/archive/ufs/boot-read.ts): every file of boot_archive.manifest
 * must read back with its md5.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BootUfsReader } from '../../src/archive/ufs/boot-read.js';
import { GATE_LIMITS } from '../../src/archive/ufs/read.js';
import { readBootManifest } from '../../src/formats/boot-manifest.js';
import { UserError } from '../../src/util/errors.js';
import { verifyManifest } from '../../src/verify/verify.js';
import type { VerifyReport } from '../../src/verify/types.js';
import { signature, type Edit } from './fuzz.js';
import { maxRssArgs, readMaxRss } from './max-rss-run.js';
import { CLI, REPO_ROOT } from './paths.js';
import { buildFixturePlatform, SB, type FixturePlatform } from './ufs-image.js';

export const UFS_CORPUS = join(REPO_ROOT, 'test', 'fuzz-corpus', 'ufs');

/** Chunks of the image written per case (the rest is a hole: the image is mostly zeros). */
const CHUNK = 4096;

export interface UfsFuzzFixture {
  p: FixturePlatform;
  /** The untouched boot_archive. */
  image: Buffer;
  /** Offsets a mutation picks from. */
  offsets: number[];
  /** Chunks of the untouched image that are not zeros. */
  chunks: number[];
  /** The boot_archive.manifest's files and their md5s (the PASS oracle). */
  files: { path: string; md5: string }[];
}

/** Builds the fixture platform in a new temporary directory (removed by `cleanup`). */
export async function ufsFuzzFixture(): Promise<UfsFuzzFixture & { cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'joyent-live-fuzz-'));
  const p = await buildFixturePlatform(dir);
  const image = await readFile(p.archive);
  const chunks: number[] = [];
  for (let c = 0; c * CHUNK < image.length; c++) {
    if (image.subarray(c * CHUNK, (c + 1) * CHUNK).some((b) => b !== 0)) chunks.push(c);
  }
  const manifest = await readBootManifest(join(dirname(p.archive), 'boot_archive.manifest'));
  const files = [...manifest.entries.values()]
    .filter((e) => e.type === 'f' && e.md5)
    .map((e) => ({ path: e.path, md5: e.md5! }));
  return {
    p,
    image,
    offsets: trustedOffsets(image),
    chunks,
    files,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * The bytes a reader trusts: the superblock, each cylinder group's header,
 * the inodes in use, and every 1 KiB fragment of metadata (few distinct
 * byte values: directories, symlinks, indirect blocks; not file data).
 */
function trustedOffsets(image: Buffer): number[] {
  const out: number[] = [];
  const range = (from: number, length: number) => {
    for (let i = from; i < from + length && i < image.length; i++) out.push(i);
  };
  const r = (off: number) => image.readInt32LE(SB + off);
  const [cblkno, iblkno, ncg, fsize, ipg, fpg] = [r(12), r(16), r(44), r(52), r(184), r(188)];
  range(SB, 1400);
  for (let c = 0; c < ncg; c++) {
    range((c * fpg + cblkno) * fsize, 512);
    for (let i = 0; i < ipg; i++) {
      const at = (c * fpg + iblkno) * fsize + i * 128;
      if (image.readUInt16LE(at) !== 0) range(at, 128);
    }
  }
  const inodeArea = (at: number) => {
    const c = Math.floor(at / (fpg * fsize));
    const start = (c * fpg + iblkno) * fsize;
    return at >= start && at < start + ipg * 128;
  };
  for (let at = 3 * SB; at < image.length; at += 1024) {
    const frag = image.subarray(at, at + 1024);
    if (inodeArea(at) || !frag.some((b) => b !== 0)) continue;
    if (new Set(frag).size < 64) range(at, 1024);
  }
  return out;
}

/** Writes the fixture with `edits` as the platform's boot_archive and reseals it. */
export async function writeCase(f: UfsFuzzFixture, edits: readonly Edit[]): Promise<void> {
  const saved = edits.map((e) => ({
    offset: e.offset,
    bytes: Buffer.from(f.image.subarray(e.offset, e.offset + e.hex.length / 2)),
  }));
  for (const e of edits) Buffer.from(e.hex, 'hex').copy(f.image, e.offset);
  try {
    const chunks = new Set(f.chunks);
    for (const e of edits) {
      for (let c = Math.floor(e.offset / CHUNK); c * CHUNK < e.offset + e.hex.length / 2; c++)
        chunks.add(c);
    }
    const fh = await open(f.p.archive, 'w');
    try {
      await fh.truncate(f.image.length);
      for (const c of chunks) {
        const part = f.image.subarray(c * CHUNK, (c + 1) * CHUNK);
        await fh.write(part, 0, part.length, c * CHUNK);
      }
    } finally {
      await fh.close();
    }
    const sha1 = createHash('sha1').update(f.image).digest('hex');
    await writeFile(join(dirname(f.p.archive), 'boot_archive.hash'), `${sha1}\n`);
    const log = await readFile(f.p.log, 'utf8');
    await writeFile(
      f.p.log,
      log.replace(/^# boot_archive sha1: [0-9a-f]{40}$/m, `# boot_archive sha1: ${sha1}`),
    );
  } finally {
    for (const s of saved.reverse()) s.bytes.copy(f.image, s.offset);
  }
}

/** Does every file of the manifest read back with its md5 through the boot-time reader? */
export async function readsBack(f: UfsFuzzFixture): Promise<string | undefined> {
  let reader: BootUfsReader | undefined;
  try {
    reader = await BootUfsReader.open(f.p.archive, GATE_LIMITS);
    for (const file of f.files) {
      const md5 = await reader.md5(file.path);
      if (md5 !== file.md5) return `${file.path}: md5 ${md5}, the manifest says ${file.md5}`;
    }
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await reader?.close();
  }
}

export interface UfsOutcome {
  /** pass, fail (a verdict) or error (one message, exit 1). */
  result: 'pass' | 'fail' | 'error';
  signature: string;
  /** What breaks the rules: a crash, a stack trace, a hang, a PASS that does not read back. */
  violation?: string;
  ms: number;
  /** Peak resident memory of the CLI run, bytes. */
  rss?: number;
}

function outcomeOf(report: VerifyReport): Pick<UfsOutcome, 'result' | 'signature'> {
  if (report.verdict === 'pass') return { result: 'pass', signature: 'pass' };
  const c = report.content;
  const why = c?.unreadable
    ? `unreadable: ${c.unreadable.replace(/^.*?: /, '')}`
    : `${report.reasons.join(',')}: ${[...new Set((c?.differences ?? []).map((d) => d.field))].join(',')}${c?.mismatches.length ? ' md5' : ''}${c?.missing.length ? ' missing' : ''}`;
  return { result: 'fail', signature: signature(why) };
}

/** The case through verifyManifest() in this process (a throw other than UserError is a violation). */
export async function verifyInProcess(f: UfsFuzzFixture): Promise<UfsOutcome> {
  const start = performance.now();
  let out: UfsOutcome;
  try {
    const report = await verifyManifest({
      logs: [f.p.log],
      manifests: [f.p.manifest],
      platform: f.p.platform,
    });
    out = { ...outcomeOf(report), ms: 0 };
  } catch (err) {
    out =
      err instanceof UserError
        ? { result: 'error', signature: signature(`error: ${err.message}`), ms: 0 }
        : {
            result: 'error',
            signature: 'internal',
            violation: `not a UserError: ${(err as Error).stack}`,
            ms: 0,
          };
  }
  out.ms = performance.now() - start;
  if (out.result === 'pass') {
    const broken = await readsBack(f);
    if (broken) out.violation = `PASS, but the image does not read back: ${broken}`;
  }
  return out;
}

/** The most a CLI run may take before it counts as a hang. */
export const CLI_LIMIT_MS = 10_000;

/** The case through the real CLI in a child process: signals, stack traces, time, peak memory. */
export async function verifyWithCli(f: UfsFuzzFixture, rssFile: string): Promise<UfsOutcome> {
  const rss = maxRssArgs(rssFile);
  const start = performance.now();
  const args = [...rss.args, CLI, 'verify-manifest', ...f.p.args, '--format', 'json'];
  const run = await new Promise<{
    code: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    hung: boolean;
  }>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...rss.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, CLI_LIMIT_MS * 3);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, hung });
    });
  });
  const ms = performance.now() - start;
  const peak = await readMaxRss(rssFile).catch(() => undefined);
  const base = { ms, ...(peak !== undefined ? { rss: peak } : {}) };
  if (run.hung || run.signal)
    return {
      result: 'error',
      signature: 'crash',
      violation: run.hung ? 'hung' : `signal ${run.signal}`,
      ...base,
    };
  if (/\n\s+at |internal error/.test(run.stderr))
    return {
      result: 'error',
      signature: 'stack',
      violation: `stack trace: ${run.stderr.slice(0, 2000)}`,
      ...base,
    };
  let out: UfsOutcome;
  try {
    out = { ...outcomeOf(JSON.parse(run.stdout) as VerifyReport), ...base };
  } catch {
    const line = run.stderr.trim().split('\n')[0] ?? '';
    out =
      run.code === 1 || run.code === 2
        ? { result: 'error', signature: signature(`error: ${line}`), ...base }
        : {
            result: 'error',
            signature: 'exit',
            violation: `exit ${run.code}: ${run.stderr}`,
            ...base,
          };
  }
  if (out.result === 'pass' && run.code !== 0) out.violation = `PASS with exit ${run.code}`;
  if (out.result === 'pass') {
    const broken = await readsBack(f);
    if (broken) out.violation = `PASS, but the image does not read back: ${broken}`;
  }
  return out;
}
