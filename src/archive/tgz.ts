import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from 'tar';
import { compareBytes } from '../manifest/path.js';
import { partialName } from '../util/atomic.js';

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
 * Packs `<outputDir>/<platformName>` into `tgzPath` (SPEC 5): members under
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
  try {
    await create(
      {
        file: tmp,
        cwd: outputDir,
        gzip: { level: 6 },
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
    await rename(tmp, tgzPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
