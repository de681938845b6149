/** setup-illumos-host: check and prepare an illumos runner (engine: later release). */
import { illumosOnlyPlaceholder } from '../common/host.js';
import { runAction } from '../common/run.js';

await runAction('setup-illumos-host', () => illumosOnlyPlaceholder('setup-illumos-host'));
