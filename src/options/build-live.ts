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
import { pluralInputs, type OptionNames } from './names.js';
import { SOURCE_DIR_OPTIONS, sourceDirs } from './source-dirs.js';
import { bool, choice, defines, list, text, wholeNumber, type RawValue } from './values.js';

/** The options, by their CLI names (the action's inputs are named in BUILD_LIVE_INPUTS). */
export const BUILD_LIVE_OPTIONS = [
  'manifest',
  ...SOURCE_DIR_OPTIONS,
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
export const BUILD_LIVE_INPUTS = pluralInputs<BuildLiveOption>('manifest', 'overlay', 'define');

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

/** A count of inodes: digits only, a safe integer. */
function inodeCount(value: string): number | undefined {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Each UFS size option: the field it sets, how its text reads (undefined: invalid), what it must be. */
const UFS_SIZE_OPTIONS: readonly {
  option: BuildLiveOption;
  field: keyof UfsOptions;
  parse: (value: string) => number | undefined;
  mustBe: string;
}[] = [
  {
    option: 'ufs-free-percent',
    field: 'freePercent',
    parse: (value) => {
      const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
      return n >= 0 && n <= MAX_FREE_PERCENT ? n : undefined;
    },
    mustBe: `a number from 0 to ${MAX_FREE_PERCENT}`,
  },
  {
    option: 'ufs-free-inodes',
    field: 'freeInodes',
    parse: inodeCount,
    mustBe: 'a whole number of inodes (0 or more)',
  },
  {
    option: 'ufs-max-size',
    field: 'maxSize',
    parse: parseSize,
    mustBe: 'a size such as 512M, 2G or a number of bytes',
  },
  {
    option: 'ufs-min-free',
    field: 'minFreeBytes',
    parse: (value) => (value === '0' ? 0 : parseSize(value)),
    mustBe: 'a size such as 16M, 0 or a number of bytes',
  },
  {
    option: 'ufs-min-free-inodes',
    field: 'minFreeInodes',
    parse: inodeCount,
    mustBe: 'a whole number of inodes (0 or more)',
  },
];

/** The UFS size options (`--ufs-*`, the inputs `ufs-*`). */
export function parseUfsOptions(
  raw: BuildLiveRaw,
  names: OptionNames<BuildLiveOption>,
): UfsOptions {
  const options: UfsOptions = {};
  // Every value is read before any is judged (a repeated option is named first).
  const values = UFS_SIZE_OPTIONS.map((o) => text(raw[o.option], names.name(o.option)));
  for (const [i, { option, field, parse, mustBe }] of UFS_SIZE_OPTIONS.entries()) {
    const value = values[i];
    if (value === undefined) continue;
    const parsed = parse(value);
    if (parsed === undefined) {
      throw new UsageError(`${names.name(option)} must be ${mustBe}, not ${JSON.stringify(value)}`);
    }
    options[field] = parsed;
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
    ...sourceDirs(raw, names),
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
