/**
 * The build-world step: reads the inputs, runs the engine's buildWorld() with
 * the chosen cache backend, folds each stage's output into a log group,
 * and reports: outputs, job summary with each stage's result.
 */
import { randomBytes } from 'node:crypto';
import * as core from '@actions/core';
import { LocalCache, noCache, type CacheBackend } from '../../cache/backend.js';
import { BUILD_WORLD_OPTIONS, parseBuildWorldOptions } from '../../options/build-world.js';
import { buildWorld, type BuildWorldResult } from '../../world/build-world.js';
import { getInputs } from '../common/inputs.js';
import { code, say, writeSummary } from '../common/report.js';
import { printable } from '../../util/format.js';
import { mdText } from '../../util/markdown.js';
import type { StepIo } from '../common/step.js';
import { GithubCache } from './github-cache.js';

/** The job summary (text from the inputs, such as a changed input's value, never markup). */
export function buildWorldSummary(result: BuildWorldResult): string {
  const lines = [
    `### build-world ${result.buildstamp}: ${result.cacheHit ? 'cache hit, nothing built' : 'OK'}`,
    '',
    `Cache key: ${code(result.cacheKey)}` +
      (result.restoredKey && !result.cacheHit ? `, restored from ${code(result.restoredKey)}` : ''),
    '',
  ];
  if (result.changes.length) lines.push(`Changed: ${result.changes.map(mdText).join('; ')}`, '');
  lines.push('| stage | result | log |', '| --- | --- | --- |');
  for (const s of result.stages) {
    lines.push(`| ${s.stage} | ${s.status} | ${s.log ? code(s.log) : ''} |`);
  }
  lines.push('', `Cache save: ${result.saved}`, '');
  return lines.join('\n');
}

/** Runs the step; returns the proto it made (build-live's source P in the root action). */
export async function buildWorldStep(io: StepIo): Promise<{ proto: string }> {
  const inputs = getInputs(BUILD_WORLD_OPTIONS, {}, io.input);
  const { cache: choice, ...settings } = parseBuildWorldOptions(inputs.raw, inputs.names, {
    workspace: process.env.GITHUB_WORKSPACE ?? process.cwd(),
    cacheBackend: 'github',
  });
  let githubCache: GithubCache | undefined; // its path is the `cache-path` output
  const cache: (staging: string) => CacheBackend =
    choice.backend === 'local'
      ? (staging) => new LocalCache(choice.dir, choice.maxGb, staging, say)
      : choice.backend === 'github'
        ? (staging) => (githubCache = new GithubCache(staging))
        : noCache;
  // Build output is not ours: workflow commands in it must not be obeyed.
  const token = randomBytes(16).toString('hex');
  const result = await buildWorld({
    ...settings,
    cache,
    sourceDateEpoch: process.env.SOURCE_DATE_EPOCH,
    onInfo: say,
    onWarning: (m) => core.warning(printable(m)),
    onStageStart: (stage, log) => {
      core.startGroup(`build-world: ${stage} (log: ${log})`);
      process.stdout.write(`::stop-commands::${token}\n`);
    },
    onOutput: (chunk) => process.stdout.write(chunk),
    onStageEnd: () => {
      process.stdout.write(`\n::${token}::\n`);
      core.endGroup();
    },
  });
  io.output('cache-hit', String(result.cacheHit));
  io.output('cache-key', result.cacheKey);
  io.output('proto', result.proto);
  io.output('restored-key', result.restoredKey ?? '');
  io.output('cache-path', githubCache?.cachePath ?? '');
  io.output(
    'stages',
    JSON.stringify(Object.fromEntries(result.stages.map((s) => [s.stage, s.status]))),
  );
  await writeSummary(buildWorldSummary(result));
  return { proto: result.proto };
}
