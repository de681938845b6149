/**
 * What an illumos runner must have for this suite (docs/runners.md): Node
 * 20 or later, both the one running this action and the `node` on PATH
 * (github-act-runner runs node actions with it; Node ships no illumos
 * binaries, so it comes from pkgsrc or OmniOS extra), and, for
 * build-world's GitHub cache, the v2 cache service (ACTIONS_CACHE_SERVICE_V2).
 * Every missing piece is named in one error; the cache is a warning.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as core from '@actions/core';
import { UserError } from '../../util/errors.js';
import { which } from '../../util/which.js';

export const MIN_NODE_MAJOR = 20;

const INSTALL_HINT =
  'install Node 20 or later and put it first on PATH: from pkgsrc (pkgin install nodejs) or OmniOS extra (pkg install ooce/runtime/node-22); Node ships no illumos binaries';

function major(version: string): number | undefined {
  const m = /^v?(\d+)\./.exec(version.trim());
  return m ? Number(m[1]) : undefined;
}

export async function checkRunnerPrerequisites(
  runningVersion: string = process.version,
  runningPath: string = process.execPath,
): Promise<void> {
  const missing: string[] = [];
  const running = major(runningVersion);
  if (running === undefined || running < MIN_NODE_MAJOR) {
    missing.push(`this action runs on Node ${runningVersion} (${runningPath}), not 20 or later`);
  }
  const onPath = await which('node');
  if (onPath) {
    let version = '';
    try {
      version = (await promisify(execFile)(onPath, ['--version'], { timeout: 30_000 })).stdout;
    } catch (err) {
      missing.push(
        `node on PATH (${onPath}) does not run: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const found = major(version);
    if (version && (found === undefined || found < MIN_NODE_MAJOR)) {
      missing.push(
        `node on PATH (${onPath}) is ${version.trim()}, not 20 or later (github-act-runner runs node actions with it)`,
      );
    }
  } else {
    core.info('no node on PATH: the runner brings its own (github-act-runner needs one on PATH)');
  }
  if (missing.length > 0) {
    throw new UserError(
      `setup-illumos-host: the runner lacks what this suite needs: ${missing.join('; ')}; ${INSTALL_HINT}`,
    );
  }
  // @actions/cache takes any non-empty value: GitHub's runner and github-act-runner set "True".
  if (process.env.ACTIONS_RESULTS_URL && !process.env.ACTIONS_CACHE_SERVICE_V2) {
    core.warning(
      'ACTIONS_CACHE_SERVICE_V2 is not set in this job: build-world with cache-backend github needs the v2 cache service; github-act-runner sets it since early 2025 (update it), or set ACTIONS_CACHE_SERVICE_V2=true in the runner environment (docs/runners.md)',
    );
  }
}
