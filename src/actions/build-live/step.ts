/**
 * The build-live step: reads the inputs, runs the engine's buildLive(), and
 * reports: outputs, job summary, annotations at the manifest line of every
 * FAILED entry (capped), artifacts. FAILED entries fail the step only with
 * `fail-on-missing: true`; gating is verify-manifest's job.
 */
import * as core from '@actions/core';
import { buildLive, defaultSystemRoot, type BuildLiveResult } from '../../live/build-live.js';
import {
  ARTIFACT_INPUTS,
  BUILD_LIVE_INPUTS,
  BUILD_LIVE_OPTIONS,
  parseArtifactOptions,
  parseBuildLiveOptions,
} from '../../options/build-live.js';
import { getInputs, type InputReader } from '../common/inputs.js';
import { findingFromText, report, say, writeSummary } from '../common/report.js';
import type { StepEnd, StepIo } from '../common/step.js';
import { uploadBuildArtifacts, type UploadedArtifact } from './artifacts.js';
import { sha256File, sizesMarkdown } from './sizes.js';
import { buildLiveMarkdown, verdict } from './summary.js';

/** Every input, read and checked before anything is built. */
export function readBuildLiveInputs(read: InputReader) {
  // keep-staging is the CLI's: the action keeps the staged tree only for archive none.
  const live = getInputs(
    BUILD_LIVE_OPTIONS.filter((o) => o !== 'keep-staging'),
    BUILD_LIVE_INPUTS,
    read,
  );
  const settings = parseBuildLiveOptions(live.raw, live.names, defaultSystemRoot());
  const artifacts = getInputs(ARTIFACT_INPUTS, {}, read);
  return { settings, artifacts: parseArtifactOptions(artifacts.raw, artifacts.names) };
}

function setBuildOutputs(io: StepIo, result: BuildLiveResult, tgzSha256: string | undefined) {
  const c = result.counts;
  io.output('buildstamp', result.buildstamp);
  io.output('platform-dir', result.platformDir);
  io.output('tgz', result.tgz ?? '');
  io.output('tgz-sha256', tgzSha256 ?? '');
  io.output('log', result.log);
  io.output('manifest', result.bootManifest);
  io.output('failed-count', String(c.failed));
  io.output('counts', JSON.stringify(c));
}

function reportEntries(result: BuildLiveResult, failOnMissing: boolean) {
  const c = result.counts;
  say(verdict(result));
  core.info(
    `files: A=${c.A} P=${c.P} M=${c.M} S=${c.S}; dirs ${c.dirs}, symlinks ${c.symlinks}, hard links ${c.hardlinks}; FAILED ${c.failed}; unknown owners ${c.unknownOwners}`,
  );
  // FAILED entries are annotated by whichever step is the last word on them: this one with
  // fail-on-missing, else verify-manifest, the gate (one annotation per manifest line).
  const failedFindings = result.failed.map((f) => ({
    line: `FAILED ${f.path}${f.file ? ` (${f.file}:${f.line})` : ''}`,
    message:
      `${f.path}: ${f.error ?? 'found in no source'}` +
      (f.searched.length ? `; searched ${f.searched.join(', ')}` : ''),
    title: 'build-live: FAILED entry',
    file: f.file,
    startLine: f.line,
  }));
  if (failOnMissing) report(failedFindings, 'error');
  else for (const f of failedFindings) say(f.line);
  report(result.warnings.map(findingFromText), 'warning');
}

/** Runs the step; `log` is the build log (verify-manifest's input in the root action). */
export async function buildLiveStep(io: StepIo): Promise<StepEnd & { log: string }> {
  const { settings, artifacts } = readBuildLiveInputs(io.input);
  const { upload, prefix, retentionDays, overwrite, failOnMissing, baseline } = artifacts;
  const result = await buildLive({
    ...settings,
    sourceDateEpoch: process.env.SOURCE_DATE_EPOCH,
    onInfo: say,
  });
  const tgzSha256 = result.tgz ? await sha256File(result.tgz) : undefined;
  setBuildOutputs(io, result, tgzSha256);
  reportEntries(result, failOnMissing);
  await writeSummary(buildLiveMarkdown(result, failOnMissing));

  let uploaded: UploadedArtifact[] = [];
  if (upload) {
    uploaded = await uploadBuildArtifacts(result, { prefix, retentionDays, overwrite });
    for (const a of uploaded) {
      io.output(`${a.kind}-artifact-id`, String(a.id));
      io.output(`${a.kind}-artifact-url`, a.url ?? '');
      io.output(`${a.kind}-artifact-digest`, a.digest ?? '');
    }
  } else {
    core.info('upload-artifacts is false: no artifacts uploaded');
  }
  await writeSummary(await sizesMarkdown(result, uploaded, baseline, tgzSha256));

  const c = result.counts;
  return {
    log: result.log,
    ...(failOnMissing && c.failed > 0
      ? { failure: `${c.failed} FAILED entries (fail-on-missing is true)` }
      : {}),
  };
}
