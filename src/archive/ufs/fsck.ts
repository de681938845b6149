/**
 * A read-only file system check of an illumos UFS image by the rules of
 * illumos's own `fsck -n -F ufs` (usr/src/cmd/fs.d/ufs/fsck/: its setup,
 * pass 1 to pass 5), written for this project from those rules; docs/ufs.md
 * lists what is checked. It trusts nothing: the superblock is range-checked
 * before any of it is used, every block address before it is read.
 *
 * One module per illumos file, in fsck/: setup.ts (setup.c), pass1.ts to
 * pass5.ts (pass1.c to pass5.c), inode.ts (inode.c), utilities.ts
 * (utilities.c's cg_sanity), image.ts (what fsck.h shares).
 *
 * `fsckUfs(image)` returns the findings as sentences (none when the image is
 * clean). The words of illumos's messages are kept where it has one
 * ("INCORRECT NUMBER OF INODES IN GROUP (5 should be 320)"), so a finding
 * can be looked up in illumos's sources and in what `fsck -n` would print.
 */
import { open } from 'node:fs/promises';
import { describeError, UserError } from '../../util/errors.js';
import { Findings } from './fsck/image.js';
import { pass1 } from './fsck/pass1.js';
import { pass2 } from './fsck/pass2.js';
import { pass3 } from './fsck/pass3.js';
import { pass4 } from './fsck/pass4.js';
import { pass5 } from './fsck/pass5.js';
import { setup } from './fsck/setup.js';

/**
 * Checks the image at `path` as illumos's `fsck -n` would; returns the
 * findings (empty: clean). An image that cannot be opened, or whose
 * superblock is unusable, is one finding naming what is wrong; I/O errors
 * are UserErrors naming the image.
 */
export async function fsckUfs(path: string): Promise<string[]> {
  const fh = await open(path, 'r').catch((err: unknown) => {
    throw new UserError(`${path}: cannot open the UFS image: ${describeError(err)}`);
  });
  const findings = new Findings();
  try {
    const image = await setup(fh, path, findings);
    if (!image) return findings.list;
    const inodes = await pass1(image, findings);
    const dirs = await pass2(image, inodes, findings);
    pass3(inodes, dirs, findings);
    pass4(inodes, findings);
    await pass5(image, inodes, findings);
    return findings.list;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path}: cannot check the UFS image: ${describeError(err)}`);
  } finally {
    await fh.close();
  }
}
