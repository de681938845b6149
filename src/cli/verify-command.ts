import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { formatMarkdown, formatText } from '../verify/report.js';
import { DEFAULT_FAIL_ON, FAIL_ON, type FailOn } from '../verify/types.js';
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
  proto?: string;
  overlay?: string[];
  manDir?: string;
  systemRoot?: string;
  ignoreDiff?: string[];
  failOn: string;
  format: 'text' | 'json' | 'markdown';
  output?: string;
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
    .option(
      '--proto <dir>',
      'the proto area the build took files from: smartos-live OK (<dir>) lines count as P, and the unshipped check',
    )
    .option(
      '--overlay <dir>',
      'an overlay directory (repeatable, in build order): OK (<dir>) as A, and the unshipped check',
      collect,
    )
    .option('--man-dir <dir>', 'the man directory: OK (<dir>) lines count as M')
    .option('--system-root <dir>', 'the system root: OK (<dir>) lines count as S (default /)')
    .option(
      '--ignore-diff <glob>',
      'image paths left out of added/removed/changed (repeatable; etc/joyent_buildstamp is never "changed")',
      collect,
    )
    .option(
      '--fail-on <list>',
      `comma-separated, from: ${FAIL_ON.join(', ')}`,
      DEFAULT_FAIL_ON.join(','),
    )
    .addOption(
      new Option('--format <format>', 'report format')
        .choices(['text', 'json', 'markdown'])
        .default('text'),
    )
    .option('--output <file>', 'also write the report to this file')
    .action(async (flags: VerifyFlags) => {
      const report = await verifyManifest({
        logs: flags.log ?? [],
        manifests: flags.manifest ?? [],
        defines: parseDefines(flags.define ?? []),
        platform: flags.platform,
        baseline: flags.baseline,
        allowMissing: flags.allowMissing ?? [],
        proto: flags.proto,
        overlays: flags.overlay ?? [],
        manDir: flags.manDir,
        systemRoot: flags.systemRoot,
        ignoreDiff: flags.ignoreDiff ?? [],
        failOn: parseFailOn(flags.failOn),
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
