/**
 * illumos.sh (src/host/illumos-sh.ts): what setup-host writes, build-world
 * reads back unchanged, and the cache key's hash leaves the job counts out.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCompilerSpec } from '../src/host/compilers.js';
import {
  compilersOf,
  hashIllumosSh,
  illumosShEntries,
  readIllumosSh,
  writeIllumosSh,
  type IllumosShOptions,
} from '../src/host/illumos-sh.js';
import { scratchDir } from './helpers/cli.js';

const options = (illumos: string, maxJobs: number): IllumosShOptions => ({
  workspace: join(illumos, '..', '..'),
  illumos,
  proto: '/ws/proto with space',
  maxJobs,
  primary: parseCompilerSpec('gcc10,/opt/gcc-10/bin/gcc,gnu', 'primary'),
  shadows: [parseCompilerSpec('gcc14,/opt/gcc-14/bin/gcc,gnu', 'shadow')],
  extra: new Map([
    ['PERL', '/usr/bin/perl'],
    ['HOME', '/root'],
    ['TRICKY', 'a "quoted" $HOME `date` back\\slash'],
  ]),
});

test('every value written is read back as written', async (t) => {
  const dir = await scratchDir(t);
  const o = options(dir, 7);
  const path = await writeIllumosSh(o);
  assert.equal(path, join(dir, 'illumos.sh'));
  const read = await readIllumosSh(path);
  assert.deepEqual([...read.vars], illumosShEntries(o));
  assert.deepEqual(compilersOf(read), [
    { spec: 'gcc10,/opt/gcc-10/bin/gcc,gnu', name: 'gcc10', path: '/opt/gcc-10/bin/gcc' },
    { spec: 'gcc14,/opt/gcc-14/bin/gcc,gnu', name: 'gcc14', path: '/opt/gcc-14/bin/gcc' },
  ]);
});

test('the hash changes with any line but the job counts', async (t) => {
  const dir = await scratchDir(t);
  const path = await writeIllumosSh(options(dir, 2));
  const two = await hashIllumosSh(path);
  await writeIllumosSh(options(dir, 64));
  assert.match(await readFile(path, 'utf8'), /^export MAX_JOBS="64"$/m);
  assert.equal(await hashIllumosSh(path), two);
  await writeFile(path, (await readFile(path, 'utf8')) + '# a comment\n');
  assert.notEqual(await hashIllumosSh(path), two);
});

test('a hand-written file: single quotes, bare values, $NAME references', async (t) => {
  const path = join(await scratchDir(t), 'illumos.sh');
  await writeFile(
    path,
    [
      'CODEMGR_WS=/ws/projects/illumos # where nightly runs',
      "export GATE='no $expansion'",
      'export ROOT="${CODEMGR_WS}/../../proto"',
      'echo not an assignment',
      '',
    ].join('\n'),
  );
  const read = await readIllumosSh(path);
  assert.equal(read.vars.get('CODEMGR_WS'), '/ws/projects/illumos');
  assert.equal(read.vars.get('GATE'), 'no $expansion');
  assert.equal(read.vars.get('ROOT'), '/ws/projects/illumos/../../proto');
  await writeFile(path, 'A=x\nB="\\$A is $A, \\\\$A"\n');
  assert.equal((await readIllumosSh(path)).vars.get('B'), '$A is x, \\x');
  await writeFile(path, 'export PRIMARY_CC="gcc10"\n');
  assert.throws(() => compilersOf({ file: path, vars: new Map([['PRIMARY_CC', 'gcc10']]) }), {
    message: `${path}: compiler "gcc10" is not in illumos' name,path,style form (gcc10,/opt/gcc-10/bin/gcc,gnu)`,
  });
  await writeFile(path, 'export ROOT="/unterminated\n');
  await assert.rejects(readIllumosSh(path), { message: `${path}:1: unterminated "..." value` });
});
