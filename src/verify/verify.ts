import { open, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import picomatch from 'picomatch';
import { loadManifests } from '../manifest/load.js';
import { formatDiagnostic } from '../manifest/types.js';
import { describeError, errnoCode, UsageError, UserError } from '../util/errors.js';
import { ownString } from '../util/format.js';
import { readBootManifest } from '../formats/boot-manifest.js';
import { diffBootManifests } from './diff.js';
import { readTwinFailures } from '../formats/jsonl-twin.js';
import { MAX_LISTED, readBuildLog } from '../formats/build-log.js';
import { checkContent, claimedFormat, openPlatform, type UnpackLimit } from './platform.js';
import { BUILDSTAMP_FILE } from '../formats/output-layout.js';
import type { LoadedManifest } from '../manifest/load.js';
import type { SourceTag } from '../sources/search.js';
import { UfsReader } from '../archive/ufs/read.js';
import type { BootManifest } from '../formats/boot-manifest.js';
import { collectCheck, emptyResult } from './checks/collect.js';
import { lowHeadroom, parseMinFree, readHeadroom } from './checks/headroom.js';
import { libraries, type ImageFile } from './checks/libraries.js';
import type { ElfCandidates } from './ufs-content.js';
import { brokenLinks } from './checks/links.js';
import { readShipPolicy, type PolicyRule } from './checks/ship-policy.js';
import { shadowed } from './checks/shadowed.js';
import { unshipped } from './checks/unshipped.js';
import { ignoreDiff } from './checks/ignore-diff.js';
import { notBuilt } from './checks/not-built.js';
import type { LogSummary } from '../formats/build-log.js';
import {
  CHECK_KINDS,
  DEFAULT_FAIL_ON,
  type CheckKind,
  type CheckResult,
  type ContentCheck,
  type FailOn,
  type FailureReport,
  type LogMatch,
  type VerifyReport,
} from './types.js';

export interface VerifyOptions {
  logs: readonly string[];
  manifests?: readonly string[];
  defines?: ReadonlyMap<string, string>;
  platform?: string;
  baseline?: string;
  allowMissing?: readonly string[];
  failOn?: readonly FailOn[];
  /** Source directories, as build-live takes them: `OK (<dir>)` mapping and the unshipped check. */
  proto?: string;
  overlays?: readonly string[];
  manDir?: string;
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

/**
 * verify-manifest (README.md, `joyent-live verify-manifest`): reads build logs, maps failures to manifest
 * lines, checks the platform's content and diffs against a baseline. The
 * verdict fails when anything named in `failOn` happened, and always when
 * the boot_archive does not match its own hash or manifest.
 */
export async function verifyManifest(options: VerifyOptions): Promise<VerifyReport> {
  // The CLI and the actions check these first, naming their option (src/options).
  if (options.logs.length === 0) throw new UsageError('no log given');
  if (options.baseline && !options.platform) {
    throw new UsageError(
      'a baseline needs a platform (the build whose boot_archive.manifest is compared)',
    );
  }
  if (options.minFree !== undefined) parseMinFree(options.minFree);
  const failOn: FailOn[] = [...new Set<FailOn>(options.failOn ?? DEFAULT_FAIL_ON)];
  const report: VerifyReport = {
    schema: 'joyent-live/verify-report@1',
    verdict: 'pass',
    reasons: [],
    failOn,
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
    checks: [],
    systemFiles: [],
    unknownOwnerWarnings: [],
    notes: [],
  };
  const { counts } = report;
  for (const [dir, flag] of [
    [options.proto, '--proto'],
    ...(options.overlays ?? []).map((d) => [d, '--overlay'] as const),
  ] as const) {
    if (dir !== undefined) await mustBeDir(dir, flag);
  }
  const policy = options.shipPolicy ? await readShipPolicy(options.shipPolicy) : [];
  const manifest = await loadGivenManifests(options);
  // Manifest paths no log line has reached yet (not-built).
  const unseen = manifest ? new Set(manifest.entries.keys()) : undefined;
  const dirTag = sourceDirTags(options);
  const summaries: LogSummary[] = [];

  for (const log of options.logs) {
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
      const tag =
        entry.tag ?? (entry.sourceDir !== undefined ? dirTag(entry.sourceDir) : undefined);
      counts.byTag[tag ?? 'other']++;
      if (tag === undefined && entry.sourceDir !== undefined)
        countOtherDir(counts, entry.sourceDir);
      if (tag === 'S' && report.systemFiles.length < MAX_LISTED) {
        report.systemFiles.push(ownString(entry.path));
      }
    });
    summaries.push(summary);
    counts.unknownOwners += summary.unknownOwners;
    report.unknownOwnerWarnings.push(
      ...summary.unknownOwnerWarnings.slice(0, MAX_LISTED - report.unknownOwnerWarnings.length),
    );
    report.logs.push({
      path: log,
      style: summary.style,
      lines: summary.lines,
      entries: summary.entries,
      truncatedLastLine: summary.truncatedLastLine,
    });
    if (summary.truncatedLastLine) {
      report.notes.push(
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
      report.notes.push(
        `${log}: ${summary.rejoined} entry line(s) were split by the builder's stderr output and read rejoined with their status line`,
      );
    }
    // One at a time: a spread of 100,000s of failures overflows the stack.
    for (const failure of failures) report.failures.push(failure);
  }
  report.checks.push(
    ...(await collectCheck(
      notBuilt({ logs: summaries, manifest: manifest?.entries.values(), unseen }),
      ['not-built'],
      failOn,
    )),
  );

  await unshippedPhase(report, options, manifest, failOn, policy);
  if (!skipped(options, 'shadowed')) {
    report.checks.push(...(await collectCheck(shadowed(options.logs), ['shadowed'], failOn)));
  }

  if (manifest) {
    const loaded = manifest;
    for (const failure of report.failures) {
      const entry = loaded.entries.get(failure.path);
      if (entry) failure.manifest = { file: entry.file, line: entry.line };
      else failure.notInManifest = true;
    }
    const strays = report.failures.filter((f) => f.notInManifest).length;
    if (strays > 0) {
      report.notes.push(
        `${strays} FAILED path(s) are not in the manifests given: are the log and the manifests from the same build?`,
      );
    }
  }

  const allowed = (options.allowMissing ?? []).map((glob) => picomatch(glob, { dot: true }));
  for (const failure of report.failures) {
    failure.allowed = allowed.some((match) => match(failure.path));
    if (failure.allowed) counts.allowedMissing++;
  }

  let integrityFailed = false;
  if (options.platform) {
    const platform = await openPlatform(options.platform, options.maxUnpack);
    try {
      const current = await readBootManifest(join(platform.archiveDir, 'boot_archive.manifest'));
      await mustBeReadable(join(platform.archiveDir, 'boot_archive'), options.platform);
      // The content pass gathers the ELF objects the library closure reads.
      const elf: ElfCandidates = { files: [], complete: false };
      report.content = await checkContent(
        platform,
        current,
        skipped(options, 'missing-library') ? undefined : elf,
        await claimedFormat(options.logs),
      );
      if (report.content.skipped)
        report.notes.push(`content not checked: ${report.content.skipped}`);
      await imageChecks(report, options, manifest, platform.archiveDir, current, failOn, elf);
      integrityFailed =
        report.content.unreadable !== undefined ||
        report.content.mismatches.length > 0 ||
        report.content.missing.length > 0 ||
        (report.content.differences?.length ?? 0) > 0 ||
        report.content.hash?.ok === false;
      report.logMatches = matchLogs(summaries, report.content);
      if (options.baseline) {
        const baseline = await readBootManifest(options.baseline);
        const diffed = diffBootManifests(baseline, current);
        const { entries, ignored } = ignoreDiff(diffed, options.ignoreDiff ?? []);
        if (ignored.some((i) => i.pattern === BUILDSTAMP_FILE && i.paths > 0)) {
          report.notes.push(
            `${BUILDSTAMP_FILE} is left out of "changed": it holds the BUILDSTAMP, which changes on every build by design`,
          );
        }
        const changedPaths = new Set(
          entries.filter((e) => e.kind !== 'added' && e.kind !== 'removed').map((e) => e.path),
        );
        const [sizeNow, sizeBefore] = await Promise.all([
          sizeOf(join(platform.archiveDir, 'boot_archive')),
          sizeOf(join(dirname(options.baseline), 'boot_archive')),
        ]);
        report.diff = {
          baseline: options.baseline,
          added: entries.filter((e) => e.kind === 'added').length,
          removed: entries.filter((e) => e.kind === 'removed').length,
          changed: changedPaths.size,
          ignored,
          entries,
          ...(sizeNow !== undefined && sizeBefore !== undefined
            ? { sizeDelta: sizeNow - sizeBefore }
            : {}),
        };
        if (baseline.format === 'md5sum') {
          report.notes.push(
            `${options.baseline} is an md5sum listing: only file contents were compared`,
          );
        }
      }
    } finally {
      await platform.close();
    }
  }

  const happened: Record<FailOn, boolean> = {
    failed: report.failures.some((f) => !f.allowed),
    'system-source': counts.byTag.S > 0,
    'unknown-owner': counts.unknownOwners > 0,
    added: (report.diff?.added ?? 0) > 0,
    removed: (report.diff?.removed ?? 0) > 0,
    changed: (report.diff?.changed ?? 0) > 0,
    ...checkHappened(report.checks),
  };
  report.reasons = [
    ...(integrityFailed ? (['integrity'] as const) : []),
    ...(report.logMatches?.some((m) => !m.ok) ? (['log-mismatch'] as const) : []),
    ...failOn.filter((reason) => happened[reason]),
  ];
  report.verdict = report.reasons.length > 0 ? 'fail' : 'pass';
  return report;
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
async function unshippedPhase(
  report: VerifyReport,
  options: VerifyOptions,
  manifest: LoadedManifest | undefined,
  failOn: readonly FailOn[],
  policy: PolicyRule[] = [],
): Promise<void> {
  const roots = [
    ...(options.overlays ?? []).map((dir) => ({ dir, what: 'overlay' as const })),
    ...(options.proto !== undefined ? [{ dir: options.proto, what: 'proto' as const }] : []),
  ];
  if (roots.length === 0 || skipped(options, 'unshipped')) return;
  const kinds = ['unshipped', 'proto-mismatch', 'stale-policy'] as const;
  if (!manifest) {
    const results = kinds.map((kind) => emptyResult(kind, failOn));
    for (const r of results) r.note = 'not checked: needs the manifests (-m)';
    report.checks.push(...results);
    return;
  }
  const check = unshipped({ roots, manifest: manifest.entries, policy });
  report.checks.push(...(await collectCheck(check, kinds, failOn)));
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

/**
 * Phase: the checks of the finished image (links, libraries, headroom),
 * from its boot_archive.manifest and, for UFS, its boot_archive.
 */
async function imageChecks(
  report: VerifyReport,
  options: VerifyOptions,
  manifest: LoadedManifest | undefined,
  archiveDir: string,
  current: BootManifest,
  failOn: readonly FailOn[],
  elf: ElfCandidates,
): Promise<void> {
  const entries = manifest?.entries;
  if (!skipped(options, 'broken-link')) {
    const check = brokenLinks({
      tree: current.entries,
      allowDangling: options.allowDangling,
      manifest: entries,
    });
    report.checks.push(...(await collectCheck(check, ['broken-link'], failOn)));
  }
  const archive = join(archiveDir, 'boot_archive');
  // An image that does not read back (an integrity failure) is read no further.
  const figures = report.content?.unreadable ? undefined : await readHeadroom(archive);
  if (!skipped(options, 'missing-library')) {
    const kinds = ['missing-library', 'bad-runpath', 'bad-elf', 'missing-module'] as const;
    if (!figures) {
      const results = kinds.map((kind) => emptyResult(kind, failOn));
      const note = report.content?.unreadable
        ? 'not checked: the boot_archive does not read back'
        : 'not checked: only a UFS boot_archive is read';
      for (const r of results) r.note = note;
      report.checks.push(...results);
    } else {
      const reader = await UfsReader.open(archive);
      try {
        const check = libraries({
          tree: current.entries,
          files: ufsFiles(reader, elf),
          manifest: entries,
          proto: options.proto,
        });
        report.checks.push(...(await collectCheck(check, kinds, failOn)));
      } finally {
        await reader.close();
      }
    }
  }
  if (figures && !skipped(options, 'low-headroom')) {
    const baseline = options.baseline
      ? await readHeadroom(join(dirname(options.baseline), 'boot_archive')).catch(() => undefined)
      : undefined;
    report.headroom = {
      ...figures,
      ...(baseline ? { baseline } : {}),
      ...(options.minFree !== undefined ? { minFree: options.minFree } : {}),
      ...(options.minFreeInodes !== undefined ? { minFreeInodes: options.minFreeInodes } : {}),
    };
    const check = lowHeadroom(figures, archive, options.minFree, options.minFreeInodes);
    report.checks.push(...(await collectCheck(check, ['low-headroom'], failOn)));
  }
}
