/**
 * Which proxy a download goes through (docs/setup-host.md, "Proxies"): the
 * rules of the HTTP client GitHub's runner and the actions toolkit use, so
 * one runner configuration serves both. `https_proxy`/`HTTPS_PROXY` for
 * https URLs, `http_proxy`/`HTTP_PROXY` for http (lower case first);
 * `no_proxy`/`NO_PROXY` is a comma-separated list of hosts (`example.com`
 * also covers its subdomains, `.example.com` only them, `host:port` one
 * port, `*` everything); loopback hosts never go through a proxy.
 */
import { UserError } from './errors.js';

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443 };

function isLoopback(host: string): boolean {
  const lower = host.toLowerCase();
  return (
    lower === 'localhost' ||
    lower.startsWith('127.') ||
    lower === '[::1]' ||
    lower === '[0:0:0:0:0:0:0:1]'
  );
}

/** True when `no_proxy` (or loopback) says the URL goes direct. */
export function bypassesProxy(url: URL, env: Env): boolean {
  if (!url.hostname || isLoopback(url.hostname)) return true;
  const list = env.no_proxy || env.NO_PROXY || '';
  const host = url.hostname.toUpperCase();
  const hosts = [host, `${host}:${url.port || DEFAULT_PORT[url.protocol] || ''}`];
  return list
    .split(',')
    .map((item) => item.trim().toUpperCase())
    .filter((item) => item !== '')
    .some(
      (item) =>
        item === '*' ||
        hosts.some(
          (h) => h === item || h.endsWith(`.${item}`) || (item.startsWith('.') && h.endsWith(item)),
        ),
    );
}

/**
 * The proxy for `url`, or undefined to go direct. A proxy variable that is
 * not a URL (nor `host:port`) is an error naming the variable.
 */
export function proxyFor(url: URL, env: Env = process.env): URL | undefined {
  if (bypassesProxy(url, env)) return undefined;
  const names =
    url.protocol === 'https:' ? ['https_proxy', 'HTTPS_PROXY'] : ['http_proxy', 'HTTP_PROXY'];
  const name = names.find((n) => env[n]);
  if (!name) return undefined;
  const text = env[name] ?? '';
  const candidates = text.includes('://') ? [text] : [text, `http://${text}`];
  for (const candidate of candidates) {
    try {
      const proxy = new URL(candidate);
      if (proxy.protocol === 'http:' || proxy.protocol === 'https:') return proxy;
    } catch {
      // try the next form
    }
  }
  throw new UserError(`${name} ${JSON.stringify(text)} is not an http or https proxy URL`);
}
