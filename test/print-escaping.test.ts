/**
 * Workflow commands through file names: a runner splits its log on CR and
 * LF and runs every line that starts with `::` (`::error::`,
 * `::add-mask::`, `::stop-commands::`). Text from the inputs (paths, link
 * text, file names) never reaches a printed line raw: control and bidi
 * characters are shown escaped, and manifests refuse them at file:line.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { printable, printableLine, printableText } from '../src/util/format.js';
import { type CliRun, fileIn, runCaptured, runCli, scratchDir } from './helpers/cli.js';
import { FIXTURES, REPO_ROOT } from './helpers/paths.js';
import { cleanRunnerEnv } from './helpers/runner.js';

const EVIL = 'usr/bin/miss1\r::error::PWNED';
const BIDI = 'usr/bin/\u202egnp.exe';

const show = (r: CliRun) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** Lines as a runner reads them: split on CR and LF alike. */
const runnerLines = (text: string) => text.split(/\r\n|\r|\n/);

/** Nothing a runner would run, no raw CR, no bidi control. */
function assertInert(text: string, what: string) {
  for (const line of runnerLines(text)) {
    assert.ok(!/^\s*::/.test(line), `${what}: a workflow command line: ${JSON.stringify(line)}`);
  }
  assert.doesNotMatch(text, /\r/, `${what}: a raw CR`);
  assert.doesNotMatch(text, /[\u202a-\u202e\u2066-\u2069\u200e\u200f]/, `${what}: a bidi control`);
}

test('printable: control and bidi characters escaped, never a line starting with ::', () => {
  assert.equal(
    printable('a\r::error::x\n\t\x1b[31m\x7f\x85'),
    'a\\r::error::x\\n\\t\\x1b[31m\\x7f\\x85',
  );
  assert.equal(
    printable('\u202egnp\u2066\u200e\u200f\u2028\ufeff'),
    '\\u202egnp\\u2066\\u200e\\u200f\\u2028\\ufeff',
  );
  assert.equal(printable('usr/lib/libc.so.1 é ü ß 日本'), 'usr/lib/libc.so.1 é ü ß 日本');
  assert.equal(printableLine('::add-mask::x'), '\\x3a:add-mask::x');
  assert.equal(printableLine('  ::stop-commands::t'), '  \\x3a:stop-commands::t');
  assert.equal(printableLine('a ::b'), 'a ::b');
  assert.equal(printableText('one\n::error::two\n'), 'one\n\\x3a:error::two\n');
});

test('a manifest path or link text with a control or bidi character is an error at file:line', async (t) => {
  const dir = await scratchDir(t);
  const manifest = await fileIn(
    dir,
    'm',
    [
      'd usr 0755 root sys',
      `f ${EVIL} 0555 root bin`,
      `f ${BIDI} 0555 root bin`,
      's usr/bin/x=\u202eevil',
      'f usr/bin/esc\x1b[2J 0555 root bin',
      'f usr/bin/ok\t0555\troot\tbin',
      '',
    ].join('\n'),
  );
  const run = await runCli(['manifest', 'lint', manifest]);
  assert.equal(run.code, 1, show(run));
  assertInert(run.stdout + run.stderr, 'manifest lint');
  const text = run.stdout + run.stderr;
  assert.match(
    text,
    new RegExp(`${manifest}:2: error: control or invisible format character \\\\r`),
  );
  assert.match(
    text,
    new RegExp(`${manifest}:3: error: control or invisible format character \\\\u202e`),
  );
  assert.match(
    text,
    new RegExp(`${manifest}:4: error: control or invisible format character \\\\u202e`),
  );
  assert.match(
    text,
    new RegExp(`${manifest}:5: error: control or invisible format character \\\\x1b`),
  );
  assert.doesNotMatch(text, new RegExp(`${manifest}:6:`));

  // build-live stops before it writes anything, with the same file:line.
  const out = join(dir, 'out');
  const build = await runCli([
    'build-live',
    '-m',
    manifest,
    '--proto',
    join(FIXTURES, 'proto'),
    '--no-system-root',
    '-o',
    out,
    '--log-dir',
    join(dir, 'log'),
    '--archive',
    'none',
  ]);
  assert.equal(build.code, 1, show(build));
  assert.match(
    build.stderr,
    new RegExp(`${manifest}:2: error: control or invisible format character \\\\r`),
  );
  assertInert(build.stdout + build.stderr, 'build-live');
});

/** A joyent-live build log with FAILED entries named by a pull request. */
async function hostileLog(dir: string): Promise<string> {
  const log = await fileIn(
    dir,
    'build_live.20111209T201508Z.log',
    [
      '# joyent-live build-live',
      'OK - DIR: usr',
      `*FAILED* - FILE: ${EVIL}`,
      `*FAILED* - FILE: ${BIDI}`,
      '*FAILED* - FILE: usr/bin/x\x1b]8;;http://evil\x07',
      '# summary: 4 entries, A=0 P=0 M=0 S=0, 3 FAILED, 0 unknown owners, 0 bytes',
      '',
    ].join('\n'),
  );
  return log;
}

test('verify-manifest: FAILED and not-built lines show such paths escaped', async (t) => {
  const dir = await scratchDir(t);
  const log = await hostileLog(dir);
  await fileIn(dir, 'm', 'd usr 0755 root sys\nf usr/bin/never 0555 root bin\n');
  const run = await runCli(['verify-manifest', '--log', log]);
  assert.equal(run.code, 1, show(run));
  assertInert(run.stdout + run.stderr, 'verify-manifest');
  assert.match(run.stdout, /^FAILED FILE usr\/bin\/miss1\\r::error::PWNED$/m);
  assert.match(run.stdout, /^FAILED FILE usr\/bin\/\\u202egnp\.exe$/m);
  assert.match(run.stdout, /^FAILED FILE usr\/bin\/x\\x1b\]8;;http:\/\/evil\\x07$/m);
});

test('the verify-manifest action prints such paths escaped in its plain lines', async (t) => {
  const dir = await scratchDir(t);
  const log = await hostileLog(dir);
  const temp = join(dir, 'runner-temp');
  await mkdir(temp);
  const summary = join(dir, 'summary.md');
  const output = join(dir, 'output.txt');
  await writeFile(summary, '');
  await writeFile(output, '');
  // The compiled entry as the bundle runs it: a runner's environment, inputs as INPUT_*.
  const run = await runCaptured(
    process.execPath,
    [join(REPO_ROOT, 'build', 'src', 'actions', 'verify-manifest', 'main.js')],
    {
      cwd: dir,
      env: {
        ...cleanRunnerEnv(),
        INPUT_LOGS: log,
        'INPUT_ALLOW-MISSING': '**/evil*',
        'INPUT_FAIL-ON': 'failed,not-built',
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
        RUNNER_TEMP: temp,
        GITHUB_WORKSPACE: dir,
      },
    },
  );
  assert.equal(run.code, 1, show(run));
  // Our own workflow commands (annotations, debug lines), their data escaped by
  // @actions/core: none is the pull request's.
  const ours = /^::(debug|error|warning|notice)( [^:]*)?::/;
  const lines = run.stdout.split('\n');
  for (const line of lines.filter((l) => ours.test(l))) {
    assert.doesNotMatch(line, /^::error::PWNED/, 'an injected workflow command');
  }
  assertInert(lines.filter((l) => !ours.test(l)).join('\n'), 'the action');
  assert.doesNotMatch(run.stdout, /\r|\u202e/);
  assert.match(run.stdout, /^FAILED usr\/bin\/miss1\\r::error::PWNED \(/m);
  assert.match(
    run.stdout,
    /^FAILED usr\/bin\/x\\x1b\]8;;http:\/\/evil\\x07 .*\(allowed missing\)$/m,
  );
  const markdown = await readFile(summary, 'utf8');
  for (const raw of ['\r', '\u202e', '\x1b'])
    assert.ok(!markdown.includes(raw), JSON.stringify(raw));
});
