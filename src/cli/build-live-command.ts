import { Command, Option } from 'commander';
import { writeLine, writeLines } from './output.js';
import {
  ARCHIVE_FORMATS,
  buildLive,
  defaultSystemRoot,
  type BuildLiveResult,
} from '../live/build-live.js';
import { describeBuiltArchive } from '../live/archive-choice.js';
import { planLive, type LivePlan } from '../live/plan-live.js';
import { cliNames } from '../options/names.js';
import {
  BUILD_LIVE_DEFAULTS,
  BUILD_LIVE_OPTIONS,
  parseBuildLiveOptions,
  type BuildLiveOption,
} from '../options/build-live.js';
import { SOURCE_TAGS } from '../sources/search.js';
import { collect, flag, rawFlags } from './options.js';
import { humanBytes, ProgressReporter } from './progress.js';

/** What the command reads of commander's flags itself; the rest go to the shared parser. */
interface BuildLiveFlags {
  /** A directory, or false for --no-system-root. */
  systemRoot?: string | false;
  json?: boolean;
  plan?: boolean;
}

/** `--plan` for a person: what the image would hold and the UFS it would take. */
export function formatPlan(plan: LivePlan): string[] {
  const u = plan.ufs;
  const e = plan.entries;
  const s = plan.sources;
  const lines = [
    `build-live --plan ${plan.buildstamp}: nothing was copied or written`,
    `  archive: ${plan.archive}`,
    `  entries: ${e.total} + the root (d ${e.d}, f ${e.f}, s ${e.s}, h ${e.h})`,
    `  files by source: A=${s.A} P=${s.P} M=${s.M} S=${s.S} FAILED=${s.FAILED}`,
    `  content: ${plan.bytes} bytes (${humanBytes(plan.bytes)}) from the sources`,
    `  ufs: ${u.blockSize}-byte blocks, ${u.fragmentSize}-byte fragments, ` +
      `${u.cylinderGroups} cylinder group${u.cylinderGroups === 1 ? '' : 's'}, minfree ${u.minFreePercent}%`,
    `  ufs data: ${u.dataBytes} bytes in ${u.dataFragments} fragments ` +
      `(${Math.ceil((u.dataFragments * u.fragmentSize) / u.blockSize)} blocks), ` +
      `${u.indirectBlocks} indirect blocks, ${u.directoryFragments} directory and ` +
      `${u.symlinkFragments} symlink fragments`,
    `  ufs inodes: ${u.inodesUsed} used, ${u.inodes} with headroom (newfs -i ${u.bytesPerInode})`,
    `  ufs headroom: free space from ${
      u.freeSpaceFrom === 'minimum'
        ? `the floor of ${humanBytes(u.minFreeBytes)} (more than ${u.freePercent}%)`
        : `${u.freePercent}% (more than the floor of ${humanBytes(u.minFreeBytes)})`
    }, free inodes from ${
      u.freeInodesFrom === 'minimum'
        ? `the floor of ${u.minFreeInodes}`
        : `${u.freeInodesFrom === 'option' ? '--ufs-free-inodes' : 'the 10% default'} (${u.freeInodes}, more than the floor of ${u.minFreeInodes})`
    }`,
    `  ufs image: ${u.imageBytes} bytes (${humanBytes(u.imageBytes)})` +
      (plan.ufsOptions.freePercent !== undefined || plan.ufsOptions.freeInodes !== undefined
        ? ` with --ufs-free-percent ${plan.ufsOptions.freePercent ?? 'default'}` +
          ` --ufs-free-inodes ${plan.ufsOptions.freeInodes ?? 'default'}`
        : ''),
  ];
  if (plan.ufsOptions.maxSize !== undefined) {
    lines.push(
      `  ufs-max-size: ${plan.ufsOptions.maxSize} bytes (${humanBytes(plan.ufsOptions.maxSize)}): ` +
        (plan.fits ? 'fits' : 'EXCEEDED: the build would fail before writing'),
    );
  }
  for (const f of plan.failed) {
    const where = f.file ? `${f.file}:${f.line}: ` : '';
    lines.push(`  ${where}FAILED ${f.path}${f.error ? ` (${f.error})` : ''}`);
  }
  lines.push(
    plan.customizeNotRun.length > 0
      ? `  customize: not run (${plan.customizeNotRun.join(', ')}); what it adds or changes is not counted`
      : '  customize: none given',
  );
  if (plan.warnings > 0) lines.push(`  warnings: ${plan.warnings} (a build lists them)`);
  return lines;
}

/** The closing summary a person reads. */
export function formatSummary(result: BuildLiveResult, seconds: number): string[] {
  const c = result.counts;
  const lines = [
    `build-live ${result.buildstamp}: ${result.exitCode === 0 ? 'OK' : `${c.failed} FAILED`}`,
    `  files: ${SOURCE_TAGS.map((t) => `${t}=${c[t]}`).join(' ')}  (${humanBytes(c.bytes)})`,
    `  dirs: ${c.dirs}  symlinks: ${c.symlinks}  hard links: ${c.hardlinks}  image entries: ${result.imageEntries}`,
    `  FAILED: ${c.failed}  unknown owners: ${c.unknownOwners}  warnings: ${result.warnings.length}`,
  ];
  for (const f of result.failed) {
    const where = f.file ? `${f.file}:${f.line}: ` : '';
    lines.push(`  ${where}FAILED ${f.path}${f.error ? ` (${f.error})` : ''}`);
    for (const place of f.searched) lines.push(`      searched ${place}`);
  }
  lines.push(`  archive: ${describeBuiltArchive(result.archive, result.ufsPlan)}`);
  lines.push(`  platform: ${result.platformDir}`);
  if (result.tgz) lines.push(`  tgz: ${result.tgz}`);
  if (result.imageDir) lines.push(`  image: ${result.imageDir}`);
  lines.push(`  log: ${result.log}`, `  time: ${seconds.toFixed(1)} s`);
  return lines;
}

const MAX_WARNINGS_SHOWN = 20;

export function buildLiveCommand(setExitCode: (code: number) => void): Command {
  return new Command('build-live')
    .description('build a live platform image from manifests (smartos-live `make live`)')
    .option('-m, --manifest <path>', 'manifest file or directory of snippets (repeatable)', collect)
    .option('--proto <dir>', 'proto area (source P)')
    .option(
      '--overlay <dir>',
      'overlay directory, searched in the order given (source A, repeatable)',
      collect,
    )
    .option('--man-dir <dir>', 'man page directory for usr/share/man/ (source M)')
    .option(
      '--system-root <dir>',
      'root of the running system (source S; default / on illumos only)',
    )
    .option('--no-system-root', 'never take files from the running system')
    .option('--customize <script>', 'customize script; its <script>.* siblings run after it')
    .option(
      '--customize-timeout <duration>',
      `stop a customize script still running after this long (90s, 30m, 1h; 0: no limit; default ${BUILD_LIVE_DEFAULTS.customizeTimeout})`,
    )
    .option('-o, --output <dir>', 'output directory', BUILD_LIVE_DEFAULTS.output)
    .option('--log-dir <dir>', 'log directory', BUILD_LIVE_DEFAULTS.logDir)
    .option(
      '--buildstamp <stamp>',
      'BUILDSTAMP, UTC %Y%m%dT%H%M%SZ (default: SOURCE_DATE_EPOCH, else now)',
    )
    .option('--define <NAME=VALUE>', 'value for $NAME in manifests (repeatable)', collect)
    .addOption(
      new Option('--archive <format>', 'boot_archive format')
        .choices(ARCHIVE_FORMATS)
        .default(BUILD_LIVE_DEFAULTS.archive),
    )
    .option(
      '--keep-staging',
      'keep the staged tree as <output>/image-<STAMP>/ (always kept for none)',
    )
    .option('--ufs-free-percent <n>', 'UFS headroom on the data, in percent (default 10)')
    .option('--ufs-free-inodes <n>', 'UFS inodes beyond those the image uses')
    .option(
      '--ufs-max-size <size>',
      'fail before writing when the UFS image would be larger (512M, 2G, bytes)',
    )
    .option(
      '--ufs-min-free <size>',
      'UFS free space at least this, whatever the percentage gives (default 16M; 0 turns the floor off)',
    )
    .option(
      '--ufs-min-free-inodes <n>',
      'UFS free inodes at least this many (default 4096; 0 turns the floor off)',
    )
    .option('--plan', 'print what the image would hold and its UFS size plan; write nothing')
    .option('--json', 'print a machine-readable summary (or plan) on stdout')
    .action((flags: BuildLiveFlags) => runBuildLive(flags, setExitCode));
}

/** The build (or with --plan, the plan) and what it prints. */
async function runBuildLive(
  flags: BuildLiveFlags,
  setExitCode: (code: number) => void,
): Promise<void> {
  const started = performance.now();
  const { output, logDir, archive, ufs, keepStaging, ...inputs } = parseBuildLiveOptions(
    {
      ...rawFlags(BUILD_LIVE_OPTIONS, flags),
      // --no-system-root: commander's systemRoot false.
      'system-root': flags.systemRoot === false ? undefined : flags.systemRoot,
      'no-system-root': flag(flags.systemRoot === false),
    },
    cliNames<BuildLiveOption>({ manifest: 'm' }),
    defaultSystemRoot(),
  );
  const shared = { ...inputs, sourceDateEpoch: process.env.SOURCE_DATE_EPOCH };
  if (flags.plan) {
    const plan = await planLive({
      ...shared,
      archive,
      ufs,
      onInfo: (message) => writeLine(process.stderr, message),
    });
    if (flags.json) process.stdout.write(JSON.stringify(plan, null, 2) + '\n');
    else writeLines(process.stdout, formatPlan(plan));
    setExitCode(plan.exitCode);
    return;
  }
  const progress = new ProgressReporter();
  const result = await buildLive({
    ...shared,
    output,
    logDir,
    archive,
    ufs,
    keepStaging,
    onInfo: (message) => progress.info(message),
    onProgress: (p) => progress.update(p),
  }).finally(() => progress.stop());
  const seconds = (performance.now() - started) / 1000;
  const human = flags.json ? process.stderr : process.stdout;
  const shown = result.warnings.slice(0, MAX_WARNINGS_SHOWN);
  writeLines(process.stderr, shown);
  if (result.warnings.length > shown.length) {
    writeLine(
      process.stderr,
      `... and ${result.warnings.length - shown.length} more warnings (see ${result.log})`,
    );
  }
  writeLines(human, formatSummary(result, seconds));
  if (flags.json) process.stdout.write(JSON.stringify({ ...result, seconds }, null, 2) + '\n');
  setExitCode(result.exitCode);
}
