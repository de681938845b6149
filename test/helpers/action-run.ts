/** Runs a sub-action as a workflow step `uses: joyent-live/build-live/actions/<name>@v1`, through the runner stand-in. */
import { scratchDir } from './cli.js';
import { runUses, type ActionRun, type Job } from './runner.js';

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
