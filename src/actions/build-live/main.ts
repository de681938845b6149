/**
 * build-live action: reads the inputs, runs the engine's buildLive(), and
 * reports: outputs, job summary, annotations at the manifest line of every
 * FAILED entry (capped), artifacts. FAILED entries fail the step only with
 * `fail-on-missing: true`; gating is verify-manifest's job.
 */
import * as core from '@actions/core';
import { ARCHIVE_FORMATS, buildLive, defaultSystemRoot } from '../../live/build-live.js';
import { parseUfsOptions } from '../../live/ufs-options.js';
import { UserError } from '../../util/errors.js';
import {
  booleanInput,
  choiceInput,
  definesInput,
  integerInput,
  listInput,
  optionalInput,
} from '../common/inputs.js';
import { code, findingFromText, report, writeSummary } from '../common/report.js';
import { runAction } from '../common/run.js';
import { uploadBuildArtifacts } from './artifacts.js';
import { buildLiveMarkdown, verdict } from './summary.js';

await runAction('build-live', async () => {
  const manifests = listInput('manifests');
  if (manifests.length === 0) throw new UserError('input "manifests" is required (one a line)');
  const noSystemRoot = booleanInput('no-system-root', false);
  const systemRootInput = optionalInput('system-root');
  if (noSystemRoot && systemRootInput) {
    throw new UserError('inputs "system-root" and "no-system-root: true" contradict each other');
  }
  const upload = booleanInput('upload-artifacts', true);
  const failOnMissing = booleanInput('fail-on-missing', false);
  const retentionDays = integerInput('retention-days', 1, 400);
  const prefix = optionalInput('artifact-prefix') ?? 'platform';
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) {
    throw new UserError(
      `input "artifact-prefix" may hold only letters, digits, ".", "_" and "-", not ${JSON.stringify(prefix)}`,
    );
  }

  const ufs = parseUfsOptions(
    {
      freePercent: optionalInput('ufs-free-percent'),
      freeInodes: optionalInput('ufs-free-inodes'),
      maxSize: optionalInput('ufs-max-size'),
    },
    (name) => `input "ufs-${name}"`,
  );

  const result = await buildLive({
    manifests,
    proto: optionalInput('proto'),
    overlays: listInput('overlays'),
    manDir: optionalInput('man-dir'),
    systemRoot: noSystemRoot ? undefined : (systemRootInput ?? defaultSystemRoot()),
    customize: optionalInput('customize'),
    output: optionalInput('output') ?? 'output',
    logDir: optionalInput('log-dir') ?? 'log',
    buildstamp: optionalInput('buildstamp'),
    defines: definesInput('defines'),
    archive: choiceInput('archive', ARCHIVE_FORMATS, 'auto'),
    ufs,
    sourceDateEpoch: process.env.SOURCE_DATE_EPOCH,
    onInfo: (message) => core.info(message),
  });

  const c = result.counts;
  core.setOutput('buildstamp', result.buildstamp);
  core.setOutput('platform-dir', result.platformDir);
  core.setOutput('tgz', result.tgz ?? '');
  core.setOutput('log', result.log);
  core.setOutput('manifest', result.bootManifest);
  core.setOutput('failed-count', String(c.failed));
  core.setOutput('counts', JSON.stringify(c));

  core.info(verdict(result));
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
  else for (const f of failedFindings) core.info(f.line);
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
