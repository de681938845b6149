/**
 * A stand-in for the GitHub runner's step executor, for every Actions test,
 * following the runner's rules (actions/runner, src/Runner.Worker:
 * ActionManifestManager, Handlers/NodeScriptActionHandler,
 * Handlers/CompositeActionHandler, Handlers/ScriptHandler):
 *
 * - `uses:` names an action of this repository (`joyent-live/build-live@<ref>`,
 *   `joyent-live/build-live/actions/<name>@<ref>`) or a local directory;
 *   its action.yml is read as the runner reads it.
 * - Inputs: each `with:` value, else the input's default evaluated with the
 *   contexts the runner allows there (github, strategy, matrix, job, runner);
 *   every input becomes INPUT_<NAME> (upper-cased, spaces to `_`, hyphens
 *   kept). A `with:` key the action does not declare is an error here (the
 *   runner warns).
 * - A node action (`using: node20 | node24`) runs `node <main>` with the job's
 *   environment plus the job's runtime variables (ACTIONS_RUNTIME_TOKEN,
 *   ACTIONS_RESULTS_URL, ACTIONS_CACHE_URL, ACTIONS_CACHE_SERVICE_V2, ...):
 *   only node and docker actions get them.
 * - A composite action runs its steps in order: `if:` and `${{ }}` in
 *   `env:`, `with:` and `outputs.*.value` evaluated by @actions/expressions
 *   (GitHub's expression engine) over inputs, steps, github, env, matrix,
 *   strategy, job and runner; `run:` steps as bash with the job's environment
 *   WITHOUT the runtime variables (actions/runner#3046); `uses:` steps as
 *   above. The first failing step ends the action (no step here uses
 *   `if: always()`).
 * - Each process gets its own GITHUB_OUTPUT, GITHUB_STATE, GITHUB_ENV and
 *   GITHUB_PATH files and step summary; the summaries are joined in order,
 *   and what a composite's step writes to GITHUB_ENV and GITHUB_PATH holds
 *   for its later steps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
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
 * What a runner gives node and docker actions only, never a composite's
 * `run:` steps; GitHub's runner sets ACTIONS_CACHE_SERVICE_V2 to "True"
 * (.NET's bool.TrueString), and so does github-act-runner.
 */
export const RUNTIME_VARIABLES = [
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_RUNTIME_URL',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_CACHE_URL',
  'ACTIONS_CACHE_SERVICE_V2',
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
] as const;

export interface Job {
  /** Scratch directory: RUNNER_TEMP and the step files. */
  dir: string;
  /**
   * The job's environment on top of the host's (cleaned of runner variables):
   * GITHUB_* and the like. Runtime variables given here are the job's runtime
   * (RUNTIME_VARIABLES): only node actions receive them.
   */
  env?: NodeJS.ProcessEnv;
  /** GITHUB_WORKSPACE (default: the repository root). */
  workspace?: string;
  /** The working directory of the steps (default: the repository root). */
  cwd?: string;
  matrix?: Record<string, unknown>;
  strategy?: Record<string, unknown>;
}

export interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  with?: Record<string, string>;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
}

export interface StepRun extends CliRun {
  id: string;
  outputs: Record<string, string>;
}

export interface ActionRun extends CliRun {
  /** The action's outputs (a composite's from its `outputs.*.value`). */
  outputs: Record<string, string>;
  /** The step summaries of this action, in order. */
  summary: string;
  /** A composite's inner steps that ran, in order (empty for a node action). */
  steps: StepRun[];
  /** The RUNNER_TEMP of the job. */
  dir: string;
  /** What the action wrote to its GITHUB_PATH file (directories the runner adds to PATH). */
  githubPath: string;
  /** The variables the action wrote to its GITHUB_ENV file (set for the later steps). */
  githubEnv: Record<string, string>;
}

interface Manifest {
  inputs?: Record<string, { default?: string; required?: boolean }>;
  outputs?: Record<string, { value?: string }>;
  runs: { using: string; main?: string; steps?: Step[] };
}

/** The directory of the action `uses` names. */
export function resolveUses(uses: string, cwd = REPO_ROOT): string {
  const m = /^joyent-live\/build-live(\/actions\/[a-z-]+)?@[\w.-]+$/.exec(uses);
  if (m) return join(REPO_ROOT, m[1] ?? '');
  if (uses.startsWith('./') || uses.startsWith('/')) return resolve(cwd, uses);
  throw new Error(`the runner stand-in knows no action ${uses}`);
}

function readManifest(dir: string): Manifest {
  const file = ['action.yml', 'action.yaml'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new Error(`no action.yml in ${dir}`);
  return parse(readFileSync(file, 'utf8')) as Manifest;
}

function workspaceOf(job: Job): string {
  return job.workspace ?? job.env?.GITHUB_WORKSPACE ?? REPO_ROOT;
}

/** The contexts every expression sees here. */
function baseContexts(job: Job): Record<string, unknown> {
  return {
    github: { token: job.env?.GITHUB_TOKEN ?? '', workspace: workspaceOf(job) },
    matrix: job.matrix ?? null,
    strategy: job.strategy ?? {},
    job: { status: 'success' },
    runner: { temp: job.dir, os: 'Linux' },
  };
}

/** The job's environment: host (cleaned), the job's own, without the runtime variables. */
function splitEnv(job: Job): { base: NodeJS.ProcessEnv; runtime: NodeJS.ProcessEnv } {
  const base: NodeJS.ProcessEnv = { ...cleanRunnerEnv(), ...job.env };
  const runtime: NodeJS.ProcessEnv = {};
  for (const name of RUNTIME_VARIABLES) {
    if (base[name] !== undefined) runtime[name] = base[name];
    delete base[name];
  }
  return { base, runtime };
}

/** The step files of one process, created empty. */
async function stepFiles(job: Job): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(job.dir, 'step-'));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output.txt'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
    GITHUB_STATE: join(dir, 'state.txt'),
    GITHUB_ENV: join(dir, 'env.txt'),
    GITHUB_PATH: join(dir, 'path.txt'),
  };
  for (const file of Object.values(files)) await writeFile(file, '');
  return files;
}

/** INPUT_<NAME> as the runner names it: upper-cased, spaces to `_`, hyphens kept. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** Each declared input's value: `with:`, else the default evaluated in the input-default contexts. */
function inputValues(
  manifest: Manifest,
  given: Record<string, string>,
  job: Job,
  where: string,
): Record<string, string> {
  const declared = manifest.inputs ?? {};
  const unknown = Object.keys(given).filter((k) => !(k in declared));
  if (unknown.length) throw new Error(`${where}: unexpected input(s) ${unknown.join(', ')}`);
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(declared)) {
    values[name] = given[name] ?? interpolate(String(spec.default ?? ''), baseContexts(job));
  }
  return values;
}

async function runNode(
  dir: string,
  manifest: Manifest,
  inputs: Record<string, string>,
  job: Job,
  stepEnv: Record<string, string>,
): Promise<ActionRun> {
  const { base, runtime } = splitEnv(job);
  const files = await stepFiles(job);
  const env: NodeJS.ProcessEnv = {
    ...base,
    ...stepEnv,
    ...files,
    RUNNER_TEMP: job.dir,
    GITHUB_WORKSPACE: workspaceOf(job),
    GITHUB_ACTION_PATH: dir,
    ...runtime,
  };
  for (const [name, value] of Object.entries(inputs)) env[inputVariable(name)] = value;
  const main = join(dir, manifest.runs.main ?? '');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build:dist`);
  const run = await runCaptured(process.execPath, [main], { cwd: job.cwd ?? REPO_ROOT, env });
  return {
    ...run,
    outputs: parseOutputFile(await readFile(files.GITHUB_OUTPUT, 'utf8')),
    summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8'),
    steps: [],
    dir: job.dir,
    ...(await stepEffects(files)),
  };
}

interface StepEffects {
  githubPath: string;
  githubEnv: Record<string, string>;
}

/** What a step left for the later ones: its GITHUB_PATH lines and GITHUB_ENV variables. */
async function stepEffects(files: Record<string, string>): Promise<StepEffects> {
  return {
    githubPath: await readFile(files.GITHUB_PATH, 'utf8'),
    githubEnv: parseOutputFile(await readFile(files.GITHUB_ENV, 'utf8')),
  };
}

/** The job as the later steps see it: GITHUB_ENV variables set, GITHUB_PATH lines first on PATH. */
function afterStep(job: Job, effects: StepEffects): Job {
  const dirs = effects.githubPath.split('\n').filter(Boolean).reverse();
  const env = { ...job.env, ...effects.githubEnv };
  if (dirs.length) env.PATH = [...dirs, env.PATH ?? process.env.PATH ?? ''].join(':');
  return { ...job, env };
}

async function runScript(
  step: Step,
  actionDir: string,
  job: Job,
  env: Record<string, string>,
): Promise<CliRun & StepEffects & { outputs: Record<string, string>; summary: string }> {
  if (step.shell !== 'bash')
    throw new Error(`only bash run steps are supported, not ${step.shell}`);
  const { base } = splitEnv(job); // no runtime variables for run: steps
  const files = await stepFiles(job);
  const run = await runCaptured('bash', ['-e', '-c', step.run ?? ''], {
    cwd: job.cwd ?? REPO_ROOT,
    env: {
      ...base,
      ...env,
      ...files,
      RUNNER_TEMP: job.dir,
      GITHUB_WORKSPACE: workspaceOf(job),
      GITHUB_ACTION_PATH: actionDir,
    },
  });
  return {
    ...run,
    outputs: parseOutputFile(await readFile(files.GITHUB_OUTPUT, 'utf8')),
    summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8'),
    ...(await stepEffects(files)),
  };
}

async function runCompositeSteps(
  dir: string,
  manifest: Manifest,
  inputs: Record<string, string>,
  job: Job,
): Promise<ActionRun> {
  const stepContext: Record<string, { outputs: Record<string, string>; outcome: string }> = {};
  const contexts = () => ({ ...baseContexts(job), inputs, steps: stepContext, env: {} });
  const steps: StepRun[] = [];
  const summaries: string[] = [];
  const later = { path: [] as string[], env: {} as Record<string, string> };
  let failed: StepRun | undefined;
  for (const [i, step] of (manifest.runs.steps ?? []).entries()) {
    if (step.if !== undefined && !condition(step.if, contexts())) continue;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.env ?? {}))
      env[k] = interpolate(String(v), contexts());
    const id = step.id ?? `__step${i}`;
    let run: CliRun & StepEffects & { outputs: Record<string, string>; summary: string };
    if (step.uses) {
      const given: Record<string, string> = {};
      for (const [k, v] of Object.entries(step.with ?? {}))
        given[k] = interpolate(String(v), contexts());
      run = await runAction(resolveUses(step.uses, dir), given, job, env);
    } else {
      run = await runScript(step, dir, job, env);
    }
    summaries.push(run.summary);
    // As the runner does: what a step adds to PATH and GITHUB_ENV holds for the later steps.
    job = afterStep(job, run);
    later.path.push(run.githubPath);
    Object.assign(later.env, run.githubEnv);
    const stepRun = {
      code: run.code,
      stdout: run.stdout,
      stderr: run.stderr,
      id,
      outputs: run.outputs,
    };
    stepContext[id] = { outputs: run.outputs, outcome: run.code === 0 ? 'success' : 'failure' };
    steps.push(stepRun);
    if (run.code !== 0) {
      failed = stepRun;
      break;
    }
  }
  const outputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(manifest.outputs ?? {})) {
    outputs[name] = interpolate(String(spec.value ?? ''), contexts());
  }
  return {
    code: failed ? failed.code : 0,
    stdout: steps.map((s) => s.stdout).join(''),
    stderr: steps.map((s) => s.stderr).join(''),
    outputs,
    summary: summaries.join(''),
    steps,
    dir: job.dir,
    githubPath: later.path.join(''),
    githubEnv: later.env,
  };
}

/** Runs the action in `dir` with `given` inputs, as the runner runs a `uses:` step. */
export async function runAction(
  dir: string,
  given: Record<string, string>,
  job: Job,
  stepEnv: Record<string, string> = {},
): Promise<ActionRun> {
  const manifest = readManifest(dir);
  const inputs = inputValues(manifest, given, job, dir);
  const using = manifest.runs.using;
  if (using === 'node20' || using === 'node24') return runNode(dir, manifest, inputs, job, stepEnv);
  if (using === 'composite') return runCompositeSteps(dir, manifest, inputs, job);
  throw new Error(`${dir}: the runner stand-in does not run "using: ${using}" actions`);
}

/** A workflow step `uses: <uses>` with `with:` (already evaluated), in `job`. */
export function runUses(uses: string, given: Record<string, string>, job: Job): Promise<ActionRun> {
  return runAction(resolveUses(uses, job.cwd ?? REPO_ROOT), given, job);
}

/**
 * The root action.yml as it was until issue 22 (a composite whose `run:` steps call the
 * bundles), set up as a local action whose dist/ is this checkout's: for the test that
 * shows it losing the runtime token.
 */
export async function oldCompositeRoot(dir: string): Promise<string> {
  const action = join(dir, 'old-composite-root');
  await mkdir(action, { recursive: true });
  await cp(
    join(REPO_ROOT, 'test', 'fixtures', 'composite-root', 'action.yml'),
    join(action, 'action.yml'),
  );
  await symlink(join(REPO_ROOT, 'dist'), join(action, 'dist'));
  return action;
}
