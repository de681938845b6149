/**
 * Where a build's outputs go and what they are called (docs/output-layout.md):
 * the platform directory and tgz under the output directory, the log and its
 * JSONL twin under the log directory, and the files the build itself writes
 * into the image.
 */
import { join } from 'node:path';

/** Files the build writes into the image itself (docs/output-layout.md). */
export const BUILDSTAMP_FILE = 'etc/joyent_buildstamp';
/** The image's copy of boot_archive.manifest; it does not list itself. */
export const MANIFEST_COPY = 'var/log/manifest';

/** Names inside `platform-<STAMP>/i86pc/amd64/`. */
export const BOOT_ARCHIVE = 'boot_archive';
export const BOOT_ARCHIVE_MANIFEST = 'boot_archive.manifest';
export const BOOT_ARCHIVE_HASH = 'boot_archive.hash';
/** The kernel in the image, copied to `platform-<STAMP>/i86pc/kernel/amd64/unix`. */
export const IMAGE_KERNEL = 'platform/i86pc/kernel/amd64/unix';

/** File names of the build log and its JSONL twin (docs/build-log.md). */
export function logFileNames(buildstamp: string) {
  return { log: `build_live.${buildstamp}.log`, jsonl: `build_live.${buildstamp}.jsonl` };
}

/** Names of the platform directory and its tgz, the same in the output and work directories. */
function platformFileNames(buildstamp: string) {
  const platform = `platform-${buildstamp}`;
  return { platform, tgz: `${platform}.tgz` };
}

/** Paths of one build's outputs, under their final names. */
export interface OutputLayout {
  platformName: string;
  platformDir: string;
  tgz: string;
  /** The staged tree kept for `--archive none` (and `--keep-staging`). */
  imageDir: string;
  /** `<platform>/i86pc/amd64`, which holds the boot_archive files. */
  archiveDir: (platformDir: string) => string;
  /** `<platform>/i86pc/kernel/amd64`, which holds the kernel copy. */
  kernelDir: (platformDir: string) => string;
}

export function outputLayout(output: string, buildstamp: string): OutputLayout {
  const names = platformFileNames(buildstamp);
  return {
    platformName: names.platform,
    platformDir: join(output, names.platform),
    tgz: join(output, names.tgz),
    imageDir: join(output, `image-${buildstamp}`),
    archiveDir: (platformDir) => join(platformDir, 'i86pc', 'amd64'),
    kernelDir: (platformDir) => join(platformDir, 'i86pc', 'kernel', 'amd64'),
  };
}

/**
 * Prefixes of the private directories (`mkdtemp`, mode 0700) a build works
 * in: `<output>/.work-XXXXXX/` and `<log-dir>/.build_live-XXXXXX/`. Nobody
 * else can plant a name inside them; whatever they hold is renamed into
 * place at the end (docs/output-layout.md).
 */
export const WORK_DIR_PREFIX = '.work-';
export const LOG_WORK_DIR_PREFIX = '.build_live-';

/**
 * What an earlier, killed build may have left: our private directories, and
 * the predictable temporary names of older versions. The lock holder
 * removes them (never following a symlink).
 */
export function isLeftover(name: string, where: 'output' | 'log'): boolean {
  if (where === 'output') {
    return name.startsWith(WORK_DIR_PREFIX) || /^\.platform-.*\.tgz\.partial$/.test(name);
  }
  return name.startsWith(LOG_WORK_DIR_PREFIX) || /^\.build_live\..*\.partial$/.test(name);
}

/** Paths inside the output work directory. */
export interface WorkLayout {
  dir: string;
  /** The staged image root. */
  stagingRoot: string;
  /** The platform directory, filled here. */
  platformPartial: string;
  /** The tgz, packed here. */
  tgzPartial: string;
  /** The `ufs` writer's boot_archive, renamed into the platform directory. */
  ufsPartial: string;
  /** xorriso's command file (hsfs). */
  xorrisoCommands: string;
  /** The tgz's blocks deflated while the image was written (src/archive/early-deflate.ts). */
  deflateSpill: string;
  /** Where the previous build's outputs are moved while the new set is published. */
  aside: string;
}

export function workLayout(dir: string, buildstamp: string): WorkLayout {
  const names = platformFileNames(buildstamp);
  return {
    dir,
    stagingRoot: join(dir, 'root'),
    platformPartial: join(dir, names.platform),
    tgzPartial: join(dir, names.tgz),
    ufsPartial: join(dir, 'boot_archive.ufs'),
    xorrisoCommands: join(dir, 'xorriso.commands'),
    deflateSpill: join(dir, 'tgz.deflated'),
    aside: join(dir, 'aside'),
  };
}
