import type { UfsPlan } from '../archive/ufs/plan.js';
import { humanBytes, parseSize } from '../util/format.js';
import { UsageError, UserError } from '../util/errors.js';

/** The UFS size options of build-live (`--ufs-*`, the action's `ufs-*` inputs). */
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

/** The options as typed: CLI option values or action inputs, undefined when not given. */
export interface UfsOptionTexts {
  freePercent?: string;
  freeInodes?: string;
  maxSize?: string;
  minFree?: string;
  minFreeInodes?: string;
}

const MAX_FREE_PERCENT = 1000;

/**
 * Checks and converts the typed options. `name` gives each one's name as the
 * user wrote it (`--ufs-free-percent` or input "ufs-free-percent").
 * A bad value is a UsageError (exit 2).
 */
export function parseUfsOptions(
  texts: UfsOptionTexts,
  name: (
    option: 'free-percent' | 'free-inodes' | 'max-size' | 'min-free' | 'min-free-inodes',
  ) => string,
): UfsOptions {
  const options: UfsOptions = {};
  const { freePercent, freeInodes, maxSize, minFree, minFreeInodes } = texts;
  if (freePercent !== undefined) {
    const value = /^\d+(\.\d+)?$/.test(freePercent.trim()) ? Number(freePercent) : NaN;
    if (!(value >= 0 && value <= MAX_FREE_PERCENT)) {
      throw new UsageError(
        `${name('free-percent')} must be a number from 0 to ${MAX_FREE_PERCENT}, not ${JSON.stringify(freePercent)}`,
      );
    }
    options.freePercent = value;
  }
  if (freeInodes !== undefined) {
    const value = /^\d+$/.test(freeInodes.trim()) ? Number(freeInodes) : NaN;
    if (!Number.isSafeInteger(value)) {
      throw new UsageError(
        `${name('free-inodes')} must be a whole number of inodes (0 or more), not ${JSON.stringify(freeInodes)}`,
      );
    }
    options.freeInodes = value;
  }
  if (maxSize !== undefined) {
    const value = parseSize(maxSize);
    if (value === undefined) {
      throw new UsageError(
        `${name('max-size')} must be a size such as 512M, 2G or a number of bytes, not ${JSON.stringify(maxSize)}`,
      );
    }
    options.maxSize = value;
  }
  if (minFree !== undefined) {
    const value = minFree.trim() === '0' ? 0 : parseSize(minFree);
    if (value === undefined) {
      throw new UsageError(
        `${name('min-free')} must be a size such as 16M, 0 or a number of bytes, not ${JSON.stringify(minFree)}`,
      );
    }
    options.minFreeBytes = value;
  }
  if (minFreeInodes !== undefined) {
    const value = /^\d+$/.test(minFreeInodes.trim()) ? Number(minFreeInodes) : NaN;
    if (!Number.isSafeInteger(value)) {
      throw new UsageError(
        `${name('min-free-inodes')} must be a whole number of inodes (0 or more), not ${JSON.stringify(minFreeInodes)}`,
      );
    }
    options.minFreeInodes = value;
  }
  return options;
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
