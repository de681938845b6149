/**
 * build-live's options, parsed once for the CLI (`joyent-live build-live`)
 * and the build-live action. Each entry takes the raw values as typed and
 * the names to use in messages (src/options/names.ts).
 */
import { ARCHIVE_FORMATS, type ArchiveFormat } from '../live/archive-choice.js';
import { parseBuildstamp } from '../util/buildstamp.js';
import type { UfsOptions } from '../live/ufs-options.js';
import { UsageError } from '../util/errors.js';
import { parseDuration, parseSize } from '../util/format.js';
import type { OptionNames } from './names.js';
import { bool, choice, defines, list, text, wholeNumber, type RawValue } from './values.js';

/** The options, by their CLI names (the action's inputs are named in BUILD_LIVE_INPUTS). */
export const BUILD_LIVE_OPTIONS = [
  'manifest',
  'proto',
  'overlay',
  'man-dir',
  'system-root',
  'no-system-root',
  'customize',
  'customize-timeout',
  'output',
  'log-dir',
  'buildstamp',
  'define',
  'archive',
  'keep-staging',
  'ufs-free-percent',
  'ufs-free-inodes',
  'ufs-max-size',
  'ufs-min-free',
  'ufs-min-free-inodes',
] as const;
export type BuildLiveOption = (typeof BUILD_LIVE_OPTIONS)[number];

/** The action inputs whose names differ from the CLI's (lists are plural there). */
export const BUILD_LIVE_INPUTS: Partial<Record<BuildLiveOption, string>> = {
  manifest: 'manifests',
  overlay: 'overlays',
  define: 'defines',
};

/** Defaults the CLI's help shows and an empty value gets. */
export const BUILD_LIVE_DEFAULTS = {
  output: 'output',
  logDir: 'log',
  archive: 'auto',
  customizeTimeout: '30m',
} as const;

export type BuildLiveRaw = Partial<Record<BuildLiveOption, RawValue>>;

export interface BuildLiveSettings {
  manifests: string[];
  proto?: string;
  overlays: string[];
  manDir?: string;
  systemRoot?: string;
  customize?: string;
  /** Milliseconds each customize script may run; 0: no limit. */
  customizeTimeout: number;
  output: string;
  logDir: string;
  buildstamp?: string;
  defines: Map<string, string>;
  archive: ArchiveFormat;
  ufs: UfsOptions;
  keepStaging: boolean;
}

const MAX_FREE_PERCENT = 1000;

/** The UFS size options (`--ufs-*`, the inputs `ufs-*`). */
export function parseUfsOptions(
  raw: BuildLiveRaw,
  names: OptionNames<BuildLiveOption>,
): UfsOptions {
  const options: UfsOptions = {};
  const freePercent = text(raw['ufs-free-percent'], names.name('ufs-free-percent'));
  const freeInodes = text(raw['ufs-free-inodes'], names.name('ufs-free-inodes'));
  const maxSize = text(raw['ufs-max-size'], names.name('ufs-max-size'));
  const minFree = text(raw['ufs-min-free'], names.name('ufs-min-free'));
  const minFreeInodes = text(raw['ufs-min-free-inodes'], names.name('ufs-min-free-inodes'));
  if (freePercent !== undefined) {
    const value = /^\d+(\.\d+)?$/.test(freePercent) ? Number(freePercent) : NaN;
    if (!(value >= 0 && value <= MAX_FREE_PERCENT)) {
      throw new UsageError(
        `${names.name('ufs-free-percent')} must be a number from 0 to ${MAX_FREE_PERCENT}, not ${JSON.stringify(freePercent)}`,
      );
    }
    options.freePercent = value;
  }
  if (freeInodes !== undefined) {
    const value = /^\d+$/.test(freeInodes) ? Number(freeInodes) : NaN;
    if (!Number.isSafeInteger(value)) {
      throw new UsageError(
        `${names.name('ufs-free-inodes')} must be a whole number of inodes (0 or more), not ${JSON.stringify(freeInodes)}`,
      );
    }
    options.freeInodes = value;
  }
  if (maxSize !== undefined) {
    const value = parseSize(maxSize);
    if (value === undefined) {
      throw new UsageError(
        `${names.name('ufs-max-size')} must be a size such as 512M, 2G or a number of bytes, not ${JSON.stringify(maxSize)}`,
      );
    }
    options.maxSize = value;
  }
  if (minFree !== undefined) {
    const value = minFree === '0' ? 0 : parseSize(minFree);
    if (value === undefined) {
      throw new UsageError(
        `${names.name('ufs-min-free')} must be a size such as 16M, 0 or a number of bytes, not ${JSON.stringify(minFree)}`,
      );
    }
    options.minFreeBytes = value;
  }
  if (minFreeInodes !== undefined) {
    const value = /^\d+$/.test(minFreeInodes) ? Number(minFreeInodes) : NaN;
    if (!Number.isSafeInteger(value)) {
      throw new UsageError(
        `${names.name('ufs-min-free-inodes')} must be a whole number of inodes (0 or more), not ${JSON.stringify(minFreeInodes)}`,
      );
    }
    options.minFreeInodes = value;
  }
  return options;
}

/** `--customize-timeout` (input `customize-timeout`): a duration, `0` for none. */
function parseCustomizeTimeout(raw: BuildLiveRaw, names: OptionNames<BuildLiveOption>): number {
  const value =
    text(raw['customize-timeout'], names.name('customize-timeout')) ??
    BUILD_LIVE_DEFAULTS.customizeTimeout;
  const ms = parseDuration(value);
  if (ms === undefined) {
    throw new UsageError(
      `${names.name('customize-timeout')} must be a duration such as 90s, 30m or 1h (0: no limit), not ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

/**
 * Every option a build and a plan share. `systemRootDefault` is the running
 * system's root on this host (defaultSystemRoot()), used unless a root is
 * given or no-system-root is true.
 */
export function parseBuildLiveOptions(
  raw: BuildLiveRaw,
  names: OptionNames<BuildLiveOption>,
  systemRootDefault: string | undefined,
): BuildLiveSettings {
  const n = (option: BuildLiveOption) => names.name(option);
  const noSystemRoot = bool(raw['no-system-root'], n('no-system-root'), false);
  const systemRoot = text(raw['system-root'], n('system-root'));
  if (noSystemRoot && systemRoot !== undefined) {
    throw new UsageError(
      `${n('system-root')} and ${names.value('no-system-root', 'true')} contradict each other`,
    );
  }
  const buildstamp = text(raw.buildstamp, n('buildstamp'));
  if (buildstamp !== undefined && parseBuildstamp(buildstamp) === undefined) {
    throw new UsageError(
      `${names.value('buildstamp', JSON.stringify(buildstamp))} is not a UTC stamp like 20111209T201508Z (%Y%m%dT%H%M%SZ)`,
    );
  }
  const manifests = list(raw.manifest);
  if (manifests.length === 0) throw new UsageError(`no manifest given (${n('manifest')})`);
  return {
    manifests,
    proto: text(raw.proto, n('proto')),
    overlays: list(raw.overlay),
    manDir: text(raw['man-dir'], n('man-dir')),
    systemRoot: noSystemRoot ? undefined : (systemRoot ?? systemRootDefault),
    customize: text(raw.customize, n('customize')),
    customizeTimeout: parseCustomizeTimeout(raw, names),
    output: text(raw.output, n('output')) ?? BUILD_LIVE_DEFAULTS.output,
    logDir: text(raw['log-dir'], n('log-dir')) ?? BUILD_LIVE_DEFAULTS.logDir,
    buildstamp,
    defines: defines(raw.define, (item) => names.value('define', item)),
    archive: choice(raw.archive, n('archive'), ARCHIVE_FORMATS, BUILD_LIVE_DEFAULTS.archive),
    ufs: parseUfsOptions(raw, names),
    keepStaging: bool(raw['keep-staging'], n('keep-staging'), false),
  };
}

/** The build-live action's own inputs: what it does with the result. */
export const ARTIFACT_INPUTS = [
  'upload-artifacts',
  'artifact-prefix',
  'retention-days',
  'overwrite',
  'fail-on-missing',
  'baseline',
] as const;
export type ArtifactInput = (typeof ARTIFACT_INPUTS)[number];

export interface ArtifactSettings {
  upload: boolean;
  prefix: string;
  /** Undefined: the repository's default (input empty or 0, as actions/upload-artifact). */
  retentionDays?: number;
  /** Delete an artifact of the same name in this run before uploading (a re-run). */
  overwrite: boolean;
  failOnMissing: boolean;
  /** An earlier boot_archive.manifest: the summary shows the size change against its build. */
  baseline?: string;
}

export function parseArtifactOptions(
  raw: Partial<Record<ArtifactInput, RawValue>>,
  names: OptionNames<ArtifactInput>,
): ArtifactSettings {
  const n = (option: ArtifactInput) => names.name(option);
  const prefix = text(raw['artifact-prefix'], n('artifact-prefix')) ?? 'platform';
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) {
    throw new UsageError(
      `${n('artifact-prefix')} may hold only letters, digits, ".", "_" and "-", not ${JSON.stringify(prefix)}`,
    );
  }
  return {
    upload: bool(raw['upload-artifacts'], n('upload-artifacts'), true),
    prefix,
    // 0, as in actions/upload-artifact, is the repository's default.
    retentionDays: wholeNumber(raw['retention-days'], n('retention-days'), 0, 400) || undefined,
    overwrite: bool(raw.overwrite, n('overwrite'), true),
    failOnMissing: bool(raw['fail-on-missing'], n('fail-on-missing'), false),
    baseline: text(raw.baseline, n('baseline')),
  };
}
