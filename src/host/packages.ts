/**
 * The packages an illumos build host needs, per distribution, checked with
 * the distribution's own package manager and installed only when asked.
 * An installer's exit code is never trusted alone: after installing, the
 * list is checked again and every package still missing is named.
 */
import { UserError } from '../util/errors.js';
import { lastLine, run } from '../util/process.js';
import { which } from '../util/which.js';
import type { Distro } from './release.js';

export type Packager = 'pkgin' | 'pkg';

/**
 * One table, one row per distribution.
 * - SmartOS: the pkgsrc list smartos-live's `configure` installs
 *   (install_pkgin), which builds illumos-joyent, illumos-extra and the
 *   platform's own tools.
 * - OmniOS: the `illumos-tools` metapackage the illumos build
 *   instructions name for OmniOS (compilers, closed binaries, onbld
 *   dependencies), plus git and GNU tar.
 * - OpenIndiana: the `build-essential` metapackage the illumos build
 *   instructions name for OpenIndiana, plus git and GNU tar.
 */
export const REQUIRED_PACKAGES: Record<Distro, { packager: Packager; packages: string[] }> = {
  SmartOS: {
    packager: 'pkgin',
    packages: [
      'build-essential',
      'cdrtools',
      'coreutils',
      'flex',
      'gettext',
      'gsed',
      'libxslt',
      'nasm',
      'nodejs',
      'openjdk11',
      'p5-XML-Parser',
      'pigz',
      'pkg_alternatives',
      'pwgen',
      'python27',
      'python312',
      'smartos-build-tools',
    ],
  },
  OmniOS: {
    packager: 'pkg',
    packages: ['archiver/gnu-tar', 'developer/illumos-tools', 'developer/versioning/git'],
  },
  OpenIndiana: {
    packager: 'pkg',
    packages: ['archiver/gnu-tar', 'developer/versioning/git', 'metapackages/build-essential'],
  },
};

export interface PackageCheck {
  packager: Packager;
  required: string[];
  /** Missing before anything was installed. */
  missing: string[];
  /** Installed by this run (and found installed afterwards). */
  installed: string[];
}

export interface PackageOptions {
  install: boolean;
  env?: NodeJS.ProcessEnv;
  onInfo?: (message: string) => void;
}

/** `build-essential-3.0 Meta-package for ...` -> build-essential (the version follows the last `-`). */
function pkginName(line: string): string | undefined {
  const full = line.trim().split(/\s+/)[0];
  if (!full) return undefined;
  const cut = full.lastIndexOf('-');
  return cut > 0 ? full.slice(0, cut) : full;
}

/** `developer/illumos-tools  11-151046.0  i--` -> developer/illumos-tools (no `pkg:/`, no publisher). */
function pkgName(line: string): string | undefined {
  const stem = line.trim().split(/\s+/)[0];
  return stem ? stem.replace(/^pkg:\/+/, '').replace(/^\/+/, '') : undefined;
}

async function installedSet(packager: Packager, env: NodeJS.ProcessEnv): Promise<Set<string>> {
  const args = packager === 'pkgin' ? ['list'] : ['list', '-H'];
  const parse = packager === 'pkgin' ? pkginName : pkgName;
  const names = new Set<string>();
  // Parsed line by line as it comes: a long listing is more than the run keeps.
  const result = await run(packager, args, {
    env,
    onLine: (line, stream) => {
      const name = stream === 'stdout' ? parse(line) : undefined;
      if (name) names.add(name);
    },
  });
  // `pkg list` exits 1 when nothing at all is installed that matches; with no
  // pattern that means an empty image, not an error.
  if (result.error || (result.status !== 0 && !(packager === 'pkg' && result.status === 1))) {
    throw new UserError(`${packager} ${args.join(' ')} failed: ${lastLine(result)}`);
  }
  return names;
}

/** A required package is present under its name, or (pkg) as the tail of a longer FMRI. */
function isPresent(name: string, installed: Set<string>): boolean {
  if (installed.has(name)) return true;
  for (const have of installed) if (have.endsWith(`/${name}`)) return true;
  return false;
}

/**
 * Installs run as root, else through pfexec(1) when there is one (the
 * illumos way to use the Software Installation profile).
 */
async function privileged(
  command: string,
  env: NodeJS.ProcessEnv,
): Promise<{ command: string; prefix: string[] }> {
  if (process.getuid?.() === 0) return { command, prefix: [] };
  const pfexec = await which('pfexec', env.PATH);
  return pfexec ? { command: pfexec, prefix: [command] } : { command, prefix: [] };
}

export async function ensurePackages(
  distro: Distro,
  options: PackageOptions,
): Promise<PackageCheck> {
  const env = options.env ?? process.env;
  const { packager, packages } = REQUIRED_PACKAGES[distro];
  if (!(await which(packager, env.PATH))) {
    throw new UserError(
      `${distro} uses ${packager} for packages, but there is no ${packager} on PATH`,
    );
  }
  const before = await installedSet(packager, env);
  const missing = packages.filter((p) => !isPresent(p, before));
  const result: PackageCheck = { packager, required: packages, missing, installed: [] };
  if (missing.length === 0) return result;
  if (!options.install) {
    throw new UserError(
      `${missing.length} required ${distro} package${missing.length > 1 ? 's are' : ' is'} missing: ` +
        `${missing.join(', ')} (install them, or set install-packages to true)`,
    );
  }
  options.onInfo?.(`installing with ${packager}: ${missing.join(' ')}`);
  const args =
    packager === 'pkgin' ? ['-y', 'install', ...missing] : ['install', '--accept', ...missing];
  const { command, prefix } = await privileged(packager, env);
  const install = await run(command, [...prefix, ...args], { env, onLine: options.onInfo });
  if (install.error) throw new UserError(`${packager} install could not run: ${install.error}`);
  // pkg install exits 4 for "nothing to do"; anything else is judged by the re-check below.
  const after = await installedSet(packager, env);
  const still = missing.filter((p) => !isPresent(p, after));
  if (still.length > 0) {
    throw new UserError(
      `${still.length} package${still.length > 1 ? 's' : ''} did not install: ${still.join(', ')} ` +
        `(${packager} exit code ${install.status}: ${lastLine(install)})`,
    );
  }
  result.installed = missing;
  return result;
}
