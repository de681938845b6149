import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { formatMarkdown, formatText } from '../verify/report.js';
import {
  DEFAULT_FAIL_ON,
  FAIL_ON,
  SKIPPABLE_CHECKS,
  type CheckKind,
  type FailOn,
} from '../verify/types.js';
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
  allowDangling?: string[];
  minFree?: string;
  minFreeInodes?: string;
  skipChecks?: string;
  shipPolicy?: string;
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

const SKIPPABLE = SKIPPABLE_CHECKS;

function parseSkip(value: string | undefined): CheckKind[] {
  const names = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(SKIPPABLE as readonly string[]).includes(name)) {
      throw new UsageError(
        `--skip-checks: unknown check "${name}" (choose from ${SKIPPABLE.join(', ')})`,
      );
    }
  }
  return names as CheckKind[];
}

function parseCount(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${flag} "${value}": not a whole number`);
  return Number(value);
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
    .option('--skip-checks <list>', `comma-separated checks not to run: ${SKIPPABLE.join(', ')}`)
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
        allowDangling: flags.allowDangling ?? [],
        minFree: flags.minFree,
        minFreeInodes: parseCount(flags.minFreeInodes, '--min-free-inodes'),
        skipChecks: parseSkip(flags.skipChecks),
        shipPolicy: flags.shipPolicy,
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
