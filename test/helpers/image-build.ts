/**
 * Small UFS images made by the real build-live CLI from a list of items (a
 * manifest written here, parents as `d` entries), and the real
 * verify-manifest CLI run on them: for the tests of the image checks.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Finding, VerifyReport } from '../../src/verify/types.js';
import { buildLiveIn, show } from './cli.js';

export { show } from './cli.js';
export { verifyJson } from './verify-json.js';

export interface Item {
  /** Image path. */
  path: string;
  /** A file copied into the proto, text written there, or a symlink's text. */
  from?: string;
  text?: string | Buffer;
  link?: string;
  /** An `h` entry: a hard link to this image path. */
  hardlink?: string;
  /** The file's mode (default 0755). */
  mode?: string;
}

/** Builds a UFS image of `items` (parents made as `d` entries); returns the paths to verify it. */
export async function buildImage(
  dir: string,
  items: readonly Item[],
  archive: 'ufs' | 'none' = 'ufs',
) {
  const proto = join(dir, 'proto');
  const lines: string[] = [];
  const dirs = new Set<string>();
  for (const item of items) {
    const parts = item.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of [...dirs].sort()) lines.push(`d ${d} 0755 root root`);
  for (const item of items) {
    if (item.link !== undefined) {
      lines.push(`s ${item.path}=${item.link}`);
      continue;
    }
    if (item.hardlink !== undefined) {
      lines.push(`h ${item.path}=${item.hardlink}`);
      continue;
    }
    const file = join(proto, item.path);
    await mkdir(dirname(file), { recursive: true });
    if (item.from) await copyFile(item.from, file);
    else await writeFile(file, item.text ?? 'x\n');
    lines.push(`f ${item.path} ${item.mode ?? '0755'} root root`);
  }
  const manifest = join(dir, 'manifest');
  await writeFile(manifest, lines.join('\n') + '\n');
  const built = ['-m', manifest, '--proto', proto, '--archive', archive];
  const { run, platform, log } = await buildLiveIn(dir, built);
  assert.equal(run.code, 0, show(run));
  return { manifest, proto, args: ['--log', log, '-m', manifest, '--platform', platform] };
}

export const findings = (report: VerifyReport, kind: string): Finding[] =>
  report.checks.filter((c) => c.kind === kind).flatMap((c) => c.listed);
