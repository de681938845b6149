import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { cliNames } from '../options/names.js';
import {
  parseVerifyOptions,
  REPORT_FORMATS,
  VERIFY_DEFAULTS,
  type VerifyOption,
} from '../options/verify-manifest.js';
import { FAIL_ON, SKIPPABLE_CHECKS } from '../verify/types.js';
import { describeError, UserError } from '../util/errors.js';
import { collect } from './options.js';

interface VerifyFlags {
  log?: string[];
  manifest?: string[];
  define?: string[];
  platform?: string;
  baseline?: string;
  allowMissing?: string[];
  proto?: string;
  overlay?: string[];
  manDir?: string;
  systemRoot?: string;
  ignoreDiff?: string[];
  allowDangling?: string[];
  minFree?: string;
  minFreeInodes?: string;
  skipChecks?: string;
  shipPolicy?: string;
  failOn: string;
  format: string;
  output?: string;
  maxUnpack?: string;
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
      '--proto <dir>',
      'the proto area the build took files from: smartos-live OK (<dir>) lines count as P, and the unshipped check',
    )
    .option(
      '--overlay <dir>',
      'an overlay directory (repeatable, in build order): OK (<dir>) as A, and the unshipped check',
      collect,
    )
    .option(
      '--ship-policy <file>',
      'skip <glob> lines: what the proto and overlays hold that is not expected in the image',
    )
    .option('--man-dir <dir>', 'the man directory: OK (<dir>) lines count as M')
    .option('--system-root <dir>', 'the system root: OK (<dir>) lines count as S (default /)')
    .option(
      '--ignore-diff <glob>',
      'image paths left out of added/removed/changed (repeatable; etc/joyent_buildstamp is never "changed")',
      collect,
    )
    .option(
      '--allow-dangling <glob>',
      'image paths a symlink may point into although they are not in the image (repeatable; /dev, /proc, /tmp, ... always)',
      collect,
    )
    .option(
      '--min-free <size|%>',
      'UFS images: less free space than this (64M, 5%) is low-headroom',
    )
    .option('--min-free-inodes <n>', 'UFS images: fewer free inodes than this is low-headroom')
    .option(
      '--skip-checks <list>',
      `comma-separated checks not to run: ${SKIPPABLE_CHECKS.join(', ')}`,
    )
    .option(
      '--fail-on <list>',
      `comma-separated, from: ${FAIL_ON.join(', ')}; all for every one`,
      VERIFY_DEFAULTS.failOn.join(','),
    )
    .addOption(
      new Option('--format <format>', 'report format')
        .choices(REPORT_FORMATS)
        .default(VERIFY_DEFAULTS.format),
    )
    .option('--output <file>', 'also write the report to this file')
    .option(
      '--max-unpack <size>',
      'largest platform tgz content to unpack (default 4G; 512M, 8G, bytes)',
    )
    .action(async (flags: VerifyFlags) => {
      const { verify, format, output } = parseVerifyOptions(
        {
          log: flags.log,
          manifest: flags.manifest,
          define: flags.define,
          platform: flags.platform,
          baseline: flags.baseline,
          'allow-missing': flags.allowMissing,
          proto: flags.proto,
          overlay: flags.overlay,
          'man-dir': flags.manDir,
          'system-root': flags.systemRoot,
          'ship-policy': flags.shipPolicy,
          'ignore-diff': flags.ignoreDiff,
          'allow-dangling': flags.allowDangling,
          'min-free': flags.minFree,
          'min-free-inodes': flags.minFreeInodes,
          'skip-checks': flags.skipChecks,
          'fail-on': flags.failOn,
          format: flags.format,
          output: flags.output,
          'max-unpack': flags.maxUnpack,
        },
        cliNames<VerifyOption>(),
      );
      const [{ verifyManifest }, { formatMarkdown, formatText }] = await Promise.all([
        import('../verify/verify.js'),
        import('../verify/report.js'),
      ]);
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
