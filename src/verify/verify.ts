import { open, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadManifests } from '../manifest/load.js';
import { formatDiagnostic } from '../manifest/types.js';
import { describeError, errnoCode, UsageError, UserError } from '../util/errors.js';
import { ownString } from '../util/format.js';
import { readBootManifest } from '../formats/boot-manifest.js';
import { diffBootManifests } from './diff.js';
import { readTwinFailures } from '../formats/jsonl-twin.js';
import { MAX_LISTED, readBuildLog } from '../formats/build-log.js';
import {
  checkContent,
  claimedFormat,
  openPlatform,
  type OpenedPlatform,
  type UnpackLimit,
} from './platform.js';
import { BOOT_ARCHIVE, BOOT_ARCHIVE_MANIFEST, BUILDSTAMP_FILE } from '../formats/output-layout.js';
import type { LoadedManifest } from '../manifest/load.js';
import type { SourceDirs, SourceTag } from '../sources/search.js';
import { GATE_LIMITS, UfsReader } from '../archive/ufs/read.js';
import type { BootManifest } from '../formats/boot-manifest.js';
import { collectCheck, emptyResult, MAX_LISTED_FINDINGS } from './checks/collect.js';
import { lowHeadroom, parseMinFree, readHeadroom } from './checks/headroom.js';
import { libraries, type ImageFile } from './checks/libraries.js';
import type { ElfCandidates } from './ufs-content.js';
import { brokenLinks, mayDangle } from './checks/links.js';
import { BOOT_CHECKS, bootNote, type BootContext, type BootDetails } from './checks/boot.js';
import { stagedImage, stagedTreeOf, ufsImageView, type ImageView } from './image-view.js';
import { readShipPolicy, type PolicyRule } from './checks/ship-policy.js';
import { shadowed } from './checks/shadowed.js';
import { unshipped } from './checks/unshipped.js';
import { ignoreDiff, imageGlob } from './checks/ignore-diff.js';
import { notBuilt } from './checks/not-built.js';
import type { LogSummary } from '../formats/build-log.js';
import {
  CHECK_KINDS,
  DEFAULT_FAIL_ON,
  type CheckKind,
  type CheckResult,
  type ContentCheck,
  type FailOn,
  type FailReason,
  type Headroom,
  type FailureReport,
  type LogMatch,
  type VerifyReport,
} from './types.js';

/** The source directories are build-live's: `OK (<dir>)` mapping and the unshipped check. */
export interface VerifyOptions extends Partial<SourceDirs> {
  logs: readonly string[];
  manifests?: readonly string[];
  defines?: ReadonlyMap<string, string>;
  platform?: string;
  baseline?: string;
  allowMissing?: readonly string[];
  failOn?: readonly FailOn[];
  /** The C builder's system root; `/` when not given. */
  systemRoot?: string;
  /** Globs of image paths left out of the diff. */
  ignoreDiff?: readonly string[];
  /** Globs of image paths a symlink may dangle into, beyond the run-time defaults. */
  allowDangling?: readonly string[];
  /** UFS images: the least free space (`64M`, `5%`) and free inodes. */
  minFree?: string;
  minFreeInodes?: number;
  /** `skip <glob>` rules: what the proto holds that is not expected in the image. */
  shipPolicy?: string;
  /** Checks not to run (their kinds). */
  skipChecks?: readonly CheckKind[];
  /** The most a platform tgz may unpack to (default DEFAULT_MAX_UNPACK). */
  maxUnpack?: UnpackLimit;
}

const sizeOf = async (path: string) => (await stat(path).catch(() => undefined))?.size;

/** What the phases read once and share: the ship policy and the manifests. */
interface Inputs {
  failOn: FailOn[];
  policy: PolicyRule[];
  manifest?: LoadedManifest;
}

/** The logs' part of the report, and what later phases need of them. */
type LogsPart = Pick<
  VerifyReport,
  'logs' | 'counts' | 'failures' | 'systemFiles' | 'unknownOwnerWarnings' | 'notes'
> & {
  summaries: LogSummary[];
  /** Manifest paths no log line has reached (not-built). */
  unseen?: Set<string>;
};

/** The platform's part of the report. */
type PlatformPart = Pick<
  VerifyReport,
  'content' | 'logMatches' | 'headroom' | 'diff' | 'driverConfig' | 'smf'
> & {
  checks: CheckResult[];
  notes: string[];
  /** The boot_archive does not match its hash or manifest (always fails). */
  integrityFailed: boolean;
};

/**
 * verify-manifest (docs/verify.md, `joyent-live verify-manifest`): reads build logs, maps failures to manifest
 * lines, checks the platform's content and diffs against a baseline. The
 * verdict fails when anything named in `failOn` happened, and always when
 * the boot_archive does not match its own hash or manifest.
 *
 * Named phases, each returning its part of the report: inputs, logs,
 * source checks (not-built, unshipped, shadowed), failures placed at their
 * manifest lines, the platform (content, image and boot checks, diff),
 * the verdict.
 */
export async function verifyManifest(options: VerifyOptions): Promise<VerifyReport> {
  const inputs = await loadInputs(options);
  const logs = await readLogs(options, inputs.manifest);
  const checks = await sourceChecks(options, inputs, logs);
  const placed = placeFailures(options, logs, inputs.manifest);
  const platform = options.platform
    ? await platformPhase(options, options.platform, inputs, logs.summaries)
    : undefined;
  const report: VerifyReport = {
    schema: 'joyent-live/verify-report@1',
    verdict: 'pass',
    reasons: [],
    failOn: inputs.failOn,
    logs: logs.logs,
    counts: logs.counts,
    failures: logs.failures,
    checks: mergeKinds([...checks, ...(platform?.checks ?? [])]),
    systemFiles: logs.systemFiles,
    unknownOwnerWarnings: logs.unknownOwnerWarnings,
    notes: [...logs.notes, ...placed, ...(platform?.notes ?? [])],
  };
  for (const key of ['content', 'headroom', 'logMatches', 'diff', 'driverConfig', 'smf'] as const) {
    if (platform?.[key] !== undefined) Object.assign(report, { [key]: platform[key] });
  }
  return { ...report, ...verdict(report, platform?.integrityFailed ?? false) };
}

/** Phase: the options checked, the ship policy and the manifests read; any error stops here. */
async function loadInputs(options: VerifyOptions): Promise<Inputs> {
  // The CLI and the actions check these first, naming their option (src/options).
  if (options.logs.length === 0) throw new UsageError('no log given');
  if (options.baseline && !options.platform) {
    throw new UsageError(
      'a baseline needs a platform (the build whose boot_archive.manifest is compared)',
    );
  }
  if (options.minFree !== undefined) parseMinFree(options.minFree);
  const failOn: FailOn[] = [...new Set<FailOn>(options.failOn ?? DEFAULT_FAIL_ON)];
  for (const [dir, flag] of [
    [options.proto, '--proto'],
    ...(options.overlays ?? []).map((d) => [d, '--overlay'] as const),
  ] as const) {
    if (dir !== undefined) await mustBeDir(dir, flag);
  }
  const policy = options.shipPolicy ? await readShipPolicy(options.shipPolicy) : [];
  const manifest = await loadGivenManifests(options);
  return { failOn, policy, ...(manifest ? { manifest } : {}) };
}

/** Phase: every log read, its entries counted and its failures gathered. */
async function readLogs(
  options: VerifyOptions,
  manifest: LoadedManifest | undefined,
): Promise<LogsPart> {
  const part: LogsPart = {
    logs: [],
    counts: {
      entries: 0,
      ok: 0,
      failed: 0,
      allowedMissing: 0,
      unknownOwners: 0,
      byTag: { A: 0, P: 0, M: 0, S: 0, other: 0 },
      otherDirs: {},
      byKind: { DIR: 0, FILE: 0, SYMLINK: 0, LINK: 0 },
    },
    failures: [],
    systemFiles: [],
    unknownOwnerWarnings: [],
    notes: [],
    summaries: [],
    ...(manifest ? { unseen: new Set(manifest.entries.keys()) } : {}),
  };
  const dirTag = sourceDirTags(options);
  for (const log of options.logs) await readOneLog(log, part, dirTag);
  return part;
}

/** One log into the logs' part. */
async function readOneLog(
  log: string,
  part: LogsPart,
  dirTag: (dir: string) => SourceTag | undefined,
): Promise<void> {
  const { counts, unseen } = part;
  const failures: FailureReport[] = [];
  const summary = await readBuildLog(log, (entry) => {
    unseen?.delete(entry.path);
    counts.entries++;
    counts.byKind[entry.kind]++;
    if (entry.status === 'FAILED') {
      counts.failed++;
      failures.push({
        // Kept to the end: copied so it does not pin the log chunk it came from.
        path: ownString(entry.path),
        kind: entry.kind,
        log,
        logLine: entry.line,
        searched: [],
        allowed: false,
        notInManifest: false,
      });
      return;
    }
    counts.ok++;
    if (entry.kind !== 'FILE') return;
    const tag = entry.tag ?? (entry.sourceDir !== undefined ? dirTag(entry.sourceDir) : undefined);
    counts.byTag[tag ?? 'other']++;
    if (tag === undefined && entry.sourceDir !== undefined) countOtherDir(counts, entry.sourceDir);
    if (tag === 'S' && part.systemFiles.length < MAX_LISTED) {
      part.systemFiles.push(ownString(entry.path));
    }
  });
  part.summaries.push(summary);
  counts.unknownOwners += summary.unknownOwners;
  part.unknownOwnerWarnings.push(
    ...summary.unknownOwnerWarnings.slice(0, MAX_LISTED - part.unknownOwnerWarnings.length),
  );
  part.logs.push({
    path: log,
    style: summary.style,
    lines: summary.lines,
    entries: summary.entries,
    truncatedLastLine: summary.truncatedLastLine,
  });
  if (summary.truncatedLastLine) {
    part.notes.push(
      summary.truncatedText === undefined
        ? `${log}: the last line has no newline (the log may have been cut off)`
        : `${log}:${summary.lines}: the last line is truncated and was ignored: ${JSON.stringify(summary.truncatedText.slice(0, 120))}`,
    );
  }
  const twin = await readTwinFailures(log);
  for (const failure of failures) {
    const details = twin.get(failure.path);
    if (details) Object.assign(failure, details);
  }
  if (summary.rejoined > 0) {
    part.notes.push(
      `${log}: ${summary.rejoined} entry line(s) were split by the builder's stderr output and read rejoined with their status line`,
    );
  }
  // One at a time: a spread of 100,000s of failures overflows the stack.
  for (const failure of failures) part.failures.push(failure);
}

/** Phase: the checks of the logs and sources (not-built, unshipped, shadowed). */
async function sourceChecks(
  options: VerifyOptions,
  inputs: Inputs,
  logs: LogsPart,
): Promise<CheckResult[]> {
  const { manifest, failOn } = inputs;
  const checks = await collectCheck(
    notBuilt({ logs: logs.summaries, manifest: manifest?.entries.values(), unseen: logs.unseen }),
    ['not-built'],
    failOn,
  );
  checks.push(...(await unshippedPhase(options, inputs)));
  if (!skipped(options, 'shadowed')) {
    checks.push(...(await collectCheck(shadowed(options.logs), ['shadowed'], failOn)));
  }
  return checks;
}

/**
 * Phase: each failure at its manifest file:line, and allowed when an
 * --allow-missing glob matches it. Returns its notes.
 */
function placeFailures(
  options: VerifyOptions,
  logs: LogsPart,
  manifest: LoadedManifest | undefined,
): string[] {
  const notes: string[] = [];
  if (manifest) {
    for (const failure of logs.failures) {
      const entry = manifest.entries.get(failure.path);
      if (entry) failure.manifest = { file: entry.file, line: entry.line };
      else failure.notInManifest = true;
    }
    const strays = logs.failures.filter((f) => f.notInManifest).length;
    if (strays > 0) {
      notes.push(
        `${strays} FAILED path(s) are not in the manifests given: are the log and the manifests from the same build?`,
      );
    }
  }
  const allowed = (options.allowMissing ?? []).map((glob) => imageGlob(glob, '--allow-missing'));
  for (const failure of logs.failures) {
    failure.allowed = allowed.some((match) => match(failure.path));
    if (failure.allowed) logs.counts.allowedMissing++;
  }
  return notes;
}

/**
 * Phase: the platform: its content against its manifest and hash, the
 * checks of the finished image, the logs' sha1 lines, the baseline diff.
 */
async function platformPhase(
  options: VerifyOptions,
  path: string,
  inputs: Inputs,
  summaries: readonly LogSummary[],
): Promise<PlatformPart> {
  const platform = await openPlatform(path, options.maxUnpack);
  try {
    const current = await readBootManifest(join(platform.archiveDir, BOOT_ARCHIVE_MANIFEST));
    await mustBeReadable(join(platform.archiveDir, BOOT_ARCHIVE), path);
    // The content pass gathers the ELF objects the library closure reads.
    const elf: ElfCandidates = { files: [], complete: false };
    const content = await checkContent(
      platform,
      current,
      skipped(options, 'missing-library') ? undefined : elf,
      await claimedFormat(options.logs),
    );
    const notes = content.skipped ? [`content not checked: ${content.skipped}`] : [];
    const baseline = options.baseline ? await readBootManifest(options.baseline) : undefined;
    const unreadable = content.unreadable !== undefined;
    const image = await imageChecks(options, inputs, platform.archiveDir, current, elf, {
      baseline,
      unreadable,
    });
    const part: PlatformPart = {
      content,
      checks: image.checks,
      notes,
      integrityFailed:
        unreadable ||
        content.mismatches.length > 0 ||
        content.missing.length > 0 ||
        (content.differences?.length ?? 0) > 0 ||
        content.hash?.ok === false,
      logMatches: matchLogs(summaries, content),
      ...(image.headroom ? { headroom: image.headroom } : {}),
      ...image.details,
    };
    if (options.baseline && baseline) {
      const diffed = await diffPhase(options, options.baseline, baseline, current, platform);
      part.diff = diffed.diff;
      notes.push(...diffed.notes);
    }
    return part;
  } finally {
    await platform.close();
  }
}

/** Phase: the diff against the baseline's boot_archive.manifest, and the size delta. */
async function diffPhase(
  options: VerifyOptions,
  baselineFile: string,
  baseline: BootManifest,
  current: BootManifest,
  platform: OpenedPlatform,
): Promise<{ diff: NonNullable<VerifyReport['diff']>; notes: string[] }> {
  const notes: string[] = [];
  const diffed = diffBootManifests(baseline, current);
  const { entries, ignored } = ignoreDiff(diffed, options.ignoreDiff ?? []);
  if (ignored.some((i) => i.pattern === BUILDSTAMP_FILE && i.paths > 0)) {
    notes.push(
      `${BUILDSTAMP_FILE} is left out of "changed": it holds the BUILDSTAMP, which changes on every build by design`,
    );
  }
  const changedPaths = new Set(
    entries.filter((e) => e.kind !== 'added' && e.kind !== 'removed').map((e) => e.path),
  );
  const [sizeNow, sizeBefore] = await Promise.all([
    sizeOf(join(platform.archiveDir, BOOT_ARCHIVE)),
    sizeOf(join(dirname(baselineFile), BOOT_ARCHIVE)),
  ]);
  if (baseline.format === 'md5sum') {
    notes.push(`${baselineFile} is an md5sum listing: only file contents were compared`);
  }
  return {
    diff: {
      baseline: baselineFile,
      added: entries.filter((e) => e.kind === 'added').length,
      removed: entries.filter((e) => e.kind === 'removed').length,
      changed: changedPaths.size,
      ignored,
      entries,
      ...(sizeNow !== undefined && sizeBefore !== undefined
        ? { sizeDelta: sizeNow - sizeBefore }
        : {}),
    },
    notes,
  };
}

/** Phase: the verdict and why, from everything the report holds. */
function verdict(
  report: VerifyReport,
  integrityFailed: boolean,
): Pick<VerifyReport, 'verdict' | 'reasons'> {
  const { counts } = report;
  const happened: Record<FailOn, boolean> = {
    failed: report.failures.some((f) => !f.allowed),
    'system-source': counts.byTag.S > 0,
    'unknown-owner': counts.unknownOwners > 0,
    added: (report.diff?.added ?? 0) > 0,
    removed: (report.diff?.removed ?? 0) > 0,
    changed: (report.diff?.changed ?? 0) > 0,
    ...checkHappened(report.checks),
  };
  const reasons: FailReason[] = [
    ...(integrityFailed ? (['integrity'] as const) : []),
    ...(report.logMatches?.some((m) => !m.ok) ? (['log-mismatch'] as const) : []),
    ...report.failOn.filter((reason) => happened[reason]),
  ];
  return { verdict: reasons.length > 0 ? 'fail' : 'pass', reasons };
}

/**
 * Each log that names the sha1 of its boot_archive (`# boot_archive sha1:`,
 * docs/build-log.md) against the platform's boot_archive: its boot_archive.hash,
 * or the sha1 of the boot_archive itself when it has no .hash.
 * Logs without the line (the C builder's, `--archive none`) are not checked.
 */
function matchLogs(logs: readonly LogSummary[], content: ContentCheck): LogMatch[] | undefined {
  const named = logs.filter((l) => l.bootArchiveSha1 !== undefined);
  if (named.length === 0) return undefined;
  // What the platform's boot_archive.hash says (whether the boot_archive
  // matches it is the integrity check), else the sha1 checkContent computed;
  // none when the platform has no boot_archive.
  const said = content.hash?.expected;
  const platformSha1 =
    said !== undefined && /^[0-9a-f]{40}$/.test(said) ? said : content.hash?.actual;
  return named.map((l) => ({
    log: l.path,
    logSha1: l.bootArchiveSha1!,
    platformSha1,
    ok: l.bootArchiveSha1 === platformSha1,
  }));
}

/** Phase: the manifests given, loaded and merged; any error stops here. */
async function loadGivenManifests(options: VerifyOptions): Promise<LoadedManifest | undefined> {
  if (!options.manifests || options.manifests.length === 0) return undefined;
  const loaded = await loadManifests(options.manifests, options.defines ?? new Map());
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    throw new UserError(`${errors.length} error(s) in the manifests`, {
      details: errors.map(formatDiagnostic),
    });
  }
  return loaded;
}

const trimSlashes = (dir: string) => (dir === '/' ? dir : dir.replace(/\/+$/, ''));

/**
 * The source tag of a C-builder `OK (<dir>)`: the directory given as that
 * source (as written, or resolved); `/` is the system root unless
 * --system-root says otherwise.
 */
function sourceDirTags(options: VerifyOptions): (dir: string) => SourceTag | undefined {
  const tags = new Map<string, SourceTag>();
  const add = (dir: string | undefined, tag: SourceTag) => {
    if (dir === undefined) return;
    for (const form of [trimSlashes(dir), trimSlashes(resolve(dir))]) {
      if (!tags.has(form)) tags.set(form, tag);
    }
  };
  for (const overlay of options.overlays ?? []) add(overlay, 'A');
  add(options.proto, 'P');
  add(options.manDir, 'M');
  add(options.systemRoot ?? '/', 'S');
  return (dir) => tags.get(trimSlashes(dir));
}

/** Distinct unmapped source directories counted one by one, up to this many. */
const MAX_OTHER_DIRS = 20;

function countOtherDir(counts: VerifyReport['counts'], dir: string): void {
  const known = counts.otherDirs[dir] !== undefined;
  if (!known && Object.keys(counts.otherDirs).length >= MAX_OTHER_DIRS) {
    counts.otherDirs['(other directories)'] = (counts.otherDirs['(other directories)'] ?? 0) + 1;
    return;
  }
  counts.otherDirs[ownString(dir)] = (counts.otherDirs[dir] ?? 0) + 1;
}

/** One line per kind: a kind two checks yield (stale-policy) is summed into its first line. */
function mergeKinds(checks: CheckResult[]): CheckResult[] {
  const first = new Map<CheckKind, CheckResult>();
  const out: CheckResult[] = [];
  for (const check of checks) {
    const into = first.get(check.kind);
    if (!into) {
      first.set(check.kind, check);
      out.push(check);
      continue;
    }
    into.checked += check.checked;
    into.findings += check.findings;
    for (const f of check.listed) if (into.listed.length < MAX_LISTED_FINDINGS) into.listed.push(f);
    into.note ??= check.note;
  }
  return out;
}

/** Which check kinds found something. */
function checkHappened(checks: readonly CheckResult[]): Record<CheckKind, boolean> {
  const out = Object.fromEntries(CHECK_KINDS.map((k) => [k, false])) as Record<CheckKind, boolean>;
  for (const check of checks) if (check.findings > 0) out[check.kind] = true;
  return out;
}

/** A boot_archive that exists must be readable: an I/O error names it (an absent one is skipped). */
async function mustBeReadable(file: string, platform: string): Promise<void> {
  const handle = await open(file, 'r').catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new UserError(`--platform ${platform}: cannot read ${file}: ${describeError(err)}`);
  });
  await handle?.close();
}

async function mustBeDir(dir: string, flag: string): Promise<void> {
  const info = await stat(dir).catch((err: unknown) => {
    throw new UserError(`${flag} ${dir}: ${describeError(err)}`);
  });
  if (!info.isDirectory()) throw new UserError(`${flag} ${dir} is not a directory`);
}

/** Phase: what the proto and overlays hold that the manifests do not ship. */
async function unshippedPhase(options: VerifyOptions, inputs: Inputs): Promise<CheckResult[]> {
  const { manifest, failOn, policy } = inputs;
  const roots = [
    ...(options.overlays ?? []).map((dir) => ({ dir, what: 'overlay' as const })),
    ...(options.proto !== undefined ? [{ dir: options.proto, what: 'proto' as const }] : []),
  ];
  if (roots.length === 0 || skipped(options, 'unshipped')) return [];
  const kinds = ['unshipped', 'proto-mismatch', 'stale-policy'] as const;
  if (!manifest) return notChecked(kinds, failOn, 'not checked: needs the manifests (-m)');
  const skips = policy.filter((rule) => rule.verb === 'skip');
  const check = unshipped({ roots, manifest: manifest.entries, policy: skips });
  return collectCheck(check, kinds, failOn);
}

/** Empty lines of the report for checks that could not run, saying why. */
function notChecked(
  kinds: readonly CheckKind[],
  failOn: readonly FailOn[],
  note: string,
): CheckResult[] {
  return kinds.map((kind) => ({ ...emptyResult(kind, failOn), note }));
}

const skipped = (options: VerifyOptions, kind: CheckKind) => options.skipChecks?.includes(kind);

/** Bytes read at once from the start of an ELF file: its header and, mostly, its program headers. */
const ELF_HEAD = 4096;

/**
 * The regular files of a UFS image, each readable through the reader: the
 * ELF candidates of the content pass when it gathered them, else every file.
 */
async function* ufsFiles(reader: UfsReader, elf: ElfCandidates): AsyncGenerator<ImageFile> {
  const files = elf.complete ? elf.files : reader.entries();
  for await (const entry of files) {
    if (entry.type !== 'f') continue;
    const readAt = await reader.fileReader(entry);
    const read = (position: number, length: number) =>
      readAt(position, Math.max(0, Math.min(length, entry.size - position)));
    let head: Promise<Buffer> | undefined;
    yield {
      path: entry.path,
      size: entry.size,
      read: async (position, length) => {
        if (position + length <= ELF_HEAD) {
          head ??= read(0, ELF_HEAD);
          const h = await head;
          return h.subarray(position, Math.min(h.length, position + length));
        }
        return read(position, length);
      },
    };
  }
}

const NOT_READ =
  'not checked: only a UFS boot_archive, or the staged tree an --archive none build keeps, is read';
/** The note of the checks an unreadable boot_archive (an integrity failure) leaves undone. */
const UNREADABLE = 'not checked: the boot_archive does not read back';

/** What the image checks add to the report. */
interface ImagePart {
  checks: CheckResult[];
  headroom?: Headroom;
  details: BootDetails;
}

/**
 * Phase: the checks of the finished image (links, libraries and modules,
 * the boot checks, headroom), from its boot_archive.manifest and, for UFS,
 * its boot_archive.
 */
async function imageChecks(
  options: VerifyOptions,
  inputs: Inputs,
  archiveDir: string,
  current: BootManifest,
  elf: ElfCandidates,
  read: { baseline: BootManifest | undefined; unreadable: boolean },
): Promise<ImagePart> {
  const { baseline } = read;
  const { failOn } = inputs;
  const entries = inputs.manifest?.entries;
  const checks: CheckResult[] = [];
  const details: BootDetails = {};
  if (!skipped(options, 'broken-link')) {
    const check = brokenLinks({
      tree: current.entries,
      allowDangling: options.allowDangling,
      manifest: entries,
    });
    checks.push(...(await collectCheck(check, ['broken-link'], failOn)));
  }
  const archive = join(archiveDir, BOOT_ARCHIVE);
  // An image that does not read back (an integrity failure) is read no further.
  const figures = read.unreadable ? undefined : await readHeadroom(archive);
  const reader = figures ? await UfsReader.open(archive, GATE_LIMITS) : undefined;
  const notRead = read.unreadable ? UNREADABLE : NOT_READ;
  try {
    // Without a UFS boot_archive: the staged tree an --archive none build keeps, if any.
    const tree =
      reader || read.unreadable ? undefined : await stagedTreeOf(dirname(dirname(archiveDir)));
    const context = () => ({ manifest: entries, mayDangle: mayDangle(options.allowDangling) });
    const staged = tree ? await stagedImage(tree, context()) : undefined;
    if (!skipped(options, 'missing-library')) {
      const kinds = ['missing-library', 'bad-runpath', 'bad-elf', 'missing-module'] as const;
      const files = reader ? ufsFiles(reader, elf) : staged?.files();
      if (!files) {
        checks.push(...notChecked(kinds, failOn, notRead));
      } else {
        const check = libraries({
          tree: current.entries,
          files,
          manifest: entries,
          proto: options.proto,
        });
        checks.push(...(await collectCheck(check, kinds, failOn)));
      }
    }
    const view = reader
      ? () => ufsImageView(reader, context())
      : staged
        ? () => Promise.resolve(staged.view)
        : undefined;
    checks.push(...(await bootChecks(options, inputs, view, baseline, details, notRead)));
  } finally {
    await reader?.close();
  }
  if (!figures || skipped(options, 'low-headroom')) return { checks, details };
  const before = options.baseline
    ? await readHeadroom(join(dirname(options.baseline), BOOT_ARCHIVE)).catch(() => undefined)
    : undefined;
  const headroom: Headroom = {
    ...figures,
    ...(before ? { baseline: before } : {}),
    ...(options.minFree !== undefined ? { minFree: options.minFree } : {}),
    ...(options.minFreeInodes !== undefined ? { minFreeInodes: options.minFreeInodes } : {}),
  };
  const check = lowHeadroom(figures, archive, options.minFree, options.minFreeInodes);
  checks.push(...(await collectCheck(check, ['low-headroom'], failOn)));
  return { checks, headroom, details };
}

/**
 * Phase: the boot checks (src/verify/checks/boot.ts), each on the image
 * view of the UFS boot_archive or the staged tree; without one, each says
 * it did not run.
 */
async function bootChecks(
  options: VerifyOptions,
  inputs: Inputs,
  view: (() => Promise<ImageView>) | undefined,
  baseline: BootManifest | undefined,
  details: BootDetails,
  notRead: string,
): Promise<CheckResult[]> {
  const { failOn } = inputs;
  const specs = BOOT_CHECKS.filter((spec) => !skipped(options, spec.kinds[0]));
  if (specs.length === 0) return [];
  if (!view)
    return notChecked(
      specs.flatMap((spec) => spec.kinds),
      failOn,
      notRead,
    );
  const image = await view();
  const context: BootContext = {
    policy: inputs.policy,
    details,
    ...(baseline ? { baseline } : {}),
  };
  const checks: CheckResult[] = [];
  for (const spec of specs) {
    const also = spec.alsoYields ?? [];
    const results = await collectCheck(
      spec.check(image, context),
      [...spec.kinds, ...also],
      failOn,
    );
    checks.push(...results.filter((r) => !also.includes(r.kind) || r.findings > 0));
  }
  for (const c of checks) c.note ??= bootNote(c.kind, details);
  return checks;
}
