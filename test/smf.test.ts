// smf-method and smf-dependency (docs/verify.md): the real 2011 SmartOS
// manifests and methods first, then manifests made here for what those do
// not show (a missing method, shell syntax, file:// dependencies, XML that
// is not well formed, entities, a 50 MB manifest).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execCommand } from '../src/formats/smf-exec.js';
import { parseSmfManifest, SmfXmlError } from '../src/formats/smf-manifest.js';
import { collectCheck } from '../src/verify/checks/collect.js';
import { emptySmfSummary, smfChecks } from '../src/verify/checks/smf.js';
import type { Finding } from '../src/verify/types.js';
import { overlayText, tree2011, view2011, type ViewChanges } from './helpers/boot-view.js';
import { hasSharedData } from './helpers/paths.js';

const needsData = { skip: !hasSharedData && 'no ../shared/data/smartos' };

/** The 2011 manifests whose content is not in the overlay (not here): left out of the view. */
async function withoutContent(): Promise<string[]> {
  const { entries } = await tree2011();
  return [...entries.values()]
    .filter((e) => e.type === 'f' && e.path.endsWith('.xml') && e.size === 0)
    .filter((e) => /^(lib|var)\/svc\/manifest\//.test(e.path))
    .map((e) => e.path);
}

async function run(changes: ViewChanges = {}) {
  const view = await view2011({
    ...changes,
    remove: [...(await withoutContent()), ...(changes.remove ?? [])],
  });
  const summary = emptySmfSummary();
  const results = await collectCheck(
    smfChecks({ view, summary }),
    ['smf-method', 'smf-dependency'],
    [],
  );
  const [method, dependency] = results;
  return { summary, method: method.listed, dependency: dependency.listed, results };
}
const text = (fs: Finding[]) => fs.map((f) => `${f.path} ${f.message}`);

const bundle = (body: string, doctype = '') => `<?xml version="1.0"?>
<!DOCTYPE service_bundle SYSTEM "/usr/share/lib/xml/dtd/service_bundle.dtd.1"${doctype}>
<service_bundle type='manifest' name='test'>
<service name='site/test' type='service' version='1'>
<create_default_instance enabled='true'/>
${body}
</service>
</service_bundle>
`;
const TEST_XML = 'lib/svc/manifest/site/test.xml';

test(
  'the real 2011 manifests: every method command is an executable file of the image',
  needsData,
  async () => {
    const { summary, method, dependency } = await run();
    assert.deepEqual(text(method), []);
    // 17 of the overlay's 18 are in the 2011 manifest (smartdc-beacon.xml is not).
    assert.equal(summary.manifests, 17);
    assert.equal(summary.methods, 34);
    assert.equal(summary.keywords, 13);
    assert.equal(summary.skippedCount, 0);
    // Services the real manifests define satisfy their dependents...
    const all = text(dependency).join('\n');
    for (const defined of [
      'svc:/system/filesystem/minimal ',
      'svc:/system/smartdc/init ',
      'svc:/network/physical ',
    ]) {
      assert.ok(!all.includes(defined), `${defined} is defined by a real manifest:\n${all}`);
    }
    // ...and the rest are defined by 2011 manifests whose content is not here.
    assert.match(
      all,
      /nlockmgr\.xml line 56: network\/nfs\/nlockmgr dependency status \(require_all\) needs svc:\/network\/nfs\/status \(no manifest/,
    );
  },
);

test(
  'a method that is not shipped, one that is not executable (smartos-live#245)',
  needsData,
  async () => {
    const { method } = await run({
      remove: ['lib/svc/method/ipfilter'],
      files: { 'lib/svc/method/net-physical': '#!/sbin/sh\n' },
      modes: { 'lib/svc/method/net-physical': 0o644 },
    });
    const got = text(method);
    assert.ok(
      got.includes(
        'lib/svc/manifest/network/ipfilter.xml line 89: network/ipfilter exec_method start runs /lib/svc/method/ipfilter, which is not in the image',
      ),
      got.join('\n'),
    );
    assert.ok(
      got.some((m) =>
        /network-physical\.xml line \d+: network\/physical exec_method start runs \/lib\/svc\/method\/net-physical, which is not executable \(mode 0644\)/.test(
          m,
        ),
      ),
      got.join('\n'),
    );
    const where = method.find((f) => f.path.endsWith('ipfilter.xml'))!;
    assert.match(where.file ?? '', /manifest-2011-09\.txt$/);
  },
);

test(
  "method_credential users and groups come from the image's etc/passwd and etc/group",
  needsData,
  async () => {
    const passwd = (await overlayText('etc/passwd')).replace(/^netadm:.*\n/m, '');
    const { method } = await run({ files: { 'etc/passwd': passwd } });
    const got = text(method);
    assert.ok(
      got.length >= 1 &&
        got.every((m) =>
          / method_credential: user netadm is not in etc\/passwd of the image$/.test(m),
        ),
      got.join('\n'),
    );
  },
);

test(
  'shell syntax is skipped, never guessed; keywords, %-tokens and VAR=value are read',
  needsData,
  async () => {
    const xml = bundle(`
<exec_method type='method' name='start' exec='/lib/svc/method/nope; /bin/true' timeout_seconds='60'/>
<exec_method type='method' name='stop' exec='%{config/stop}' timeout_seconds='60'/>
<exec_method type='method' name='refresh' exec='LD_NOLAZY=1 /usr/lib/nope/refresh %m %{a/b}' timeout_seconds='60'/>
<exec_method type='method' name='x' exec=':kill_process -9' timeout_seconds='60'/>`);
    const { method, summary } = await run({ files: { [TEST_XML]: xml } });
    assert.deepEqual(
      summary.skipped.map((s) => s.why),
      ['shell syntax', 'the command is made of %-tokens'],
    );
    assert.deepEqual(text(method), [
      `${TEST_XML} line 9: site/test exec_method refresh runs /usr/lib/nope/refresh, which is not in the image`,
    ]);
    assert.deepEqual(execCommand(':kill -TERM'), { kind: 'keyword', keyword: ':kill' });
    assert.deepEqual(execCommand('/bin/true'), { kind: 'command', path: '/bin/true' });
    assert.equal(execCommand('true').kind, 'skipped');
    assert.equal(execCommand('/bin/sh -c "exit 0"').kind, 'skipped');
    assert.equal(execCommand('/usr/bin/$CMD').kind, 'skipped');
  },
);

test(
  'require_all/require_any: services nothing defines, file:// paths the image lacks',
  needsData,
  async () => {
    const xml = bundle(`
<dependency name='a' grouping='require_all' restart_on='none' type='service'>
  <service_fmri value='svc:/site/nothing'/>
  <service_fmri value='svc:/system/filesystem/minimal'/>
</dependency>
<dependency name='b' grouping='require_any' restart_on='none' type='service'>
  <service_fmri value='svc:/site/nothing'/>
  <service_fmri value='svc:/system/coreadm:default'/>
</dependency>
<dependency name='c' grouping='optional_all' restart_on='none' type='service'>
  <service_fmri value='svc:/site/nothing'/>
</dependency>
<dependency name='d' grouping='require_all' restart_on='none' type='path'>
  <service_fmri value='file://localhost/etc/nothing.conf'/>
  <service_fmri value='file:///etc/passwd'/>
</dependency>
<dependency name='e' grouping='require_all' restart_on='none' type='service'>
  <service_fmri value='svc:/system/coreadm:other'/>
</dependency>`);
    const { dependency } = await run({ files: { [TEST_XML]: xml } });
    assert.deepEqual(
      text(dependency).filter((m) => m.startsWith(TEST_XML)),
      [
        `${TEST_XML} line 7: site/test dependency a (require_all) needs svc:/site/nothing (no manifest under lib/svc/manifest/ or var/svc/manifest/ defines it)`,
        `${TEST_XML} line 18: site/test dependency d (require_all) needs file://localhost/etc/nothing.conf (not in the image)`,
        `${TEST_XML} line 22: site/test dependency e (require_all) needs svc:/system/coreadm:other (its service defines no instance other)`,
      ],
    );
  },
);

test('XML that is not well formed is a finding at its path, with the line', needsData, async () => {
  const { dependency } = await run({
    files: { [TEST_XML]: bundle('<exec_method name="start" exec="/bin/true">\n</service_bundle>') },
  });
  const got = text(dependency).filter((m) => m.startsWith(TEST_XML));
  assert.equal(got.length, 1);
  assert.match(
    got[0],
    /^lib\/svc\/manifest\/site\/test\.xml not well-formed XML: line 7: [a-z][^:]*\. \(svccfg cannot import it/,
  );
});

test(
  'entities are never expanded: a billion laughs and an external entity are errors, read nothing',
  needsData,
  async () => {
    const laughs = `<!DOCTYPE service_bundle [
<!ENTITY lol "lol">
${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('\n')}
]>
<service_bundle type='manifest' name='x'><service name='site/laughs' type='service' version='1'><exec_method name='start' exec='&lol9;'/></service></service_bundle>`;
    const external = `<!DOCTYPE service_bundle [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<service_bundle type='manifest' name='x'><service name='site/xxe' type='service' version='1'><exec_method name='start' exec='/bin/&xxe;'/></service></service_bundle>`;
    const started = process.hrtime.bigint();
    for (const xml of [laughs, external]) {
      assert.throws(
        () => parseSmfManifest(Buffer.from(xml)),
        (err: unknown) => err instanceof SmfXmlError && /undefined entity/.test(err.message),
      );
    }
    const { dependency } = await run({
      files: {
        'lib/svc/manifest/site/laughs.xml': laughs,
        'lib/svc/manifest/site/xxe.xml': external,
      },
    });
    const got = text(dependency).filter((m) => m.includes('/site/'));
    assert.equal(got.length, 2, got.join('\n'));
    assert.ok(
      got.every((m) => /undefined entity/.test(m) && !m.includes('root:')),
      got.join('\n'),
    );
    // Nothing was expanded: far under a second, whatever the machine (a billion laughs would be 3 GB).
    assert.ok(process.hrtime.bigint() - started < 60_000_000_000n);
  },
);

test('a 50 MB manifest is not read: one finding', needsData, async () => {
  const big = Buffer.alloc(50 * 1024 * 1024, 0x20);
  const { dependency } = await run({ files: { [TEST_XML]: big } });
  const got = text(dependency).filter((m) => m.startsWith(TEST_XML));
  assert.deepEqual(got, [
    `${TEST_XML} 50.0 MiB, larger than 8.0 MiB: not read (such a file is a few KB): svccfg would not import its services`,
  ]);
});
