import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
import { truthy } from '@actions/expressions/result';
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

/** A JSON-like value as an expression context entry. */
function toData(value: unknown): data.ExpressionData {
  if (value === null || value === undefined) return new data.Null();
  if (typeof value === 'string') return new data.StringData(value);
  if (typeof value === 'boolean') return new data.BooleanData(value);
  if (typeof value === 'number') return new data.NumberData(value);
  if (Array.isArray(value)) {
    const array = new data.Array();
    for (const item of value) array.add(toData(item));
    return array;
  }
  const dict = new data.Dictionary();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) dict.add(k, toData(v));
  return dict;
}

/**
 * Evaluates one expression (the text inside `${{ }}`, or a bare `if:`) with GitHub's own
 * expression engine, against the contexts a composite step sees here. A context we do not
 * provide is a parse error, so a test cannot pass by skipping what it does not understand.
 */
export function evaluateExpression(
  expression: string,
  contexts: Record<string, unknown>,
): data.ExpressionData {
  const lexed = new Lexer(expression).lex();
  const parsed = new Parser(lexed.tokens, Object.keys(contexts), []).parse();
  return new Evaluator(parsed, toData(contexts) as data.Dictionary).evaluate();
}

/** Replaces every `${{ expr }}` of a value with the expression's result as a string. */
export function interpolate(text: string, contexts: Record<string, unknown>): string {
  return text.replace(/\$\{\{(.*?)\}\}/gs, (_, expr: string) =>
    evaluateExpression(expr, contexts).coerceString(),
  );
}

/** An `if:` condition: a bare expression or one `${{ }}` (the run stops at the first failing step, so the implicit `success()` holds). */
export function condition(text: string, contexts: Record<string, unknown>): boolean {
  const bare = /^\s*\$\{\{(.*)\}\}\s*$/s.exec(text)?.[1] ?? text;
  return truthy(evaluateExpression(bare, contexts));
}

/**
 * A minimal stand-in for the runner's composite-action executor, enough for our root
 * action.yml: `if:` conditions and `${{ }}` in env, evaluated by @actions/expressions
 * (GitHub's expression engine) over the `inputs`, `steps` and `env` contexts; bash `run`
 * steps with GITHUB_ACTION_PATH, a GITHUB_OUTPUT file per step, one step summary, and the
 * stop at the first failing step. Any other context or step kind is an error.
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
  // Defaults are expressions too (`${{ github.token }}`): this stand-in has no token.
  const github = { token: options.env?.GITHUB_TOKEN ?? '' };
  for (const [name, spec] of Object.entries(action.inputs))
    values[name] = interpolate(spec.default ?? '', { github });
  Object.assign(values, inputs);
  const stepContext: Record<string, { outputs: Record<string, string>; outcome: string }> = {};
  const contexts = () => ({ inputs: values, steps: stepContext, env: {}, github });
  const summary = join(options.dir, 'summary.md');
  await writeFile(summary, '');
  const steps: StepRun[] = [];
  for (const [i, step] of action.runs.steps.entries()) {
    if (step.if !== undefined && !condition(step.if, contexts())) continue;
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
    for (const [k, v] of Object.entries(step.env ?? {}))
      env[k] = interpolate(String(v), contexts());
    const run = await runCaptured('bash', ['-e', '-c', step.run], { cwd: REPO_ROOT, env });
    const id = step.id ?? `step${i}`;
    const outputs = parseOutputFile(await readFile(output, 'utf8'));
    stepContext[id] = { outputs, outcome: run.code === 0 ? 'success' : 'failure' };
    steps.push({ ...run, id, outputs });
    if (run.code !== 0) break;
  }
  return { steps, summary: await readFile(summary, 'utf8') };
}
