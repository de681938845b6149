/**
 * setup-illumos-host action: reads the inputs, runs the engine's
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
import { runAction } from '../common/run.js';
import { checkRunnerPrerequisites } from '../common/runner-prerequisites.js';

await runAction('setup-illumos-host', async () => {
  await checkRunnerPrerequisites();
  const inputs = getInputs(SETUP_HOST_OPTIONS, SETUP_HOST_INPUTS);
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
  core.setOutput('distro', result.distro);
  core.setOutput('release', result.release);
  core.setOutput('gnu-tar', result.tools.gnuTar);
  core.setOutput('compression', result.tools.compression);
  core.setOutput('shim-dir', result.tools.shimDir);
  core.setOutput('illumos-sh', result.illumosSh);
  core.setOutput('proto', result.proto);
  core.setOutput(
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
});
