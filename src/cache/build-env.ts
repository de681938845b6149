/**
 * The environment variables the proto cache key covers (docs/build-world.md,
 * "What the key covers"): those nightly(1) and illumos-gate's illumos.sh
 * read, those GNU make and the compilers read in the illumos-extra and src
 * stages, the runtime linker's, and every variable the workspace's own
 * illumos.sh sets (its value from the environment matters wherever the file
 * reads it back, `${NAME:-default}`). Only the job counts are left out:
 * they change how fast the proto is built, not what is in it.
 */
import { compareBytes } from '../manifest/path.js';
import { JOB_COUNT_VARIABLES } from '../host/illumos-sh.js';

/** Variables read by nightly and illumos.sh (nightly(1ONBLD), usr/src/tools/env/illumos.sh). */
export const NIGHTLY_VARIABLES: readonly string[] = [
  'ADJUNCT_PROTO',
  'ATLOG',
  'BUILD_TOOLS',
  'CLOSED_IS_PRESENT',
  'CODEMGR_WS',
  'ENABLE_SMB_PRINTING',
  'GATE',
  'GNUC_ROOT',
  'JAVA_ROOT',
  'LOGFILE',
  'MACH',
  'MULTI_PROTO',
  'NATIVE_ADJUNCT',
  'NATIVE_MACH',
  'ON_CLOSED_BINS',
  'ON_CRYPTO_BINS',
  'PARENT_ROOT',
  'PARENT_TOOLS_ROOT',
  'PARENT_WS',
  'PKGVERS_BRANCH',
  'POST_NIGHTLY',
  'PRIMARY_CC',
  'PRIMARY_CCC',
  'RELEASE',
  'RELEASE_DATE',
  'ROOT',
  'SHADOW_CCCS',
  'SHADOW_CCS',
  'SMATCHBIN',
  'SRC',
  'TOOLS_PROTO',
  'VERSION',
];

/** Variables GNU make, the compilers and their drivers read in every stage. */
export const MAKE_VARIABLES: readonly string[] = [
  'AR',
  'AS',
  'CC',
  'CFLAGS',
  'CPP',
  'CPPFLAGS',
  'CXX',
  'CXXFLAGS',
  'GNUMAKEFLAGS',
  'LD',
  'LDFLAGS',
  'LIBS',
  'MAKEFILES',
  'MAKEFLAGS',
  'MFLAGS',
];

/**
 * Name prefixes covered whole: cw(1ONBLD)'s CW_*, the compiler switches
 * __GNUC* and __SMATCH*, ONBLD_*, SPRO_* (Studio), NIGHTLY_*, BLD_*
 * (BLD_JAVA_11, ...), PERL* and PYTHON* (the interpreters the build
 * uses), and LD_* (the runtime linker: LD_PRELOAD, LD_LIBRARY_PATH, ...).
 */
export const VARIABLE_PREFIXES: readonly string[] = [
  'BLD_',
  'CW_',
  'LD_',
  'NIGHTLY_',
  'ONBLD_',
  'PERL',
  'PYTHON',
  'SPRO_',
  '__GNUC',
  '__SMATCH',
];

/** Whether the key covers variable `name`, given the names the workspace's illumos.sh sets. */
export function keyedVariable(name: string, illumosShNames: ReadonlySet<string>): boolean {
  if (JOB_COUNT_VARIABLES.includes(name)) return false;
  return (
    NIGHTLY_VARIABLES.includes(name) ||
    MAKE_VARIABLES.includes(name) ||
    illumosShNames.has(name) ||
    VARIABLE_PREFIXES.some((prefix) => name.startsWith(prefix))
  );
}

/** The covered variables that are set in `env`, by name in byte order (unset ones are absent). */
export function buildEnvironment(
  env: NodeJS.ProcessEnv,
  illumosShNames: ReadonlySet<string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  const names = Object.keys(env)
    .filter((name) => env[name] !== undefined && keyedVariable(name, illumosShNames))
    .sort(compareBytes);
  for (const name of names) out[name] = env[name]!;
  return out;
}
