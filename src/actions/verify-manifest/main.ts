/** verify-manifest action: the step of ./step.ts, run by the runner. */
import { runAction } from '../common/run.js';
import { finishStep, RUNNER_IO } from '../common/step.js';
import { verifyManifestStep } from './step.js';

await runAction('verify-manifest', async () => finishStep(await verifyManifestStep(RUNNER_IO)));
