import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCaptured, type CliRun } from './cli.js';
import { REPO_ROOT } from './paths.js';

/** Parses the `name<<DELIMITER ... DELIMITER` records @actions/core writes to GITHUB_OUTPUT. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]);
    if (!m) {
      const kv = /^([^=]+)=(.*)$/.exec(lines[i]);
      if (kv) outputs[kv[1]] = kv[2];
      continue;
    }
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i]);
    outputs[m[1]] = value.join('\n');
  }
  return outputs;
}

/** The host environment without what a runner sets: no ambient GitHub, runner or input variables. */
export function cleanRunnerEnv(): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(INPUT_|GITHUB_|ACTIONS_|RUNNER_)/.test(k)) base[k] = v;
  }
  return base;
}

interface CompositeStep {
  id?: string;
  name?: string;
  if?: string;
  shell?: string;
  run?: string;
  env?: Record<string, string>;
}

export interface StepRun extends CliRun {
  id: string;
  outputs: Record<string, string>;
}

/**
 * A minimal stand-in for the runner's composite-action executor, enough for
 * our root action.yml: `if: inputs.X == 'value'`, `${{ inputs.X }}`,
 * `${{ steps.ID.outputs.Y }}` and `a || b` of those in env, bash `run` steps with
 * GITHUB_ACTION_PATH, a GITHUB_OUTPUT file per step, one step summary, and
 * the stop at the first failing step. Any other expression is an error, so
 * the test cannot pass by skipping something it does not understand.
 */
export async function runComposite(
  inputs: Record<string, string>,
  options: { dir: string; env?: NodeJS.ProcessEnv },
): Promise<{ steps: StepRun[]; summary: string }> {
  const action = parse(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>;
    runs: { using: string; steps: CompositeStep[] };
  };
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs)) values[name] = spec.default ?? '';
  Object.assign(values, inputs);
  const stepOutputs: Record<string, Record<string, string>> = {};
  const operand = (expr: string) => {
    let m = /^inputs\.([\w-]+)$/.exec(expr);
    if (m) return values[m[1]] ?? '';
    m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr);
    if (m) return stepOutputs[m[1]]?.[m[2]] ?? '';
    throw new Error(`runComposite does not know the expression ${expr}`);
  };
  // `a || b`: the first operand that is not empty, as the runner does for strings.
  const expression = (text: string) =>
    text.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expr: string) => {
      const operands = expr.split(/\s*\|\|\s*/).map(operand);
      return operands.find((v) => v !== '') ?? '';
    });
  const summary = join(options.dir, 'summary.md');
  await writeFile(summary, '');
  const steps: StepRun[] = [];
  for (const [i, step] of action.runs.steps.entries()) {
    if (step.if !== undefined) {
      const m = /^inputs\.([\w-]+) == '([^']*)'$/.exec(step.if);
      if (!m) throw new Error(`runComposite does not know the condition ${step.if}`);
      if (values[m[1]] !== m[2]) continue;
    }
    if (step.shell !== 'bash' || !step.run)
      throw new Error(`step ${i}: only bash run steps are supported`);
    const output = join(options.dir, `output-${i}.txt`);
    await writeFile(output, '');
    const env: NodeJS.ProcessEnv = {
      ...cleanRunnerEnv(),
      GITHUB_ACTION_PATH: REPO_ROOT,
      GITHUB_WORKSPACE: REPO_ROOT,
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      RUNNER_TEMP: options.dir,
      ...options.env,
    };
    for (const [k, v] of Object.entries(step.env ?? {})) env[k] = expression(String(v));
    const run = await runCaptured('bash', ['-e', '-c', step.run], { cwd: REPO_ROOT, env });
    const id = step.id ?? `step${i}`;
    stepOutputs[id] = parseOutputFile(await readFile(output, 'utf8'));
    steps.push({ ...run, id, outputs: stepOutputs[id] });
    if (run.code !== 0) break;
  }
  return { steps, summary: await readFile(summary, 'utf8') };
}
