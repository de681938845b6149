/** build-world action: the step of ./step.ts, run by the runner. */
import { runAction } from '../common/run.js';
import { RUNNER_IO } from '../common/step.js';
import { buildWorldStep } from './step.js';

await runAction('build-world', async () => {
  await buildWorldStep(RUNNER_IO);
});
