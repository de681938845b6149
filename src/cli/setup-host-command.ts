import { Command, Option } from 'commander';
import { writeLine, writeLines } from './output.js';
import { COMPRESSIONS, exportPathLine } from '../host/cache-tools.js';
import type { SetupHostResult } from '../host/setup-host.js';
import { cliNames } from '../options/names.js';
import {
  parseSetupHostOptions,
  SETUP_HOST_DEFAULTS,
  SETUP_HOST_OPTIONS,
  type SetupHostOption,
} from '../options/setup-host.js';
import { collect, rawFlags } from './options.js';

/** What the command reads of commander's flags itself; the rest go to the shared parser. */
interface SetupHostFlags {
  json?: boolean;
}

/** What a person reads at the end. */
export function formatSetupSummary(r: SetupHostResult): string[] {
  const lines = [
    `setup-host: ${r.distro} (${r.release}): ready`,
    `  packages: ${r.packages.required.length} required present (${r.packages.packager})` +
      (r.packages.installed.length ? `; installed ${r.packages.installed.join(', ')}` : ''),
  ];
  for (const c of r.compilers)
    lines.push(`  ${c.role} compiler ${c.name}: ${c.path}: ${c.version}`);
  lines.push(`  GNU tar: ${r.tools.gnuTar}`, `  caches compress with: ${r.tools.compression}`);
  for (const p of r.projects)
    lines.push(`  projects/${p.name}: ${p.state}${p.symlink ? ' (symlink)' : ''}`);
  lines.push(`  illumos.sh: ${r.illumosSh}`, `  proto: ${r.proto}`);
  if (r.man) lines.push(`  man pages: ${r.man.manDir} (sha256 ${r.man.sha256})`);
  lines.push(
    '  put the tool shims first on PATH before build-world:',
    `    ${exportPathLine(r.tools.shimDir)}`,
  );
  return lines;
}

export function setupHostCommand(setExitCode: (code: number) => void): Command {
  return new Command('setup-host')
    .description(
      'check and prepare an illumos build host for build-world (packages, compilers, GNU tar, projects, illumos.sh, man pages)',
    )
    .option('-w, --workspace <dir>', 'the smartos-live style workspace', '.')
    .option('--proto <dir>', 'proto area, ROOT in illumos.sh (default <workspace>/proto)')
    .option('--man-dir <dir>', 'where the man pages go (default <workspace>/man)')
    .option(
      '--release-file <file>',
      'the release banner to identify the distribution by',
      SETUP_HOST_DEFAULTS.releaseFile,
    )
    .option(
      '--install-packages',
      'install missing required packages (pkgin or pkg); else only check',
    )
    .option('--illumos-repo <url>', 'repository to clone into projects/illumos when it is missing')
    .option('--illumos-ref <ref>', 'branch, tag or commit of --illumos-repo')
    .option(
      '--illumos-extra-repo <url>',
      'repository to clone into projects/illumos-extra when it is missing',
    )
    .option('--illumos-extra-ref <ref>', 'branch, tag or commit of --illumos-extra-repo')
    .option(
      '--primary-compiler <spec>',
      'PRIMARY_CC as name,path,style (default: gcc10 of the distribution)',
    )
    .option(
      '--shadow-compiler <spec>',
      'a SHADOW_CCS entry as name,path,style (repeatable)',
      collect,
    )
    .option('--gate <name>', 'GATE in illumos.sh', SETUP_HOST_DEFAULTS.gate)
    .option('--nightly-options <flags>', 'NIGHTLY_OPTIONS (default -CiLmMNnt)')
    .option(
      '--max-jobs <n>',
      'MAX_JOBS and DMAKE_MAX_JOBS (default: the CPU count; not part of the proto cache key)',
    )
    .option('--on-closed-bins <dir>', 'ON_CLOSED_BINS (only written when given)')
    .option('--illumos-env <NAME=VALUE>', 'a further variable for illumos.sh (repeatable)', collect)
    .addOption(
      new Option('--compression <method>', 'what the caches compress with')
        .choices(COMPRESSIONS)
        .default(SETUP_HOST_DEFAULTS.compression),
    )
    .option('--gnu-tar <path>', 'the GNU tar to use (default: gtar on PATH, else /usr/gnu/bin/tar)')
    .option(
      '--shim-dir <dir>',
      'where the tar/zstd shims go (default <workspace>/.joyent-live/bin)',
    )
    .option('--man-url <url>', 'man pages tarball to unpack into --man-dir (http, https, file)')
    .option('--man-sha256 <hex>', 'the sha256 the man pages tarball must have')
    .option(
      '--man-strip-components <n>',
      'leading directories to drop from its members',
      SETUP_HOST_DEFAULTS.manStripComponents,
    )
    .option('--json', 'print a machine-readable summary on stdout')
    .action(async (flags: SetupHostFlags) => {
      const settings = parseSetupHostOptions(
        rawFlags(SETUP_HOST_OPTIONS, flags),
        cliNames<SetupHostOption>(),
        { workspace: '.' },
      );
      const { setupHost } = await import('../host/setup-host.js');
      const result = await setupHost({
        ...settings,
        onInfo: (message) => writeLine(process.stderr, message),
      });
      const human = flags.json ? process.stderr : process.stdout;
      writeLines(human, formatSetupSummary(result));
      if (flags.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      setExitCode(0);
    });
}
