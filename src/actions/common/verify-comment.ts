/**
 * The pull-request comment (and check-run text) of a verify report, for a
 * reviewer reading top down: the verdict on the first line, the counts, then
 * every finding grouped by kind with a link to its manifest line at the
 * commit, the diff against the baseline, and the image's headroom.
 *
 * Findings are read generically: the report's FAILED entries, the content
 * check's mismatches, and any `findings` list of `{kind, path, file?, line?,
 * message?}` records, so that a new kind of finding shows up here without a
 * change (docs/actions.md, "Pull-request comments").
 */
import { isAbsolute, relative } from 'node:path';
import type { VerifyReport } from '../../verify/types.js';
import { verdictLine } from '../../verify/report.js';
import { mdCode, mdText } from '../../util/markdown.js';

/** One finding as the comment and the check run show it. */
export interface CommentFinding {
  kind: string;
  path: string;
  file?: string;
  line?: number;
  message?: string;
  /** Reported but not fatal (allowed missing). */
  allowed?: boolean;
}

/** Where links point: `<server>/<repository>/blob/<sha>/<file>#L<line>`. */
export interface LinkContext {
  server?: string;
  repository?: string;
  sha?: string;
  /** The checkout: manifest paths are made relative to it. */
  workspace?: string;
}

/** GitHub refuses comment bodies over 65,536 characters; lists are cut well before. */
export const COMMENT_CHARACTER_LIMIT = 60_000;
const LIST_LIMITS = [100, 50, 20, 10, 5, 1];

// Paths as code spans, messages as escaped text: both come from pull requests (src/util/markdown.ts).
const code = mdCode;

/** A repository path for a link, or undefined when the file is outside the checkout. */
export function repositoryPath(file: string, workspace: string | undefined): string | undefined {
  if (!isAbsolute(file)) return file.replace(/^\.\//, '');
  if (!workspace) return undefined;
  const rel = relative(workspace, file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? undefined : rel;
}

/** A link to a file's line at the commit, or undefined without what it needs. */
export function lineLink(file: string, line: number | undefined, links: LinkContext) {
  const path = repositoryPath(file, links.workspace);
  if (!path || !links.server || !links.repository || !links.sha) return undefined;
  // encodeURIComponent leaves ( ) ' ! * as they are: a `)` would end the markdown link.
  const encoded = path
    .split('/')
    .map((part) =>
      encodeURIComponent(part).replace(/[()'!*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`),
    )
    .join('/');
  return `${links.server}/${links.repository}/blob/${links.sha}/${encoded}${line ? `#L${line}` : ''}`;
}

function isFindingLike(x: unknown): x is CommentFinding {
  const f = x as Partial<CommentFinding> | null;
  return typeof f?.kind === 'string' && typeof f.path === 'string';
}

/** Every finding of the report, in report order, FAILED entries first. */
export function reportFindings(report: VerifyReport): CommentFinding[] {
  const out: CommentFinding[] = report.failures.map((f) => ({
    kind: 'failed',
    path: f.path,
    file: f.manifest?.file,
    line: f.manifest?.line,
    message:
      `${f.kind} missing from the image` +
      (f.searched.length ? `; searched ${f.searched.join(', ')}` : '') +
      (f.notInManifest ? ' (not in the manifests given)' : ''),
    allowed: f.allowed,
  }));
  const c = report.content;
  if (c?.unreadable) out.push({ kind: 'integrity', path: 'boot_archive', message: c.unreadable });
  for (const m of c?.mismatches ?? []) {
    out.push({
      kind: 'integrity',
      path: m.path,
      message: `md5 ${m.actual} in the image, ${m.expected} in boot_archive.manifest`,
    });
  }
  for (const path of c?.missing ?? []) {
    out.push({ kind: 'integrity', path, message: 'in boot_archive.manifest, not in the image' });
  }
  for (const d of c?.differences ?? []) {
    out.push({
      kind: 'integrity',
      path: d.path,
      message:
        d.field === 'extra'
          ? `in the image (${d.actual}) but not in boot_archive.manifest`
          : `${d.field} ${d.actual} in the image, ${d.expected} in the manifest`,
    });
  }
  // The completeness checks' findings (not-built, unshipped, broken-link, ...).
  for (const check of report.checks ?? []) {
    for (const f of check.listed) if (isFindingLike(f)) out.push(f);
  }
  return out;
}

/** Does this finding make the verdict fail? */
export function isBlocking(f: CommentFinding, report: VerifyReport): boolean {
  if (f.allowed) return false;
  if (f.kind === 'integrity') return true;
  return (report.failOn as readonly string[]).includes(f.kind);
}

function findingLine(f: CommentFinding, links: LinkContext): string {
  const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : undefined;
  const link = f.file ? lineLink(f.file, f.line, links) : undefined;
  const at = where ? ` at ${link ? `[${code(where)}](${link})` : code(where)}` : '';
  const message = f.message ? ` — ${mdText(f.message.replace(/\s+/g, ' '))}` : '';
  return `- ${code(f.path)}${at}${message}${f.allowed ? ' (allowed)' : ''}`;
}

function headroomLines(report: VerifyReport): string[] {
  const headroom = (report as unknown as { headroom?: unknown }).headroom;
  if (!headroom || typeof headroom !== 'object') return [];
  const rows = Object.entries(headroom as Record<string, unknown>).filter(
    ([, v]) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean',
  );
  if (rows.length === 0) return [];
  return [
    '#### Headroom',
    '',
    '| | |',
    '|---|---:|',
    ...rows.map(([k, v]) => `| ${mdText(k)} | ${mdText(String(v))} |`),
    '',
  ];
}

function bodyWithLimit(
  report: VerifyReport,
  links: LinkContext,
  extra: { runUrl?: string; title: string },
  limit: number,
): string {
  const icon = report.verdict === 'pass' ? '✅' : '❌';
  const c = report.counts;
  const t = c.byTag;
  const out = [
    `${icon} **${verdictLine(report)}**`,
    '',
    `| entries | FAILED | allowed missing | A (overlay) | P (proto) | M (man) | S (system) |`,
    '|---:|---:|---:|---:|---:|---:|---:|',
    `| ${c.entries} | ${c.failed} | ${c.allowedMissing} | ${t.A} | ${t.P} | ${t.M} | ${t.S} |`,
    '',
  ];
  const findings = reportFindings(report);
  const kinds = [...new Set(findings.map((f) => f.kind))];
  // Blocking kinds first: the cause of a failure comes before what is only reported.
  const blocks = (kind: string) => findings.some((f) => f.kind === kind && isBlocking(f, report));
  kinds.sort((a, b) => Number(!blocks(a)) - Number(!blocks(b)));
  for (const kind of kinds) {
    const list = findings.filter((f) => f.kind === kind);
    const blocking = list.some((f) => isBlocking(f, report));
    out.push(`#### ${kind} (${list.length})${blocking ? '' : ' — reported, not fatal'}`, '');
    out.push(...list.slice(0, limit).map((f) => findingLine(f, links)));
    if (list.length > limit) out.push(`- … and ${list.length - limit} more (see the job summary)`);
    out.push('');
  }
  const d = report.diff;
  if (d) {
    const size =
      d.sizeDelta === undefined
        ? ''
        : `, boot_archive ${d.sizeDelta >= 0 ? '+' : ''}${d.sizeDelta} bytes`;
    out.push(
      `#### Diff against the baseline: ${d.added} added, ${d.removed} removed, ${d.changed} changed${size}`,
      '',
    );
    // Entries of a kind that fails the gate are shown, never only inside <details>.
    const failOn = report.failOn as readonly string[];
    const fails = (kind: string) =>
      failOn.includes(kind === 'added' || kind === 'removed' ? kind : 'changed');
    const line = (e: (typeof d.entries)[number]) =>
      e.kind === 'added' || e.kind === 'removed'
        ? `- ${code(e.path)} ${e.kind}`
        : `- ${code(e.path)} ${e.kind}: ${mdText(e.before ?? '')} → ${mdText(e.after ?? '')}`;
    const shown = d.entries.filter((e) => fails(e.kind));
    const folded = d.entries.filter((e) => !fails(e.kind));
    out.push(...shown.slice(0, limit).map(line));
    if (shown.length > limit) out.push(`- … and ${shown.length - limit} more`);
    if (shown.length > 0) out.push('');
    if (folded.length > 0) {
      out.push(`<details><summary>${folded.length} more, not fatal</summary>`, '');
      out.push(...folded.slice(0, limit).map(line));
      if (folded.length > limit) out.push(`- … and ${folded.length - limit} more`);
      out.push('', '</details>', '');
    }
  }
  out.push(...headroomLines(report));
  if (extra.runUrl) out.push(`[${extra.title}: the run](${extra.runUrl})`, '');
  return out.join('\n');
}

/** The markdown of the comment (without its hidden marker). */
export function commentBody(
  report: VerifyReport,
  links: LinkContext,
  extra: { runUrl?: string; title: string },
): string {
  for (const limit of LIST_LIMITS) {
    const body = bodyWithLimit(report, links, extra, limit);
    if (body.length <= COMMENT_CHARACTER_LIMIT) return body;
  }
  return bodyWithLimit(report, links, extra, 0).slice(0, COMMENT_CHARACTER_LIMIT);
}
