/**
 * The setup-illumos-host step: reads the inputs, runs the engine's
 * setupHost(), puts the tar/zstd shims first on PATH for the later steps
 * (@actions/cache in build-world), and reports: outputs, job summary.
 */
import { join } from 'node:path';
import * as core from '@actions/core';
import { setupHost } from '../../host/setup-host.js';
import {
  parseSetupHostOptions,
  SETUP_HOST_INPUTS,
  SETUP_HOST_OPTIONS,
} from '../../options/setup-host.js';
import { getInputs } from '../common/inputs.js';
import { code, say, writeSummary } from '../common/report.js';
import { checkRunnerPrerequisites } from '../common/runner-prerequisites.js';
import type { StepIo } from '../common/step.js';

export async function setupIllumosHostStep(io: StepIo): Promise<void> {
  await checkRunnerPrerequisites();
  const inputs = getInputs(SETUP_HOST_OPTIONS, SETUP_HOST_INPUTS, io.input);
  const runnerTemp = process.env.RUNNER_TEMP;
  const settings = parseSetupHostOptions(inputs.raw, inputs.names, {
    workspace: process.env.GITHUB_WORKSPACE ?? process.cwd(),
    // RUNNER_TEMP lives as long as the job and is not in the checkout.
    shimDir: runnerTemp ? join(runnerTemp, 'joyent-live-bin') : undefined,
  });
  const result = await setupHost({
    ...settings,
    name: 'setup-illumos-host',
    onInfo: say,
  });

  core.addPath(result.tools.shimDir);
  io.output('distro', result.distro);
  io.output('release', result.release);
  io.output('gnu-tar', result.tools.gnuTar);
  io.output('compression', result.tools.compression);
  io.output('shim-dir', result.tools.shimDir);
  io.output('illumos-sh', result.illumosSh);
  io.output('proto', result.proto);
  io.output(
    'compilers',
    JSON.stringify(
      result.compilers.map((c) => ({ role: c.role, spec: c.spec, version: c.version })),
    ),
  );
  say(`setup-illumos-host: ${result.distro} (${result.release}): ready`);

  const rows = [
    ['distribution', `${result.distro} (${code(result.release)})`],
    [
      'packages',
      `${result.packages.required.length} required present (${result.packages.packager})` +
        (result.packages.installed.length
          ? `; installed ${result.packages.installed.map(code).join(', ')}`
          : ''),
    ],
    ...result.compilers.map((c) => [`${c.role} compiler`, `${code(c.spec)}: ${code(c.version)}`]),
    ['GNU tar', code(result.tools.gnuTar)],
    [
      'cache compression',
      result.tools.compression + (result.tools.zstdHidden ? ' (zstd hidden)' : ''),
    ],
    ...result.projects.map((p) => [
      `projects/${p.name}`,
      p.state + (p.symlink ? ' (symlink)' : ''),
    ]),
    ['illumos.sh', code(result.illumosSh)],
    ...(result.man
      ? [['man pages', `${code(result.man.manDir)} (sha256 ${code(result.man.sha256)})`]]
      : []),
  ];
  await writeSummary(
    [
      `### setup-illumos-host: ${result.distro} ready`,
      '',
      '| | |',
      '|---|---|',
      ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`),
      '',
    ].join('\n'),
  );
}
