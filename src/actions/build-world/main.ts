/**
 * build-world action: reads the inputs, runs the engine's buildWorld() with
 * the chosen cache backend, folds each stage's output into a log group,
 * and reports: outputs, job summary with each stage's result.
 */
import { randomBytes } from 'node:crypto';
import * as core from '@actions/core';
import {
  CACHE_BACKENDS,
  LocalCache,
  noCache,
  parseMaxGb,
  type CacheBackend,
} from '../../cache/backend.js';
import { buildWorld, type BuildWorldResult } from '../../world/build-world.js';
import { UserError } from '../../util/errors.js';
import { booleanInput, choiceInput, optionalInput } from '../common/inputs.js';
import { code, writeSummary } from '../common/report.js';
import { runAction } from '../common/run.js';
import { GithubCache } from './github-cache.js';

function summary(result: BuildWorldResult): string {
  const lines = [
    `### build-world ${result.buildstamp}: ${result.cacheHit ? 'cache hit, nothing built' : 'OK'}`,
    '',
    `Cache key: ${code(result.cacheKey)}` +
      (result.restoredKey && !result.cacheHit ? `, restored from ${code(result.restoredKey)}` : ''),
    '',
  ];
  if (result.changes.length) lines.push(`Changed: ${result.changes.join('; ')}`, '');
  lines.push('| stage | result | log |', '| --- | --- | --- |');
  for (const s of result.stages) {
    lines.push(`| ${s.stage} | ${s.status} | ${s.log ? code(s.log) : ''} |`);
  }
  lines.push('', `Cache save: ${result.saved}`, '');
  return lines.join('\n');
}

await runAction('build-world', async () => {
  const backendName = choiceInput('cache-backend', CACHE_BACKENDS, 'github');
  const localDir = optionalInput('local-cache-dir');
  let cache: (staging: string) => CacheBackend;
  let githubCache: GithubCache | undefined; // its path is the `cache-path` output
  if (backendName === 'local') {
    if (!localDir)
      throw new UserError('input "local-cache-dir" is required with cache-backend: local');
    const maxGb = parseMaxGb(
      optionalInput('local-cache-max-gb') ?? '20',
      'input "local-cache-max-gb"',
    );
    cache = (staging) => new LocalCache(localDir, maxGb, staging, (m) => core.info(m));
  } else if (backendName === 'github') {
    cache = (staging) => (githubCache = new GithubCache(staging));
  } else {
    cache = noCache;
  }
  // Build output is not ours: workflow commands in it must not be obeyed.
  const token = randomBytes(16).toString('hex');
  const result = await buildWorld({
    workspace: optionalInput('workspace') ?? process.env.GITHUB_WORKSPACE ?? process.cwd(),
    proto: optionalInput('proto'),
    clean: booleanInput('clean', false),
    cacheVersion: optionalInput('cache-version') ?? '1',
    cache,
    failOnCacheError: booleanInput('fail-on-cache-error', false),
    sourceDateEpoch: process.env.SOURCE_DATE_EPOCH,
    onInfo: (m) => core.info(m),
    onWarning: (m) => core.warning(m),
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
  core.setOutput('cache-hit', String(result.cacheHit));
  core.setOutput('cache-key', result.cacheKey);
  core.setOutput('proto', result.proto);
  core.setOutput('restored-key', result.restoredKey ?? '');
  core.setOutput('cache-path', githubCache?.cachePath ?? '');
  core.setOutput(
    'stages',
    JSON.stringify(Object.fromEntries(result.stages.map((s) => [s.stage, s.status]))),
  );
  await writeSummary(summary(result));
});
