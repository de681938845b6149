import { createWriteStream } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { join } from 'node:path';
import { create } from 'tar';
import { compareBytes } from '../manifest/path.js';
import { partialName } from '../util/atomic.js';
import { parallelGzip } from './gzip.js';

/** Every path below `dir` (itself first), parents before children, in byte order. */
async function listTree(base: string, dir: string): Promise<string[]> {
  const out = [dir];
  const entries = await readdir(join(base, dir), { withFileTypes: true });
  for (const entry of entries.sort((a, b) => compareBytes(a.name, b.name))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listTree(base, path)));
    else out.push(path);
  }
  return out;
}

/**
 * Packs `<outputDir>/<platformName>` into `tgzPath` (docs/output-layout.md): members under
 * `<platformName>/`, sorted, owner 0/0, every mtime the build epoch, and a
 * gzip header with no name or time, so equal inputs give equal bytes.
 */
export async function writePlatformTgz(
  outputDir: string,
  platformName: string,
  tgzPath: string,
  epoch: number,
): Promise<void> {
  const tmp = partialName(tgzPath);
  const output = createWriteStream(tmp, { mode: 0o644 });
  try {
    const tar = create(
      {
        cwd: outputDir,
        portable: true,
        noDirRecurse: true,
        mtime: new Date(epoch * 1000),
        // `portable` drops directory mtimes; keep the build epoch on them too.
        onWriteEntry: (entry) => {
          entry.noMtime = false;
        },
      },
      await listTree(outputDir, platformName),
    );
    // node-tar's own gzip runs on the main thread; this one uses every core.
    await parallelGzip(tar as unknown as Readable, output);
    output.end();
    await finished(output);
    await rename(tmp, tgzPath);
  } catch (err) {
    output.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}
