import { Command, Option } from 'commander';
import { writeLine, writeLines } from './output.js';
import { CACHE_BACKENDS, LocalCache, noCache, type CacheBackend } from '../cache/backend.js';
import { cliNames } from '../options/names.js';
import {
  BUILD_WORLD_DEFAULTS,
  parseBuildWorldOptions,
  type BuildWorldOption,
} from '../options/build-world.js';
import { flag } from './options.js';
import type { BuildWorldResult } from '../world/build-world.js';
import { UsageError } from '../util/errors.js';

interface BuildWorldFlags {
  workspace: string;
  proto?: string;
  clean?: boolean;
  cacheBackend: string;
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
        .choices(CACHE_BACKENDS)
        .default('none'),
    )
    .option(
      '--cache-version <salt>',
      'salt in the cache key: change it to start a new cache',
      BUILD_WORLD_DEFAULTS.cacheVersion,
    )
    .option('--local-cache-dir <dir>', 'directory of cache entries (with --cache-backend local)')
    .option(
      '--local-cache-max-gb <gib>',
      'remove the oldest entries beyond this size',
      BUILD_WORLD_DEFAULTS.localCacheMaxGb,
    )
    .option('--fail-on-cache-error', 'a cache error fails the build (default: a warning)')
    .option('-v, --verbose', "show each stage's output as it runs (it always goes to its log)")
    .option('--json', 'print a machine-readable summary on stdout')
    .action(async (flags: BuildWorldFlags) => {
      const { cache: choice, ...settings } = parseBuildWorldOptions(
        {
          workspace: flags.workspace,
          proto: flags.proto,
          clean: flag(flags.clean),
          'cache-backend': flags.cacheBackend,
          'cache-version': flags.cacheVersion,
          'local-cache-dir': flags.localCacheDir,
          'local-cache-max-gb': flags.localCacheMaxGb,
          'fail-on-cache-error': flag(flags.failOnCacheError),
        },
        cliNames<BuildWorldOption>(),
        { workspace: '.', cacheBackend: 'none' },
      );
      if (choice.backend === 'github') {
        throw new UsageError(
          '--cache-backend github works only inside GitHub Actions (use the build-world action); ' +
            'use local or none here',
        );
      }
      const cache: (staging: string) => CacheBackend =
        choice.backend === 'local'
          ? (staging) =>
              new LocalCache(choice.dir, choice.maxGb, staging, (m) => writeLine(process.stderr, m))
          : noCache;
      const human = flags.json ? process.stderr : process.stdout;
      const { buildWorld } = await import('../world/build-world.js');
      const result = await buildWorld({
        ...settings,
        cache,
        sourceDateEpoch: process.env.SOURCE_DATE_EPOCH,
        onInfo: (m) => writeLine(human, m),
        onWarning: (m) => writeLine(process.stderr, `warning: ${m}`),
        onStageStart: (stage, log) => writeLine(human, `==> stage ${stage} (log: ${log})`),
        onOutput: flags.verbose ? (chunk) => process.stderr.write(chunk) : undefined,
      });
      writeLines(human, formatWorldSummary(result));
      if (flags.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    });
}
