/**
 * The one glob matcher (src/util/glob.ts, docs/verify.md "Globs"): what it
 * matches, what it refuses, and that a glob from a pull request can never
 * make the gate hang (the old matcher turned `*(a|aa)*(a|aa)b` into a
 * backtracking regular expression: 32 s for a name of 36 `a`).
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { inputNames, cliNames } from '../src/options/names.js';
import { parseVerifyOptions, type VerifyOption } from '../src/options/verify-manifest.js';
import { compileGlob, GlobError, MAX_ALTERNATIVES } from '../src/util/glob.js';
import { type CliRun, fileIn, runCaptured, scratchDir } from './helpers/cli.js';
import { CLI } from './helpers/paths.js';

const show = (r: CliRun) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** The CLI, killed if it runs past `seconds` (the old matcher never ended). */
const runBounded = (args: string[], seconds = 60) =>
  runCaptured(process.execPath, [CLI, ...args], {
    timeout: seconds * 1000,
    killSignal: 'SIGKILL',
    env: { ...process.env, SOURCE_DATE_EPOCH: '1323461708' },
  });

test('globs match as documented', () => {
  const cases: [string, string, boolean][] = [
    ['usr/lib/*.a', 'usr/lib/libc.a', true],
    ['usr/lib/*.a', 'usr/lib/amd64/libc.a', false],
    ['usr/include/**', 'usr/include', true],
    ['usr/include/**', 'usr/include/sys/types.h', true],
    ['usr/include/**', 'usr/includes', false],
    ['**/*.h', 'a.h', true],
    ['**/*.h', 'usr/include/sys/types.h', true],
    ['usr/**/lint', 'usr/lint', true],
    ['usr/**/lint', 'usr/lib/x/lint', true],
    ['usr/**/lint', 'usr/xlint', false],
    ['**', 'any/thing/at/all', true],
    ['*', '.hidden', true],
    ['*', 'a/b', false],
    ['lib.so.?', 'lib.so.1', true],
    ['lib.so.?', 'lib.so.12', false],
    ['a?c', 'a/c', false],
    ['usr/{bin,sbin}/{ls,cp}', 'usr/sbin/cp', true],
    ['usr/{bin,sbin}/{ls,cp}', 'usr/lib/cp', false],
    ['x{a,{b,c}}', 'xc', true],
    ['{x}', '{x}', true],
    ['[a-c]x', 'bx', true],
    ['[!a-c]x', 'bx', false],
    ['[^a-c]x', 'dx', true],
    ['[]]', ']', true],
    ['[[:digit:]]*', '1abc', true],
    ['[[:digit:]]*', 'abc', false],
    ['a[/]b', 'a/b', false],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['\\!x', '!x', true],
    ['./etc/motd', 'etc/motd', true],
    ['a(b|c)', 'a(b|c)', true],
    ['dev', 'dev', true],
    ['dev', 'dev/null', false],
  ];
  for (const [glob, path, want] of cases) {
    assert.equal(compileGlob(glob)(path), want, `${glob} against ${path}`);
  }
});

test('extglob, negation and unbounded globs are refused with the reason', () => {
  for (const [glob, reason] of [
    ['*(a|aa)*(a|aa)b', /extglob "\*\(\.\.\.\)" is not supported/],
    ['usr/+(bin|sbin)/x', /extglob "\+\(/],
    ['a/@(x)', /extglob "@\(/],
    ['a?(x)', /extglob "\?\(/],
    ['a/!(x)', /extglob "!\(/],
    ['!usr/bin', /leading "!" \(negation\)/],
    ['usr/[lib', /a "\[" is never closed/],
    ['usr/{a,b', /a "\{" is never closed/],
    ['x\\', /trailing "\\" escapes nothing/],
    ['[[:nope:]]', /unknown character class/],
    ['{a,b}'.repeat(9), new RegExp(`more than ${MAX_ALTERNATIVES} brace alternatives`)],
    ['', /empty glob/],
  ] as const) {
    assert.throws(
      () => compileGlob(glob),
      (err: Error) => {
        assert.ok(err instanceof GlobError, `${glob}: ${err.message}`);
        assert.match(err.message, reason, glob);
        return true;
      },
    );
  }
});

test('matching is linear: star-heavy globs against long names end at once', () => {
  // A backtracking regular expression takes O(n^10) steps on these; the automaton O(n).
  const name = 'a'.repeat(20_000);
  for (const glob of ['*a*a*a*a*a*a*a*a*a*a*b', '**/*a*a*a*a*a*a*a*a*b', '?*?*?*?*?*?*?*?*b']) {
    assert.equal(compileGlob(glob)(name), false, glob);
    assert.equal(compileGlob(glob)(`${name}b`), true, glob);
  }
  const deep = Array.from({ length: 2000 }, () => 'a').join('/');
  assert.equal(compileGlob('**/a/**/a/**/a/**/b')(deep), false);
  assert.equal(compileGlob('**/a/**/a/**/a/**/b')(`${deep}/b`), true);
});

test('option globs are checked once, naming the CLI option or the action input', () => {
  const raw = { log: 'x.log', 'allow-dangling': '*(a|aa)b' };
  assert.throws(
    () => parseVerifyOptions(raw, cliNames<VerifyOption>()),
    /--allow-dangling "\*\(a\|aa\)b": not a glob we take: extglob/,
  );
  assert.throws(
    () => parseVerifyOptions(raw, inputNames<VerifyOption>()),
    /input "allow-dangling": "\*\(a\|aa\)b": not a glob we take: extglob/,
  );
  const fine = parseVerifyOptions(
    { log: 'x.log', 'ignore-diff': 'usr/lib/*.a\netc/**', 'allow-missing': 'opt/{a,b}' },
    inputNames<VerifyOption>(),
  );
  assert.deepEqual(fine.verify.ignoreDiff, ['usr/lib/*.a', 'etc/**']);
  assert.deepEqual(fine.verify.allowMissing, ['opt/{a,b}']);
});

/** A build log whose one FAILED entry has a long name of `a`, and its manifest. */
async function failedLongName(dir: string, length: number) {
  const name = 'a'.repeat(length);
  const log = await fileIn(
    dir,
    'build_live.x.log',
    `*FAILED* - FILE: ${name}\n# summary: 1 entries, A=0 P=0 M=0 S=0, 1 FAILED, 0 unknown owners, 0 bytes\n`,
  );
  const manifest = await fileIn(dir, 'm', `f ${name} 0555 root bin\n`);
  return { log, manifest, name };
}

test('an extglob --allow-missing is a usage error, not a hang', { timeout: 120_000 }, async (t) => {
  const dir = await scratchDir(t);
  const { log } = await failedLongName(dir, 60);
  const run = await runBounded([
    'verify-manifest',
    '--log',
    log,
    '--allow-missing',
    '*(a|aa)*(a|aa)b',
  ]);
  assert.equal(run.code, 2, show(run));
  assert.match(
    run.stderr,
    /--allow-missing "\*\(a\|aa\)\*\(a\|aa\)b": not a glob we take: extglob/,
  );
  assert.doesNotMatch(run.stderr, /^\s+at /m, show(run));
});

test(
  'an extglob skip rule is an error at the policy file:line, not a hang',
  { timeout: 120_000 },
  async (t) => {
    const dir = await scratchDir(t);
    const { log, manifest, name } = await failedLongName(dir, 60);
    const proto = join(dir, 'proto');
    await mkdir(join(proto, 'usr'), { recursive: true });
    await writeFile(join(proto, name), '');
    const policy = await fileIn(
      dir,
      'policy',
      '# pull request text\nskip *(a|aa)*(a|aa)b\nskip usr/**\n',
    );
    const run = await runBounded([
      'verify-manifest',
      '--log',
      log,
      '-m',
      manifest,
      '--proto',
      proto,
      '--ship-policy',
      policy,
    ]);
    assert.equal(run.code, 1, show(run));
    assert.match(
      run.stderr,
      new RegExp(`${policy}:2: skip \\*\\(a\\|aa\\)\\*\\(a\\|aa\\)b: not a glob we take: extglob`),
      show(run),
    );
    assert.doesNotMatch(run.stderr, new RegExp(`${policy}:3`), show(run));
  },
);

test(
  'a star-heavy --allow-missing against a long FAILED name ends at once',
  { timeout: 120_000 },
  async (t) => {
    const dir = await scratchDir(t);
    const { log } = await failedLongName(dir, 4000);
    const run = await runBounded([
      'verify-manifest',
      '--log',
      log,
      '--allow-missing',
      '*a*a*a*a*a*a*a*a*a*a*a*a*b',
      '--allow-missing',
      'a*',
      '--format',
      'json',
    ]);
    assert.equal(run.code, 0, show(run));
    assert.equal(
      (JSON.parse(run.stdout) as { counts: { allowedMissing: number } }).counts.allowedMissing,
      1,
    );
  },
);
