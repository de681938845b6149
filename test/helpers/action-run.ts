/** Runs an action's dist bundle as a runner runs a node action (for the newer test files). */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCaptured, scratchDir, type CliRun } from './cli.js';
import { REPO_ROOT } from './paths.js';
import { cleanRunnerEnv, parseOutputFile } from './runner.js';

type Context = Parameters<typeof scratchDir>[0];

type ActionRun = CliRun & { outputs: Record<string, string> };

/** dist/<name>/index.js run as a runner runs a node action, in a scratch RUNNER_TEMP. */
export async function runBundle(
  t: Context,
  name: string,
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
): Promise<ActionRun> {
  const bundle = join(REPO_ROOT, 'dist', name, 'index.js');
  assert.ok(existsSync(bundle), `${bundle} is missing: run npm run build:dist`);
  return runNodeAction(t, bundle, inputs, env);
}

/**
 * The action's compiled entry (build/src/actions/<name>/main.js, what the
 * bundle is made from) run the same way: the code of this checkout, with
 * no bundling step between.
 */
export function runActionEntry(
  t: Context,
  name: string,
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
): Promise<ActionRun> {
  return runNodeAction(t, join(REPO_ROOT, 'build', 'src', 'actions', name, 'main.js'), inputs, env);
}

async function runNodeAction(
  t: Context,
  bundle: string,
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv,
): Promise<ActionRun> {
  const dir = await scratchDir(t);
  const output = join(dir, 'output.txt');
  const summary = join(dir, 'summary.md');
  await writeFile(output, '');
  await writeFile(summary, '');
  const inputEnv = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]),
  );
  const run = await runCaptured(process.execPath, [bundle], {
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
