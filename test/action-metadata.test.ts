/**
 * The root action.yml (a node action running the sub-actions' steps in one
 * process, src/actions/root) repeats the sub-actions' inputs and outputs:
 * these tests hold it to their metadata, so a default, a description or an
 * input it must accept cannot drift (the code does not re-supply defaults
 * behind the runner's back).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ROOT_BOOLEAN_INPUTS } from '../src/actions/root/step.js';
import { REPO_ROOT } from './helpers/paths.js';

interface Input {
  description: string;
  required?: boolean;
  default?: string;
}
interface Action {
  inputs: Record<string, Input>;
  outputs?: Record<string, { description: string; value?: string }>;
  runs: { using: string; main?: string; steps?: unknown[] };
}

const read = (path: string) => parse(readFileSync(join(REPO_ROOT, path), 'utf8')) as Action;
const SUBS = ['setup-illumos-host', 'build-world', 'build-live', 'verify-manifest'] as const;
const sub = Object.fromEntries(SUBS.map((n) => [n, read(`actions/${n}/action.yml`)])) as Record<
  (typeof SUBS)[number],
  Action
>;
const root = read('action.yml');

/** The root's own inputs: what the composite does, not a sub-action. */
const ROOT_ONLY = new Set(['build-world', 'verify']);

/**
 * Inputs several sub-actions share: the root has one, with a description of
 * its own, and its default is one of theirs. build-world's `proto` defaults to
 * `proto` (relative to the workspace), the others' to empty, which means
 * the same <workspace>/proto; build-live's proto is build-world's output when
 * it ran.
 */
const SHARED: Record<string, string> = {
  workspace: 'setup-illumos-host and build-world',
  proto: 'setup-illumos-host, build-world, build-live and verify-manifest',
  'man-dir': 'setup-illumos-host, build-live and verify-manifest',
  overlays: 'build-live and verify-manifest',
  'system-root': 'build-live and verify-manifest',
  manifests: 'build-live and verify-manifest',
  defines: 'build-live and verify-manifest',
  baseline: 'build-live and verify-manifest',
};

/**
 * Sub-action inputs the root fills from an earlier step (src/actions/root/step.ts),
 * not from an input of its own: verify-manifest reads build-live's log.
 */
const FROM_STEPS: Record<string, readonly string[]> = { 'verify-manifest': ['logs'] };

/** The root's outputs that are verify-manifest's (its failed-count is build-live's). */
const VERIFY_OUTPUTS = ['verdict', 'report'];

const owners = (input: string) => SUBS.filter((n) => input in sub[n].inputs);

test('every root input is a sub-action input with the same default and description (or a documented exception)', () => {
  for (const [name, spec] of Object.entries(root.inputs)) {
    const from = owners(name);
    if (ROOT_ONLY.has(name)) {
      assert.equal(from.length, 0, `${name} is the root's own, yet ${from.join(', ')} has it`);
      continue;
    }
    assert.ok(from.length > 0, `root input ${name} is no sub-action's input`);
    if (from.length > 1 || name in SHARED) {
      assert.ok(name in SHARED, `${name} is shared by ${from.join(', ')}: document it in SHARED`);
      const defaults = from.map((n) => sub[n].inputs[name].default ?? '');
      assert.ok(
        defaults.includes(spec.default ?? ''),
        `${name}: root default ${JSON.stringify(spec.default)} is none of ${JSON.stringify(defaults)}`,
      );
      continue;
    }
    const owner = from[0];
    const theirs = sub[owner].inputs[name];
    assert.equal(spec.default, theirs.default, `${name}: default differs from ${owner}'s`);
    assert.equal(Boolean(spec.required), Boolean(theirs.required), `${name}: required differs`);
    // setup-illumos-host's and build-world's inputs only matter with build-world: true.
    const prefix =
      owner === 'setup-illumos-host' || owner === 'build-world' ? 'build-world true: ' : '';
    assert.equal(
      spec.description,
      prefix + theirs.description,
      `${name}: description differs from ${owner}'s`,
    );
  }
});

test('the root is a node action, as the sub-actions are, so that the runner gives it the runtime token and the results and cache URLs', () => {
  assert.deepEqual(root.runs, { using: 'node24', main: 'dist/root/index.js' });
  for (const name of SUBS) assert.equal(sub[name].runs.using, root.runs.using, name);
});

test('the root accepts every sub-action input (but those it fills from an earlier step), with the default and description the first test holds it to', () => {
  for (const name of SUBS) {
    for (const input of Object.keys(sub[name].inputs)) {
      if (FROM_STEPS[name]?.includes(input)) {
        assert.ok(!(input in root.inputs), `${input} is filled by the root, not an input`);
        continue;
      }
      assert.ok(input in root.inputs, `root has no input ${input} (of ${name})`);
    }
  }
});

test("the root's outputs are build-live's outputs and verify-manifest's verdict and report, with the same meaning", () => {
  const live = sub['build-live'].outputs ?? {};
  const verify = sub['verify-manifest'].outputs ?? {};
  const expected = [...Object.keys(live), ...VERIFY_OUTPUTS].sort();
  assert.deepEqual(Object.keys(root.outputs ?? {}).sort(), expected);
  for (const name of VERIFY_OUTPUTS) assert.ok(name in verify, name);
  // A node action's outputs are what it sets: no `value:` expressions.
  for (const [name, spec] of Object.entries(root.outputs ?? {})) {
    assert.equal(spec.value, undefined, `${name}: a node action's output has no value`);
  }
});

test('the root checks every boolean input, with its default, before any step runs', () => {
  const booleans = Object.fromEntries(
    Object.entries(root.inputs)
      .filter(([, spec]) => spec.default === 'true' || spec.default === 'false')
      .map(([name, spec]) => [name, spec.default === 'true']),
  );
  assert.deepEqual({ ...ROOT_BOOLEAN_INPUTS }, booleans);
});
