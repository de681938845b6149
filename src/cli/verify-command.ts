import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { formatMarkdown, formatText } from '../verify/report.js';
import { cliNames } from '../options/names.js';
import {
  parseVerifyOptions,
  REPORT_FORMATS,
  VERIFY_DEFAULTS,
  type VerifyOption,
} from '../options/verify-manifest.js';
import { FAIL_ON } from '../verify/types.js';
import { verifyManifest } from '../verify/verify.js';
import { describeError, UserError } from '../util/errors.js';
import { collect } from './options.js';

interface VerifyFlags {
  log?: string[];
  manifest?: string[];
  define?: string[];
  platform?: string;
  baseline?: string;
  allowMissing?: string[];
  failOn: string;
  format: string;
  output?: string;
}

/** `joyent-live verify-manifest` (docs/exit-codes.md): exit 0 pass, 1 fail or error, 2 usage. */
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
      'an earlier boot_archive.manifest (our format or md5sum format) to diff against',
    )
    .option(
      '--allow-missing <glob>',
      'FAILED paths matching this glob are reported, not fatal (repeatable)',
      collect,
    )
    .option(
      '--fail-on <list>',
      `comma-separated, from: ${FAIL_ON.join(', ')}`,
      VERIFY_DEFAULTS.failOn.join(','),
    )
    .addOption(
      new Option('--format <format>', 'report format')
        .choices(REPORT_FORMATS)
        .default(VERIFY_DEFAULTS.format),
    )
    .option('--output <file>', 'also write the report to this file')
    .action(async (flags: VerifyFlags) => {
      const { verify, format, output } = parseVerifyOptions(
        {
          log: flags.log,
          manifest: flags.manifest,
          define: flags.define,
          platform: flags.platform,
          baseline: flags.baseline,
          'allow-missing': flags.allowMissing,
          'fail-on': flags.failOn,
          format: flags.format,
          output: flags.output,
        },
        cliNames<VerifyOption>(),
      );
      const report = await verifyManifest(verify);
      const text =
        format === 'json'
          ? JSON.stringify(report, null, 2) + '\n'
          : format === 'markdown'
            ? formatMarkdown(report)
            : formatText(report);
      process.stdout.write(text);
      if (output) {
        await writeFile(output, text).catch((err: unknown) => {
          throw new UserError(`cannot write --output ${output}: ${describeError(err)}`);
        });
      }
      setExitCode(report.verdict === 'pass' ? 0 : 1);
    });
}
