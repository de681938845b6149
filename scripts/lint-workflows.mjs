#!/usr/bin/env node
// Validates the repository's GitHub Actions YAML:
//
//   .github/workflows/*.yml, docs/examples/*.yml   workflows
//   action.yml, actions/*/action.yml               action metadata
//   README.md, docs/**/*.md                        every ```yaml block: a workflow, an
//                                                  action's metadata, or a list of steps
//
// Usage: node scripts/lint-workflows.mjs [repository-root]   (default: the current directory)
//
// Every finding is printed as `file:line:col: message [checker]`; the exit status is 1 when
// there is any finding, 0 (with a count) when everything is clean, 2 when a checker cannot
// be started at all.
//
// Who checks what:
//
// - GitHub's own parser (@actions/languageservice on @actions/workflow-parser, the code
//   behind GitHub's Actions editor support): the schema of workflows and of action.yml, the
//   expressions and their contexts, and the `with:` keys (unknown, required and missing) of
//   every step that uses one of THIS repository's actions, fed their local action.yml.
//   Actions of other repositories are not fetched (no network here), so "unable to
//   resolve" for them is dropped; actionlint knows the popular ones.
// - actionlint (a current linux-x64 build from npm, run as a program): workflows, with
//   its knowledge of the popular actions' inputs, runner labels (.github/actionlint.yaml
//   names our self-hosted `illumos` label), `if:` conditions that are always true, and
//   `steps.<id>` references to steps that do not exist. A composite action's steps are
//   wrapped, at their original lines, into a workflow whose `workflow_call` inputs are the
//   action's inputs (so `${{ inputs.typo }}` is caught), and a markdown block that is a
//   list of steps into a one-job workflow; findings are mapped back to the real lines.
// - Our own checks, for what neither knows: the files `main`/`pre`/`post` name exist;
//   `steps.<id>.outputs.<name>` of a step that uses one of our actions names an output that
//   action has; and the root composite forwards to each bundle only `INPUT_*` variables
//   that bundle's action.yml defines.
import process from 'node:process';
import { spawnSync } from 'node:child_process';
import { readFile, readdir, access } from 'node:fs/promises';
import { createRequire, register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, visit } from 'yaml';

register('./json-module-hooks.mjs', import.meta.url);
const { validate } = await import('@actions/languageservice');
const { TextDocument } = await import('vscode-languageserver-textdocument');

/** `uses:` of this repository's actions, as the examples and users write them. */
const OWNER = 'joyent-live';
const REPOSITORY = 'build-live';

const WORKFLOW_DIRS = ['.github/workflows', 'docs/examples'];
const ACTIONLINT_PACKAGE = '@kjanat-actionlint/actionlint-linux-x64';

const byteOrder = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** @type {{file: string, line: number, col: number, message: string, checker: string}[]} */
const findings = [];

function report(file, at, message, checker) {
  findings.push({ file, line: at?.line ?? 1, col: at?.col ?? 1, message, checker });
}

async function exists(p) {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// A YAML text with positions, and where its lines came from

/**
 * One YAML text to check. `lineOffset`/`colOffset` map a line/column of `text` back to the
 * file it came from (non-zero for markdown blocks and synthetic wrappers).
 * @typedef {{file: string, text: string, lineOffset: number, colOffset: number}} Source
 */

function parseYaml(text) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  const at = (offset) => lineCounter.linePos(offset);
  return { doc, at };
}

function get(map, key) {
  if (!isMap(map)) return undefined;
  return map.items.find((p) => isScalar(p.key) && p.key.value === key)?.value;
}

function text(node) {
  return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
}

/** The mapped position of a place in a source. */
function mapped(source, pos) {
  return {
    line: Math.max(1, pos.line + source.lineOffset),
    col: Math.max(1, pos.col + source.colOffset),
  };
}

/** Reports the YAML syntax errors of a source; returns false when there were any. */
function yamlOk(source, parsed) {
  if (parsed.doc.errors.length === 0) return true;
  for (const e of parsed.doc.errors) {
    report(
      source.file,
      mapped(source, parsed.at(e.pos[0])),
      `YAML: ${e.message.split('\n')[0]}`,
      'yaml',
    );
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Our actions' metadata, for the parser's `with:` checks and our outputs check

/**
 * @typedef {{file: string, inputs: Map<string, {required: boolean, default?: string,
 *   description: string}>, outputs: Set<string>, name: string, description: string}} Metadata
 */

/** @returns {Metadata | undefined} */
function readMetadata(file, content) {
  const { doc } = parseYaml(content);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return undefined;
  const plain = doc.toJS();
  const inputs = new Map();
  for (const [id, spec] of Object.entries(plain.inputs ?? {})) {
    inputs.set(id, {
      required: spec?.required === true || spec?.required === 'true',
      default: spec?.default === undefined ? undefined : String(spec.default),
      description: String(spec?.description ?? ''),
    });
  }
  return {
    file,
    inputs,
    outputs: new Set(Object.keys(plain.outputs ?? {})),
    name: String(plain.name ?? ''),
    description: String(plain.description ?? ''),
  };
}

/** Which of our action.yml files a `uses:` names; undefined when it is not ours. */
function ownActionFile(uses, metadataByFile) {
  const m = new RegExp(`^${OWNER}/${REPOSITORY}(/[^@]+)?@.+$`).exec(uses);
  if (!m) return undefined;
  const dir = path.posix.normalize((m[1] ?? '/').slice(1) || '.');
  return ['action.yml', 'action.yaml']
    .map((n) => path.posix.join(dir, n))
    .find((f) => metadataByFile.has(f));
}

// ---------------------------------------------------------------------------------------
// GitHub's parser

async function githubParser(source, uri, metadataByFile) {
  const provider = {
    async fetchActionMetadata(ref) {
      if (ref.owner !== OWNER || ref.name !== REPOSITORY) return undefined;
      const file = path.posix.join(ref.path ?? '.', 'action.yml');
      const metadata = metadataByFile.get(file);
      if (!metadata) return undefined;
      const inputs = {};
      for (const [id, input] of metadata.inputs) inputs[id] = input;
      const outputs = {};
      for (const id of metadata.outputs) outputs[id] = { description: '' };
      return { name: metadata.name, description: metadata.description, inputs, outputs };
    },
  };
  const document = TextDocument.create(uri, 'yaml', 1, source.text);
  const diagnostics = await validate(document, { actionsMetadataProvider: provider });
  for (const d of diagnostics) {
    const unresolved = /^Unable to resolve action `([^`]+)`/.exec(d.message);
    if (unresolved && !unresolved[1].startsWith(`${OWNER}/${REPOSITORY}`)) continue;
    const pos = { line: d.range.start.line + 1, col: d.range.start.character + 1 };
    report(
      source.file,
      mapped(source, pos),
      d.message,
      `github-parser ${d.severity === 1 ? 'error' : 'warning'}`,
    );
  }
}

// ---------------------------------------------------------------------------------------
// actionlint

let actionlintPath;

function findActionlint() {
  const require = createRequire(import.meta.url);
  try {
    return path.join(
      path.dirname(require.resolve(`${ACTIONLINT_PACKAGE}/package.json`)),
      'bin/actionlint',
    );
  } catch {
    return undefined;
  }
}

function actionlint(root, source, name) {
  const args = ['-no-color', '-format', '{{json .}}', '-shellcheck=', '-pyflakes='];
  args.push('-config-file', path.join(root, '.github/actionlint.yaml'));
  args.push('-stdin-filename', name, '-');
  const run = spawnSync(actionlintPath, args, {
    cwd: root,
    input: source.text,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error || (run.status !== 0 && run.status !== 1)) {
    throw new Error(
      `actionlint failed on ${source.file} (${run.error?.message ?? `exit ${run.status}`}): ${run.stderr.trim()}`,
    );
  }
  const results = JSON.parse(run.stdout.trim() || '[]') ?? [];
  return results.map((r) => ({ line: r.line, col: r.column, message: r.message, kind: r.kind }));
}

function lintWithActionlint(root, source, name, wrapperLines = 0) {
  for (const r of actionlint(root, source, name)) {
    const inBody = r.line > wrapperLines;
    report(
      source.file,
      mapped(source, inBody ? { line: r.line, col: r.col } : { line: wrapperLines + 1, col: 1 }),
      inBody ? r.message : `(in the workflow wrapped around this YAML) ${r.message}`,
      `actionlint ${r.kind}`,
    );
  }
}

// ---------------------------------------------------------------------------------------
// Wrapping a list of steps into a workflow, lines kept

const WRAP_INDENT = '      ';

/** A workflow around `steps` (source lines `first`..`last` of `lines`), and its line map. */
function wrapSteps(source, lines, first, last, firstCol, onLine) {
  const header = [onLine, 'jobs:', '  steps:', '    runs-on: ubuntu-latest', '    steps:'];
  const body = [];
  for (let n = first; n <= last; n++) {
    let line = lines[n - 1] ?? '';
    if (n === first) line = ' '.repeat(firstCol - 1) + line.slice(firstCol - 1);
    body.push(WRAP_INDENT + line);
  }
  return {
    source: {
      file: source.file,
      text: [...header, ...body, ''].join('\n'),
      lineOffset: source.lineOffset + first - 1 - header.length,
      colOffset: source.colOffset - WRAP_INDENT.length,
    },
    headerLines: header.length,
  };
}

// ---------------------------------------------------------------------------------------
// Our own checks

/** Every `steps.<id>.outputs.<name>` in a scope whose step uses one of our actions. */
function checkOwnOutputs(source, parsed, steps, scope, metadataByFile) {
  if (!isSeq(steps)) return;
  const byId = new Map();
  for (const step of steps.items) {
    const uses = text(get(step, 'uses'));
    const id = text(get(step, 'id'));
    if (uses === undefined || id === undefined) continue;
    const file = ownActionFile(uses, metadataByFile);
    if (file) byId.set(id, metadataByFile.get(file));
  }
  if (byId.size === 0) return;
  const reference = /\bsteps\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_-]*)/g;
  visit(scope, {
    Scalar(_, node) {
      if (typeof node.value !== 'string') return;
      for (const m of node.value.matchAll(reference)) {
        const metadata = byId.get(m[1]);
        if (!metadata || metadata.outputs.has(m[2])) continue;
        const found = source.text.indexOf(m[0], node.range[0]);
        const offset = found >= 0 && found < node.range[2] ? found : node.range[0];
        report(
          source.file,
          mapped(source, parsed.at(offset)),
          `step "${m[1]}" (${metadata.file}) has no output "${m[2]}"; it defines: ${[...metadata.outputs].join(', ') || 'none'}`,
          'own-outputs',
        );
      }
    },
  });
}

/** The files `runs.main`/`pre`/`post` of a node action name exist. */
async function checkMainFiles(root, source, parsed) {
  const runs = get(parsed.doc.contents, 'runs');
  for (const key of ['main', 'pre', 'post']) {
    const node = get(runs, key);
    const name = text(node);
    if (!name) continue;
    const target = path.join(root, path.dirname(source.file), name);
    if (!(await exists(target))) {
      report(
        source.file,
        mapped(source, parsed.at(node.range[0])),
        `"${key}" names ${path.relative(root, target)}, which does not exist (dist/ not built?)`,
        'own-files',
      );
    }
  }
}

/**
 * The composite's steps that run one of our bundles (`node .../dist/<name>/index.js`)
 * pass it inputs as INPUT_<NAME> variables, as the runner would: each must be an input
 * of actions/<name>/action.yml, under the runner's name for it (upper case, spaces as _).
 */
function checkForwardedInputs(source, parsed, metadataByFile) {
  const steps = get(get(parsed.doc.contents, 'runs'), 'steps');
  if (!isSeq(steps)) return;
  for (const step of steps.items) {
    const run = text(get(step, 'run')) ?? '';
    const bundle = /\bdist\/([A-Za-z0-9_-]+)\/index\.js\b/.exec(run);
    if (!bundle) continue;
    const target = metadataByFile.get(`actions/${bundle[1]}/action.yml`);
    if (!target) {
      report(
        source.file,
        mapped(source, parsed.at(get(step, 'run').range[0])),
        `runs dist/${bundle[1]}/index.js, but there is no actions/${bundle[1]}/action.yml`,
        'own-inputs',
      );
      continue;
    }
    const names = new Map(
      [...target.inputs.keys()].map((id) => [`INPUT_${id.replace(/ /g, '_').toUpperCase()}`, id]),
    );
    const env = get(step, 'env');
    if (!isMap(env)) continue;
    for (const pair of env.items) {
      const key = text(pair.key);
      if (!key?.startsWith('INPUT_') || names.has(key)) continue;
      report(
        source.file,
        mapped(source, parsed.at(pair.key.range[0])),
        `${key} is not an input of ${target.file} (its inputs: ${[...target.inputs.keys()].join(', ')})`,
        'own-inputs',
      );
    }
  }
}

// ---------------------------------------------------------------------------------------
// What is checked, and how

async function checkAction(root, source, metadataByFile) {
  const parsed = parseYaml(source.text);
  if (!yamlOk(source, parsed)) return;
  const uri = pathToFileURL(path.join(root, source.file)).href;
  await githubParser(
    source,
    uri.endsWith('action.yml') ? uri : `${uri}#/action.yml`,
    metadataByFile,
  );
  await checkMainFiles(root, source, parsed);
  const runs = get(parsed.doc.contents, 'runs');
  if (text(get(runs, 'using')) !== 'composite') return;
  checkForwardedInputs(source, parsed, metadataByFile);
  const steps = get(runs, 'steps');
  if (isSeq(steps) && steps.items.length > 0) {
    checkOwnOutputs(source, parsed, steps, parsed.doc.contents, metadataByFile);
    const start = parsed.at(steps.range[0]);
    const end = parsed.at(steps.range[1]);
    const last = end.col === 1 ? end.line - 1 : end.line;
    const declared = [...(metadataByFile.get(source.file)?.inputs.keys() ?? [])]
      .map((n) => `${JSON.stringify(n)}: {type: string}`)
      .join(', ');
    const wrapped = wrapSteps(
      source,
      source.text.split(/\r?\n/),
      start.line,
      last,
      start.col,
      `on: {workflow_call: {inputs: {${declared}}}}`,
    );
    lintWithActionlint(root, wrapped.source, `${source.file}.steps.yml`, wrapped.headerLines);
  }
}

async function checkWorkflow(root, source, metadataByFile, parsed) {
  const uri = pathToFileURL(
    path.join(root, '.github/workflows', source.file.replace(/[/#]/g, '_')),
  ).href;
  await githubParser(source, uri.endsWith('.yml') ? uri : `${uri}.yml`, metadataByFile);
  lintWithActionlint(
    root,
    source,
    source.file.endsWith('.yml') ? source.file : `${source.file}.yml`,
  );
  const jobs = get(parsed.doc.contents, 'jobs');
  if (!isMap(jobs)) return;
  for (const pair of jobs.items) {
    checkOwnOutputs(source, parsed, get(pair.value, 'steps'), pair.value, metadataByFile);
  }
}

/** A markdown ```yaml block: a workflow, an action's metadata, or a list of steps. */
async function checkBlock(root, source, metadataByFile) {
  const parsed = parseYaml(source.text);
  if (!yamlOk(source, parsed)) return;
  const contents = parsed.doc.contents;
  if (isMap(contents) && get(contents, 'jobs') !== undefined) {
    await checkWorkflow(root, source, metadataByFile, parsed);
  } else if (isMap(contents) && get(contents, 'runs') !== undefined) {
    const uri = pathToFileURL(
      path.join(root, `${source.file}.${source.lineOffset}`, 'action.yml'),
    ).href;
    await githubParser(source, uri, metadataByFile);
  } else if (isSeq(contents)) {
    const lines = source.text.split(/\r?\n/);
    const wrapped = wrapSteps(source, lines, 1, lines.length, 1, 'on: workflow_dispatch');
    const wrappedParsed = parseYaml(wrapped.source.text);
    await checkWorkflow(root, wrapped.source, metadataByFile, wrappedParsed);
  } else {
    report(
      source.file,
      mapped(source, { line: 1, col: 1 }),
      'a ```yaml block must be a workflow (with jobs:), an action.yml (with runs:) or a list of steps',
      'markdown',
    );
  }
}

/** The ```yaml / ```yml blocks of a markdown text, with the line of their first line. */
function yamlBlocks(file, markdown) {
  const blocks = [];
  const lines = markdown.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(yaml|yml)\s*$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence] = open;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j].trimStart().startsWith(fence); j++) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    }
    blocks.push({
      file,
      text: `${body.join('\n')}\n`,
      lineOffset: i + 1,
      colOffset: indent.length,
    });
    i = j;
  }
  return blocks;
}

// ---------------------------------------------------------------------------------------

async function listFiles(root, dir, pattern, recursive = false) {
  let entries;
  try {
    entries = await readdir(path.join(root, dir), { withFileTypes: true, recursive });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile() && pattern.test(e.name))
    .map((e) =>
      path.posix.join(
        path
          .relative(root, e.parentPath ?? e.path)
          .split(path.sep)
          .join('/'),
        e.name,
      ),
    );
}

async function main() {
  const root = path.resolve(process.argv[2] ?? '.');

  actionlintPath = findActionlint();
  if (!actionlintPath || !(await exists(actionlintPath))) {
    process.stderr.write(
      `lint-workflows: no actionlint binary (${ACTIONLINT_PACKAGE}, an optional dependency that installs on Linux x64 only): run npm ci on Linux x64\n`,
    );
    return 2;
  }

  const workflows = [];
  for (const dir of WORKFLOW_DIRS) workflows.push(...(await listFiles(root, dir, /\.ya?ml$/)));
  const actions = [];
  for (const name of ['action.yml', 'action.yaml'])
    if (await exists(path.join(root, name))) actions.push(name);
  for (const dir of await readdir(path.join(root, 'actions')).catch(() => []))
    for (const name of ['action.yml', 'action.yaml'])
      if (await exists(path.join(root, 'actions', dir, name)))
        actions.push(`actions/${dir}/${name}`);
  const markdown = [];
  if (await exists(path.join(root, 'README.md'))) markdown.push('README.md');
  markdown.push(...(await listFiles(root, 'docs', /\.md$/, true)));
  for (const list of [workflows, actions, markdown]) list.sort(byteOrder);

  const texts = new Map();
  for (const file of [...actions, ...workflows, ...markdown])
    texts.set(file, await readFile(path.join(root, file), 'utf8'));

  /** @type {Map<string, Metadata>} */
  const metadataByFile = new Map();
  for (const file of actions) {
    const metadata = readMetadata(file, texts.get(file));
    if (metadata) metadataByFile.set(file, metadata);
  }

  const whole = (file) => ({ file, text: texts.get(file), lineOffset: 0, colOffset: 0 });
  for (const file of actions) await checkAction(root, whole(file), metadataByFile);
  for (const file of workflows) {
    const source = whole(file);
    const parsed = parseYaml(source.text);
    if (yamlOk(source, parsed)) await checkWorkflow(root, source, metadataByFile, parsed);
  }
  let blocks = 0;
  for (const file of markdown) {
    for (const block of yamlBlocks(file, texts.get(file))) {
      blocks++;
      await checkBlock(root, block, metadataByFile);
    }
  }

  findings.sort((a, b) => byteOrder(a.file, b.file) || a.line - b.line || a.col - b.col);
  for (const f of findings)
    process.stdout.write(`${f.file}:${f.line}:${f.col}: ${f.message} [${f.checker}]\n`);
  const plural = (n, what) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const checked = `${plural(workflows.length, 'workflow')}, ${plural(actions.length, 'action metadata file')} and ${plural(blocks, 'markdown YAML block')}`;
  if (findings.length > 0) {
    process.stderr.write(`lint-workflows: ${plural(findings.length, 'finding')} in ${checked}\n`);
    return 1;
  }
  process.stdout.write(`lint-workflows: ${checked} checked, no findings\n`);
  return 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`lint-workflows: ${err?.message ?? err}\n`);
  process.exitCode = 2;
}
