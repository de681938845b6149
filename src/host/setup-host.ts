/**
 * setup-host (docs/setup-host.md): checks and prepares an illumos build host for
 * build-world, in this order, stopping at the first failure:
 * kernel (SunOS) -> distribution (/etc/release) -> required packages ->
 * compilers -> GNU tar and compression shims for the caches -> the
 * projects/illumos and projects/illumos-extra trees -> illumos.sh -> the
 * man pages (when a URL is given). No @actions import: the action and the
 * CLI are thin callers of setupHost().
 */
import { access, constants } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describeError, UserError } from '../util/errors.js';
import { prepareCacheTools, type CacheTools, type CompressionChoice } from './cache-tools.js';
import {
  checkCompiler,
  DEFAULT_PRIMARY_COMPILER,
  parseCompilerSpec,
  type CheckedCompiler,
} from './compilers.js';
import { writeIllumosSh } from './illumos-sh.js';
import { fetchManPages, type ManPagesResult } from './man-pages.js';
import { ensurePackages, type PackageCheck } from './packages.js';
import { ensureProjects, type ProjectState } from './projects.js';
import { detectRelease, DEFAULT_RELEASE_FILE, type Distro } from './release.js';
import { requireIllumos } from './uname.js';

export interface SetupHostOptions {
  /** The name messages use (`setup-host`, `setup-illumos-host`). */
  name?: string;
  workspace: string;
  /** Default <workspace>/proto. */
  proto?: string;
  /** Default <workspace>/man. */
  manDir?: string;
  releaseFile?: string;
  installPackages: boolean;
  illumosRepo?: string;
  illumosRef?: string;
  illumosExtraRepo?: string;
  illumosExtraRef?: string;
  /** illumos syntax `name,path,style`; default per distribution. */
  primaryCompiler?: string;
  shadowCompilers: readonly string[];
  gate?: string;
  nightlyOptions?: string;
  maxJobs?: number;
  onClosedBins?: string;
  illumosEnv?: ReadonlyMap<string, string>;
  compression: CompressionChoice;
  /** GNU tar to use; else gtar on PATH, else /usr/gnu/bin/tar. */
  gnuTar?: string;
  /** Test hook and escape hatch: the whole candidate list for GNU tar. */
  gnuTarCandidates?: readonly string[];
  /** Where the tar/zstd shims go; default <workspace>/.joyent-live/bin. */
  shimDir?: string;
  manUrl?: string;
  manSha256?: string;
  manStripComponents?: number;
  env?: NodeJS.ProcessEnv;
  onInfo?: (message: string) => void;
}

export interface SetupHostResult {
  distro: Distro;
  release: string;
  releaseFile: string;
  workspace: string;
  proto: string;
  packages: PackageCheck;
  compilers: CheckedCompiler[];
  tools: CacheTools;
  projects: ProjectState[];
  illumosSh: string;
  man?: ManPagesResult;
}

const REF = /^[^-\s][^\s]*$/;

/** Checks the options that need no host before anything is touched. */
function checkOptions(o: SetupHostOptions): void {
  for (const [name, ref] of [
    ['illumos-ref', o.illumosRef],
    ['illumos-extra-ref', o.illumosExtraRef],
  ] as const) {
    if (ref !== undefined && !REF.test(ref)) {
      throw new UserError(
        `${name} ${JSON.stringify(ref)} is not a git ref (no spaces, no leading -)`,
      );
    }
  }
  if ((o.manUrl === undefined) !== (o.manSha256 === undefined)) {
    throw new UserError('man-url and man-sha256 go together: give both or neither');
  }
  if (o.nightlyOptions !== undefined && !/^-[A-Za-z+]+$/.test(o.nightlyOptions)) {
    throw new UserError(
      `nightly-options ${JSON.stringify(o.nightlyOptions)} must be nightly's single-letter flags, such as -CiLmMNnt`,
    );
  }
}

export async function setupHost(o: SetupHostOptions): Promise<SetupHostResult> {
  const env = o.env ?? process.env;
  const info = o.onInfo ?? (() => undefined);
  checkOptions(o);
  await requireIllumos(o.name ?? 'setup-host', env);

  const host = await detectRelease(o.releaseFile ?? DEFAULT_RELEASE_FILE);
  info(`host: ${host.distro} (${host.release})`);
  const workspace = await usableWorkspace(o.workspace);
  const proto = resolve(workspace, o.proto ?? 'proto');
  const manDir = resolve(workspace, o.manDir ?? 'man');
  const run: Run = { o, env, info, workspace };
  const packages = await checkPackages(run, host.distro);
  const { primary, shadows, compilers } = await checkCompilers(run, host.distro);
  const tools = await prepareTools(run);
  const projects = await prepareProjects(run);
  const illumosSh = await writeIllumosSh({
    workspace,
    illumos: projects[0].path,
    proto,
    gate: o.gate,
    nightlyOptions: o.nightlyOptions,
    maxJobs: o.maxJobs,
    primary,
    shadows,
    onClosedBins: o.onClosedBins,
    extra: o.illumosEnv,
  });
  info(`wrote ${illumosSh}`);

  let man: ManPagesResult | undefined;
  if (o.manUrl !== undefined && o.manSha256 !== undefined) {
    man = await fetchManPages({
      url: o.manUrl,
      sha256: o.manSha256,
      manDir,
      stripComponents: o.manStripComponents,
      onInfo: info,
    });
  }
  return {
    distro: host.distro,
    release: host.release,
    releaseFile: host.file,
    workspace,
    proto,
    packages,
    compilers,
    tools,
    projects,
    illumosSh,
    ...(man ? { man } : {}),
  };
}

/** What every phase reads: the options, the environment, where progress goes, the workspace. */
interface Run {
  o: SetupHostOptions;
  env: NodeJS.ProcessEnv;
  info: (message: string) => void;
  workspace: string;
}

/** The workspace, absolute, and writable. */
async function usableWorkspace(path: string): Promise<string> {
  const workspace = resolve(path);
  try {
    await access(workspace, constants.W_OK);
  } catch (err) {
    throw new UserError(`workspace ${workspace} cannot be used: ${describeError(err)}`);
  }
  return workspace;
}

/** The required packages present (installed first with installPackages). */
async function checkPackages({ o, env, info }: Run, distro: Distro): Promise<PackageCheck> {
  const packages = await ensurePackages(distro, { install: o.installPackages, env, onInfo: info });
  info(
    packages.installed.length
      ? `packages: installed ${packages.installed.join(', ')}; all ${packages.required.length} required present`
      : `packages: all ${packages.required.length} required present (${packages.packager})`,
  );
  return packages;
}

/** The primary compiler and the shadows, each run once. */
async function checkCompilers({ o, env, info }: Run, distro: Distro) {
  const primary = parseCompilerSpec(
    o.primaryCompiler ?? DEFAULT_PRIMARY_COMPILER[distro],
    'primary-compiler',
  );
  const shadows = o.shadowCompilers.map((s) => parseCompilerSpec(s, 'shadow-compilers'));
  const compilers = [await checkCompiler(primary, 'primary', env)];
  for (const shadow of shadows) compilers.push(await checkCompiler(shadow, 'shadow', env));
  for (const c of compilers) info(`${c.role} compiler ${c.name}: ${c.path}: ${c.version}`);
  return { primary, shadows, compilers };
}

/** GNU tar and the compression shims the caches use. */
async function prepareTools({ o, env, info, workspace }: Run): Promise<CacheTools> {
  const tools = await prepareCacheTools({
    shimDir: resolve(workspace, o.shimDir ?? join('.joyent-live', 'bin')),
    compression: o.compression,
    gnuTarCandidates: o.gnuTarCandidates ?? (o.gnuTar ? [resolve(o.gnuTar)] : undefined),
    env,
  });
  info(`GNU tar: ${tools.gnuTar} (${tools.gnuTarVersion}), shim ${join(tools.shimDir, 'tar')}`);
  info(
    `caches compress with ${tools.compression}` +
      (tools.zstdHidden
        ? ` (zstd at ${tools.zstd ?? 'PATH'} hidden from them by ${join(tools.shimDir, 'zstd')})`
        : ''),
  );
  return tools;
}

/** projects/illumos and projects/illumos-extra, cloned when missing. */
async function prepareProjects({ o, env, info, workspace }: Run): Promise<ProjectState[]> {
  const projects = await ensureProjects(
    workspace,
    [
      { name: 'illumos', repo: o.illumosRepo, ref: o.illumosRef, repoOption: 'illumos-repo' },
      {
        name: 'illumos-extra',
        repo: o.illumosExtraRepo,
        ref: o.illumosExtraRef,
        repoOption: 'illumos-extra-repo',
      },
    ],
    { env, onInfo: info },
  );
  for (const p of projects) info(`projects/${p.name}: ${p.state}${p.symlink ? ' (symlink)' : ''}`);
  return projects;
}
