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

/** Paths of one build's outputs. */
export interface OutputLayout {
  platformName: string;
  platformDir: string;
  tgz: string;
  /** The staged tree kept for `--archive none` (and `--keep-staging`). */
  imageDir: string;
  /** Scratch space; removed when the build ends. */
  workDir: string;
  stagingRoot: string;
  /** The platform directory is filled here and renamed when complete. */
  platformPartial: string;
  /** `<platform>/i86pc/amd64`, which holds the boot_archive files. */
  archiveDir: (platformDir: string) => string;
  /** `<platform>/i86pc/kernel/amd64`, which holds the kernel copy. */
  kernelDir: (platformDir: string) => string;
}

export function outputLayout(output: string, buildstamp: string): OutputLayout {
  const platformName = `platform-${buildstamp}`;
  const workDir = join(output, `.work-${buildstamp}.partial`);
  return {
    platformName,
    platformDir: join(output, platformName),
    tgz: join(output, `${platformName}.tgz`),
    imageDir: join(output, `image-${buildstamp}`),
    workDir,
    stagingRoot: join(workDir, 'root'),
    platformPartial: join(workDir, platformName),
    archiveDir: (platformDir) => join(platformDir, 'i86pc', 'amd64'),
    kernelDir: (platformDir) => join(platformDir, 'i86pc', 'kernel', 'amd64'),
  };
}
