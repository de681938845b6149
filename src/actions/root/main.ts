/** The root action (action.yml): the step of ./step.ts, run by the runner. */
import { runAction } from '../common/run.js';
import { finishStep, RUNNER_IO } from '../common/step.js';
import { rootStep } from './step.js';

await runAction('joyent-live', async () => finishStep(await rootStep(RUNNER_IO)));
