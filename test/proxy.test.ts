/**
 * Downloads honour HTTPS_PROXY / HTTP_PROXY / NO_PROXY (docs/setup-host.md,
 * "Proxies"), with the rules of the toolkit's HTTP client: the man pages
 * tarball fetched through a loopback CONNECT proxy, a proxy that refuses the
 * connection or the tunnel named in one clear message.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fetchManPages } from '../src/host/man-pages.js';
import { UserError } from '../src/util/errors.js';
import { bypassesProxy, proxyFor } from '../src/util/proxy.js';
import { makeManTarball, serveFiles } from './helpers/illumos-host.js';

test('proxyFor: the scheme picks the variable, lower case first, NO_PROXY as the toolkit reads it', () => {
  const env = {
    https_proxy: 'http://lower:3128',
    HTTPS_PROXY: 'http://upper:3128',
    HTTP_PROXY: 'proxy.internal:8080',
    NO_PROXY: 'example.com, .internal.test ,git.example.org:8443',
  };
  assert.equal(proxyFor(new URL('https://mirror.test/m.tgz'), env)?.href, 'http://lower:3128/');
  assert.equal(
    proxyFor(new URL('http://mirror.test/m.tgz'), env)?.href,
    'http://proxy.internal:8080/',
  );
  // example.com covers itself and its subdomains; .internal.test only subdomains.
  assert.equal(proxyFor(new URL('https://example.com/m.tgz'), env), undefined);
  assert.equal(proxyFor(new URL('https://dl.example.com/m.tgz'), env), undefined);
  assert.notEqual(proxyFor(new URL('https://notexample.com/m.tgz'), env), undefined);
  assert.equal(proxyFor(new URL('https://a.internal.test/m.tgz'), env), undefined);
  // host:port covers that port only.
  assert.equal(proxyFor(new URL('https://git.example.org:8443/m.tgz'), env), undefined);
  assert.notEqual(proxyFor(new URL('https://git.example.org/m.tgz'), env), undefined);
  // Loopback never goes through a proxy; `*` sends everything direct.
  assert.equal(proxyFor(new URL('http://127.0.0.1:9/m.tgz'), env), undefined);
  assert.equal(proxyFor(new URL('http://localhost:9/m.tgz'), env), undefined);
  assert.equal(bypassesProxy(new URL('https://anything.test/'), { no_proxy: '*' }), true);
  assert.equal(proxyFor(new URL('https://mirror.test/'), {}), undefined);
  assert.throws(
    () => proxyFor(new URL('https://mirror.test/'), { HTTPS_PROXY: 'ftp://proxy:21' }),
    (err: unknown) =>
      err instanceof UserError &&
      err.message === 'HTTPS_PROXY "ftp://proxy:21" is not an http or https proxy URL',
  );
});

interface Proxy {
  url: string;
  /** The host:port of every CONNECT it was asked for. */
  tunnels: string[];
}

/**
 * A loopback forward proxy: CONNECT host:port opens a tunnel to
 * 127.0.0.1:port whatever the host (so test host names need no DNS), or
 * answers `refuse` when given.
 */
async function startProxy(t: TestContext, refuse?: number): Promise<Proxy> {
  const tunnels: string[] = [];
  const server: Server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, socket, head) => {
    const authority = req.url ?? '';
    tunnels.push(authority);
    if (refuse) {
      socket.end(`HTTP/1.1 ${refuse} Forbidden\r\n\r\n`);
      return;
    }
    const port = Number(authority.slice(authority.lastIndexOf(':') + 1));
    const upstream = connect(port, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tunnels };
}

async function scratch(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jl-proxy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('man pages: fetched through HTTP_PROXY by a name only the proxy can reach', async (t) => {
  const dir = await scratch(t);
  const man = await makeManTarball(dir);
  const origin = new URL(await serveFiles(t, { 'man.tgz': man.file }));
  const proxy = await startProxy(t);
  const url = `http://man-pages.example:${origin.port}/man.tgz`;
  const manDir = join(dir, 'man');
  const got = await fetchManPages({
    url,
    sha256: man.sha256,
    manDir,
    env: { HTTP_PROXY: proxy.url },
  });
  assert.equal(got.sha256, man.sha256);
  assert.deepEqual(proxy.tunnels, [`man-pages.example:${origin.port}`]);
  assert.deepEqual((await readdir(manDir)).sort(), ['man1', 'man8']);
});

test('man pages: a proxy that refuses the connection or the tunnel is one clear message', async (t) => {
  const dir = await scratch(t);
  // A port that was just free: nothing listens there.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  await assert.rejects(
    fetchManPages({
      url: 'https://man-pages.example/man.tgz',
      sha256: '0'.repeat(64),
      manDir: join(dir, 'man'),
      env: { HTTPS_PROXY: `http://127.0.0.1:${deadPort}` },
    }),
    (err: unknown) =>
      err instanceof UserError &&
      err.message.startsWith(
        `cannot download https://man-pages.example/man.tgz through the proxy http://127.0.0.1:${deadPort}/: `,
      ) &&
      /ECONNREFUSED/.test(err.message) &&
      !/\n\s+at /.test(err.message),
  );
  const refusing = await startProxy(t, 403);
  await assert.rejects(
    fetchManPages({
      url: 'https://man-pages.example/man.tgz',
      sha256: '0'.repeat(64),
      manDir: join(dir, 'man'),
      env: { https_proxy: refusing.url },
    }),
    (err: unknown) =>
      err instanceof UserError &&
      err.message.startsWith(
        `cannot download https://man-pages.example/man.tgz through the proxy ${refusing.url}/: `,
      ) &&
      /403/.test(err.message),
  );
  assert.deepEqual(refusing.tunnels, ['man-pages.example:443']);
  assert.deepEqual(await readdir(dir), []);
});
