/**
 * build-world (docs/build-world.md): illumos, illumos-extra and src into the proto
 * area, each stage guarded by a stamp that records its inputs, the proto
 * cached between jobs under a key made of every input. No @actions/*
 * here: the action and the CLI pass hooks and a cache backend.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CacheBackendError, type CacheBackend, type RestoredEntry } from '../cache/backend.js';
import { EntryRejected, installEntry, packEntry, unpackEntry } from '../cache/entry.js';
import { buildEnvironment } from '../cache/build-env.js';
import { projectState } from '../cache/git-state.js';
import {
  cacheKey,
  canonicalJson,
  checkSalt,
  describeChanges,
  restorePrefix,
  type KeyInputs,
} from '../cache/key.js';
import { hashTree } from '../cache/tree-hash.js';
import { compilerVersion } from '../host/compilers.js';
import {
  compilersOf,
  hashIllumosSh,
  readIllumosSh,
  type IllumosShVars,
} from '../host/illumos-sh.js';
import { formatKeyInputs, KEY_INPUTS_FILE, readKeyInputsFile } from '../formats/cache-inputs.js';
import { requireIllumos } from '../host/uname.js';
import { replaceFile } from '../util/atomic.js';
import { resolveBuildTime } from '../util/buildstamp.js';
import { describeError, ioError, UserError } from '../util/errors.js';
import { isNotThere, pathExists } from '../util/exists.js';
import { which } from '../util/which.js';
import { VERSION } from '../version.js';
import { lockWorkspace } from './lock.js';
import { failOnStall } from './stall.js';
import {
  findGnuMake,
  mailMsgPath,
  runStageCommands,
  STAGES,
  STAMP_FILES,
  stageInputs,
  stampCurrent,
  tailLines,
  writeStamp,
  removeStamp,
  type StageCommand,
  type StageName,
} from './stages.js';

export type StageStatus = 'built' | 'up to date' | 'from cache';

export interface StageResult {
  stage: StageName;
  status: StageStatus;
  /** The stage's log, when it ran. */
  log?: string;
  seconds?: number;
}

export type SaveStatus = 'saved' | 'not needed' | 'failed' | 'no cache';

export interface BuildWorldResult {
  proto: string;
  buildstamp: string;
  cacheKey: string;
  /** An entry with exactly this key was there: nothing was built. */
  cacheHit: boolean;
  /** The key of the entry restored (exact or by prefix), if any. */
  restoredKey?: string;
  /** What changed since the restored entry or the workspace's last build, in words. */
  changes: string[];
  stages: StageResult[];
  saved: SaveStatus;
  /** cache-key-inputs.json beside the proto. */
  keyInputsFile: string;
}

export interface BuildWorldHooks {
  onInfo?: (message: string) => void;
  onWarning?: (message: string) => void;
  onStageStart?: (stage: StageName, log: string) => void;
  onStageEnd?: (stage: StageName, ok: boolean) => void;
  /** Output of the running stage, as it comes. */
  onOutput?: (chunk: Buffer) => void;
}

export interface BuildWorldOptions extends BuildWorldHooks {
  /** The smartos-live workspace: projects/illumos, projects/illumos-extra, src, log. */
  workspace: string;
  /** The proto area (default <workspace>/proto; relative to the workspace). */
  proto?: string;
  /** nightly without -i, every stage rerun, nothing restored. */
  clean?: boolean;
  /** The user's cache-version salt. */
  cacheVersion: string;
  /** Makes the cache backend; it gets the file entries are staged in. */
  cache: (stagingFile: string) => CacheBackend;
  /** A cache service error fails the build (else it is a warning). */
  failOnCacheError?: boolean;
  sourceDateEpoch?: string;
  env?: NodeJS.ProcessEnv;
}

/** How many lines of a failed stage's log (and of nightly's mail_msg) are shown. */
export const TAIL_LINES = 40;

/**
 * Whether `path` is there (pathExists: only ENOENT and ENOTDIR are "not
 * there"). A path that cannot be looked at (a loop of symlinks, EACCES,
 * EIO) is an error naming it, never taken for a missing file
 * (docs/build-world.md).
 */
function present(path: string): Promise<boolean> {
  return pathExists(path).catch((err: unknown) => {
    throw ioError(err, 'look up', path);
  });
}

async function requireDir(path: string, what: string, hint: string): Promise<void> {
  const st = await stat(path).catch((err: unknown) => {
    if (isNotThere(err)) return undefined;
    throw ioError(err, 'look up', path);
  });
  if (!st?.isDirectory()) throw new UserError(`${what} ${path} is missing (${hint})`);
}

/**
 * nightly as built into usr/src/tools/scripts, or else (a fresh checkout,
 * tools not built yet) nightly.sh run by ksh93, as smartos-live's
 * tools/build_illumos runs its copy of nightly.sh.
 */
async function nightlyCommand(
  planned: StageCommand,
  env: NodeJS.ProcessEnv,
): Promise<StageCommand> {
  if (await present(planned.command)) return planned;
  const script = `${planned.command}.sh`;
  if (!(await present(script))) {
    throw new UserError(
      `neither ${planned.command} nor ${script} exists: projects/illumos is not an illumos-gate checkout`,
    );
  }
  const ksh = (await which('ksh93', env.PATH ?? '')) ?? (await which('ksh', env.PATH ?? ''));
  if (!ksh) {
    throw new UserError(
      `${planned.command} is not built yet and there is no ksh93 (or ksh) on PATH to run ${script}`,
    );
  }
  return { ...planned, command: ksh, args: [script, ...planned.args] };
}

/** The workspace's layout and what its illumos.sh says, checked before anything runs. */
interface Workspace {
  workspace: string;
  proto: string;
  /** Where the stamps and cache-key-inputs.json live: beside the proto. */
  stateDir: string;
  illumosDir: string;
  extraDir: string;
  srcDir: string;
  logDir: string;
  illumosSh: string;
  illumosVars: IllumosShVars;
  /** Where nightly leaves its mail_msg. */
  codemgrWs: string;
  nightly: string;
  make: string;
}

/** One build-world run: its options, its messages, its cache backend. */
interface Run {
  options: BuildWorldOptions;
  env: NodeJS.ProcessEnv;
  info: (message: string) => void;
  warn: (message: string) => void;
  ws: Workspace;
  backend: CacheBackend;
  /** A cache service error: a warning, or with failOnCacheError the end of the build. */
  cacheError: (what: string, err: unknown) => void;
  /** What the build is doing now, for the message of a build that stalls (src/world/stall.ts). */
  progress: { phase: string };
}

/** What restoreCache found: the proto as it is now and what it was built from. */
interface Restored {
  /** An entry with exactly this key is in the cache and the proto holds it. */
  cacheHit: boolean;
  restoredKey?: string;
  /** The inputs the proto was last built from (to tell what changed), and whose they are. */
  base?: KeyInputs;
  baseName: string;
}

const stampPath = (ws: Workspace, stage: StageName) => join(ws.stateDir, STAMP_FILES[stage]);
const STAMP_NAMES = STAGES.map((s) => STAMP_FILES[s]);

/** Checks the workspace setup-illumos-host prepared and reads its illumos.sh. */
async function readWorkspace(options: BuildWorldOptions, env: NodeJS.ProcessEnv) {
  const workspace = resolve(options.workspace);
  const proto = resolve(workspace, options.proto ?? 'proto');
  const illumosDir = join(workspace, 'projects', 'illumos');
  const extraDir = join(workspace, 'projects', 'illumos-extra');
  const srcDir = join(workspace, 'src');
  const setupHint = 'setup-illumos-host prepares it';
  await requireDir(workspace, 'the workspace', 'input/option workspace');
  await requireDir(illumosDir, 'projects/illumos', setupHint);
  await requireDir(extraDir, 'projects/illumos-extra', setupHint);
  await requireDir(srcDir, 'src', 'the smartos-live sources of the workspace');
  const illumosSh = join(illumosDir, 'illumos.sh');
  if (!(await present(illumosSh))) {
    throw new UserError(`${illumosSh} is missing (setup-illumos-host writes it)`);
  }
  const illumosVars = await readIllumosSh(illumosSh);
  const root = illumosVars.vars.get('ROOT');
  if (root !== undefined && resolve(illumosDir, root) !== proto) {
    throw new UserError(
      `${illumosSh}: ROOT is ${root} but the proto area is ${proto}: nightly would install ` +
        'outside the proto that is cached (give proto the same path, or rerun setup-illumos-host)',
    );
  }
  return {
    workspace,
    proto,
    stateDir: dirname(proto),
    illumosDir,
    extraDir,
    srcDir,
    logDir: join(workspace, 'log'),
    illumosSh,
    illumosVars,
    codemgrWs: resolve(illumosDir, illumosVars.vars.get('CODEMGR_WS') ?? '.'),
    nightly: join(illumosDir, 'usr', 'src', 'tools', 'scripts', 'nightly'),
    make: await findGnuMake(env),
  } satisfies Workspace;
}

/** A file name for a log line: quoted, control and bidi characters escaped (JSON's and \\u{...}). */
const shownName = (name: string) =>
  JSON.stringify(name).replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );

/** How many untracked file names a project's log line shows. */
const UNTRACKED_SHOWN = 10;

/**
 * Says which untracked, not ignored files of each project the key covers:
 * they are built like tracked ones (a GNUmakefile make reads first), so the
 * log names them.
 */
function reportUntracked(inputs: KeyInputs, info: (message: string) => void): void {
  for (const project of ['illumos', 'illumos-extra'] as const) {
    const untracked = inputs[project].untracked;
    if (!untracked) continue;
    const { files, names } = untracked;
    const shown = names.slice(0, UNTRACKED_SHOWN).map(shownName);
    const more = files > shown.length ? ` and ${files - shown.length} more` : '';
    info(
      `projects/${project} has ${files} untracked file${files === 1 ? '' : 's'} git does not ` +
        `ignore, built and keyed with it: ${shown.join(', ')}${more}`,
    );
  }
}

/** Every input of the world build, the document the cache key is the hash of. */
async function computeKeyInputs(
  ws: Workspace,
  salt: string,
  env: NodeJS.ProcessEnv,
): Promise<KeyInputs> {
  const compilers: Record<string, string> = {};
  for (const c of compilersOf(ws.illumosVars, true)) {
    compilers[c.spec] = await compilerVersion(c.path, env);
  }
  return {
    format: 1,
    tool: VERSION,
    salt,
    illumos: await projectState(ws.illumosDir, 'projects/illumos'),
    'illumos-extra': await projectState(ws.extraDir, 'projects/illumos-extra'),
    src: await hashTree(ws.srcDir),
    // Without MAX_JOBS and DMAKE_MAX_JOBS: runners with other CPU counts share entries.
    'illumos.sh': await hashIllumosSh(ws.illumosSh),
    compilers,
    env: buildEnvironment(env, new Set(ws.illumosVars.vars.keys())),
  };
}

/** The inputs of the workspace's own last build, when every stage stamp still matches them. */
async function readLocalBuild(
  ws: Workspace,
  keyInputsFile: string,
  inputs: KeyInputs,
): Promise<{ local?: KeyInputs; complete: boolean }> {
  const local = await readKeyInputsFile(keyInputsFile);
  let complete = local !== undefined;
  for (const stage of STAGES) {
    if (!(await stampCurrent(stampPath(ws, stage), stageInputs(stage, inputs)))) complete = false;
  }
  return { local, complete };
}

/**
 * Brings the proto to the closest build the cache or the workspace has: an
 * exact hit, an entry of the same salt (prefix) to rebuild from, or the
 * workspace's own last build. A lookup alone when the workspace already
 * holds this very build.
 */
async function restoreCache(
  run: Run,
  key: string,
  inputs: KeyInputs,
  keyInputsFile: string,
): Promise<Restored> {
  const { ws, backend, info, warn, options } = run;
  const prefix = restorePrefix(inputs.salt);
  const { local, complete } = await readLocalBuild(ws, keyInputsFile, inputs);
  const restored: Restored = {
    cacheHit: false,
    base: local,
    baseName: "the workspace's last build",
  };
  if (options.clean) {
    info('clean: true: nothing is restored, every stage is rebuilt');
    return restored;
  }
  if (backend.name === 'none') return restored;
  if (complete && local && canonicalJson(local) === canonicalJson(inputs)) {
    // The workspace already holds this very build: look the key up, fetch nothing.
    try {
      restored.cacheHit = await backend.has(key);
    } catch (err) {
      if (!(err instanceof CacheBackendError)) throw err;
      run.cacheError('lookup failed', err);
    }
    info(
      restored.cacheHit
        ? `cache hit: ${key} (the workspace already holds this proto: nothing to restore)`
        : `the workspace already holds the build of ${key}; the cache lacks it: saving it`,
    );
    return restored;
  }
  let found: RestoredEntry | undefined;
  try {
    found = await backend.restore(key, prefix);
  } catch (err) {
    if (!(err instanceof CacheBackendError)) throw err;
    run.cacheError('restore failed', err);
  }
  if (!found) {
    info(`cache miss: no entry for ${key} nor any with the prefix ${prefix}`);
    return restored;
  }
  const exact = found.key === key;
  if (!exact && local) {
    info(
      `cache entry ${found.key} matches by prefix only; keeping the workspace's own build ` +
        'and rebuilding from it what changed',
    );
    return restored;
  }
  try {
    const entry = await unpackEntry(found.file, ws.stateDir, STAMP_NAMES);
    await installEntry(entry, ws.proto, STAMP_NAMES);
    restored.restoredKey = found.key;
    if (exact) {
      restored.cacheHit = true;
      info(`cache hit: restored ${key} into ${ws.proto}`);
    } else {
      restored.base = entry.inputs;
      restored.baseName = `the restored entry ${found.key}`;
      info(`cache miss for ${key}; restored ${found.key} (prefix ${prefix}) into ${ws.proto}`);
    }
  } catch (err) {
    if (!(err instanceof EntryRejected)) throw err;
    const done = await backend.discard(found.key).catch((e: unknown) => describeError(e));
    warn(
      `proto cache entry ${found.key} is not usable, discarded (${done}); rebuilding: ${err.message}` +
        (backend.name === 'github' ? ' (change cache-version to replace it)' : ''),
    );
  }
  return restored;
}

/** What a stage runs, in smartos-live's way. */
function stageCommands(ws: Workspace, clean: boolean): Record<StageName, StageCommand[]> {
  const { make, proto } = ws;
  return {
    illumos: [
      {
        command: ws.nightly,
        args: clean ? [ws.illumosSh] : ['-i', ws.illumosSh],
        cwd: ws.illumosDir,
      },
    ],
    'illumos-extra': [{ command: make, args: [`DESTDIR=${proto}`, 'install'], cwd: ws.extraDir }],
    src: [
      { command: make, args: [`DESTDIR=${proto}`], cwd: ws.srcDir },
      { command: make, args: [`DESTDIR=${proto}`, 'install'], cwd: ws.srcDir },
    ],
  };
}

/** The end of a failed stage's log (and of nightly's mail_msg), then the error. */
async function stageFailed(
  run: Run,
  stage: StageName,
  log: string,
  failed: { command: string; status: string },
): Promise<never> {
  const tail = await tailLines(log, TAIL_LINES);
  run.info(`---- last ${tail.length} lines of ${log}`);
  for (const line of tail) run.info(line);
  if (stage === 'illumos') {
    const mail = mailMsgPath(run.ws.codemgrWs);
    const lines = await tailLines(mail, TAIL_LINES);
    if (lines.length) {
      run.info(`---- nightly's mail_msg (${mail}), last ${lines.length} lines`);
      for (const line of lines) run.info(line);
    }
  }
  throw new UserError(
    `build-world: stage ${stage} failed (${failed.command}: ${failed.status}); log: ${log}`,
  );
}

/**
 * Runs the stages from the first whose stamp does not match its inputs
 * (every one with clean), each stamp removed before and written after.
 */
async function runStages(
  run: Run,
  inputs: KeyInputs,
  restored: Restored,
  buildstamp: string,
): Promise<StageResult[]> {
  const { ws, options, info } = run;
  let first = 0;
  if (!options.clean) {
    while (
      first < STAGES.length &&
      (await stampCurrent(stampPath(ws, STAGES[first]), stageInputs(STAGES[first], inputs)))
    ) {
      first++;
    }
  }
  for (let i = first; i < STAGES.length; i++) await removeStamp(stampPath(ws, STAGES[i]));
  await mkdir(ws.proto, { recursive: true });
  const commands = stageCommands(ws, options.clean === true);
  const stages: StageResult[] = [];
  for (const [i, stage] of STAGES.entries()) {
    if (i < first) {
      const status = restored.restoredKey ? 'from cache' : 'up to date';
      stages.push({ stage, status });
      info(`stage ${stage}: ${status} (its stamp matches its inputs)`);
      continue;
    }
    if (stage === 'illumos') {
      commands.illumos[0] = await nightlyCommand(commands.illumos[0], run.env);
    }
    const log = join(ws.logDir, `${stage}.${buildstamp}.log`);
    run.progress.phase = `running stage ${stage}`;
    options.onStageStart?.(stage, log);
    const started = performance.now();
    const failed = await runStageCommands(commands[stage], log, {
      env: run.env,
      onOutput: options.onOutput,
    });
    options.onStageEnd?.(stage, !failed);
    if (failed) await stageFailed(run, stage, log, failed);
    await writeStamp(stampPath(ws, stage), stageInputs(stage, inputs));
    const seconds = (performance.now() - started) / 1000;
    stages.push({ stage, status: 'built', log, seconds });
    info(`stage ${stage}: built (log: ${log})`);
  }
  return stages;
}

/** cache-key-inputs.json beside the proto: what it was built from, for the next run. */
async function recordKeyInputs(keyInputsFile: string, inputs: KeyInputs): Promise<void> {
  await replaceFile(keyInputsFile, formatKeyInputs(inputs));
}

/** Packs the proto, its stamps and its inputs into a cache entry under `key`. */
async function saveCache(run: Run, key: string): Promise<SaveStatus> {
  const { backend } = run;
  if (backend.name === 'none') return 'no cache';
  try {
    run.progress.phase = 'packing the proto into a cache entry';
    await packEntry(run.ws.proto, [...STAMP_NAMES, KEY_INPUTS_FILE], backend.stagingFile);
    run.progress.phase = `saving the cache entry (${backend.name})`;
    await backend.save(key);
    run.info(`proto cache: saved ${key} (${backend.name})`);
    return 'saved';
  } catch (err) {
    if (!(err instanceof CacheBackendError)) throw err;
    run.cacheError('save failed', err);
    return 'failed';
  }
}

/**
 * readWorkspace -> computeKeyInputs -> restoreCache -> runStages ->
 * recordKeyInputs -> saveCache, under the workspace lock.
 */
export async function buildWorld(options: BuildWorldOptions): Promise<BuildWorldResult> {
  const info = options.onInfo ?? (() => undefined);
  const warn = options.onWarning ?? info;
  const env = options.env ?? process.env;
  const salt = checkSalt(options.cacheVersion);
  await requireIllumos('build-world', env);
  const ws = await readWorkspace(options, env);

  const { buildstamp } = resolveBuildTime(undefined, options.sourceDateEpoch);
  await mkdir(ws.logDir, { recursive: true });
  await mkdir(ws.stateDir, { recursive: true });
  const lock = await lockWorkspace(join(ws.workspace, '.build-world.lock'), warn);
  const stagingDir = join(ws.workspace, '.build-world-cache');
  const progress = { phase: 'computing the proto cache key' };
  const work = async (): Promise<BuildWorldResult> => {
    const inputs = await computeKeyInputs(ws, salt, env);
    reportUntracked(inputs, info);
    const key = cacheKey(inputs);
    const keyInputsFile = join(ws.stateDir, KEY_INPUTS_FILE);
    info(`proto cache key: ${key}`);

    await mkdir(stagingDir, { recursive: true });
    const backend = options.cache(join(stagingDir, 'proto-entry.tgz'));
    const cacheError = (what: string, err: unknown) => {
      const message = `proto cache (${backend.name}): ${what}: ${err instanceof Error ? err.message : String(err)}`;
      if (options.failOnCacheError) throw new UserError(`${message} (fail-on-cache-error is true)`);
      warn(`${message}; going on without it`);
    };
    const run: Run = { options, env, info, warn, ws, backend, cacheError, progress };

    progress.phase = 'restoring the proto cache';
    const restored = await restoreCache(run, key, inputs, keyInputsFile);
    const { cacheHit, base, baseName } = restored;
    const changes = base && !cacheHit ? describeChanges(base, inputs) : [];
    if (!cacheHit && base) {
      info(
        changes.length
          ? `compared with ${baseName}: ${changes.join('; ')}`
          : `compared with ${baseName}: no input changed`,
      );
    }
    const result = (stages: StageResult[], saved: SaveStatus): BuildWorldResult => ({
      proto: ws.proto,
      buildstamp,
      cacheKey: key,
      cacheHit,
      restoredKey: restored.restoredKey,
      changes,
      stages,
      saved,
      keyInputsFile,
    });
    if (cacheHit) {
      for (const stage of STAGES) info(`stage ${stage}: skipped (cache hit)`);
      return result(
        STAGES.map((stage) => ({ stage, status: 'from cache' })),
        'not needed',
      );
    }

    const stages = await runStages(run, inputs, restored, buildstamp);
    progress.phase = `writing ${keyInputsFile}`;
    await recordKeyInputs(keyInputsFile, inputs);
    return result(stages, await saveCache(run, key));
  };
  try {
    // A build whose awaited work can never finish ends with a message too (src/world/stall.ts).
    return await failOnStall(work(), 'build-world', () => progress.phase);
  } finally {
    await rm(stagingDir, { recursive: true, force: true });
    await lock.release();
  }
}
