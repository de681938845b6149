/**
 * A loopback stand-in for the GitHub REST API endpoints our pull-request
 * comment and check run call, for tests only (as results-server.ts is for the
 * artifact and cache services). The real @actions/github (Octokit) client
 * talks to it through GITHUB_API_URL:
 *
 * - GET    /repos/{owner}/{repo}/issues/{number}/comments (per_page, page; Link header)
 * - POST   /repos/{owner}/{repo}/issues/{number}/comments
 * - PATCH  /repos/{owner}/{repo}/issues/comments/{id}
 * - POST   /repos/{owner}/{repo}/check-runs        (at most 50 annotations, else 422)
 * - PATCH  /repos/{owner}/{repo}/check-runs/{id}   (the same limit; annotations add up)
 * - POST   /graphql                                 (only `viewer { login databaseId }`)
 * - GET    /user                                    (a user's token; an app's gets 403)
 *
 * Tokens are `Authorization: token <t>` (or Bearer): a token in `writeTokens`
 * may write; any other token may read and gets 403 "Resource not accessible
 * by integration" on a write, as a fork's read-only GITHUB_TOKEN does.
 * Each token is someone (`identities`; by default the workflow's
 * GITHUB_TOKEN, `github-actions[bot]`): comments record their author, as
 * GitHub's do (`user` with login, id, type), and an edit of a comment
 * someone else wrote is refused with 403, as it is for an integration
 * without the right to moderate.
 * Everything is in memory; every request is recorded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Who a token is, or who wrote a comment, as REST shows it in `user`. */
export interface Identity {
  login: string;
  id: number;
  type: 'Bot' | 'User';
}

/** The workflow's GITHUB_TOKEN. */
export const GITHUB_ACTIONS_BOT: Identity = {
  login: 'github-actions[bot]',
  id: 41898282,
  type: 'Bot',
};
/** Someone else: a contributor of the pull request. */
export const OCTOCAT: Identity = { login: 'octocat', id: 583231, type: 'User' };

export interface StoredComment {
  id: number;
  issue: number;
  body: string;
  html_url: string;
  updates: number;
  user: Identity;
}

export interface StoredCheckRun {
  id: number;
  name: string;
  head_sha: string;
  conclusion?: string;
  title?: string;
  summary?: string;
  annotations: Record<string, unknown>[];
}

export interface GithubApiServer {
  url: string;
  /** Environment for a step: GITHUB_API_URL, GITHUB_SERVER_URL, GITHUB_REPOSITORY. */
  env: Record<string, string>;
  comments: StoredComment[];
  checkRuns: StoredCheckRun[];
  requests: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

const REPOSITORY = 'joyent-live/example';

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export async function startGithubApiServer(
  options: {
    writeTokens?: string[];
    /** Comments already there; by default written by someone else (OCTOCAT). */
    seedComments?: { issue: number; body: string; user?: Identity }[];
    /** Who each token is; a token not listed is GITHUB_ACTIONS_BOT. */
    identities?: Record<string, Identity>;
    /** Tokens whose every comment edit is refused (403), their own comments too. */
    refuseEditsBy?: string[];
  } = {},
): Promise<GithubApiServer> {
  const writeTokens = new Set(options.writeTokens ?? ['write-token']);
  const identityOf = (token: string) => options.identities?.[token] ?? GITHUB_ACTIONS_BOT;
  const comments: StoredComment[] = [];
  const checkRuns: StoredCheckRun[] = [];
  const requests: GithubApiServer['requests'] = [];
  let nextId = 1000;
  let base = '';
  const htmlBase = 'https://github.example';
  for (const seed of options.seedComments ?? []) {
    const id = nextId++;
    comments.push({
      id,
      issue: seed.issue,
      body: seed.body,
      html_url: `${htmlBase}/${REPOSITORY}/pull/${seed.issue}#issuecomment-${id}`,
      updates: 0,
      user: seed.user ?? OCTOCAT,
    });
  }

  const send = (res: ServerResponse, status: number, body: unknown, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const url = new URL(req.url ?? '/', base);
    const auth = /^(?:token|bearer) (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!auth) {
      send(res, 401, { message: 'Requires authentication' });
      return 401;
    }
    const me = identityOf(auth);
    // GraphQL is a POST that may only read here.
    if (req.method === 'POST' && url.pathname === '/graphql') {
      const { query } = await readJson(req);
      if (typeof query !== 'string' || !/\bviewer\s*\{/.test(query)) {
        send(res, 200, { errors: [{ message: 'the stand-in answers only viewer' }] });
        return 200;
      }
      // GraphQL shows a bot's login as REST does, with [bot] (both are asked for).
      send(res, 200, { data: { viewer: { login: me.login, databaseId: me.id } } });
      return 200;
    }
    if (req.method === 'GET' && url.pathname === '/user') {
      if (me.type === 'Bot') {
        send(res, 403, { message: 'Resource not accessible by integration' });
        return 403;
      }
      send(res, 200, me);
      return 200;
    }
    const write = req.method !== 'GET';
    if (write && !writeTokens.has(auth)) {
      send(res, 403, {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest',
      });
      return 403;
    }
    const repoPrefix = `/repos/${REPOSITORY}`;
    const path = url.pathname;
    let m = new RegExp(`^${repoPrefix}/issues/(\\d+)/comments$`).exec(path);
    if (m && req.method === 'GET') {
      const issue = Number(m[1]);
      const perPage = Number(url.searchParams.get('per_page') ?? 30);
      const page = Number(url.searchParams.get('page') ?? 1);
      const all = comments.filter((c) => c.issue === issue);
      const slice = all.slice((page - 1) * perPage, page * perPage);
      const headers: Record<string, string> = {};
      if (page * perPage < all.length) {
        headers.link = `<${base}${path}?per_page=${perPage}&page=${page + 1}>; rel="next"`;
      }
      send(
        res,
        200,
        slice.map(({ id, body, html_url, user }) => ({ id, body, html_url, user })),
        headers,
      );
      return 200;
    }
    if (m && req.method === 'POST') {
      const body = await readJson(req);
      const id = nextId++;
      const comment = {
        id,
        issue: Number(m[1]),
        body: typeof body.body === 'string' ? body.body : '',
        html_url: `${htmlBase}/${REPOSITORY}/pull/${m[1]}#issuecomment-${id}`,
        updates: 0,
        user: me,
      };
      comments.push(comment);
      send(res, 201, { id, body: comment.body, html_url: comment.html_url, user: me });
      return 201;
    }
    m = new RegExp(`^${repoPrefix}/issues/comments/(\\d+)$`).exec(path);
    if (m && req.method === 'PATCH') {
      const id = Number(m[1]);
      const comment = comments.find((c) => c.id === id);
      if (!comment) {
        send(res, 404, { message: 'Not Found' });
        return 404;
      }
      if (comment.user.id !== me.id || options.refuseEditsBy?.includes(auth)) {
        send(res, 403, { message: 'Resource not accessible by integration' });
        return 403;
      }
      const update = (await readJson(req)).body;
      comment.body = typeof update === 'string' ? update : '';
      comment.updates++;
      send(res, 200, {
        id: comment.id,
        body: comment.body,
        html_url: comment.html_url,
        user: comment.user,
      });
      return 200;
    }
    const annotationsOf = (body: Record<string, unknown>): Record<string, unknown>[] =>
      (body.output as { annotations?: Record<string, unknown>[] } | undefined)?.annotations ?? [];
    if (path === `${repoPrefix}/check-runs` && req.method === 'POST') {
      const body = await readJson(req);
      const annotations = annotationsOf(body);
      if (annotations.length > 50) {
        send(res, 422, { message: 'Validation Failed: at most 50 annotations per request' });
        return 422;
      }
      const output = body.output as { title?: string; summary?: string } | undefined;
      const run: StoredCheckRun = {
        id: nextId++,
        name: String(body.name),
        head_sha: String(body.head_sha),
        conclusion: body.conclusion as string | undefined,
        title: output?.title,
        summary: output?.summary,
        annotations: [...annotations],
      };
      checkRuns.push(run);
      send(res, 201, { id: run.id, html_url: `${htmlBase}/${REPOSITORY}/runs/${run.id}` });
      return 201;
    }
    m = new RegExp(`^${repoPrefix}/check-runs/(\\d+)$`).exec(path);
    if (m && req.method === 'PATCH') {
      const id = Number(m[1]);
      const run = checkRuns.find((r) => r.id === id);
      const body = await readJson(req);
      const annotations = annotationsOf(body);
      if (!run || annotations.length > 50) {
        send(res, run ? 422 : 404, { message: run ? 'Validation Failed' : 'Not Found' });
        return run ? 422 : 404;
      }
      run.annotations.push(...annotations);
      send(res, 200, { id: run.id, html_url: `${htmlBase}/${REPOSITORY}/runs/${run.id}` });
      return 200;
    }
    send(res, 404, { message: 'Not Found' });
    return 404;
  };

  const server = createServer((req, res) => {
    handle(req, res).then(
      (status) => requests.push({ method: req.method ?? '', path: req.url ?? '', status }),
      (err: unknown) => {
        requests.push({ method: req.method ?? '', path: req.url ?? '', status: 500 });
        send(res, 500, { message: String(err) });
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    env: {
      GITHUB_API_URL: base,
      GITHUB_SERVER_URL: htmlBase,
      GITHUB_REPOSITORY: REPOSITORY,
    },
    comments,
    checkRuns,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
