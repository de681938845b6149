/**
 * What an action tells the people reading a run: annotations on the
 * manifest line at fault (capped: GitHub shows only a few per step), the
 * same facts as plain log lines (self-hosted runners such as
 * github-act-runner show no annotations), and the job summary.
 */
import { isAbsolute, relative } from 'node:path';
import * as core from '@actions/core';

/** GitHub shows at most 10 error (and 10 warning) annotations per step. */
export const MAX_ANNOTATIONS = 10;

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
 * Prints every finding as a plain line and annotates them at their
 * file:line until the step has MAX_ANNOTATIONS of that level; says how many
 * were not annotated. Report the findings that matter most first.
 */
export function report(findings: readonly Finding[], level: 'error' | 'warning'): void {
  const annotate = level === 'error' ? core.error : core.warning;
  let skipped = 0;
  for (const f of findings) {
    core.info(f.line);
    if (annotated[level] >= MAX_ANNOTATIONS) {
      skipped++;
      continue;
    }
    annotated[level]++;
    annotate(f.message ?? f.line, {
      ...(f.title ? { title: f.title } : {}),
      ...(f.file ? { file: workspacePath(f.file) } : {}),
      ...(f.file && f.startLine ? { startLine: f.startLine } : {}),
    });
  }
  if (skipped > 0) {
    core.info(
      `${skipped} more ${level}s are not annotated (GitHub shows ${MAX_ANNOTATIONS} per step); all are listed above`,
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
  if (!process.env.GITHUB_STEP_SUMMARY) {
    core.info('GITHUB_STEP_SUMMARY is not set: no job summary written');
    return;
  }
  await core.summary.addRaw(markdown, true).write();
  core.summary.emptyBuffer();
}

/** Markdown inline code that survives backticks in the text. */
export function code(text: string): string {
  const ticks = text.includes('`') ? '``' : '`';
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${text}${pad}${ticks}`;
}
