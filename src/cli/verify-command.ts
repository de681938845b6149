import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { formatMarkdown, formatText } from '../verify/report.js';
import { FAIL_ON, type FailOn } from '../verify/types.js';
import { parseSize } from '../util/format.js';
import { verifyManifest } from '../verify/verify.js';
import { describeError, UsageError, UserError } from '../util/errors.js';
import { collect, parseDefines } from './options.js';

interface VerifyFlags {
  log?: string[];
  manifest?: string[];
  define?: string[];
  platform?: string;
  baseline?: string;
  allowMissing?: string[];
  failOn: string;
  format: 'text' | 'json' | 'markdown';
  output?: string;
  maxUnpack?: string;
}

function parseFailOn(value: string): FailOn[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(FAIL_ON as readonly string[]).includes(name)) {
      throw new UsageError(
        `--fail-on: unknown condition "${name}" (choose from ${FAIL_ON.join(', ')})`,
      );
    }
  }
  return names as FailOn[];
}

/** `joyent-live verify-manifest` (SPEC 6): exit 0 pass, 1 fail or error, 2 usage. */
export function verifyCommand(setExitCode: (code: number) => void): Command {
  return new Command('verify-manifest')
    .description(
      'gate a build: fail on FAILED entries, check the image content, diff against a baseline',
    )
    .option('--log <file>', 'build log, joyent-live or smartos-live style (repeatable)', collect)
    .option(
      '-m, --manifest <path>',
      'manifest file or snippet directory, to map failures to file:line (repeatable)',
      collect,
    )
    .option('--define <NAME=VALUE>', 'value for $NAME in the manifests (repeatable)', collect)
    .option(
      '--platform <dir|tgz>',
      'platform-<STAMP> directory or .tgz: check boot_archive.hash and every md5',
    )
    .option(
      '--baseline <file>',
      'an earlier boot_archive.manifest (SPEC 4 or md5sum format) to diff against',
    )
    .option(
      '--allow-missing <glob>',
      'FAILED paths matching this glob are reported, not fatal (repeatable)',
      collect,
    )
    .option('--fail-on <list>', `comma-separated, from: ${FAIL_ON.join(', ')}`, 'failed')
    .addOption(
      new Option('--format <format>', 'report format')
        .choices(['text', 'json', 'markdown'])
        .default('text'),
    )
    .option('--output <file>', 'also write the report to this file')
    .option(
      '--max-unpack <size>',
      'largest platform tgz content to unpack (default 4G; 512M, 8G, bytes)',
    )
    .action(async (flags: VerifyFlags) => {
      let maxUnpack: number | undefined;
      if (flags.maxUnpack !== undefined) {
        maxUnpack = parseSize(flags.maxUnpack);
        if (maxUnpack === undefined) {
          throw new UsageError(
            `--max-unpack must be a size such as 512M, 8G or a number of bytes, not ${JSON.stringify(flags.maxUnpack)}`,
          );
        }
      }
      const report = await verifyManifest({
        logs: flags.log ?? [],
        manifests: flags.manifest ?? [],
        defines: parseDefines(flags.define ?? []),
        platform: flags.platform,
        baseline: flags.baseline,
        allowMissing: flags.allowMissing ?? [],
        failOn: parseFailOn(flags.failOn),
        maxUnpack:
          maxUnpack === undefined ? undefined : { bytes: maxUnpack, option: '--max-unpack' },
      });
      const text =
        flags.format === 'json'
          ? JSON.stringify(report, null, 2) + '\n'
          : flags.format === 'markdown'
            ? formatMarkdown(report)
            : formatText(report);
      process.stdout.write(text);
      if (flags.output) {
        await writeFile(flags.output, text).catch((err: unknown) => {
          throw new UserError(`cannot write --output ${flags.output}: ${describeError(err)}`);
        });
      }
      setExitCode(report.verdict === 'pass' ? 0 : 1);
    });
}
