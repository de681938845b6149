/**
 * The options layer (src/options): one parser per command, shared by the
 * CLI and the actions; each message names the option as that user typed it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBuildLiveOptions, parseArtifactOptions } from '../src/options/build-live.js';
import { parseBuildWorldOptions } from '../src/options/build-world.js';
import { cliNames, inputNames } from '../src/options/names.js';
import { parseSetupHostOptions } from '../src/options/setup-host.js';
import { bool, choiceList, defines, list, wholeNumber } from '../src/options/values.js';
import { parseVerifyOptions, VERIFY_INPUTS } from '../src/options/verify-manifest.js';
import { BUILD_LIVE_INPUTS } from '../src/options/build-live.js';
import { SETUP_HOST_INPUTS } from '../src/options/setup-host.js';
import { UsageError } from '../src/util/errors.js';

const usage = (message: string) => (err: unknown) =>
  err instanceof UsageError && err.exitCode === 2 && err.message === message;

test('booleans are exactly true or false; anything else names the option, empty is the default', () => {
  assert.equal(bool('true', '--x', false), true);
  assert.equal(bool('false', '--x', true), false);
  assert.equal(bool(' true ', '--x', false), true);
  assert.equal(bool('', 'input "x"', true), true);
  assert.equal(bool(undefined, 'input "x"', false), false);
  for (const value of ['True', 'TRUE', 'yes', '1', 'on', 'False']) {
    assert.throws(
      () => bool(value, 'input "verify"', true),
      usage(`input "verify" must be true or false, not "${value}"`),
    );
  }
});

test('lists: an input one item a line (blank and # lines dropped), a CLI option as given', () => {
  assert.deepEqual(list('a b\n\n  # note\n c,d \r\n'), ['a b', 'c,d']);
  assert.deepEqual(list([' a ', 'b']), [' a ', 'b']);
  assert.deepEqual(list(undefined), []);
});

test('whole numbers and choice lists name the option in both styles', () => {
  assert.equal(wholeNumber('8', '--max-jobs', 1, 4096), 8);
  assert.equal(wholeNumber('', '--max-jobs', 1, 4096), undefined);
  assert.throws(
    () => wholeNumber('0', '--max-jobs', 1, 4096),
    usage('--max-jobs must be a whole number from 1 to 4096, not "0"'),
  );
  assert.throws(
    () => wholeNumber('1.5', 'input "max-jobs"', 1, 4096),
    usage('input "max-jobs" must be a whole number from 1 to 4096, not "1.5"'),
  );
  assert.deepEqual(choiceList('a,b\nc', '--l', ['a', 'b', 'c'], ['a']), ['a', 'b', 'c']);
  assert.deepEqual(choiceList('', '--l', ['a', 'b'], ['a']), ['a']);
  assert.throws(
    () => choiceList('a,z', 'input "l"', ['a', 'b'], ['a']),
    usage('input "l": unknown value "z" (choose from a, b)'),
  );
});

test('defines: NAME=VALUE in order; a bad item is named as the user wrote the option', () => {
  const cli = cliNames<'define'>();
  const action = inputNames<'define'>({ define: 'defines' });
  assert.deepEqual(
    [...defines(['A=1', 'B=x=y', 'A=2'], (i) => cli.value('define', i))],
    [
      ['A', '2'],
      ['B', 'x=y'],
    ],
  );
  assert.throws(
    () => defines(['NOEQUALS'], (i) => cli.value('define', i)),
    usage('--define "NOEQUALS" is not NAME=VALUE'),
  );
  assert.throws(
    () => defines('A=1\nNOEQUALS', (i) => action.value('define', i)),
    usage('input "defines": "NOEQUALS" is not NAME=VALUE'),
  );
});

test('defines: a manifest variable is one word: blanks and control characters are named', () => {
  const action = inputNames<'define'>({ define: 'defines' });
  // An action input is one item a line: a CR or a tab inside a line still reaches the value.
  assert.throws(
    () => defines('A=1\nV=a\r::error::PWNED', (i) => action.value('define', i)),
    usage(
      'input "defines": "V=a\\r::error::PWNED": the value of V holds a control character (\\r): a manifest variable is one word, without blanks',
    ),
  );
  assert.throws(
    () => defines('V=a b', (i) => action.value('define', i)),
    usage(
      'input "defines": "V=a b": the value of V holds a blank (\\x20): a manifest variable is one word, without blanks',
    ),
  );
  for (const raw of ['V=a\tb', 'V=\u202egnp', 'V=a\u00a0b', 'V=a\u2028b']) {
    assert.throws(
      () =>
        parseBuildLiveOptions({ manifest: 'm', define: raw }, inputNames(BUILD_LIVE_INPUTS), '/'),
      /input "defines": .*the value of V holds/,
    );
    assert.throws(
      () => parseVerifyOptions({ log: 'l', define: raw }, inputNames(VERIFY_INPUTS)),
      /input "defines": .*the value of V holds/,
    );
  }
  // illumos.sh variables may hold blanks (CFLAGS), never a line end.
  const env = inputNames<'illumos-env'>();
  assert.deepEqual(
    [...defines('CFLAGS=-O2 -g', (i) => env.value('illumos-env', i), 'line')],
    [['CFLAGS', '-O2 -g']],
  );
  assert.throws(
    () => defines(['X=a\rb'], (i) => env.value('illumos-env', i), 'line'),
    /input "illumos-env": "X=a\\rb": the value of X holds a control character \(\\r\)$/,
  );
});

test('build-live: the same raw values give the same settings from the CLI and the action', () => {
  const cli = parseBuildLiveOptions(
    { manifest: ['m'], define: ['V=1'], 'ufs-max-size': '2G', 'no-system-root': 'true' },
    cliNames({ manifest: 'm' }),
    '/',
  );
  const action = parseBuildLiveOptions(
    { manifest: 'm\n', define: 'V=1', 'ufs-max-size': '2G', 'no-system-root': 'true', output: '' },
    inputNames(BUILD_LIVE_INPUTS),
    '/',
  );
  assert.deepEqual(cli, action);
  assert.equal(cli.output, 'output');
  assert.equal(cli.logDir, 'log');
  assert.equal(cli.archive, 'auto');
  assert.equal(cli.systemRoot, undefined);
  assert.equal(cli.ufs.maxSize, 2 * 1024 ** 3);
  const withRoot = parseBuildLiveOptions({ manifest: ['m'] }, cliNames(), '/');
  assert.equal(withRoot.systemRoot, '/');
});

test('build-live: each check names the CLI option or the input', () => {
  const cases: [Record<string, string | string[]>, string, string][] = [
    [{}, 'no manifest given (-m/--manifest)', 'no manifest given (input "manifests")'],
    [
      { manifest: 'm', buildstamp: '2011-12-09' },
      '--buildstamp "2011-12-09" is not a UTC stamp like 20111209T201508Z (%Y%m%dT%H%M%SZ)',
      'input "buildstamp": "2011-12-09" is not a UTC stamp like 20111209T201508Z (%Y%m%dT%H%M%SZ)',
    ],
    [
      { manifest: 'm', 'system-root': '/r', 'no-system-root': 'true' },
      '--system-root and --no-system-root true contradict each other',
      'input "system-root" and input "no-system-root": true contradict each other',
    ],
    [
      { manifest: 'm', 'ufs-free-percent': '-1' },
      '--ufs-free-percent must be a number from 0 to 1000, not "-1"',
      'input "ufs-free-percent" must be a number from 0 to 1000, not "-1"',
    ],
    [
      { manifest: 'm', archive: 'zip' },
      '--archive must be one of auto, ufs, ufs-native, hsfs, none, not "zip"',
      'input "archive" must be one of auto, ufs, ufs-native, hsfs, none, not "zip"',
    ],
    [
      { manifest: 'm', 'no-system-root': 'yes' },
      '--no-system-root must be true or false, not "yes"',
      'input "no-system-root" must be true or false, not "yes"',
    ],
  ];
  for (const [raw, cliMessage, actionMessage] of cases) {
    assert.throws(
      () => parseBuildLiveOptions(raw, cliNames({ manifest: 'm' }), undefined),
      usage(cliMessage),
    );
    assert.throws(
      () => parseBuildLiveOptions(raw, inputNames(BUILD_LIVE_INPUTS), undefined),
      usage(actionMessage),
    );
  }
  assert.throws(
    () => parseArtifactOptions({ 'upload-artifacts': 'True' }, inputNames()),
    usage('input "upload-artifacts" must be true or false, not "True"'),
  );
  assert.throws(
    () => parseArtifactOptions({ 'artifact-prefix': 'a/b' }, inputNames()),
    usage('input "artifact-prefix" may hold only letters, digits, ".", "_" and "-", not "a/b"'),
  );
});

test('verify-manifest: logs required, baseline needs platform, fail-on checked; in both styles', () => {
  const cli = cliNames();
  const action = inputNames(VERIFY_INPUTS);
  assert.throws(() => parseVerifyOptions({}, cli), usage('no log given (--log)'));
  assert.throws(
    () => parseVerifyOptions({ log: '' }, action),
    usage('no log given (input "logs")'),
  );
  assert.throws(
    () => parseVerifyOptions({ log: ['l'], baseline: 'b' }, cli),
    usage('--baseline needs --platform (the build whose boot_archive.manifest is compared)'),
  );
  assert.throws(
    () => parseVerifyOptions({ log: 'l', baseline: 'b' }, action),
    usage(
      'input "baseline" needs input "platform" (the build whose boot_archive.manifest is compared)',
    ),
  );
  const parsed = parseVerifyOptions({ log: 'a\nb', 'fail-on': 'failed,added' }, action);
  assert.deepEqual(parsed.verify.logs, ['a', 'b']);
  assert.deepEqual(parsed.verify.failOn, ['failed', 'added']);
  assert.deepEqual(parseVerifyOptions({ log: ['a'] }, cli).verify.failOn, ['failed', 'not-built']);
});

test('setup-host and build-world: defaults, and names in both styles', () => {
  const setup = parseSetupHostOptions({}, cliNames(), { workspace: '.' });
  assert.equal(setup.releaseFile, '/etc/release');
  assert.equal(setup.gate, 'joyent-live');
  assert.equal(setup.compression, 'auto');
  assert.throws(
    () =>
      parseSetupHostOptions({ 'illumos-env': 'A=1\nB' }, inputNames(SETUP_HOST_INPUTS), {
        workspace: '.',
      }),
    usage('input "illumos-env": "B" is not NAME=VALUE'),
  );
  assert.throws(
    () => parseSetupHostOptions({ 'install-packages': 'TRUE' }, inputNames(), { workspace: '.' }),
    usage('input "install-packages" must be true or false, not "TRUE"'),
  );
  const defaults = { workspace: '.', cacheBackend: 'none' } as const;
  assert.throws(
    () => parseBuildWorldOptions({ 'cache-backend': 'local' }, cliNames(), defaults),
    usage('--cache-backend local needs --local-cache-dir <dir>'),
  );
  assert.throws(
    () => parseBuildWorldOptions({ 'cache-backend': 'local' }, inputNames(), defaults),
    usage('input "cache-backend": local needs input "local-cache-dir"'),
  );
  const world = parseBuildWorldOptions(
    { 'cache-backend': 'local', 'local-cache-dir': '/c' },
    inputNames(),
    defaults,
  );
  assert.deepEqual(world.cache, { backend: 'local', dir: '/c', maxGb: 20 });
  assert.equal(world.cacheVersion, '1');
});
