/**
 * The root composite action.yml repeats the sub-actions' inputs: these
 * tests hold it to their metadata, so a default or a pass-through cannot
 * drift (the code does not re-supply defaults behind the runner's back).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from './helpers/paths.js';

interface Input {
  description: string;
  required?: boolean;
  default?: string;
}
interface Step {
  id?: string;
  run?: string;
  env?: Record<string, string>;
}
interface Action {
  inputs: Record<string, Input>;
  runs: { steps?: Step[] };
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
};

/** Sub-action inputs the composite fills from an earlier step, not from an input of its own. */
const FROM_STEPS: Record<string, Record<string, string>> = {
  'build-live': { proto: '${{ steps.world.outputs.proto || inputs.proto }}' },
  'verify-manifest': {
    logs: '${{ steps.build.outputs.log }}',
    proto: '${{ steps.world.outputs.proto || inputs.proto }}',
  },
};

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

test("every sub-action input is passed through by the root's step that runs it, from the input of the same name", () => {
  const steps = root.runs.steps ?? [];
  for (const name of SUBS) {
    const step = steps.find((s) => s.run?.includes(`/dist/${name}/index.js`));
    assert.ok(step, `no root step runs ${name}`);
    const env = step.env ?? {};
    const passed = Object.keys(env)
      .filter((k) => k.startsWith('INPUT_'))
      .sort();
    const expected = Object.keys(sub[name].inputs)
      .map((i) => `INPUT_${i.toUpperCase()}`)
      .sort();
    assert.deepEqual(passed, expected, `${name}: the INPUT_* the root passes`);
    for (const input of Object.keys(sub[name].inputs)) {
      const value = env[`INPUT_${input.toUpperCase()}`];
      const wanted = FROM_STEPS[name]?.[input] ?? `\${{ inputs.${input} }}`;
      assert.equal(value, wanted, `${name}: INPUT_${input.toUpperCase()}`);
      if (!FROM_STEPS[name]?.[input]) assert.ok(input in root.inputs, `root has no input ${input}`);
    }
  }
});

test('the root checks every boolean input before any step can be skipped by an `if:` on it', () => {
  const booleans = Object.entries(root.inputs)
    .filter(([, spec]) => spec.default === 'true' || spec.default === 'false')
    .map(([name]) => name)
    .sort();
  const first = (root.runs.steps ?? [])[0];
  assert.equal(first.id, 'inputs');
  assert.deepEqual(
    Object.keys(first.env ?? {}).sort(),
    booleans.map((b) => `INPUT_${b.toUpperCase()}`).sort(),
  );
  for (const b of booleans) assert.ok(first.run?.includes(` ${b}`), `the check names ${b}`);
});
