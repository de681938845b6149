import type { LogSummary } from '../formats/build-log.js';
import type { SourceTag } from '../sources/search.js';

/** One entry line of a build log, in either style docs/build-log.md describes. */
export interface LogEntry {
  status: 'OK' | 'FAILED';
  kind: 'DIR' | 'FILE' | 'SYMLINK' | 'LINK';
  /** Image path of the entry. */
  path: string;
  /** joyent-live logs: where a file's content came from. */
  tag?: SourceTag;
  /** smartos-live C builder logs: the directory a file came from. */
  sourceDir?: string;
  /** Link text (SYMLINK) or existing path (LINK). */
  target?: string;
  /** Where in the log (1-based). */
  line: number;
  style: 'joyent-live' | 'smartos-live';
}

/** What a report says about one FAILED entry. */
export interface FailureReport {
  path: string;
  kind: LogEntry['kind'];
  log: string;
  logLine: number;
  /** The manifest entry, when a manifest (or the JSONL twin) names it. */
  manifest?: { file: string; line: number };
  /** The places searched, from the JSONL twin of a joyent-live log. */
  searched: string[];
  /** Matches an --allow-missing glob: reported, not fatal. */
  allowed: boolean;
  /** The manifests given do not contain this path (log and manifest from different builds?). */
  notInManifest: boolean;
}

export type DiffKind = 'added' | 'removed' | 'content' | 'mode' | 'owner' | 'target' | 'type';

export interface DiffEntry {
  kind: DiffKind;
  path: string;
  before?: string;
  after?: string;
}

export interface ContentDifference {
  path: string;
  field: 'type' | 'mode' | 'owner' | 'group' | 'target' | 'extra';
  expected: string;
  actual: string;
}

export interface ContentCheck {
  /** What was checked, e.g. "hsfs boot_archive read with xorriso". */
  method: string;
  checked: number;
  mismatches: { path: string; expected: string; actual: string }[];
  missing: string[];
  /**
   * Entries of the image whose type, mode, owner, group or link target is
   * not what the manifest says, and entries the manifest does not list
   * (`extra`). Only where the image's metadata is read (UFS).
   */
  differences?: ContentDifference[];
  hash?: { expected: string; actual: string; ok: boolean };
  /** Why content was not checked, when it was not. */
  skipped?: string;
  /**
   * Why the boot_archive does not read back as the format it claims (UFS:
   * any boot_archive that is not hsfs): an `integrity` failure, whatever
   * --fail-on says.
   */
  unreadable?: string;
}

/** The boot checks' kinds --skip-checks knows them by (src/verify/checks/boot.ts). */
const BOOT_CHECK_NAMES = [
  'missing-interpreter',
  'isaexec',
  'setuid',
  'driver-config',
  'smf-method',
] as const;

/**
 * The completeness checks: each finding has one of these kinds, which is
 * also its --fail-on name (docs/verify.md describes each).
 */
export const CHECK_KINDS = [
  'not-built',
  'unshipped',
  'proto-mismatch',
  'stale-policy',
  'broken-link',
  'missing-library',
  'bad-runpath',
  'bad-elf',
  'missing-module',
  ...BOOT_CHECK_NAMES,
  'smf-dependency',
  'shadowed',
  'low-headroom',
] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export const FAIL_ON = [
  'failed',
  'system-source',
  'unknown-owner',
  'added',
  'removed',
  'changed',
  ...CHECK_KINDS,
] as const;
export type FailOn = (typeof FAIL_ON)[number];

/** The checks --skip-checks can name (each by its first kind). */
export const SKIPPABLE_CHECKS = [
  'unshipped',
  'broken-link',
  'missing-library',
  ...BOOT_CHECK_NAMES,
  'shadowed',
  'low-headroom',
] as const satisfies readonly CheckKind[];

/** What --fail-on is when not given. */
export const DEFAULT_FAIL_ON: readonly FailOn[] = ['failed', 'not-built'];

/** One finding of a completeness check. */
export interface Finding {
  kind: CheckKind;
  /** Image path (or proto path, for unshipped) the finding is about. */
  path: string;
  /** Where to point: the manifest (or ship policy, or log) file and line, when there is one. */
  file?: string;
  line?: number;
  message: string;
}

/** One check's line of the count table, and its findings (the first MAX_LISTED_FINDINGS). */
export interface CheckResult {
  kind: CheckKind;
  /** What the check looked at (entries, files, links, objects, ...). */
  checked: number;
  findings: number;
  /** In --fail-on: findings fail the verdict. */
  fatal: boolean;
  listed: Finding[];
  /** Why the check did not run, or what it said beyond its findings. */
  note?: string;
}

/** Why a verdict failed: a --fail-on condition, or an image that is not what its manifest says. */
export type FailReason = FailOn | 'integrity' | 'log-mismatch';

/**
 * A joyent-live log's `# boot_archive sha1:` line against the platform
 * given: different means the log and the platform come from different
 * builds (a reason that always fails).
 */
export interface LogMatch {
  log: string;
  /** The sha1 the log names. */
  logSha1: string;
  /** The platform's boot_archive sha1, or none when it has no boot_archive. */
  platformSha1?: string;
  ok: boolean;
}

/** The whole verify-manifest result; `--format json` prints exactly this. */
export interface VerifyReport {
  schema: 'joyent-live/verify-report@1';
  verdict: 'pass' | 'fail';
  /**
   * What made the verdict fail: the --fail-on conditions that occurred, and
   * `integrity` when the boot_archive does not match its hash or md5s (that
   * always fails), and `log-mismatch` when a log names another boot_archive
   * than the platform's (that always fails too).
   */
  reasons: FailReason[];
  failOn: FailOn[];
  logs: Pick<LogSummary, 'path' | 'style' | 'lines' | 'entries' | 'truncatedLastLine'>[];
  counts: {
    entries: number;
    ok: number;
    failed: number;
    allowedMissing: number;
    unknownOwners: number;
    byTag: { A: number; P: number; M: number; S: number; other: number };
    /** smartos-live logs: files whose `OK (<dir>)` names no source given, by that dir. */
    otherDirs: Record<string, number>;
    byKind: { DIR: number; FILE: number; SYMLINK: number; LINK: number };
  };
  failures: FailureReport[];
  /** Files served from the running system (tag S), the first 1,000. */
  systemFiles: string[];
  /** The log's unknown-owner warnings, the first 1,000. */
  unknownOwnerWarnings: string[];
  content?: ContentCheck;
  /** With a platform: each log that names its boot_archive's sha1, checked against it. */
  logMatches?: LogMatch[];
  /** The completeness checks that ran, in order; each with its findings. */
  checks: CheckResult[];
  /** UFS images: free blocks and inodes (and against the baseline's platform). */
  headroom?: Headroom;
  diff?: {
    baseline: string;
    /** Paths left out of the diff (--ignore-diff, and etc/joyent_buildstamp for `changed`). */
    ignored: { pattern: string; paths: number; kinds: 'all' | 'changed' }[];
    added: number;
    removed: number;
    changed: number;
    entries: DiffEntry[];
    /** boot_archive size change in bytes, when both sizes are known. */
    sizeDelta?: number;
  };
  notes: string[];
  /** With a platform: what the driver-config check read (docs/verify.md). */
  driverConfig?: DriverConfigSummary;
  /** With a platform: what the SMF checks read (docs/verify.md). */
  smf?: SmfSummary;
}

/** The driver configuration of the image, beyond the driver-config findings. */
export interface DriverConfigSummary {
  /** Driver modules the image ships (names under a drv/ directory of the module path). */
  shippedDrivers: number;
  /** Lines read from etc/name_to_major, etc/driver_aliases, etc/minor_perm; .conf files read. */
  majors: number;
  aliases: number;
  minorPerms: number;
  confFiles: number;
  /** Drivers the configuration names that the image does not ship (normal: never findings). */
  unshippedDrivers: number;
  unshippedLines: number;
  /** The first 1,000 of them, each with its lines as `file:line` (a .conf by its path), the first 50. */
  unshipped: { driver: string; lines: string[]; moreLines?: number }[];
}

/** The SMF manifests of the image, beyond the smf-method and smf-dependency findings. */
export interface SmfSummary {
  /** XML manifests read under lib/svc/manifest/ and var/svc/manifest/. */
  manifests: number;
  /** Services they define. */
  services: number;
  /** exec_method commands checked (an absolute path), and the ones that need nothing (:true, :kill). */
  methods: number;
  keywords: number;
  /** Commands not checked: shell syntax, or a command that is not an absolute path (the first 1,000). */
  skippedCount: number;
  skipped: { path: string; line: number; exec: string; why: string }[];
}

/** Free space of a UFS image, from its superblock. */
export interface HeadroomFigures {
  blockBytes: number;
  blocks: number;
  freeBlocks: number;
  inodes: number;
  freeInodes: number;
}

export interface Headroom extends HeadroomFigures {
  baseline?: HeadroomFigures;
  minFree?: string;
  minFreeInodes?: number;
}
