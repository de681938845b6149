/**
 * The root action (`uses: joyent-live/build-live@v1`, docs/actions.md): a
 * node action, so that the job's runtime token and the results and cache
 * URLs reach every upload and cache call (a runner gives them to node and
 * docker actions only, never to a composite's `run:` steps; docs/runners.md).
 * It runs the sub-actions' steps in one process, in their order:
 * setup-illumos-host and build-world when `build-world` is true, then
 * build-live, then verify-manifest when `verify` is true. One job summary,
 * the annotation caps of one step (src/actions/common/report.ts), the
 * verdict last. The first step that fails ends the run, as a failed step
 * ends a job.
 */
import * as core from '@actions/core';
import { bool } from '../../options/values.js';
import { UsageError } from '../../util/errors.js';
import { buildLiveStep } from '../build-live/step.js';
import { buildWorldStep } from '../build-world/step.js';
import type { InputReader } from '../common/inputs.js';
import type { StepEnd, StepIo } from '../common/step.js';
import { readPublishOptions } from '../common/verify-publish.js';
import { setupIllumosHostStep } from '../setup-illumos-host/step.js';
import { verifyManifestStep } from '../verify-manifest/step.js';

/**
 * Every boolean input of the root with its default (action.yml): each is
 * checked before any step runs, so that `verify: yes` fails the job instead
 * of skipping the gate, and `install-packages: yes` fails it although
 * build-world is false.
 */
export const ROOT_BOOLEAN_INPUTS: Readonly<Record<string, boolean>> = {
  'build-world': false,
  verify: true,
  'install-packages': false,
  clean: false,
  'fail-on-cache-error': false,
  'no-system-root': false,
  'upload-artifacts': true,
  overwrite: true,
  'fail-on-missing': false,
  'check-run': false,
};

/** The root's outputs from verify-manifest (its failed-count is build-live's). */
const VERIFY_OUTPUTS = new Set(['verdict', 'report']);

function checkBooleans(read: InputReader): { buildWorld: boolean; verify: boolean } {
  const bad: string[] = [];
  const values = new Map<string, boolean>();
  for (const [name, fallback] of Object.entries(ROOT_BOOLEAN_INPUTS)) {
    try {
      values.set(name, bool(read(name), `input "${name}"`, fallback));
    } catch (err) {
      bad.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (bad.length > 0) throw new UsageError(bad.join('; '));
  return { buildWorld: values.get('build-world') === true, verify: values.get('verify') === true };
}

export async function rootStep(io: StepIo): Promise<StepEnd> {
  const { buildWorld, verify } = checkBooleans(io.input);
  // verify-manifest's comment inputs too, before a world or a live image is built for nothing.
  if (verify) readPublishOptions(io.input);
  let proto: string | undefined;
  if (buildWorld) {
    const quiet: StepIo = { input: io.input, output: () => undefined };
    // core.group: the group ends whatever happens (startGroup, then endGroup in a finally).
    await core.group('setup-illumos-host', () => setupIllumosHostStep(quiet));
    // build-live and verify-manifest take their proto from build-world, as the sub-actions chained.
    proto = (await buildWorldStep(quiet)).proto;
  }
  const read: InputReader = (name) => (name === 'proto' && proto ? proto : io.input(name));
  const built = await buildLiveStep({ input: read, output: io.output });
  if (built.failure !== undefined || !verify) return built;
  return verifyManifestStep({
    input: (name) => (name === 'logs' ? built.log : read(name)),
    output: (name, value) => {
      if (VERIFY_OUTPUTS.has(name)) io.output(name, value);
    },
  });
}
