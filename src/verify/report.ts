import { humanBytes, printableLines } from '../util/format.js';
import { mdCell, mdCode, mdText } from '../util/markdown.js';
import type {
  CheckResult,
  Finding,
  Headroom,
  ContentCheck,
  ContentDifference,
  DiffEntry,
  DiffKind,
  FailureReport,
  LogMatch,
  VerifyReport,
} from './types.js';

const DIFF_KINDS: readonly DiffKind[] = [
  'added',
  'removed',
  'type',
  'content',
  'mode',
  'owner',
  'target',
];
const DIFF_TITLES: Record<DiffKind, string> = {
  added: 'added',
  removed: 'removed',
  type: 'changed type',
  content: 'changed content',
  mode: 'changed mode',
  owner: 'changed owner',
  target: 'changed link target',
};

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** What differs about one entry of the image, for people (without its path). */
function differenceText(d: ContentDifference): string {
  return d.field === 'extra'
    ? `in the image (${d.actual}) but not in boot_archive.manifest`
    : `${d.field} ${d.actual} in the image, ${d.expected} in the manifest`;
}

/** The verdict line every format starts with. */
export function verdictLine(report: VerifyReport): string {
  if (report.verdict === 'pass') {
    const allowed = report.counts.allowedMissing;
    return `verify-manifest: PASS: ${plural(report.counts.entries, 'entry', 'entries')}${allowed ? `, ${allowed} allowed missing` : ''}`;
  }
  const why: string[] = [];
  const blocking = report.failures.filter((f) => !f.allowed).length;
  for (const reason of report.reasons) {
    if (reason === 'integrity') {
      const c = report.content;
      if (c?.unreadable) why.push('the boot_archive does not read back');
      if (c?.hash?.ok === false) why.push('boot_archive.hash does not match');
      const bad = (c?.mismatches.length ?? 0) + (c?.missing.length ?? 0);
      if (bad > 0) why.push(plural(bad, 'md5 mismatch', 'md5 mismatches'));
      const other = c?.differences?.length ?? 0;
      if (other > 0) why.push(plural(other, 'entry', 'entries') + ' not as the manifest says');
    } else if (reason === 'log-mismatch') {
      why.push('the log and the platform come from different builds');
    } else if (reason === 'failed') why.push(`${blocking} FAILED`);
    else if (reason === 'system-source') {
      why.push(plural(report.counts.byTag.S, 'file', 'files') + ' from the system root');
    } else if (reason === 'unknown-owner') {
      why.push(plural(report.counts.unknownOwners, 'unknown owner'));
    } else if (reason === 'added' || reason === 'removed' || reason === 'changed') {
      why.push(`${report.diff?.[reason] ?? 0} ${reason}`);
    } else {
      const findings = report.checks
        .filter((c) => c.kind === reason)
        .reduce((n, c) => n + c.findings, 0);
      why.push(`${findings} ${reason}`);
    }
  }
  return `verify-manifest: FAIL: ${why.join(', ')}`;
}

/** A log's boot_archive sha1 against the platform's. */
export function logMatchLine(m: LogMatch): string {
  if (m.ok) return `${m.log}: names this platform's boot_archive (sha1 ${m.logSha1})`;
  const platform =
    m.platformSha1 === undefined
      ? 'the platform has no boot_archive'
      : `the platform's is ${m.platformSha1}`;
  return `${m.log}: MISMATCH: the log names boot_archive sha1 ${m.logSha1}, ${platform}: the log and the platform come from different builds`;
}

function tagLine(report: VerifyReport): string {
  const t = report.counts.byTag;
  const k = report.counts.byKind;
  const dirs = Object.entries(report.counts.otherDirs)
    .map(([dir, n]) => ` (${dir})=${n}`)
    .join('');
  return `files by source: A=${t.A} P=${t.P} M=${t.M} S=${t.S}${t.other ? ` other=${t.other}${dirs}` : ''}; entries: ${report.counts.entries} (DIR ${k.DIR}, FILE ${k.FILE}, SYMLINK ${k.SYMLINK}, LINK ${k.LINK})`;
}

const where = (f: Finding) =>
  f.file ? ` (${f.file}${f.line !== undefined ? `:${f.line}` : ''})` : '';

/** One line per finding: kind, path, where, what. */
export function findingLine(f: Finding): string {
  return `${f.kind}: ${f.path || '-'}${where(f)}: ${f.message}`;
}

/** The count table's line for one check. */
function checkLine(c: CheckResult): string {
  const left = c.findings - c.listed.length;
  return `check ${c.kind}: ${c.checked} checked, ${plural(c.findings, 'finding')}${c.findings ? (c.fatal ? ' (fatal)' : ' (not fatal)') : ''}${left > 0 ? `, ${left} not listed` : ''}${c.note ? `; ${c.note}` : ''}`;
}

function headroomLines(h: Headroom): string[] {
  const pct = (free: number, all: number) => (all ? ((100 * free) / all).toFixed(1) : '0.0');
  const delta = (now: number, before: number | undefined) =>
    before === undefined
      ? ''
      : ` (${now - before >= 0 ? '+' : ''}${now - before} against the baseline)`;
  return [
    `headroom: ${humanBytes(h.freeBlocks * h.blockBytes)} free of ${humanBytes(h.blocks * h.blockBytes)} (${pct(h.freeBlocks, h.blocks)}%, ${h.freeBlocks} blocks${delta(h.freeBlocks, h.baseline?.freeBlocks)}); ${h.freeInodes} of ${h.inodes} inodes free${delta(h.freeInodes, h.baseline?.freeInodes)}`,
  ];
}

function failureLines(f: FailureReport): string[] {
  const where = f.manifest
    ? `${f.manifest.file}:${f.manifest.line}`
    : f.notInManifest
      ? 'not in the manifests given'
      : undefined;
  return [
    `FAILED ${f.kind} ${f.path}${f.allowed ? ' (allowed missing)' : ''}`,
    ...(where ? [`  manifest: ${where}`] : []),
    `  log: ${f.log}:${f.logLine}`,
    ...f.searched.map((place) => `  searched: ${place}`),
  ];
}

function diffGroups(entries: readonly DiffEntry[]): [DiffKind, DiffEntry[]][] {
  return DIFF_KINDS.map(
    (kind) => [kind, entries.filter((e) => e.kind === kind)] as [DiffKind, DiffEntry[]],
  ).filter(([, list]) => list.length > 0);
}

/** ", boot_archive +1.5 KiB", or nothing when the size change is not known. */
function sizeText(delta: number | undefined): string {
  return delta === undefined ? '' : `, boot_archive ${delta >= 0 ? '+' : ''}${humanBytes(delta)}`;
}

/** "3 added, 1 removed, 2 changed, boot_archive +1.5 KiB": the diff's counts, both formats'. */
function diffCounts(d: NonNullable<VerifyReport['diff']>): string {
  return `${d.added} added, ${d.removed} removed, ${d.changed} changed${sizeText(d.sizeDelta)}`;
}

function change(e: DiffEntry): string {
  if (e.kind === 'added') return `${e.path}  (${e.after})`;
  if (e.kind === 'removed') return `${e.path}  (${e.before})`;
  return `${e.path}  ${e.before} -> ${e.after}`;
}

/** The text report: verdict, counts, each failure, content check, diff, notes. */
export function formatText(report: VerifyReport): string {
  const out = [verdictLine(report)];
  for (const log of report.logs)
    out.push(`log: ${log.path} (${log.style}, ${log.lines} lines, ${log.entries} entries)`);
  out.push(tagLine(report));
  for (const failure of report.failures) out.push(...failureLines(failure));
  for (const check of report.checks) out.push(checkLine(check));
  for (const check of report.checks) for (const f of check.listed) out.push(findingLine(f));
  if (report.headroom) out.push(...headroomLines(report.headroom));
  if (report.failOn.includes('system-source')) {
    for (const path of report.systemFiles) out.push(`from the system root (S): ${path}`);
  }
  if (report.failOn.includes('unknown-owner')) {
    for (const warning of report.unknownOwnerWarnings) out.push(`unknown owner: ${warning}`);
  }
  for (const m of report.logMatches ?? []) out.push(logMatchLine(m));
  const c = report.content;
  if (c) {
    if (c.hash)
      out.push(
        `boot_archive.hash: ${c.hash.ok ? 'OK' : `MISMATCH (file says ${c.hash.expected}, boot_archive is ${c.hash.actual})`}`,
      );
    if (c.unreadable) out.push(`content: UNREADABLE: ${c.unreadable}`);
    else if (!c.skipped) out.push(`content: ${c.checked} files match their md5 (${c.method})`);
    for (const m of c.mismatches)
      out.push(`  md5 mismatch: ${m.path}: manifest ${m.expected}, image ${m.actual}`);
    for (const m of c.missing) out.push(`  missing from the image: ${m}`);
    for (const d of c.differences ?? []) out.push(`  ${d.path}: ${differenceText(d)}`);
  }
  if (report.diff) {
    const d = report.diff;
    out.push(`diff against ${d.baseline}: ${diffCounts(d)}`);
    for (const [kind, list] of diffGroups(d.entries)) {
      out.push(`  ${DIFF_TITLES[kind]} (${list.length}):`);
      for (const e of list) out.push(`    ${change(e)}`);
    }
  }
  for (const note of report.notes) out.push(`note: ${note}`);
  // Paths and link text come from the inputs: no raw control character, no `::` line.
  return printableLines(out) + '\n';
}

/** GitHub's step-summary limit is 1 MiB; lists are cut well before it. */
const MARKDOWN_BYTE_LIMIT = 900 * 1024;
/** Items shown per list: 200, fewer when long lines would pass the limit. */
const LIST_LIMITS = [200, 100, 50, 20, 10, 5, 1];

// Markdown from the inputs: paths as code spans, messages as escaped text (src/util/markdown.ts).
const code = mdCode;

function cappedAt(limit: number) {
  return <T>(items: readonly T[], render: (item: T) => string[], what: string): string[] => {
    const out = items.slice(0, limit).flatMap(render);
    if (items.length > limit) {
      out.push(`- … and ${items.length - limit} more ${what} (see the JSON report)`);
    }
    return out;
  };
}

/**
 * The markdown report: what the Action puts in the job summary. Lists are
 * cut, saying how much was left out, until the whole stays under the limit.
 */
export function formatMarkdown(report: VerifyReport): string {
  for (const limit of LIST_LIMITS) {
    const text = markdownWithLimit(report, limit);
    if (Buffer.byteLength(text) <= MARKDOWN_BYTE_LIMIT) return text;
  }
  // Only absurdly long single entries get here: cut at a line boundary.
  const text = Buffer.from(markdownWithLimit(report, 1))
    .subarray(0, MARKDOWN_BYTE_LIMIT)
    .toString('utf8')
    .replace(/\n[^\n]*$/, '');
  return `${text}\n\n… the report was cut to stay under the 1 MiB job-summary limit (see the JSON report)\n`;
}

/** Counts by source: every source column that has files (and A, P always). */
function sourceTable(report: VerifyReport): string[] {
  const t = report.counts.byTag;
  const columns: [string, number][] = [
    ['A (overlay)', t.A],
    ['P (proto)', t.P],
    ['M (man)', t.M],
    ['S (system)', t.S],
  ];
  const dirs = Object.entries(report.counts.otherDirs);
  if (dirs.length > 0) for (const [dir, n] of dirs) columns.push([mdCell(dir), n]);
  else if (t.other > 0) columns.push(['other', t.other]);
  const shown = [...columns];
  shown.push(
    ['FAILED', report.counts.failed],
    ['allowed missing', report.counts.allowedMissing],
    ['entries', report.counts.entries],
  );
  return [
    `| ${shown.map(([name]) => name).join(' | ')} |`,
    `|${shown.map(() => '---:|').join('')}`,
    `| ${shown.map(([, n]) => n).join(' | ')} |`,
  ];
}

/** The content check's part of the markdown report. */
function contentLines(c: ContentCheck, capped: ReturnType<typeof cappedAt>): string[] {
  const out = ['#### Content', ''];
  if (c.hash)
    out.push(
      `- boot_archive.hash: ${c.hash.ok ? 'OK' : `**mismatch** (${code(c.hash.expected)} vs ${code(c.hash.actual)})`}`,
    );
  out.push(
    c.unreadable
      ? `- **unreadable**: ${code(c.unreadable)}`
      : c.skipped
        ? `- not checked: ${mdText(c.skipped)}`
        : `- ${c.checked} files match their md5 (${mdText(c.method)})`,
  );
  out.push(...capped(c.mismatches, (m) => [`- md5 mismatch: ${code(m.path)}`], 'mismatches'));
  out.push(
    ...capped(c.missing, (m) => [`- missing from the image: ${code(m)}`], 'missing files'),
    ...capped(
      c.differences ?? [],
      (d) => [`- ${code(d.path)}: ${mdText(differenceText(d))}`],
      'differences',
    ),
    '',
  );
  return out;
}

function markdownWithLimit(report: VerifyReport, limit: number): string {
  const capped = cappedAt(limit);
  const icon = report.verdict === 'pass' ? '✅' : '❌';
  const out = [
    `### ${icon} ${verdictLine(report).replace(/^verify-manifest: /, 'verify-manifest ')}`,
    '',
    ...sourceTable(report),
    '',
  ];
  if (report.checks.length > 0) {
    out.push('| check | checked | findings | fatal |', '|---|---:|---:|---|');
    for (const c of report.checks) {
      out.push(
        `| ${c.kind} | ${c.checked} | ${c.findings} | ${c.fatal ? (c.findings ? '**yes**' : 'yes') : 'no'} |`,
      );
    }
    out.push('');
    if (report.headroom) out.push(...headroomLines(report.headroom).map((l) => `- ${l}`), '');
    for (const c of report.checks) {
      if (c.findings === 0) continue;
      out.push(`#### ${c.kind} (${c.findings})${c.note ? ` — ${mdText(c.note)}` : ''}`, '');
      const items = capped(
        c.listed,
        (f) => [`- ${code(f.path || '-')}${mdText(where(f))}: ${mdText(f.message)}`],
        'findings',
      );
      const unlisted = c.findings - c.listed.length;
      if (unlisted > 0 && c.listed.length <= limit) {
        items.push(
          `- … and ${unlisted} more findings (not kept: only the first ${c.listed.length} are)`,
        );
      }
      out.push(...items, '');
    }
  }
  if (report.failures.length > 0) {
    out.push(`#### FAILED entries (${report.failures.length})`, '');
    out.push(
      ...capped(
        report.failures,
        (f) => [
          `- ${code(f.path)} (${f.kind})${f.allowed ? ' — allowed missing' : ''}${f.manifest ? ` at ${code(`${f.manifest.file}:${f.manifest.line}`)}` : f.notInManifest ? ' — not in the manifests given' : ''}`,
          ...f.searched.map((place) => `  - searched ${code(place)}`),
        ],
        'failures',
      ),
      '',
    );
  }
  if (report.failOn.includes('system-source') && report.systemFiles.length > 0) {
    out.push(`#### From the system root (${report.counts.byTag.S})`, '');
    out.push(...capped(report.systemFiles, (p) => [`- ${code(p)}`], 'files'), '');
  }
  if (report.failOn.includes('unknown-owner') && report.unknownOwnerWarnings.length > 0) {
    out.push(`#### Unknown owners (${report.counts.unknownOwners})`, '');
    out.push(...capped(report.unknownOwnerWarnings, (w) => [`- ${code(w)}`], 'warnings'), '');
  }
  if (report.content) out.push(...contentLines(report.content, capped));
  if (report.diff) {
    const d = report.diff;
    out.push(`#### Changes against the baseline`, '', diffCounts(d), '');
    for (const [kind, list] of diffGroups(d.entries)) {
      out.push(`<details><summary>${DIFF_TITLES[kind]} (${list.length})</summary>`, '');
      out.push(...capped(list, (e) => [`- ${code(change(e))}`], 'entries'), '', '</details>', '');
    }
  }
  if (report.notes.length > 0) {
    out.push('#### Notes', '', ...report.notes.map((n) => `- ${mdText(n)}`), '');
  }
  return out.join('\n');
}
