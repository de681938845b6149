/**
 * What an action tells the pull request itself, for runners that show no
 * summaries or annotations (github-act-runner on illumos): one comment per
 * job and gate, found again by a hidden marker and updated in place, and
 * optionally a check run whose annotations the Checks API takes 50 at a
 * time (no per-step cap). Both go through @actions/github (Octokit) with the
 * `github-token` input. Without a pull request, or with a token that may not
 * write (a fork's pull request gets a read-only GITHUB_TOKEN), it says so in
 * one warning and the step goes on (docs/actions.md, "Pull-request comments").
 */
import { readFileSync } from 'node:fs';
import * as core from '@actions/core';
import { context, getOctokit } from '@actions/github';
import { UsageError, UserError } from '../../util/errors.js';

export const COMMENT_MODES = ['auto', 'always', 'on-failure', 'never'] as const;
export type CommentMode = (typeof COMMENT_MODES)[number];

/** The Checks API takes at most 50 annotations per request. */
const ANNOTATIONS_PER_REQUEST = 50;

export interface PullRequest {
  owner: string;
  repo: string;
  number: number;
  /** The pull request's head commit: links and the check run point at it. */
  headSha: string;
}

/** The pull request of this run's event, if it is one (pull_request, pull_request_target). */
export function currentPullRequest(): PullRequest | undefined {
  const path = process.env.GITHUB_EVENT_PATH;
  if (!path) return undefined;
  let payload: { pull_request?: { number?: number; head?: { sha?: string } } };
  try {
    payload = JSON.parse(readFileSync(path, 'utf8')) as typeof payload;
  } catch (err) {
    throw new UserError(
      `GITHUB_EVENT_PATH ${path} cannot be read as JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const pr = payload.pull_request;
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? '').split('/');
  if (!pr?.number || !owner || !repo) return undefined;
  return { owner, repo, number: pr.number, headSha: pr.head?.sha ?? context.sha };
}

/**
 * The hidden marker that identifies this job's and gate's comment: the
 * workflow, the job id and the `comment-key` input (by default the job's
 * matrix values, so that matrix legs keep their own comments; docs/actions.md).
 * An empty key gives the marker of the versions before the key.
 */
export function commentMarker(gate: string, key = ''): string {
  const workflow = process.env.GITHUB_WORKFLOW ?? '';
  const job = process.env.GITHUB_JOB ?? '';
  const keyed = key ? `:${encodeURIComponent(key)}` : '';
  return `<!-- joyent-live:${gate}:${encodeURIComponent(workflow)}:${encodeURIComponent(job)}${keyed} -->`;
}

/** The longest comment-key taken: a marker is a line of the comment, not a payload. */
export const MAX_COMMENT_KEY = 256;

/** The `comment-key` input checked: one line, no control character, no `-->`. */
export function parseCommentKey(raw: string, name: string): string {
  const key = raw.trim();
  if (/[\n\r]/.test(key))
    throw new UsageError(`${name} must be one line, not ${JSON.stringify(key)}`);
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  if (key.includes('-->') || /[\u0000-\u001f\u007f]/.test(key)) {
    throw new UsageError(
      `${name} may not hold "-->" or a control character (it is part of a hidden HTML comment), not ${JSON.stringify(key)}`,
    );
  }
  if (key.length > MAX_COMMENT_KEY) {
    throw new UsageError(`${name} is ${key.length} characters long, more than ${MAX_COMMENT_KEY}`);
  }
  return key;
}

function status(err: unknown): number | undefined {
  const s = (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : undefined;
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why a write was refused, for the one warning. */
function refusal(err: unknown, what: string): string {
  const s = status(err);
  if (s === 403 || s === 401 || s === 404) {
    return `${what}: the token may not write here (HTTP ${s}: ${reason(err)}); a pull request from a fork gets a read-only GITHUB_TOKEN, see "Pull-request comment" in joyent-live's docs/actions.md`;
  }
  return `${what}: ${reason(err)}`;
}

type Octokit = ReturnType<typeof getOctokit>;

/** Who the token is: a comment of ours is one this identity wrote. */
export interface TokenIdentity {
  login: string;
  id?: number;
}

/**
 * The token's own identity. GraphQL `viewer` answers for every kind of
 * token (the workflow's GITHUB_TOKEN is `github-actions[bot]`, an app's
 * installation token its `<app>[bot]`, a personal token its user); REST
 * `GET /user` only for a user's token, so it is the fallback. Undefined
 * when neither answers.
 */
export async function tokenIdentity(octokit: Octokit): Promise<TokenIdentity | undefined> {
  try {
    const { viewer } = await octokit.graphql<{
      viewer: { login: string; databaseId?: number | null };
    }>('query { viewer { login databaseId } }');
    if (viewer?.login) return { login: viewer.login, id: viewer.databaseId ?? undefined };
  } catch {
    // not answered: try REST
  }
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    return { login: data.login, id: data.id };
  } catch {
    return undefined;
  }
}

interface CommentAuthor {
  login?: string;
  id?: number;
  type?: string;
}

/** Did `me` write a comment by `author`? (A bot's REST login carries `[bot]`.) */
export function writtenBy(author: CommentAuthor | null | undefined, me: TokenIdentity): boolean {
  if (!author) return false;
  if (me.id !== undefined && author.id === me.id) return true;
  if (author.login === undefined) return false;
  return (
    author.login === me.login || (author.type === 'Bot' && author.login === `${me.login}[bot]`)
  );
}

export interface CommentRequest {
  mode: CommentMode;
  token: string;
  /** Which gate speaks: part of the marker, e.g. `verify-manifest`. */
  gate: string;
  /** The comment-key input: part of the marker (matrix legs). */
  key?: string;
  /** Markdown; its first line is what a reviewer reads first. */
  body: string;
  failed: boolean;
}

export type CommentOutcome =
  { action: 'created' | 'updated'; id: number; url: string } | { action: 'skipped'; why: string };

/**
 * Creates or updates this job's and gate's comment on the pull request, as
 * the mode says: `always` on every run; `on-failure` and `auto` when the gate
 * fails, and on a pass only to update a comment already there (so a fixed
 * pull request does not keep a stale failure). `auto` says nothing when the
 * run is not for a pull request; the other modes warn once.
 */
export async function publishComment(
  request: CommentRequest,
  pr = currentPullRequest(),
): Promise<CommentOutcome> {
  if (request.mode === 'never') return { action: 'skipped', why: 'comment is never' };
  if (!pr) {
    const why = `comment: ${request.mode}, but this run is not for a pull request (event ${process.env.GITHUB_EVENT_NAME ?? 'unknown'}): no comment`;
    if (request.mode === 'auto') core.info(why);
    else core.warning(why);
    return { action: 'skipped', why };
  }
  if (!request.token) {
    const why = 'comment: no github-token given: no comment on the pull request';
    core.warning(why);
    return { action: 'skipped', why };
  }
  const octokit = getOctokit(request.token);
  const marker = commentMarker(request.gate, request.key);
  const body = `${request.body.trimEnd()}\n\n${marker}\n`;
  let existing: { id: number; html_url: string } | undefined;
  try {
    existing = await findOurComment(octokit, pr, marker);
  } catch (err) {
    const why = refusal(err, `cannot read the comments of pull request #${pr.number}`);
    core.warning(why);
    return { action: 'skipped', why };
  }
  if (!existing && !request.failed && request.mode !== 'always') {
    const why = `the gate passed and pull request #${pr.number} has no comment of ours to update: none made (comment: ${request.mode})`;
    core.info(why);
    return { action: 'skipped', why };
  }
  try {
    if (existing) {
      const updated = await updateComment(octokit, pr, existing.id, body);
      if (updated) return updated;
    }
    const { data } = await octokit.rest.issues.createComment({
      owner: pr.owner,
      repo: pr.repo,
      issue_number: pr.number,
      body,
    });
    core.info(`commented on pull request #${pr.number}: ${data.html_url}`);
    return { action: 'created', id: data.id, url: data.html_url };
  } catch (err) {
    const why = refusal(err, `cannot comment on pull request #${pr.number}`);
    core.warning(why);
    return { action: 'skipped', why };
  }
}

/**
 * This job's and gate's comment: one with our marker that the token's own
 * identity wrote. Anyone can paste the marker into a comment of theirs; such
 * a comment is never ours to edit. Without a known identity nothing is.
 */
async function findOurComment(
  octokit: Octokit,
  pr: PullRequest,
  marker: string,
): Promise<{ id: number; html_url: string } | undefined> {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner: pr.owner,
    repo: pr.repo,
    issue_number: pr.number,
    per_page: 100,
  });
  const marked = comments.filter((c) => c.body?.includes(marker));
  if (marked.length === 0) return undefined;
  const me = await tokenIdentity(octokit);
  if (!me) {
    core.info(
      `cannot tell who the github-token is (GraphQL viewer and GET /user refused): no comment is edited, a new one is made`,
    );
    return undefined;
  }
  const ours = marked.find((c) => writtenBy(c.user, me));
  const others = marked.length - (ours ? 1 : 0);
  if (others > 0) {
    core.info(
      `${others} comment(s) on pull request #${pr.number} carry our marker but were not written by ${me.login}: left alone`,
    );
  }
  return ours;
}

/** Edits our comment; undefined when the edit is refused (then a new one is made). */
async function updateComment(
  octokit: Octokit,
  pr: PullRequest,
  id: number,
  body: string,
): Promise<CommentOutcome | undefined> {
  try {
    const { data } = await octokit.rest.issues.updateComment({
      owner: pr.owner,
      repo: pr.repo,
      comment_id: id,
      body,
    });
    core.info(`updated the comment on pull request #${pr.number}: ${data.html_url}`);
    return { action: 'updated', id: data.id, url: data.html_url };
  } catch (err) {
    const s = status(err);
    if (s !== 403 && s !== 404) throw err;
    core.info(
      `the edit of comment ${id} was refused (HTTP ${s}: ${reason(err)}): a new comment is made`,
    );
    return undefined;
  }
}

export interface CheckAnnotation {
  path: string;
  line: number;
  level: 'failure' | 'warning' | 'notice';
  message: string;
  title?: string;
}

export interface CheckRunRequest {
  token: string;
  name: string;
  failed: boolean;
  title: string;
  summary: string;
  annotations: readonly CheckAnnotation[];
}

/**
 * Publishes a completed check run on the pull request's head commit (or the
 * run's commit) with every annotation, 50 per request. A refusal is one
 * warning, as for the comment.
 */
export async function publishCheckRun(
  request: CheckRunRequest,
  pr = currentPullRequest(),
): Promise<{ id: number; url: string } | undefined> {
  const [owner, repo] = (process.env.GITHUB_REPOSITORY ?? '').split('/');
  if (!owner || !repo || !request.token) {
    core.warning('check-run: no repository or github-token: no check run published');
    return undefined;
  }
  const octokit = getOctokit(request.token);
  const batches: CheckAnnotation[][] = [];
  for (let i = 0; i < request.annotations.length; i += ANNOTATIONS_PER_REQUEST) {
    batches.push(request.annotations.slice(i, i + ANNOTATIONS_PER_REQUEST));
  }
  const output = (batch: readonly CheckAnnotation[] = []) => ({
    title: request.title,
    summary: request.summary,
    annotations: batch.map((a) => ({
      path: a.path,
      start_line: a.line,
      end_line: a.line,
      annotation_level: a.level,
      message: a.message,
      ...(a.title ? { title: a.title } : {}),
    })),
  });
  try {
    const { data } = await octokit.rest.checks.create({
      owner,
      repo,
      name: request.name,
      head_sha: pr?.headSha ?? context.sha,
      status: 'completed',
      conclusion: request.failed ? 'failure' : 'success',
      output: output(batches[0]),
    });
    for (const batch of batches.slice(1)) {
      await octokit.rest.checks.update({
        owner,
        repo,
        check_run_id: data.id,
        output: output(batch),
      });
    }
    core.info(
      `check run "${request.name}" with ${request.annotations.length} annotations: ${data.html_url ?? data.id}`,
    );
    return { id: data.id, url: data.html_url ?? '' };
  } catch (err) {
    core.warning(refusal(err, `cannot publish the check run "${request.name}"`));
    return undefined;
  }
}
