/**
 * build-world (SPEC 7): illumos, illumos-extra and src into the proto
 * area, each stage guarded by a stamp that records its inputs, the proto
 * cached between jobs under a key made of every input. No @actions/*
 * here: the action and the CLI pass hooks and a cache backend.
 */
import { access, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { resolveBuildTime } from '../util/buildstamp.js';
import { CacheBackendError, type CacheBackend, type RestoredEntry } from '../cache/backend.js';
import {
  EntryRejected,
  installEntry,
  KEY_INPUTS_FILE,
  packEntry,
  unpackEntry,
} from '../cache/entry.js';
import { projectState } from '../cache/git-state.js';
import {
  cacheKey,
  canonicalJson,
  checkSalt,
  describeChanges,
  parseKeyInputs,
  restorePrefix,
  type KeyInputs,
} from '../cache/key.js';
import { hashTree } from '../cache/tree-hash.js';
import { compilerVersion } from '../host/compilers.js';
import { compilersOf, hashIllumosSh, readIllumosSh } from '../host/illumos-sh.js';
import { requireIllumos } from '../host/uname.js';
import { partialName } from '../util/atomic.js';
import { describeError, UserError } from '../util/errors.js';
import { which } from '../util/which.js';
import { VERSION } from '../version.js';
import { lockWorkspace } from './lock.js';
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

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function requireDir(path: string, what: string, hint: string): Promise<void> {
  const st = await stat(path).catch(() => undefined);
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
  if (await exists(planned.command)) return planned;
  const script = `${planned.command}.sh`;
  if (!(await exists(script))) {
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

export async function buildWorld(options: BuildWorldOptions): Promise<BuildWorldResult> {
  const info = options.onInfo ?? (() => undefined);
  const warn = options.onWarning ?? info;
  const env = options.env ?? process.env;
  const salt = checkSalt(options.cacheVersion);
  await requireIllumos('build-world', env);

  const workspace = resolve(options.workspace);
  const proto = resolve(workspace, options.proto ?? 'proto');
  const stateDir = dirname(proto);
  const illumosDir = join(workspace, 'projects', 'illumos');
  const extraDir = join(workspace, 'projects', 'illumos-extra');
  const srcDir = join(workspace, 'src');
  const setupHint = 'setup-illumos-host prepares it';
  await requireDir(workspace, 'the workspace', 'input/option workspace');
  await requireDir(illumosDir, 'projects/illumos', setupHint);
  await requireDir(extraDir, 'projects/illumos-extra', setupHint);
  await requireDir(srcDir, 'src', 'the smartos-live sources of the workspace');
  const illumosSh = join(illumosDir, 'illumos.sh');
  if (!(await exists(illumosSh))) {
    throw new UserError(`${illumosSh} is missing (setup-illumos-host writes it)`);
  }
  const illumosEnv = await readIllumosSh(illumosSh);
  const root = illumosEnv.vars.get('ROOT');
  if (root !== undefined && resolve(illumosDir, root) !== proto) {
    throw new UserError(
      `${illumosSh}: ROOT is ${root} but the proto area is ${proto}: nightly would install ` +
        'outside the proto that is cached (give proto the same path, or rerun setup-illumos-host)',
    );
  }
  const codemgrWs = resolve(illumosDir, illumosEnv.vars.get('CODEMGR_WS') ?? '.');
  const nightly = join(illumosDir, 'usr', 'src', 'tools', 'scripts', 'nightly');
  const make = await findGnuMake(env);

  const { buildstamp } = resolveBuildTime(undefined, options.sourceDateEpoch);
  const logDir = join(workspace, 'log');
  await mkdir(logDir, { recursive: true });
  await mkdir(stateDir, { recursive: true });
  const lock = await lockWorkspace(join(workspace, '.build-world.lock'), warn);
  const stagingDir = join(workspace, '.build-world-cache');
  try {
    // ---- key inputs ------------------------------------------------------
    const compilers: Record<string, string> = {};
    for (const c of compilersOf(illumosEnv)) compilers[c.spec] = await compilerVersion(c.path, env);
    const inputs: KeyInputs = {
      format: 1,
      tool: VERSION,
      salt,
      illumos: await projectState(illumosDir, 'projects/illumos'),
      'illumos-extra': await projectState(extraDir, 'projects/illumos-extra'),
      src: await hashTree(srcDir),
      // Without MAX_JOBS and DMAKE_MAX_JOBS: runners with other CPU counts share entries.
      'illumos.sh': await hashIllumosSh(illumosSh),
      compilers,
    };
    const key = cacheKey(inputs);
    const prefix = restorePrefix(salt);
    const keyInputsFile = join(stateDir, KEY_INPUTS_FILE);
    const stampPath = (stage: StageName) => join(stateDir, STAMP_FILES[stage]);
    const stampFiles = STAGES.map((s) => STAMP_FILES[s]);
    info(`proto cache key: ${key}`);

    const localText = await readFile(keyInputsFile, 'utf8').catch(() => undefined);
    const local = localText === undefined ? undefined : parseKeyInputs(localText);
    let localComplete = local !== undefined;
    for (const stage of STAGES) {
      if (!(await stampCurrent(stampPath(stage), stageInputs(stage, inputs))))
        localComplete = false;
    }

    await mkdir(stagingDir, { recursive: true });
    const backend = options.cache(join(stagingDir, 'proto-entry.tgz'));
    const cacheError = (what: string, err: unknown) => {
      const message = `proto cache (${backend.name}): ${what}: ${err instanceof Error ? err.message : String(err)}`;
      if (options.failOnCacheError) throw new UserError(`${message} (fail-on-cache-error is true)`);
      warn(`${message}; going on without it`);
    };

    // ---- restore ---------------------------------------------------------
    let cacheHit = false;
    let restoredKey: string | undefined;
    let base: KeyInputs | undefined = local;
    let baseName = "the workspace's last build";
    if (options.clean) {
      info('clean: true: nothing is restored, every stage is rebuilt');
    } else if (
      backend.name !== 'none' &&
      localComplete &&
      local &&
      canonicalJson(local) === canonicalJson(inputs)
    ) {
      // The workspace already holds this very build: look the key up, fetch nothing.
      try {
        cacheHit = await backend.has(key);
      } catch (err) {
        if (!(err instanceof CacheBackendError)) throw err;
        cacheError('lookup failed', err);
      }
      info(
        cacheHit
          ? `cache hit: ${key} (the workspace already holds this proto: nothing to restore)`
          : `the workspace already holds the build of ${key}; the cache lacks it: saving it`,
      );
    } else if (backend.name !== 'none') {
      let found: RestoredEntry | undefined;
      try {
        found = await backend.restore(key, prefix);
      } catch (err) {
        if (!(err instanceof CacheBackendError)) throw err;
        cacheError('restore failed', err);
      }
      const exact = found?.key === key;
      if (found && !exact && local) {
        info(
          `cache entry ${found.key} matches by prefix only; keeping the workspace's own build ` +
            'and rebuilding from it what changed',
        );
      } else if (found) {
        try {
          const entry = await unpackEntry(found.file, stateDir, stampFiles);
          await installEntry(entry, proto, stampFiles);
          restoredKey = found.key;
          if (exact) {
            cacheHit = true;
            info(`cache hit: restored ${key} into ${proto}`);
          } else {
            base = entry.inputs;
            baseName = `the restored entry ${found.key}`;
            info(`cache miss for ${key}; restored ${found.key} (prefix ${prefix}) into ${proto}`);
          }
        } catch (err) {
          if (!(err instanceof EntryRejected)) throw err;
          const done = await backend.discard(found.key).catch((e: unknown) => describeError(e));
          warn(
            `proto cache entry ${found.key} is not usable, discarded (${done}); rebuilding: ${err.message}` +
              (backend.name === 'github' ? ' (change cache-version to replace it)' : ''),
          );
        }
      } else {
        info(`cache miss: no entry for ${key} nor any with the prefix ${prefix}`);
      }
    }

    const stages: StageResult[] = [];
    const changes = base && !cacheHit ? describeChanges(base, inputs) : [];
    if (!cacheHit && base) {
      info(
        changes.length
          ? `compared with ${baseName}: ${changes.join('; ')}`
          : `compared with ${baseName}: no input changed`,
      );
    }

    const result = (saved: BuildWorldResult['saved']): BuildWorldResult => ({
      proto,
      buildstamp,
      cacheKey: key,
      cacheHit,
      restoredKey,
      changes,
      stages,
      saved,
      keyInputsFile,
    });
    if (cacheHit) {
      for (const stage of STAGES) stages.push({ stage, status: 'from cache' });
      for (const stage of STAGES) info(`stage ${stage}: skipped (cache hit)`);
      return result('not needed');
    }

    // ---- stages ----------------------------------------------------------
    let first = 0;
    if (!options.clean) {
      while (
        first < STAGES.length &&
        (await stampCurrent(stampPath(STAGES[first]), stageInputs(STAGES[first], inputs)))
      ) {
        first++;
      }
    }
    for (let i = first; i < STAGES.length; i++) await removeStamp(stampPath(STAGES[i]));
    await mkdir(proto, { recursive: true });
    const commands: Record<StageName, StageCommand[]> = {
      illumos: [
        {
          command: nightly,
          args: options.clean ? [illumosSh] : ['-i', illumosSh],
          cwd: illumosDir,
        },
      ],
      'illumos-extra': [{ command: make, args: [`DESTDIR=${proto}`, 'install'], cwd: extraDir }],
      src: [
        { command: make, args: [`DESTDIR=${proto}`], cwd: srcDir },
        { command: make, args: [`DESTDIR=${proto}`, 'install'], cwd: srcDir },
      ],
    };
    for (const [i, stage] of STAGES.entries()) {
      if (i < first) {
        const status = restoredKey ? 'from cache' : 'up to date';
        stages.push({ stage, status });
        info(`stage ${stage}: ${status} (its stamp matches its inputs)`);
        continue;
      }
      if (stage === 'illumos') commands.illumos[0] = await nightlyCommand(commands.illumos[0], env);
      const log = join(logDir, `${stage}.${buildstamp}.log`);
      options.onStageStart?.(stage, log);
      const started = performance.now();
      const failed = await runStageCommands(commands[stage], log, {
        env,
        onOutput: options.onOutput,
      });
      options.onStageEnd?.(stage, !failed);
      if (failed) {
        const tail = await tailLines(log, TAIL_LINES);
        info(`---- last ${tail.length} lines of ${log}`);
        for (const line of tail) info(line);
        if (stage === 'illumos') {
          const mail = mailMsgPath(codemgrWs);
          const lines = await tailLines(mail, TAIL_LINES);
          if (lines.length) {
            info(`---- nightly's mail_msg (${mail}), last ${lines.length} lines`);
            for (const line of lines) info(line);
          }
        }
        throw new UserError(
          `build-world: stage ${stage} failed (${failed.command}: ${failed.status}); log: ${log}`,
        );
      }
      await writeStamp(stampPath(stage), stageInputs(stage, inputs));
      const seconds = (performance.now() - started) / 1000;
      stages.push({ stage, status: 'built', log, seconds });
      info(`stage ${stage}: built (log: ${log})`);
    }

    // ---- record and save -------------------------------------------------
    const pretty = JSON.stringify(JSON.parse(canonicalJson(inputs)), null, 2) + '\n';
    await writeFile(partialName(keyInputsFile), pretty);
    await rename(partialName(keyInputsFile), keyInputsFile);

    let saved: SaveStatus = 'no cache';
    if (backend.name !== 'none') {
      try {
        await packEntry(proto, [...stampFiles, KEY_INPUTS_FILE], backend.stagingFile);
        await backend.save(key);
        saved = 'saved';
        info(`proto cache: saved ${key} (${backend.name})`);
      } catch (err) {
        if (!(err instanceof CacheBackendError)) throw err;
        saved = 'failed';
        cacheError('save failed', err);
      }
    }
    return result(saved);
  } finally {
    await rm(stagingDir, { recursive: true, force: true });
    await lock.release();
  }
}
