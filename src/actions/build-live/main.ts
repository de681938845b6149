/**
 * build-live action: reads the inputs, runs the engine's buildLive(), and
 * reports: outputs, job summary, annotations at the manifest line of every
 * FAILED entry (capped), artifacts. FAILED entries fail the step only with
 * `fail-on-missing: true`; gating is verify-manifest's job.
 */
import * as core from '@actions/core';
import { buildLive, defaultSystemRoot } from '../../live/build-live.js';
import {
  ARTIFACT_INPUTS,
  BUILD_LIVE_INPUTS,
  BUILD_LIVE_OPTIONS,
  parseArtifactOptions,
  parseBuildLiveOptions,
} from '../../options/build-live.js';
import { getInputs } from '../common/inputs.js';
import { code, findingFromText, report, say, writeSummary } from '../common/report.js';
import { runAction } from '../common/run.js';
import { uploadBuildArtifacts } from './artifacts.js';
import { buildLiveMarkdown, verdict } from './summary.js';

/** Every input, read and checked before anything is built. */
function readInputs() {
  // keep-staging is the CLI's: the action keeps the staged tree only for archive none.
  const live = getInputs(
    BUILD_LIVE_OPTIONS.filter((o) => o !== 'keep-staging'),
    BUILD_LIVE_INPUTS,
  );
  const settings = parseBuildLiveOptions(live.raw, live.names, defaultSystemRoot());
  const artifacts = getInputs(ARTIFACT_INPUTS);
  return { settings, artifacts: parseArtifactOptions(artifacts.raw, artifacts.names) };
}

await runAction('build-live', async () => {
  const { settings, artifacts } = readInputs();
  const { upload, prefix, retentionDays, failOnMissing } = artifacts;
  const result = await buildLive({
    ...settings,
    sourceDateEpoch: process.env.SOURCE_DATE_EPOCH,
    onInfo: say,
  });

  const c = result.counts;
  core.setOutput('buildstamp', result.buildstamp);
  core.setOutput('platform-dir', result.platformDir);
  core.setOutput('tgz', result.tgz ?? '');
  core.setOutput('log', result.log);
  core.setOutput('manifest', result.bootManifest);
  core.setOutput('failed-count', String(c.failed));
  core.setOutput('counts', JSON.stringify(c));

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
  await writeSummary(buildLiveMarkdown(result, failOnMissing));

  if (upload) {
    const uploaded = await uploadBuildArtifacts(result, prefix, retentionDays);
    await writeSummary(
      [
        '#### Artifacts',
        '',
        ...uploaded.map((a) => `- ${a.url ? `[${code(a.name)}](${a.url})` : code(a.name)}`),
        '',
      ].join('\n'),
    );
  } else {
    core.info('upload-artifacts is false: no artifacts uploaded');
  }

  if (failOnMissing && c.failed > 0) {
    core.setFailed(`${c.failed} FAILED entries (fail-on-missing is true)`);
  }
});
