import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import picomatch from 'picomatch';
import { loadManifests } from '../manifest/load.js';
import { formatDiagnostic } from '../manifest/types.js';
import { UsageError, UserError } from '../util/errors.js';
import { ownString } from '../util/format.js';
import { readBootManifest } from '../formats/boot-manifest.js';
import { diffBootManifests } from './diff.js';
import { readTwinFailures } from '../formats/jsonl-twin.js';
import { MAX_LISTED, readBuildLog } from '../formats/build-log.js';
import { checkContent, openPlatform } from './platform.js';
import type { FailOn, FailureReport, VerifyReport } from './types.js';

export interface VerifyOptions {
  logs: readonly string[];
  manifests?: readonly string[];
  defines?: ReadonlyMap<string, string>;
  platform?: string;
  baseline?: string;
  allowMissing?: readonly string[];
  failOn?: readonly FailOn[];
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
  const failOn: FailOn[] = [...new Set<FailOn>(options.failOn ?? ['failed'])];
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
      byKind: { DIR: 0, FILE: 0, SYMLINK: 0, LINK: 0 },
    },
    failures: [],
    systemFiles: [],
    unknownOwnerWarnings: [],
    notes: [],
  };
  const { counts } = report;

  for (const log of options.logs) {
    const failures: FailureReport[] = [];
    const summary = await readBuildLog(log, (entry) => {
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
      counts.byTag[entry.tag ?? 'other']++;
      if (entry.tag === 'S' && report.systemFiles.length < MAX_LISTED) {
        report.systemFiles.push(ownString(entry.path));
      }
    });
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
    report.failures.push(...failures);
  }

  if (options.manifests && options.manifests.length > 0) {
    const loaded = await loadManifests(options.manifests, options.defines ?? new Map());
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      throw new UserError(`${errors.length} error(s) in the manifests`, {
        details: errors.map(formatDiagnostic),
      });
    }
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
    const platform = await openPlatform(options.platform);
    try {
      const current = await readBootManifest(join(platform.archiveDir, 'boot_archive.manifest'));
      report.content = await checkContent(platform, current);
      if (report.content.skipped)
        report.notes.push(`content not checked: ${report.content.skipped}`);
      integrityFailed =
        report.content.mismatches.length > 0 ||
        report.content.missing.length > 0 ||
        (report.content.differences?.length ?? 0) > 0 ||
        report.content.hash?.ok === false;
      if (options.baseline) {
        const baseline = await readBootManifest(options.baseline);
        const entries = diffBootManifests(baseline, current);
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
  };
  report.reasons = [
    ...(integrityFailed ? (['integrity'] as const) : []),
    ...failOn.filter((reason) => happened[reason]),
  ];
  report.verdict = report.reasons.length > 0 ? 'fail' : 'pass';
  return report;
}
