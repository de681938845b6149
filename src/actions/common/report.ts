/**
 * What an action tells the people reading a run: annotations on the
 * manifest line at fault (capped: GitHub shows only a few per step), the
 * same facts as plain log lines (self-hosted runners such as
 * github-act-runner show no annotations), and the job summary.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import * as core from '@actions/core';
import { ioError, isIoCondition } from '../../util/errors.js';
import { printable, printableLine, printableText } from '../../util/format.js';

/**
 * A plain log line (or lines) of an action. Everything an action prints
 * that carries text from the inputs goes through here (or report()): the
 * runner splits its log on CR and LF and runs any line that starts with
 * `::` as a workflow command, so each line is printableLine()d
 * (src/util/format.ts): control and bidi characters shown escaped, no `::`
 * at a line start. Annotations are escaped by @actions/core and printable()d.
 */
export function say(text: string): void {
  core.info(printableText(text));
}

/** GitHub shows at most 10 error (and 10 warning) annotations per step. */
export const MAX_ANNOTATIONS = 10;
/** ... and 50 of each level per job. */
export const MAX_JOB_ANNOTATIONS = 50;

export interface Finding {
  /** The plain log line, always printed. */
  line: string;
  /** The annotation text (default: `line`). */
  message?: string;
  title?: string;
  file?: string;
  startLine?: number;
}

/**
 * A path as an annotation wants it: relative to GITHUB_WORKSPACE when it is
 * inside it (the runner resolves `file=` against the checkout).
 */
export function workspacePath(path: string): string {
  const workspace = process.env.GITHUB_WORKSPACE;
  if (!workspace || !isAbsolute(path)) return path;
  const rel = relative(workspace, path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/** Annotations made so far in this step, by level (GitHub's cap is per level). */
const annotated = { error: 0, warning: 0 };

/**
 * The job's annotation ledger, shared by the steps of the suite in one job
 * (RUNNER_TEMP is per job): one `level file:line` a line, so that a manifest
 * line annotated by build-live is not annotated again by verify-manifest, and
 * the job's cap of 50 per level is kept.
 */
function ledgerPath(): string | undefined {
  const temp = process.env.RUNNER_TEMP;
  return temp ? join(temp, 'joyent-live-annotations.txt') : undefined;
}

function readLedger(): string[] {
  const path = ledgerPath();
  if (!path) return [];
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch {
    return []; // no step of the suite has annotated yet
  }
}

/**
 * Prints every finding as a plain line and annotates them at their
 * file:line: at most one annotation per manifest line in the job, and, for
 * errors, MAX_ANNOTATIONS - 1 per step, so that the step's verdict
 * (`setFailed`, an error annotation too) is never the one the runner drops.
 * Says how many were not annotated. Report the findings that matter most first.
 */
export function report(findings: readonly Finding[], level: 'error' | 'warning'): void {
  const annotate = level === 'error' ? core.error : core.warning;
  const stepCap = level === 'error' ? MAX_ANNOTATIONS - 1 : MAX_ANNOTATIONS;
  const ledger = readLedger();
  const lines = new Set(ledger.map((entry) => entry.slice(entry.indexOf(' ') + 1)));
  let inJob = ledger.filter((entry) => entry.startsWith(`${level} `)).length;
  let skipped = 0;
  let already = 0;
  for (const f of findings) {
    core.info(printableLine(f.line));
    const key = f.file && f.startLine ? `${workspacePath(f.file)}:${f.startLine}` : undefined;
    if (key && lines.has(key)) {
      already++;
      continue;
    }
    const jobCap = level === 'error' ? MAX_JOB_ANNOTATIONS - 1 : MAX_JOB_ANNOTATIONS;
    if (annotated[level] >= stepCap || inJob >= jobCap) {
      skipped++;
      continue;
    }
    annotated[level]++;
    inJob++;
    if (key) lines.add(key);
    const path = ledgerPath();
    if (path) appendFileSync(path, `${level} ${key ?? '-'}\n`);
    annotate(printable(f.message ?? f.line), {
      ...(f.title ? { title: printable(f.title) } : {}),
      ...(f.file ? { file: workspacePath(f.file) } : {}),
      ...(f.file && f.startLine ? { startLine: f.startLine } : {}),
    });
  }
  if (skipped > 0) {
    core.info(
      `${skipped} more ${level}s are not annotated (GitHub shows ${MAX_ANNOTATIONS} per step and ${MAX_JOB_ANNOTATIONS} per job${level === 'error' ? '; one is kept for the verdict' : ''}); all are listed above`,
    );
  }
  if (already > 0) {
    core.info(
      `${already} ${level}s are on manifest lines an earlier annotation of this job already marks; all are listed above`,
    );
  }
}

/** `file:line: rest` (engine diagnostics and warnings) split for an annotation. */
export function findingFromText(text: string): Finding {
  const m = /^(.+?):(\d+): (.*)$/s.exec(text);
  return m ? { line: text, message: m[3], file: m[1], startLine: Number(m[2]) } : { line: text };
}

/**
 * Appends markdown to the job summary. Without GITHUB_STEP_SUMMARY (a local
 * run, an old runner) it says so in the log instead of failing the step.
 */
export async function writeSummary(markdown: string): Promise<void> {
  const path = process.env.GITHUB_STEP_SUMMARY;
  if (!path) {
    core.info('GITHUB_STEP_SUMMARY is not set: no job summary written');
    return;
  }
  try {
    await core.summary.addRaw(markdown, true).write();
  } catch (err) {
    // A full disk under the runner's files is the run's error, named as one.
    if (isIoCondition(err)) throw ioError(err, 'write the job summary', path);
    throw err;
  }
  core.summary.emptyBuffer();
}

/** Markdown inline code for text from the inputs (src/util/markdown.ts). */
export { mdCode as code } from '../../util/markdown.js';
