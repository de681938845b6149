/**
 * The boot checks (docs/verify.md, "What boots"): what the finished image
 * needs at boot and run time, read from the image itself, never run.
 *
 * A boot check is one function: it takes the image view (src/verify/image-view.ts:
 * every entry with type, mode, size, link target and hard-link identity; path
 * resolution through the image's links; a bounded file reader; the manifest
 * file:line of each path) and yields its findings, returning how many things
 * it looked at:
 *
 *     export function* myCheck(image: ImageView): Generator<Finding, number>
 *     // or an async generator (AsyncGenerator<Finding, number>) when it reads files
 *
 * Adding one is one line in BOOT_CHECKS: the kinds it yields (the first is the
 * name --skip-checks knows it by) and the function (wrapped in withSummary()
 * when it also fills a part of the JSON report). Each kind gets its line
 * of the report; findings are counted, the first 10,000 kept.
 */
import type { BootManifest } from '../../formats/boot-manifest.js';
import type { ImageView } from '../image-view.js';
import type { CheckKind, VerifyReport } from '../types.js';
import { driverConfig, emptyDriverSummary } from './driver-config.js';
import { emptySmfSummary, smfChecks } from './smf.js';
import type { Check } from './collect.js';
import type { PolicyRule } from './ship-policy.js';
import { interpreters } from './interpreters.js';
import { isaexecLinks } from './isaexec.js';
import { setuidFiles } from './setuid.js';

/** What some checks need beyond the image: the ship policy, the baseline's manifest. */
export interface BootContext {
  policy: readonly PolicyRule[];
  baseline?: BootManifest;
  /** Where checks put what they read beyond their findings (the JSON report's parts). */
  details?: BootDetails;
}

/** The report parts the boot checks fill (src/verify/types.ts). */
export type BootDetails = Partial<Pick<VerifyReport, 'driverConfig' | 'smf'>>;

export type BootCheck = (image: ImageView, context: BootContext) => Check;

export interface BootCheckSpec {
  kinds: readonly [CheckKind, ...CheckKind[]];
  check: BootCheck;
  /**
   * Kinds of another check's line this one may also yield (setuid's
   * stale-policy rules): merged into that line, shown only when found.
   */
  alsoYields?: readonly CheckKind[];
}

/**
 * A boot check that also reads a part of the JSON report (`key` of
 * BootDetails): a fresh summary, put in the context's details when it has
 * them, filled by the check as it runs.
 */
function withSummary<K extends keyof BootDetails>(
  key: K,
  empty: () => NonNullable<BootDetails[K]>,
  run: (input: { view: ImageView; summary: NonNullable<BootDetails[K]> }) => Check,
): BootCheck {
  return (view, context) => {
    const summary = empty();
    if (context.details) context.details[key] = summary;
    return run({ view, summary });
  };
}

/** Every boot check, in report order. */
export const BOOT_CHECKS: readonly BootCheckSpec[] = [
  { kinds: ['missing-interpreter'], check: interpreters },
  { kinds: ['isaexec'], check: isaexecLinks },
  { kinds: ['setuid'], check: setuidFiles, alsoYields: ['stale-policy'] },
  {
    kinds: ['driver-config'],
    check: withSummary('driverConfig', emptyDriverSummary, driverConfig),
  },
  {
    kinds: ['smf-method', 'smf-dependency'],
    check: withSummary('smf', emptySmfSummary, smfChecks),
  },
];

/** What a boot check read beyond its findings, for its line of the report (counts only). */
export function bootNote(kind: CheckKind, details: BootDetails): string | undefined {
  const d = details.driverConfig;
  if (kind === 'driver-config' && d && d.unshippedDrivers > 0)
    return `${d.unshippedDrivers} driver(s) the image does not ship have ${d.unshippedLines} configuration line(s): normal, listed in the JSON report (driverConfig)`;
  const smf = details.smf;
  if (kind === 'smf-method' && smf)
    return `${smf.manifests} manifest(s), ${smf.methods} command(s) checked, ${smf.keywords} keyword method(s), ${smf.skippedCount} skipped (shell syntax or not an absolute path; listed in the JSON report, smf.skipped)`;
  return undefined;
}
