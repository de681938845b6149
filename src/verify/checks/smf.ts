/**
 * smf-method and smf-dependency: every XML manifest under lib/svc/manifest/
 * and var/svc/manifest/ of the image, read (never imported, never run)
 * (docs/verify.md):
 *
 * - smf-method: an exec_method whose command is an absolute path that is
 *   not an executable regular file of the image (following its links); a
 *   method_credential user or group that etc/passwd or etc/group of the
 *   image does not define;
 * - smf-dependency: a require_all/require_any dependency on a service (or
 *   instance) that no manifest of the image defines, or on a file:// path
 *   the image does not have (require_any: when none of its FMRIs is
 *   there); a manifest that is not well-formed XML, or too large to be
 *   one (svccfg could not import it: its services do not exist).
 */
import { parseSmfManifest, SmfXmlError, type SmfManifest } from '../../formats/smf-manifest.js';
import { execCommand } from '../../formats/smf-exec.js';
import { formatMode } from '../../formats/manifest-line.js';
import { IdentityTable } from '../../image/identity.js';
import { compareBytes } from '../../manifest/path.js';
import type { Finding, SmfSummary } from '../types.js';
import { imageFinding, type ImageView } from '../image-view.js';
import { readImageText, regularFile, yieldToLoop } from './boot-image.js';

export const MANIFEST_DIRS = ['lib/svc/manifest/', 'var/svc/manifest/'] as const;
/** The most a manifest may have to be read (a real one is a few KB to ~100 KB). */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
const MAX_SKIPPED = 1000;

interface Read {
  path: string;
  manifest: SmfManifest;
}

export interface SmfInput {
  view: ImageView;
  /** Filled with what the checks read beyond their findings (the JSON report's `smf`). */
  summary: SmfSummary;
}

/** The image's manifests, by path in byte order (a link to one counted once). */
function manifestPaths(view: ImageView): string[] {
  const paths = new Set<string>();
  for (const path of view.entries.keys()) {
    if (!path.endsWith('.xml') || !MANIFEST_DIRS.some((d) => path.startsWith(d))) continue;
    const real = regularFile(view, path);
    if (real !== undefined) paths.add(real.path);
  }
  return [...paths].sort(compareBytes);
}

async function readManifests(view: ImageView, bad: Finding[]): Promise<Read[]> {
  const out: Read[] = [];
  for (const path of manifestPaths(view)) {
    await yieldToLoop();
    const read = await readImageText(view, path, MAX_MANIFEST_BYTES);
    if (read.kind === 'absent') continue;
    let problem: string | undefined;
    if (read.kind === 'too-large') {
      problem = `${read.message}: svccfg would not import its services`;
    } else {
      try {
        out.push({ path, manifest: parseSmfManifest(read.bytes) });
      } catch (err) {
        if (!(err instanceof SmfXmlError)) throw err;
        problem = `not well-formed XML: ${err.message} (svccfg cannot import it: the services it defines do not exist)`;
      }
    }
    if (problem !== undefined) bad.push(imageFinding(view, 'smf-dependency', path, problem));
  }
  return out;
}

async function identities(view: ImageView, kind: 'user' | 'group') {
  const path = kind === 'user' ? 'etc/passwd' : 'etc/group';
  const read = await readImageText(view, path, MAX_MANIFEST_BYTES);
  return IdentityTable.fromText(kind, read.kind === 'text' ? read.text : '');
}

export async function* smfChecks(input: SmfInput): AsyncGenerator<Finding, number> {
  const { view, summary } = input;
  const bad: Finding[] = [];
  const manifests = await readManifests(view, bad);
  yield* bad;
  const defined = new Map<string, Set<string>>();
  for (const { manifest } of manifests) {
    for (const s of manifest.services) {
      const instances = defined.get(s.name) ?? new Set<string>();
      for (const i of s.instances) instances.add(i);
      defined.set(s.name, instances);
    }
  }
  const users = await identities(view, 'user');
  const groups = await identities(view, 'group');
  summary.manifests = manifests.length;
  summary.services = defined.size;
  // A service a manifest that could not be read defines looks undefined: said so.
  const unread = bad.length > 0 ? `; ${bad.length} manifest(s) of the image could not be read` : '';
  for (const read of manifests) {
    yield* methods(view, read, summary);
    yield* credentials(view, read, users, groups);
    yield* dependencies(view, read, defined, unread);
  }
  return manifests.length;
}

/** A finding at a line of a service manifest, about the service defined there. */
function serviceFinding(
  view: ImageView,
  kind: 'smf-method' | 'smf-dependency',
  read: Read,
  at: { line: number; service: string },
  message: string,
): Finding {
  return imageFinding(view, kind, read.path, `line ${at.line}: ${at.service} ${message}`);
}

function* methods(view: ImageView, read: Read, summary: SmfSummary): Generator<Finding> {
  for (const m of read.manifest.methods) {
    const command = execCommand(m.exec);
    if (command.kind === 'keyword') summary.keywords++;
    if (command.kind === 'skipped') {
      if (summary.skippedCount++ < MAX_SKIPPED)
        summary.skipped.push({ path: read.path, line: m.line, exec: m.exec, why: command.why });
    }
    if (command.kind !== 'command') continue;
    summary.methods++;
    const problem = notExecutable(view, command.path);
    if (problem === undefined) continue;
    const message = `exec_method ${m.name} runs ${command.path}, which ${problem}`;
    yield serviceFinding(view, 'smf-method', read, m, message);
  }
}

/** Why `path` is not an executable regular file of the image, or undefined when it is. */
function notExecutable(view: ImageView, path: string): string | undefined {
  const found = view.resolve(path);
  if (found.kind === 'loop') return `is a symlink loop (at /${found.at})`;
  if (found.kind !== 'found') {
    const via = found.at === path.replace(/^\/+/, '') ? '' : ` (looked up as /${found.at})`;
    return `is not in the image${via}`;
  }
  const { entry } = found;
  if (entry.type !== 'f') return `is a ${entry.type === 'd' ? 'directory' : 'symlink'}`;
  if (entry.mode !== undefined && (entry.mode & 0o111) === 0)
    return `is not executable (mode ${formatMode(entry.mode)})`;
  return undefined;
}

function* credentials(
  view: ImageView,
  read: Read,
  users: IdentityTable,
  groups: IdentityTable,
): Generator<Finding> {
  const numeric = (name: string) => /^\d+$/.test(name);
  for (const c of read.manifest.credentials) {
    const missing = [
      c.user && !numeric(c.user) && users.idOf(c.user) === undefined
        ? `user ${c.user} is not in etc/passwd`
        : '',
      c.group && c.group !== ':default' && !numeric(c.group) && groups.idOf(c.group) === undefined
        ? `group ${c.group} is not in etc/group`
        : '',
    ].filter(Boolean);
    if (missing.length === 0) continue;
    const message = `method_credential: ${missing.join(' and ')} of the image`;
    yield serviceFinding(view, 'smf-method', read, c, message);
  }
}

/** A service FMRI's service and instance (`svc:/network/physical:default`). */
function parseFmri(fmri: string): { service: string; instance?: string } | undefined {
  const m = /^svc:(?:\/\/[^/]*)?\/+([^:]+)(?::([^:]+))?$/.exec(fmri.trim());
  return m ? { service: m[1], instance: m[2] } : undefined;
}

/** A file:// FMRI's path (`file://localhost/etc/x`, `file:///etc/x`). */
const fileOf = (fmri: string) => /^file:\/\/(?:localhost)?(\/.*)$/.exec(fmri.trim())?.[1];

function* dependencies(
  view: ImageView,
  read: Read,
  defined: ReadonlyMap<string, ReadonlySet<string>>,
  unread: string,
): Generator<Finding> {
  for (const d of read.manifest.dependencies) {
    if (d.grouping !== 'require_all' && d.grouping !== 'require_any') continue;
    const missing: string[] = [];
    for (const fmri of d.fmris) {
      const why = unresolved(view, fmri, defined);
      if (why !== undefined) missing.push(`${fmri} (${why})`);
    }
    if (missing.length === 0) continue;
    if (d.grouping === 'require_any' && missing.length < d.fmris.length) continue;
    const message = `dependency ${d.name} (${d.grouping}) needs ${missing.join(', ')}${unread}`;
    yield serviceFinding(view, 'smf-dependency', read, d, message);
  }
}

function unresolved(
  view: ImageView,
  fmri: string,
  defined: ReadonlyMap<string, ReadonlySet<string>>,
): string | undefined {
  const file = fileOf(fmri);
  if (file !== undefined) {
    return view.resolve(file).kind === 'found' ? undefined : 'not in the image';
  }
  const svc = parseFmri(fmri);
  if (!svc) return fmri.startsWith('file:') ? 'not a file FMRI read here' : undefined;
  const instances = defined.get(svc.service);
  if (!instances) return `no manifest under ${MANIFEST_DIRS.join(' or ')} defines it`;
  if (svc.instance !== undefined && !instances.has(svc.instance))
    return `its service defines no instance ${svc.instance}`;
  return undefined;
}

/** A summary with nothing read yet. */
export function emptySmfSummary(): SmfSummary {
  return { manifests: 0, services: 0, methods: 0, keywords: 0, skippedCount: 0, skipped: [] };
}
