/** setup-illumos-host action: the step of ./step.ts, run by the runner. */
import { runAction } from '../common/run.js';
import { RUNNER_IO } from '../common/step.js';
import { setupIllumosHostStep } from './step.js';

await runAction('setup-illumos-host', () => setupIllumosHostStep(RUNNER_IO));
