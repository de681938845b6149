/**
 * The real SmartOS manifests of ../shared/data/smartos (see its README):
 * they must load as users feed them, and the 2011 one must build end to end
 * against synthesized sources that use every source tag (docs/).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildLive, type BuildLiveResult } from '../src/live/build-live.js';
import { loadManifests } from '../src/manifest/load.js';
import { parseManifestFile } from '../src/formats/manifest-line.js';
import { compareBytes, parentPath } from '../src/manifest/path.js';
import { formatDiagnostic, type Diagnostic, type ManifestEntry } from '../src/manifest/types.js';
import { which } from '../src/util/which.js';
import { hasSharedData, SMARTOS_DATA } from './helpers/paths.js';
import { synthesizeSources, type SynthSources, type SynthTag } from './helpers/synth-proto.js';

const M2011 = join(SMARTOS_DATA, 'manifest-2011-09.txt');
const M2010 = join(SMARTOS_DATA, 'manifest-2010-10.txt');
const EXTRA = join(SMARTOS_DATA, 'illumos-extra.manifest');
const LIVE_SRC = join(SMARTOS_DATA, 'smartos-live-src.manifest');
const LIVE_MAN = join(SMARTOS_DATA, 'smartos-live-man.manifest');
const OVERLAY_ETC = join(SMARTOS_DATA, 'overlay-2011-09', 'etc');

const BUILDSTAMP = '20111209T201508Z';
const SOURCE_DATE_EPOCH = '1323461708';
const SYNTH_BYTES = 8_000_000;
const TAGS: readonly SynthTag[] = ['A', 'P', 'M', 'S'];

const skip = hasSharedData
  ? false
  : `no real SmartOS data at ${SMARTOS_DATA} (put ../shared beside the checkout or set JOYENT_LIVE_SHARED)`;

function countTypes(entries: Iterable<ManifestEntry>): Record<string, number> {
  const counts: Record<string, number> = { d: 0, f: 0, s: 0, h: 0 };
  for (const e of entries) counts[e.type]++;
  return counts;
}

const errorsOf = (loaded: { diagnostics: Diagnostic[] }) =>
  loaded.diagnostics.filter((d) => d.severity === 'error');

/** Names defined by an etc/passwd or etc/group file (first field). */
async function namesIn(file: string): Promise<Set<string>> {
  const text = await readFile(file, 'utf8');
  return new Set(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':')[0]),
  );
}

const run = promisify(execFile);

const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

/** The file entry a symlink's relative link text leads to, inside the image. */
function resolveInImage(link: ManifestEntry, entries: ReadonlyMap<string, ManifestEntry>) {
  const seen = new Set<string>();
  let entry = link;
  while (entry.type === 's' || entry.type === 'h') {
    assert.ok(!seen.has(entry.path), `link loop at ${entry.path}`);
    seen.add(entry.path);
    let next = entry.target;
    if (entry.type === 's') {
      assert.ok(!entry.target.startsWith('/'), `${entry.path}: absolute link text`);
      const parts = (parentPath(entry.path) ?? '').split('/').filter(Boolean);
      for (const part of entry.target.split('/')) {
        if (part === '..') parts.pop();
        else if (part !== '.' && part !== '') parts.push(part);
      }
      next = parts.join('/');
    }
    const found = entries.get(next);
    assert.ok(found, `${entry.path} -> ${next}: not in the image`);
    entry = found;
  }
  assert.equal(entry.type, 'f', `${link.path} resolves to ${entry.path}, not a file`);
  return entry;
}

describe('real SmartOS manifests', { skip }, () => {
  test('manifest-2011-09.txt: every line parses, with the README counts and the oddities', async () => {
    const parsed = await parseManifestFile(M2011, new Map());
    assert.deepEqual(parsed.diagnostics.map(formatDiagnostic), []);
    const loaded = await loadManifests([M2011], new Map());
    assert.deepEqual(countTypes(loaded.entries.values()), { d: 1299, f: 15799, s: 1394, h: 364 });
    assert.equal(loaded.entries.size, parsed.entries.length, 'no path is defined twice');

    assert.deepEqual(loaded.entries.get('admin'), {
      type: 'd',
      path: 'admin',
      mode: 0o755,
      owner: 'admin',
      group: 'staff',
      file: M2011,
      line: 1,
    });
    const libexec = loaded.entries.get('usr/libexec');
    assert.equal(libexec?.type, 'd');
    assert.equal(libexec.mode, 0o7555);
    assert.equal(libexec.line, 8077);
    const startd = loaded.entries.get('usr/share/man/man1m/svc.startd.1m');
    assert.equal(startd?.type, 'f');
    assert.equal(startd.mode, 0o44);
    assert.equal(startd.line, 12608);
  });

  test('manifest-2011-09.txt loads with zero errors (hard links to symlinks included)', async () => {
    const loaded = await loadManifests([M2011], new Map());
    assert.deepEqual(errorsOf(loaded).map(formatDiagnostic), []);
    const mount = loaded.entries.get('lib/fs/zfs/mount');
    assert.equal(mount?.type, 'h');
    assert.equal(loaded.entries.get(mount.target)?.type, 's');
  });

  test('manifest-2010-10.txt loads without errors, with the README counts', async () => {
    const loaded = await loadManifests([M2010], new Map());
    assert.deepEqual(errorsOf(loaded).map(formatDiagnostic), []);
    assert.deepEqual(countTypes(loaded.entries.values()), { d: 990, f: 15216, s: 1712, h: 4 });
  });

  test('illumos-extra.manifest without --define fails at line 102 naming $LIBSTDCXXVER', async () => {
    const loaded = await loadManifests([EXTRA], new Map());
    const errors = errorsOf(loaded).map(formatDiagnostic);
    assert.ok(errors.length > 0);
    assert.ok(
      errors.some((e) => e.includes('illumos-extra.manifest:102:') && e.includes('$LIBSTDCXXVER')),
      errors.join('\n'),
    );
    // Every error is about the variable, each naming its own line.
    for (const e of errors) assert.match(e, /illumos-extra\.manifest:\d+: error: .*\$LIBSTDCXXVER/);
  });

  test('illumos-extra.manifest with LIBSTDCXXVER=6.0.28 loads; identical repeated d lines are silent', async () => {
    const loaded = await loadManifests([EXTRA], new Map([['LIBSTDCXXVER', '6.0.28']]));
    assert.deepEqual(errorsOf(loaded).map(formatDiagnostic), []);
    const lib = loaded.entries.get('usr/lib/amd64/libstdc++.so.6.0.28');
    assert.equal(lib?.type, 'f');
    assert.equal(lib.line, 102);
    const so = loaded.entries.get('usr/lib/amd64/libstdc++.so.6');
    assert.equal(so?.type, 's');
    assert.equal(so.target, 'libstdc++.so.6.0.28');

    // The repeated `d` lines, read straight from the file.
    const lines = (await readFile(EXTRA, 'utf8')).split('\n');
    const dirs = new Map<string, { line: number; rest: string }[]>();
    lines.forEach((text, i) => {
      const fields = text.trim().split(/[ \t]+/);
      if (fields[0] !== 'd') return;
      const seen = dirs.get(fields[1]) ?? [];
      seen.push({ line: i + 1, rest: fields.slice(2).join(' ') });
      dirs.set(fields[1], seen);
    });
    const repeated = [...dirs].filter(([, defs]) => defs.length > 1);
    const identical = repeated.filter(([, defs]) => defs.every((d) => d.rest === defs[0].rest));
    const differing = repeated.filter(([, defs]) => defs.some((d) => d.rest !== defs[0].rest));
    assert.ok(identical.length >= 5, `identical repeats: ${identical.length}`);

    const warnings = loaded.diagnostics
      .filter((d) => d.severity === 'warning')
      .map(formatDiagnostic);
    for (const [path] of identical) {
      assert.deepEqual(
        warnings.filter((w) => w.includes(` ${path} `)),
        [],
        `${path} is repeated identically`,
      );
    }
    // A repeat that differs (lib/svc/manifest/network: root sys, then root bin) warns once.
    for (const [path, defs] of differing) {
      const about = warnings.filter((w) => w.includes(`: ${path} redefined`));
      assert.equal(about.length, defs.length - 1, `${path}: ${warnings.join('\n')}`);
      for (const d of defs.slice(1)) {
        assert.ok(about.some((w) => w.includes(`illumos-extra.manifest:${d.line}:`)));
      }
    }
    assert.equal(warnings.length, differing.length, warnings.join('\n'));
  });

  test('smartos-live-src.manifest and smartos-live-man.manifest load together without errors', async () => {
    const loaded = await loadManifests([LIVE_SRC, LIVE_MAN], new Map());
    assert.deepEqual(errorsOf(loaded).map(formatDiagnostic), []);
    assert.ok(loaded.entries.size > 1000);
    assert.ok([...loaded.entries.values()].some((e) => e.file === LIVE_MAN));
    // `d usr/vm/node_modules/macaddr/` and the like: the slash goes, with a warning.
    const lines = (await readFile(LIVE_SRC, 'utf8')).split('\n');
    const slashed = lines.flatMap((text, i) => (/^d \S+\/\s/.test(text) ? [i + 1] : []));
    assert.ok(slashed.includes(515));
    const warnings = loaded.diagnostics
      .filter((d) => d.severity === 'warning')
      .map(formatDiagnostic);
    for (const line of slashed) {
      const path = lines[line - 1].split(/\s+/)[1].slice(0, -1);
      assert.equal(loaded.entries.get(path)?.type, 'd', path);
      assert.ok(
        warnings.some((w) => w.includes(`smartos-live-src.manifest:${line}:`)),
        `no warning names smartos-live-src.manifest:${line}`,
      );
    }
  });

  describe('a full build of manifest-2011-09.txt from synthesized sources', () => {
    let tmp: string;
    let synth: SynthSources;
    let xorriso: string | undefined;
    let noneManifest: Buffer | undefined;

    before(async () => {
      tmp = await mkdtemp(join(tmpdir(), 'joyent-live-smartos-'));
      synth = await synthesizeSources({
        manifest: M2011,
        dir: join(tmp, 'sources'),
        totalBytes: SYNTH_BYTES,
        seed: 2011,
      });
      xorriso = await which('xorriso');
    });
    after(async () => {
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    const build = (name: string, archive: 'none' | 'hsfs') =>
      buildLive({
        manifests: [M2011],
        overlays: [synth.overlay],
        proto: synth.proto,
        manDir: synth.manDir,
        systemRoot: synth.systemRoot,
        output: join(tmp, name, 'output'),
        logDir: join(tmp, name, 'log'),
        buildstamp: BUILDSTAMP,
        sourceDateEpoch: SOURCE_DATE_EPOCH,
        archive,
      });

    /** Everything docs/ says about a clean build of the 2011 manifest. */
    async function checkBuild(result: BuildLiveResult) {
      const loaded = await loadManifests([M2011], new Map());
      assert.deepEqual(errorsOf(loaded).map(formatDiagnostic), []);
      const entries = [...loaded.entries.values()];
      const fileCount = entries.filter((e) => e.type === 'f').length;

      // Counts: every file found, every tag used, as many per tag as synthesized.
      const c = result.counts;
      assert.equal(result.exitCode, 0, result.failed.map((f) => f.path).join(', '));
      assert.equal(c.failed, 0);
      assert.deepEqual(result.failed, []);
      for (const tag of TAGS) assert.ok(c[tag] > 0, `counts.${tag} = ${c[tag]}`);
      assert.equal(c.A + c.P + c.M + c.S, fileCount - c.failed);
      assert.equal(fileCount, 15799);
      const perTag = { A: 0, P: 0, M: 0, S: 0 };
      for (const { tag } of synth.sources.values()) perTag[tag]++;
      assert.deepEqual({ A: c.A, P: c.P, M: c.M, S: c.S }, perTag);
      assert.equal(c.files, fileCount);
      assert.equal(c.dirs, entries.filter((e) => e.type === 'd').length);
      assert.equal(c.symlinks, entries.filter((e) => e.type === 's').length);
      assert.equal(c.hardlinks, entries.filter((e) => e.type === 'h').length);
      assert.equal(c.bytes, synth.bytes);

      // Owners resolve against the image's own etc/passwd and etc/group.
      const users = await namesIn(join(OVERLAY_ETC, 'passwd'));
      const groups = await namesIn(join(OVERLAY_ETC, 'group'));
      const unknown = entries.filter(
        (e) => (e.type === 'd' || e.type === 'f') && (!users.has(e.owner) || !groups.has(e.group)),
      );
      const admin = entries.filter(
        (e) => (e.type === 'd' || e.type === 'f') && e.owner === 'admin',
      );
      assert.ok(admin.length > 0);
      assert.deepEqual(unknown, admin, 'only the admin entries have owners the image lacks');
      assert.equal(c.unknownOwners, admin.length);
      const log = await readFile(result.log, 'utf8');
      for (const e of admin) {
        const where = `manifest-2011-09.txt:${e.line}: `;
        const warning = result.warnings.find((w) => w.includes(where) && w.includes('"admin"'));
        assert.ok(warning, `no unknown-owner warning naming ${where}`);
        assert.ok(log.includes(warning), `the log lacks: ${warning}`);
      }

      // The log (docs/build-log.md): one line per entry, every tag, nothing FAILED.
      const entryLines = log.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      for (const line of entryLines) {
        assert.match(line, /^OK(\[[APMS]\])? - (DIR|FILE|SYMLINK|LINK): /, line);
      }
      for (const tag of TAGS) {
        const tagged = entryLines.filter((l) => l.startsWith(`OK[${tag}] - FILE: `));
        assert.equal(tagged.length, c[tag], `OK[${tag}] lines`);
      }
      const parents = new Set<string>();
      for (const e of entries) {
        for (let p = parentPath(e.path); p && !loaded.entries.has(p); p = parentPath(p)) {
          parents.add(p);
        }
      }
      assert.equal(entryLines.length, entries.length + parents.size);
      const jsonl = (await readFile(result.jsonl, 'utf8')).split('\n').filter(Boolean);
      assert.equal(jsonl.length, entryLines.length);

      // boot_archive.manifest (docs/boot-archive-manifest.md): one line per image entry, byte order.
      const text = await readFile(result.bootManifest, 'utf8');
      assert.ok(text.endsWith('\n'));
      const lines = text.slice(0, -1).split('\n');
      const expected = new Set<string>([...loaded.entries.keys(), ...parents]);
      for (const extra of ['etc/joyent_buildstamp', 'var/log/manifest']) {
        for (let p = parentPath(extra); p; p = parentPath(p)) expected.add(p);
      }
      expected.add('etc/joyent_buildstamp');
      const byPath = new Map<string, string[]>();
      let previous: string | undefined;
      for (const line of lines) {
        assert.equal(line, line.trimEnd(), 'no trailing blanks');
        const m = /^([dfs]) (\.(?:\/[^ =]+)?)[ =]/.exec(line);
        assert.ok(m, `malformed line: ${line}`);
        const path = m[2] === '.' ? '.' : m[2].slice(2);
        if (previous !== undefined) {
          assert.ok(
            Buffer.compare(Buffer.from(previous), Buffer.from(path)) < 0,
            `${previous} before ${path}`,
          );
        }
        previous = path;
        byPath.set(path, line.split(' '));
      }
      assert.equal(lines[0], 'd . 0755 root root');
      assert.equal(lines.length, expected.size + 1);
      assert.deepEqual(
        [...byPath.keys()].slice(1),
        [...expected].sort(compareBytes),
        'the image is the manifest plus implicit parents, the buildstamp and var/log',
      );
      assert.ok(!byPath.has('var/log/manifest'), 'the copy does not list itself');

      assert.deepEqual(byPath.get('admin'), ['d', './admin', '0755', 'root', 'staff']);
      assert.deepEqual(byPath.get('usr/libexec'), ['d', './usr/libexec', '7555', 'root', 'bin']);
      const startd = 'usr/share/man/man1m/svc.startd.1m';
      const startdSource = synth.sources.get(startd);
      assert.equal(startdSource?.tag, 'M');
      assert.deepEqual(byPath.get(startd), [
        'f',
        `./${startd}`,
        '0044',
        'root',
        'bin',
        md5(await readFile(startdSource.file)),
      ]);
      assert.equal(byPath.get('etc/joyent_buildstamp')?.[5], md5(`${BUILDSTAMP}\n`));

      // md5 of f lines against the synthesized sources: all A, M, S files, every 7th P file.
      let sampled = 0;
      let p = 0;
      for (const [path, source] of synth.sources) {
        if (source.tag === 'P' && p++ % 7 !== 0) continue;
        const fields = byPath.get(path);
        assert.equal(fields?.[0], 'f', path);
        assert.equal(fields[5], md5(await readFile(source.file)), path);
        sampled++;
      }
      assert.ok(sampled > 5000);
      // Hard links are f lines with the md5 of the file they share. (A link
      // to a symlink, as at manifest-2011-09.txt:1309, may be either that
      // symlink again or the file it resolves to inside the image.)
      for (const e of entries) {
        if (e.type !== 'h') continue;
        let target = loaded.entries.get(e.target)!;
        while (target.type === 'h') target = loaded.entries.get(target.target)!;
        const fields = byPath.get(e.path);
        if (target.type === 's' && fields?.[0] === 's') {
          assert.equal(fields[1], `./${e.path}=${target.target}`);
          continue;
        }
        const file = target.type === 's' ? resolveInImage(target, loaded.entries) : target;
        assert.equal(fields?.[0], 'f', e.path);
        assert.equal(fields[5], byPath.get(file.path)?.[5], e.path);
      }
    }

    test('archive none', async () => {
      const result = await build('none', 'none');
      await checkBuild(result);
      assert.equal(result.archive, 'none');
      assert.equal(result.tgz, undefined);
      assert.ok((await stat(join(result.imageDir!, 'etc', 'passwd'))).isFile());
      noneManifest = await readFile(result.bootManifest);
    });

    test('archive hsfs (when xorriso is on PATH)', async (t) => {
      if (!xorriso) {
        t.skip('no xorriso on PATH');
        return;
      }
      const result = await build('hsfs', 'hsfs');
      await checkBuild(result);
      assert.equal(result.archive, 'hsfs');
      const archive = await readFile(result.bootArchive!);
      assert.ok(archive.length > SYNTH_BYTES);
      const sha1 = createHash('sha1').update(archive).digest('hex');
      assert.equal(result.bootArchiveHash, sha1);
      assert.equal(
        await readFile(join(result.platformDir, 'i86pc', 'amd64', 'boot_archive.hash'), 'utf8'),
        `${sha1}\n`,
      );
      assert.ok((await stat(result.tgz!)).size > 0);
      // Modes, owners and links in the image come from the manifest.
      const { stdout } = await run(xorriso, [
        '-indev',
        result.bootArchive!,
        '-lsdl',
        '/admin',
        '/usr/libexec',
        '/usr/share/man/man1m/svc.startd.1m',
        '/lib/fs/zfs/mount',
        '--',
      ]);
      const listed = stdout.split('\n').map((l) => l.trim().split(/\s+/));
      const node = (path: string) => listed.find((f) => f[8] === `'${path}'`);
      assert.deepEqual(node('/admin')?.slice(0, 4), ['drwxr-xr-x', '1', '0', '10'], stdout);
      assert.deepEqual(node('/usr/libexec')?.slice(0, 4), ['dr-sr-sr-t', '1', '0', '2'], stdout);
      assert.deepEqual(
        node('/usr/share/man/man1m/svc.startd.1m')?.slice(0, 4),
        ['----r--r--', '1', '0', '2'],
        stdout,
      );
      assert.deepEqual(node('/lib/fs/zfs/mount')?.slice(9), ['->', "'../../../sbin/zfs'"], stdout);
      if (noneManifest) {
        assert.deepEqual(await readFile(result.bootManifest), noneManifest, 'same as with none');
      }
    });
  });
});
