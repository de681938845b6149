/** verify-manifest's options, parsed once for the CLI and the verify-manifest action. */
import { DEFAULT_FAIL_ON, FAIL_ON, SKIPPABLE_CHECKS, type FailOn } from '../verify/types.js';
import type { VerifyOptions } from '../verify/verify.js';
import { UsageError } from '../util/errors.js';
import { parseSize } from '../util/format.js';
import type { UnpackLimit } from '../verify/platform.js';
import { pluralInputs, type OptionNames } from './names.js';
import { SOURCE_DIR_OPTIONS, sourceDirs } from './source-dirs.js';
import {
  choice,
  choiceList,
  defines,
  globs,
  list,
  text,
  wholeNumber,
  type RawValue,
} from './values.js';

export const VERIFY_OPTIONS = [
  'log',
  'manifest',
  'define',
  'platform',
  'baseline',
  'allow-missing',
  ...SOURCE_DIR_OPTIONS,
  'ship-policy',
  'ignore-diff',
  'allow-dangling',
  'min-free',
  'min-free-inodes',
  'skip-checks',
  'fail-on',
  'format',
  'output',
  'max-unpack',
] as const;
export type VerifyOption = (typeof VERIFY_OPTIONS)[number];

/** The action inputs whose names differ from the CLI's (lists are plural there). */
export const VERIFY_INPUTS = pluralInputs<VerifyOption>('log', 'manifest', 'define', 'overlay');

export const REPORT_FORMATS = ['text', 'json', 'markdown'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const VERIFY_DEFAULTS = {
  failOn: DEFAULT_FAIL_ON,
  format: 'text',
} as const;

export type VerifyRaw = Partial<Record<VerifyOption, RawValue>>;

export interface VerifySettings {
  /** What the engine's verifyManifest() takes. */
  verify: VerifyOptions & { failOn: FailOn[] };
  /** The CLI's report format and extra report file. */
  format: ReportFormat;
  output?: string;
}

/** `max-unpack`: the most a platform tgz may unpack to. */
function maxUnpack(raw: VerifyRaw, name: string): UnpackLimit | undefined {
  const value = text(raw['max-unpack'], name);
  if (value === undefined) return undefined;
  const bytes = parseSize(value);
  if (bytes === undefined) {
    throw new UsageError(
      `${name} must be a size such as 512M, 8G or a number of bytes, not ${JSON.stringify(value)}`,
    );
  }
  return { bytes, option: name };
}

export function parseVerifyOptions(
  raw: VerifyRaw,
  names: OptionNames<VerifyOption>,
): VerifySettings {
  const n = (option: VerifyOption) => names.name(option);
  const logs = list(raw.log);
  if (logs.length === 0) throw new UsageError(`no log given (${n('log')})`);
  const platform = text(raw.platform, n('platform'));
  const baseline = text(raw.baseline, n('baseline'));
  if (baseline !== undefined && platform === undefined) {
    throw new UsageError(
      `${n('baseline')} needs ${n('platform')} (the build whose boot_archive.manifest is compared)`,
    );
  }
  return {
    verify: {
      logs,
      manifests: list(raw.manifest),
      defines: defines(raw.define, (item) => names.value('define', item)),
      platform,
      baseline,
      allowMissing: globs(raw['allow-missing'], (item) => names.value('allow-missing', item)),
      ...sourceDirs(raw, names),
      shipPolicy: text(raw['ship-policy'], n('ship-policy')),
      ignoreDiff: globs(raw['ignore-diff'], (item) => names.value('ignore-diff', item)),
      allowDangling: globs(raw['allow-dangling'], (item) => names.value('allow-dangling', item)),
      minFree: text(raw['min-free'], n('min-free')),
      minFreeInodes: wholeNumber(
        raw['min-free-inodes'],
        n('min-free-inodes'),
        0,
        Number.MAX_SAFE_INTEGER,
      ),
      skipChecks: choiceList(raw['skip-checks'], n('skip-checks'), SKIPPABLE_CHECKS, []),
      failOn: failOnList(raw['fail-on'], n('fail-on')),
      maxUnpack: maxUnpack(raw, n('max-unpack')),
    },
    format: choice(raw.format, n('format'), REPORT_FORMATS, VERIFY_DEFAULTS.format),
    output: text(raw.output, n('output')),
  };
}

/** --fail-on: the kinds named, `all` for every one (docs/verify.md). */
function failOnList(raw: RawValue, name: string): FailOn[] {
  const items = choiceList(raw, name, [...FAIL_ON, 'all'], VERIFY_DEFAULTS.failOn);
  return items.includes('all') ? [...FAIL_ON] : (items as FailOn[]);
}
