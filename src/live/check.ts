/**
 * The first phase of `build-live` (docs/assembly.md): everything that can
 * be checked before anything is written or created, and the build's mode.
 */
import type { IsoTool } from '../archive/hsfs.js';
import { planUfs } from '../archive/ufs/plan.js';
import type { AssemblyProgress, AssemblyResult } from '../assembly/assemble.js';
import type { FoundSources } from '../sources/search.js';
import { chooseArchive, isUfs, type ArchiveFormat, type BuiltArchive } from './archive-choice.js';
import { checkCanCreateDir, checkHostPathRoom } from './output.js';
import { assembleUnstaged, dryRunImage, imageToPack, withManifestLine } from './plan-live.js';
import { prepareBuild, type PreparedBuild, type PrepareOptions } from './prepare.js';
import { checkMaxSize, type UfsOptions } from './ufs-options.js';

/**
 * How the build makes its image (one per build, chosen with the inputs):
 *
 * - `located`: `ufs`, or `hsfs` written by xorriso, with no customize step
 *   and nothing kept. Nothing reads a tree on disk, so nothing is staged:
 *   the assembly (every file found at its source) ran while the inputs were
 *   checked, and the UFS writer (or xorriso) takes each file from its source.
 * - `planned`: `ufs` or `ufs-native` with a staged tree. A dry run (stat
 *   only) found every source and checked the image against the UFS limits
 *   before anything was copied; the assembly copies from what it found.
 * - `staged`: `none`, and `hsfs` with a customize step, `--keep-staging` or
 *   genisoimage/mkisofs. The assembly finds and copies each file.
 */
export type BuildMode =
  | { kind: 'located'; assembled: AssemblyResult }
  | { kind: 'planned'; found: FoundSources }
  | { kind: 'staged' };

/** What checkInputs found: everything the build needs, checked before the first write. */
export interface CheckedInputs {
  archive: BuiltArchive;
  /** True unless `--archive none`: a boot_archive, its kernel and the tgz are made. */
  packs: boolean;
  /** The staged tree is kept as the image directory (`none`, or `--keep-staging`). */
  keepImage: boolean;
  isoTool?: IsoTool;
  ufsOptions: UfsOptions;
  prepared: PreparedBuild;
  mode: BuildMode;
}

export interface CheckOptions extends PrepareOptions {
  output: string;
  logDir: string;
  archive?: ArchiveFormat;
  /** Size options of the UFS formats (ignored by hsfs and none). */
  ufs?: UfsOptions;
  /** Keep the staged tree as `image-<STAMP>/` for every format, not only `none`. */
  keepStaging?: boolean;
  onProgress?: (progress: AssemblyProgress) => void;
}

/** Phase: everything that can be checked, before anything is written or created. */
export async function checkInputs(
  options: CheckOptions,
  info: (message: string) => void,
): Promise<CheckedInputs> {
  const { archive, isoTool } = await chooseArchive(options.archive ?? 'auto', info);
  const ufsOptions = options.ufs ?? {};
  const prepared = await prepareBuild(options);
  const mode = await chooseMode(options, { archive, isoTool }, prepared, ufsOptions);
  checkHostPathRoom(options.output, prepared.entries.keys());
  // Both directories, before either is created.
  await checkCanCreateDir(options.output, 'output directory');
  await checkCanCreateDir(options.logDir, 'log directory');
  const packs = archive !== 'none';
  const keepImage = !packs || options.keepStaging === true;
  return { archive, packs, keepImage, isoTool, ufsOptions, prepared, mode };
}

/**
 * The build's mode (BuildMode). For UFS, what UFS cannot hold (a name over
 * 255 bytes, a symlink target over 1023) or an image over --ufs-max-size
 * is found here, before any directory is made.
 */
async function chooseMode(
  options: CheckOptions,
  { archive, isoTool }: { archive: BuiltArchive; isoTool?: IsoTool },
  prepared: PreparedBuild,
  ufsOptions: UfsOptions,
): Promise<BuildMode> {
  const locatable = archive === 'ufs' || (archive === 'hsfs' && isoTool?.name === 'xorriso');
  if (prepared.scripts.length === 0 && locatable && !options.keepStaging) {
    const assembled = await assembleUnstaged(prepared, {
      onProgress: options.onProgress,
      mode: 'locate',
    });
    if (archive === 'ufs') {
      const { image } = await imageToPack(prepared, assembled);
      const plan = withManifestLine(prepared, () => planUfs(image.values(), ufsOptions));
      checkMaxSize(plan, ufsOptions, 'before the customize step');
    }
    return { kind: 'located', assembled };
  }
  if (isUfs(archive)) {
    const dry = await dryRunImage(prepared, { keepFound: true });
    const plan = withManifestLine(prepared, () => planUfs(dry.image.values(), ufsOptions));
    checkMaxSize(plan, ufsOptions, 'before the customize step');
    return { kind: 'planned', found: dry.found! };
  }
  return { kind: 'staged' };
}
