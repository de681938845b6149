/**
 * What a release needs from build-live beyond the build itself: the tgz's
 * sha256 (the `tgz-sha256` output, for attestation: it equals `sha256sum`
 * of the file) and the summary's size table, the tgz, the boot_archive and
 * each artifact, with the change against a baseline build when one is given
 * (its boot_archive beside the baseline boot_archive.manifest and its tgz
 * beside its platform directory, as output/platform-<STAMP> lays them out).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { BuildLiveResult } from '../../live/build-live.js';
import { humanBytes } from '../../util/format.js';
import { code } from '../common/report.js';
import type { UploadedArtifact } from './artifacts.js';

/** sha256 hex of a file, read as a stream. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(path: string | undefined): Promise<number | undefined> {
  if (!path) return undefined;
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

function change(now: number | undefined, before: number | undefined): string {
  if (now === undefined || before === undefined) return '';
  const delta = now - before;
  const sign = delta > 0 ? '+' : delta < 0 ? '-' : '±';
  const percent = before > 0 ? ` (${sign}${((Math.abs(delta) / before) * 100).toFixed(1)}%)` : '';
  return `${sign}${humanBytes(Math.abs(delta))}${percent}`;
}

const cell = (n: number | undefined) => (n === undefined ? '' : humanBytes(n));

/** The summary's "Sizes" section (markdown). */
export async function sizesMarkdown(
  result: BuildLiveResult,
  uploaded: readonly UploadedArtifact[],
  baseline: string | undefined,
  tgzSha256: string | undefined,
): Promise<string> {
  const baseDir = baseline ? dirname(dirname(dirname(baseline))) : undefined;
  const files = [
    {
      what: result.tgz ? `tgz ${code(basename(result.tgz))}` : undefined,
      now: await sizeOf(result.tgz),
      before: baseDir ? await sizeOf(`${baseDir}.tgz`) : undefined,
    },
    {
      what: result.bootArchive ? 'boot_archive' : undefined,
      now: await sizeOf(result.bootArchive),
      before: baseline ? await sizeOf(join(dirname(baseline), 'boot_archive')) : undefined,
    },
  ].filter((f) => f.what !== undefined);
  const withBaseline = baseline !== undefined;
  const rows = [
    ...files.map((f) =>
      withBaseline
        ? `| ${f.what} | ${cell(f.now)} | ${cell(f.before)} | ${change(f.now, f.before)} |`
        : `| ${f.what} | ${cell(f.now)} |`,
    ),
    ...uploaded.map((a) => {
      const name = a.url ? `[${code(a.name)}](${a.url})` : code(a.name);
      return withBaseline
        ? `| artifact ${name} | ${cell(a.size)} | | |`
        : `| artifact ${name} | ${cell(a.size)} |`;
    }),
  ];
  if (rows.length === 0) return '';
  const out = [
    '#### Sizes',
    '',
    withBaseline ? '| | size | baseline | change |' : '| | size |',
    withBaseline ? '|---|---:|---:|---:|' : '|---|---:|',
    ...rows,
    '',
  ];
  if (withBaseline && files.every((f) => f.before === undefined)) {
    out.push(`No boot_archive or tgz beside the baseline ${code(baseline)}: no change shown.`, '');
  }
  if (tgzSha256) out.push(`tgz sha256: ${code(tgzSha256)}`, '');
  for (const a of uploaded.filter((x) => x.digest)) {
    out.push(`- ${code(a.name)}: ${code(a.digest ?? '')}`);
  }
  if (uploaded.some((x) => x.digest)) out.push('');
  return out.join('\n');
}
