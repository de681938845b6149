/** build-world: illumos, illumos-extra and src into a proto area (engine: later release). */
import { illumosOnlyPlaceholder } from '../common/host.js';
import { runAction } from '../common/run.js';

await runAction('build-world', () => illumosOnlyPlaceholder('build-world'));
