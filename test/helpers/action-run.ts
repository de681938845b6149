/**
 * Runs a sub-action as a workflow step `uses: joyent-live/build-live/actions/<name>@v1`,
 * through the runner stand-in; or an action's compiled entry directly, as a node action.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCaptured, scratchDir, type CliRun } from './cli.js';
import { REPO_ROOT } from './paths.js';
import { cleanRunnerEnv, parseOutputFile, runUses, type ActionRun, type Job } from './runner.js';

type Context = Parameters<typeof scratchDir>[0];

/** actions/<name> run by the runner stand-in (test/helpers/runner.ts), in a scratch RUNNER_TEMP. */
export async function runBundle(
  t: Context,
  name: string,
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
  job: Omit<Job, 'dir' | 'env'> = {},
): Promise<ActionRun> {
  const dir = await scratchDir(t);
  return runUses(`joyent-live/build-live/actions/${name}@v1`, inputs, {
    ...job,
    dir,
    env: { SOURCE_DATE_EPOCH: '1323461708', ...env },
  });
}

/**
 * The action's compiled entry (build/src/actions/<name>/main.js, what the
 * bundle is made from) run as the runner runs a node action: the code of
 * this checkout, with no bundling step between.
 */
export async function runActionEntry(
  t: Context,
  name: string,
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
): Promise<CliRun & { outputs: Record<string, string> }> {
  const entry = join(REPO_ROOT, 'build', 'src', 'actions', name, 'main.js');
  const dir = await scratchDir(t);
  const output = join(dir, 'output.txt');
  const summary = join(dir, 'summary.md');
  await writeFile(output, '');
  await writeFile(summary, '');
  const inputEnv = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]),
  );
  const run = await runCaptured(process.execPath, [entry], {
    cwd: REPO_ROOT,
    env: {
      ...cleanRunnerEnv(),
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      RUNNER_TEMP: dir,
      GITHUB_WORKSPACE: REPO_ROOT,
      SOURCE_DATE_EPOCH: '1323461708',
      ...inputEnv,
      ...env,
    },
  });
  return { ...run, outputs: parseOutputFile(await readFile(output, 'utf8')) };
}
