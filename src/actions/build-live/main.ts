/** build-live action: the step of ./step.ts, run by the runner. */
import { runAction } from '../common/run.js';
import { finishStep, RUNNER_IO } from '../common/step.js';
import { buildLiveStep } from './step.js';

await runAction('build-live', async () => finishStep(await buildLiveStep(RUNNER_IO)));
