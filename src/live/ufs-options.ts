import type { UfsPlan } from '../archive/ufs/plan.js';
import { humanBytes } from '../util/format.js';
import { UserError } from '../util/errors.js';

/** The UFS size options of build-live (`--ufs-*`, the action's `ufs-*` inputs; parsed in src/options/build-live.ts). */
export interface UfsOptions {
  /** Headroom on the data, in percent of it (default 10). */
  freePercent?: number;
  /** Inodes beyond those the image uses (default: the plan's). */
  freeInodes?: number;
  /** The largest image allowed, in bytes: a bigger plan fails the build before it writes. */
  maxSize?: number;
  /** The least free space, in bytes, whatever the percentage gives (default: the plan's floor). */
  minFreeBytes?: number;
  /** The least number of free inodes (default: the plan's floor). */
  minFreeInodes?: number;
}

/** Fails (before the image is written) when the plan exceeds `--ufs-max-size`. */
export function checkMaxSize(plan: UfsPlan, options: UfsOptions, when: string): void {
  if (options.maxSize === undefined || plan.imageBytes <= options.maxSize) return;
  throw new UserError(
    `the UFS boot_archive would be ${plan.imageBytes} bytes (${humanBytes(plan.imageBytes)}), ` +
      `more than the ufs-max-size limit of ${options.maxSize} bytes (${humanBytes(options.maxSize)}) ` +
      `(planned ${when}); no boot_archive was written. Raise the limit or trim the manifest ` +
      `(build-live --plan shows what takes the space)`,
  );
}
