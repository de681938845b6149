import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { LocalCache, noCache, parseMaxGb, type CacheBackend } from '../cache/backend.js';
import { buildWorld, type BuildWorldResult } from '../world/build-world.js';
import { UsageError } from '../util/errors.js';

interface BuildWorldFlags {
  workspace: string;
  proto?: string;
  clean?: boolean;
  cacheBackend: 'local' | 'none' | 'github';
  cacheVersion: string;
  localCacheDir?: string;
  localCacheMaxGb: string;
  failOnCacheError?: boolean;
  verbose?: boolean;
  json?: boolean;
}

/** The closing summary a person reads. */
export function formatWorldSummary(result: BuildWorldResult): string[] {
  const lines = [
    `build-world ${result.buildstamp}: ${result.cacheHit ? 'cache hit, nothing built' : 'OK'}`,
    `  cache key: ${result.cacheKey}`,
  ];
  if (result.restoredKey && !result.cacheHit) lines.push(`  restored: ${result.restoredKey}`);
  if (result.changes.length) lines.push(`  changed: ${result.changes.join('; ')}`);
  for (const s of result.stages) {
    lines.push(`  ${s.stage}: ${s.status}${s.log ? ` (log: ${s.log})` : ''}`);
  }
  lines.push(`  cache save: ${result.saved}`, `  proto: ${result.proto}`);
  return lines;
}

export function buildWorldCommand(): Command {
  return new Command('build-world')
    .description(
      'build illumos, illumos-extra and src into the proto area, cached by a key of every input (illumos only)',
    )
    .option('-w, --workspace <dir>', 'smartos-live workspace (projects/, src/, log/)', '.')
    .option('--proto <dir>', 'proto area, relative to the workspace (default: proto)')
    .option('--clean', 'build illumos from scratch (nightly without -i); restore nothing')
    .addOption(
      new Option('--cache-backend <backend>', 'where the proto is cached')
        .choices(['local', 'none', 'github'])
        .default('none'),
    )
    .option('--cache-version <salt>', 'salt in the cache key: change it to start a new cache', '1')
    .option('--local-cache-dir <dir>', 'directory of cache entries (with --cache-backend local)')
    .option('--local-cache-max-gb <gib>', 'remove the oldest entries beyond this size', '20')
    .option('--fail-on-cache-error', 'a cache error fails the build (default: a warning)')
    .option('-v, --verbose', "show each stage's output as it runs (it always goes to its log)")
    .option('--json', 'print a machine-readable summary on stdout')
    .action(async (flags: BuildWorldFlags) => {
      let cache: (staging: string) => CacheBackend;
      if (flags.cacheBackend === 'github') {
        throw new UsageError(
          '--cache-backend github works only inside GitHub Actions (use the build-world action); ' +
            'use local or none here',
        );
      } else if (flags.cacheBackend === 'local') {
        if (!flags.localCacheDir) {
          throw new UsageError('--cache-backend local needs --local-cache-dir <dir>');
        }
        const dir = resolve(flags.localCacheDir);
        const maxGb = parseMaxGb(flags.localCacheMaxGb, '--local-cache-max-gb');
        cache = (staging) =>
          new LocalCache(dir, maxGb, staging, (m) => process.stderr.write(`${m}\n`));
      } else {
        cache = noCache;
      }
      const human = flags.json ? process.stderr : process.stdout;
      const result = await buildWorld({
        workspace: flags.workspace,
        proto: flags.proto,
        clean: flags.clean,
        cacheVersion: flags.cacheVersion,
        cache,
        failOnCacheError: flags.failOnCacheError,
        sourceDateEpoch: process.env.SOURCE_DATE_EPOCH,
        onInfo: (m) => human.write(`${m}\n`),
        onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
        onStageStart: (stage, log) => human.write(`==> stage ${stage} (log: ${log})\n`),
        onOutput: flags.verbose ? (chunk) => process.stderr.write(chunk) : undefined,
      });
      human.write(formatWorldSummary(result).join('\n') + '\n');
      if (flags.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    });
}
