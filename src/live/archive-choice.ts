import { findIsoTool, isoToolNote, isoToolProblem, type IsoTool } from '../archive/hsfs.js';
import { checkNativeTools } from '../archive/ufs-native.js';
import type { UfsPlan } from '../archive/ufs/plan.js';
import { requireIllumos } from '../host/uname.js';
import { UserError } from '../util/errors.js';
import { humanBytes } from '../util/format.js';

export type ArchiveFormat = 'auto' | 'ufs' | 'ufs-native' | 'hsfs' | 'none';
export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = [
  'auto',
  'ufs',
  'ufs-native',
  'hsfs',
  'none',
];
/** The format a build makes (`auto` resolved). */
export type BuiltArchive = Exclude<ArchiveFormat, 'auto'>;

export function isUfs(archive: BuiltArchive): archive is 'ufs' | 'ufs-native' {
  return archive === 'ufs' || archive === 'ufs-native';
}

/** `ufs (1.0 MiB, 46 of 320 inodes used)`: the format made, and for UFS its plan. */
export function describeBuiltArchive(archive: BuiltArchive, plan?: UfsPlan): string {
  if (!plan) return archive;
  return `${archive} (${humanBytes(plan.imageBytes)}, ${plan.inodesUsed} of ${plan.inodes} inodes used)`;
}

/**
 * The format to make, and what it needs, checked before anything is
 * written. `auto` is `ufs` on every host: our own writer needs nothing
 * installed and no privilege.
 */
export async function chooseArchive(
  requested: ArchiveFormat,
  info: (message: string) => void,
): Promise<{ archive: BuiltArchive; isoTool?: IsoTool }> {
  switch (requested) {
    case 'auto':
      info('archive: ufs (auto: the userland UFS writer, on every host)');
      return { archive: 'ufs' };
    case 'ufs':
    case 'none':
      return { archive: requested };
    case 'ufs-native':
      await requireIllumos('--archive ufs-native');
      await checkNativeTools();
      return { archive: 'ufs-native' };
    case 'hsfs': {
      const found = await findIsoTool();
      const problem = found && isoToolProblem(found);
      if (!found || problem) {
        throw new UserError(
          problem
            ? `--archive hsfs: ${problem}`
            : '--archive hsfs needs xorriso on PATH (Debian: apt-get install xorriso)',
        );
      }
      const note = isoToolNote(found);
      if (note) info(`warning: ${note}`);
      return { archive: 'hsfs', isoTool: found };
    }
  }
}
