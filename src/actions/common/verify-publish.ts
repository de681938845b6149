/**
 * verify-manifest's report on the pull request: reads the `comment`,
 * `github-token` and `check-run` inputs, renders the comment from the report
 * and publishes it (and the check run). Never fails the step: the gate's
 * verdict does.
 */
import { printable } from '../../util/format.js';
import * as core from '@actions/core';
import type { VerifyReport } from '../../verify/types.js';
import { verdictLine } from '../../verify/report.js';
import { bool, choice, text } from '../../options/values.js';
import { getInputs, runnerInput, type InputReader } from './inputs.js';
import {
  COMMENT_MODES,
  currentPullRequest,
  type CommentMode,
  parseCommentKey,
  publishCheckRun,
  publishComment,
  type CheckAnnotation,
} from './pr-comment.js';
import { commentBody, isBlocking, repositoryPath, reportFindings } from './verify-comment.js';

export interface PublishOptions {
  mode: CommentMode;
  key: string;
  checkRun: boolean;
  token: string;
}

/** The comment and check-run inputs, read and checked before the gate runs. */
export function readPublishOptions(read: InputReader = runnerInput): PublishOptions {
  const { raw, names } = getInputs(
    ['comment', 'comment-key', 'check-run', 'github-token'] as const,
    {},
    read,
  );
  return {
    mode: choice(raw.comment, names.name('comment'), COMMENT_MODES, 'auto'),
    key: parseCommentKey(raw['comment-key'], names.name('comment-key')),
    checkRun: bool(raw['check-run'], names.name('check-run'), false),
    token: text(raw['github-token'], names.name('github-token')) ?? '',
  };
}

/** ` (<job>, <key>)`: matrix legs publish check runs of their own names. */
function checkRunSuffix(job: string | undefined, key: string): string {
  const parts = [job, key].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

export async function publishVerifyReport(
  report: VerifyReport,
  options: PublishOptions = readPublishOptions(),
): Promise<void> {
  const { mode, key, checkRun, token } = options;
  if (mode === 'never' && !checkRun) return;
  const pr = currentPullRequest();
  const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
  const repository = process.env.GITHUB_REPOSITORY;
  const runUrl =
    repository && process.env.GITHUB_RUN_ID
      ? `${server}/${repository}/actions/runs/${process.env.GITHUB_RUN_ID}`
      : undefined;
  const links = {
    server,
    repository,
    sha: pr?.headSha ?? process.env.GITHUB_SHA,
    workspace: process.env.GITHUB_WORKSPACE,
  };
  const failed = report.verdict === 'fail';
  const body = commentBody(report, links, { runUrl, title: 'verify-manifest' });

  await publishComment({ mode, token, gate: 'verify-manifest', key, body, failed }, pr);

  if (checkRun) {
    const annotations: CheckAnnotation[] = [];
    const seen = new Set<string>();
    for (const f of reportFindings(report)) {
      const path = f.file ? repositoryPath(f.file, links.workspace) : undefined;
      if (!path || !f.line || seen.has(`${path}:${f.line}`)) continue;
      seen.add(`${path}:${f.line}`); // one annotation per manifest line
      annotations.push({
        path,
        line: f.line,
        level: isBlocking(f, report) ? 'failure' : 'warning',
        title: `verify-manifest: ${f.kind}`,
        // Plain text in the Checks API: control and bidi characters shown escaped.
        message: printable(`${f.path}${f.message ? `: ${f.message}` : ''}`),
      });
    }
    await publishCheckRun(
      {
        token,
        name: `verify-manifest${checkRunSuffix(process.env.GITHUB_JOB, key)}`,
        failed,
        title: verdictLine(report),
        summary: body,
        annotations,
      },
      pr,
    );
  }
  core.debug('verify-manifest: pull-request report done');
}
