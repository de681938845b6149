// Module hooks for scripts/lint-workflows.mjs: @actions/workflow-parser and
// @actions/languageservice import their JSON schemas without an import attribute
// (`import schema from "./x.json"`), which Node 20 to 24 refuse. This loads every
// file: URL ending in .json as an ES module whose default export is the parsed JSON.
import { readFile } from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:') && url.endsWith('.json')) {
    const text = await readFile(new URL(url), 'utf8');
    JSON.parse(text); // a broken file fails here, naming the JSON error, not as odd JS
    return { format: 'module', source: `export default ${text};`, shortCircuit: true };
  }
  return nextLoad(url, context);
}
