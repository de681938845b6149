#!/usr/bin/env node
// Bundles each action entry (build/src/actions/<name>/main.js, compiled by
// `npm run build`) with @vercel/ncc into dist/<name>/index.js, the file its
// action.yml runs. The output must not depend on the checkout path or the
// time: CI rebuilds dist/ in a fresh clone and fails on any difference.
// No source maps (they would carry paths); licenses go to licenses.txt.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ncc from '@vercel/ncc';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUILT = join(ROOT, 'build', 'src', 'actions');
const DIST = join(ROOT, 'dist');

const names = (await readdir(BUILT, { withFileTypes: true }))
  .filter((e) => e.isDirectory() && e.name !== 'common')
  .map((e) => e.name)
  .sort();
if (names.length === 0) throw new Error(`no actions under ${BUILT}: run npm run build first`);

await rm(DIST, { recursive: true, force: true });
for (const name of names) {
  const { code, assets } = await ncc(join(BUILT, name, 'main.js'), {
    cache: false,
    minify: false,
    sourceMap: false,
    license: 'licenses.txt',
    quiet: true,
    target: 'es2022',
  });
  const files = new Map([['index.js', code]]);
  for (const [file, asset] of Object.entries(assets ?? {})) files.set(file, asset.source);
  // The bundle is ESM: node needs to be told, whatever the caller's package says.
  files.set('package.json', JSON.stringify({ type: 'module' }, null, 2) + '\n');
  for (const [file, content] of files) {
    const path = join(DIST, name, file);
    if (Buffer.from(content).includes(ROOT)) {
      throw new Error(`dist/${name}/${file} contains the checkout path ${ROOT}`);
    }
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  const others = [...files.keys()].filter((f) => f !== 'index.js').join(', ');
  console.log(
    `dist/${name}/index.js  ${(Buffer.byteLength(code) / 1024).toFixed(0)} KiB  (+ ${others})`,
  );
}
