/** The build-live job summary: verdict, counts by source tag, FAILED entries with file:line. */
import { basename } from 'node:path';
import { describeBuiltArchive } from '../../live/archive-choice.js';
import type { BuildLiveResult } from '../../live/build-live.js';
import { humanBytes } from '../../util/format.js';
import { mdText } from '../../util/markdown.js';
import { code, workspacePath } from '../common/report.js';
import { lineLink } from '../common/verify-comment.js';

/** FAILED entries listed in the summary; the log has them all. */
const MAX_LISTED = 200;

export function verdict(result: BuildLiveResult): string {
  const n = result.counts.failed;
  return `build-live ${result.buildstamp}: ${n === 0 ? 'OK' : `${n} FAILED`}`;
}

export function buildLiveMarkdown(result: BuildLiveResult, failOnMissing: boolean): string {
  const c = result.counts;
  const icon = c.failed === 0 ? '✅' : failOnMissing ? '❌' : '⚠️';
  const out = [
    `### ${icon} ${verdict(result)}`,
    '',
    '| A (overlay) | P (proto) | M (man) | S (system) | dirs | symlinks | hard links | FAILED | unknown owners | image entries |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${c.A} | ${c.P} | ${c.M} | ${c.S} | ${c.dirs} | ${c.symlinks} | ${c.hardlinks} | ${c.failed} | ${c.unknownOwners} | ${result.imageEntries} |`,
    '',
    `File content: ${humanBytes(c.bytes)}. Archive: ${describeBuiltArchive(result.archive, result.ufsPlan)}. ` +
      `Platform: ${code(workspacePath(result.platformDir))}` +
      (result.tgz ? `, tgz: ${code(basename(result.tgz))}` : '') +
      `. Log: ${code(workspacePath(result.log))}.`,
    '',
  ];
  // One list of FAILED entries per job: the step that is the last word on them lists them
  // (this one with fail-on-missing, else verify-manifest, the gate); the log has each one.
  if (result.failed.length > 0 && !failOnMissing) {
    out.push(
      `${result.failed.length} FAILED ${result.failed.length === 1 ? 'entry does' : 'entries do'} not fail this step: verify-manifest, the gate, lists them with their manifest lines, and the log names each one (\`FAILED <path> (<file>:<line>)\`).`,
      '',
    );
  }
  if (result.failed.length > 0 && failOnMissing) {
    out.push(
      `#### FAILED entries (${result.failed.length})`,
      '',
      'These fail the step (`fail-on-missing: true`).',
      '',
    );
    const links = {
      server: process.env.GITHUB_SERVER_URL,
      repository: process.env.GITHUB_REPOSITORY,
      sha: process.env.GITHUB_SHA,
      workspace: process.env.GITHUB_WORKSPACE,
    };
    for (const f of result.failed.slice(0, MAX_LISTED)) {
      const at = f.file ? code(`${workspacePath(f.file)}:${f.line}`) : '';
      const link = f.file ? lineLink(f.file, f.line, links) : undefined;
      const where = f.file ? ` at ${link ? `[${at}](${link})` : at}` : '';
      out.push(`- ${code(f.path)} (${f.type})${where}${f.error ? `: ${mdText(f.error)}` : ''}`);
      for (const place of f.searched) out.push(`  - searched ${code(place)}`);
    }
    if (result.failed.length > MAX_LISTED) {
      out.push(`- … and ${result.failed.length - MAX_LISTED} more (see the log)`);
    }
    out.push('');
  }
  if (result.warnings.length > 0) {
    out.push(
      `<details><summary>Warnings (${result.warnings.length})</summary>`,
      '',
      ...result.warnings.slice(0, MAX_LISTED).map((w) => `- ${code(w)}`),
      ...(result.warnings.length > MAX_LISTED
        ? [`- … and ${result.warnings.length - MAX_LISTED} more (see the log)`]
        : []),
      '',
      '</details>',
      '',
    );
  }
  return out.join('\n');
}
