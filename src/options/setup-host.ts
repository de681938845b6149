/** setup-host's options, parsed once for the CLI and the setup-illumos-host action. */
import { COMPRESSIONS } from '../host/cache-tools.js';
import type { SetupHostOptions } from '../host/setup-host.js';
import { pluralInputs, type OptionNames } from './names.js';
import { bool, choice, defines, list, text, wholeNumber, type RawValue } from './values.js';

export const SETUP_HOST_OPTIONS = [
  'workspace',
  'proto',
  'man-dir',
  'release-file',
  'install-packages',
  'illumos-repo',
  'illumos-ref',
  'illumos-extra-repo',
  'illumos-extra-ref',
  'primary-compiler',
  'shadow-compiler',
  'gate',
  'nightly-options',
  'max-jobs',
  'on-closed-bins',
  'illumos-env',
  'compression',
  'gnu-tar',
  'shim-dir',
  'man-url',
  'man-sha256',
  'man-strip-components',
] as const;
export type SetupHostOption = (typeof SETUP_HOST_OPTIONS)[number];

/** The action inputs whose names differ from the CLI's (lists are plural there). */
export const SETUP_HOST_INPUTS = pluralInputs<SetupHostOption>('shadow-compiler');

/** Defaults the CLI's help and the action's metadata show, and an empty value gets. */
export const SETUP_HOST_DEFAULTS = {
  releaseFile: '/etc/release',
  gate: 'joyent-live',
  compression: 'auto',
  manStripComponents: '0',
} as const;

export type SetupHostRaw = Partial<Record<SetupHostOption, RawValue>>;

export type SetupHostSettings = Omit<
  SetupHostOptions,
  'name' | 'env' | 'onInfo' | 'gnuTarCandidates'
>;

/**
 * `defaults.workspace` and `defaults.shimDir` are the caller's: the CLI's
 * current directory, the action's GITHUB_WORKSPACE and RUNNER_TEMP.
 */
export function parseSetupHostOptions(
  raw: SetupHostRaw,
  names: OptionNames<SetupHostOption>,
  defaults: { workspace: string; shimDir?: string },
): SetupHostSettings {
  const n = (option: SetupHostOption) => names.name(option);
  const t = (option: SetupHostOption) => text(raw[option], n(option));
  return {
    workspace: t('workspace') ?? defaults.workspace,
    proto: t('proto'),
    manDir: t('man-dir'),
    releaseFile: t('release-file') ?? SETUP_HOST_DEFAULTS.releaseFile,
    installPackages: bool(raw['install-packages'], n('install-packages'), false),
    illumosRepo: t('illumos-repo'),
    illumosRef: t('illumos-ref'),
    illumosExtraRepo: t('illumos-extra-repo'),
    illumosExtraRef: t('illumos-extra-ref'),
    primaryCompiler: t('primary-compiler'),
    shadowCompilers: list(raw['shadow-compiler']),
    gate: t('gate') ?? SETUP_HOST_DEFAULTS.gate,
    nightlyOptions: t('nightly-options'),
    maxJobs: wholeNumber(raw['max-jobs'], n('max-jobs'), 1, 4096),
    onClosedBins: t('on-closed-bins'),
    illumosEnv: defines(raw['illumos-env'], (item) => names.value('illumos-env', item), 'line'),
    compression: choice(
      raw.compression,
      n('compression'),
      COMPRESSIONS,
      SETUP_HOST_DEFAULTS.compression,
    ),
    gnuTar: t('gnu-tar'),
    shimDir: t('shim-dir') ?? defaults.shimDir,
    manUrl: t('man-url'),
    manSha256: t('man-sha256'),
    manStripComponents: wholeNumber(raw['man-strip-components'], n('man-strip-components'), 0, 64),
  };
}
