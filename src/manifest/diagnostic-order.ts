import type { Diagnostic } from './types.js';

/**
 * Sorts diagnostics as loadManifests reports them: those about no line
 * first, then by the merge order of their file and by line. The sort is
 * stable, so at one line the earlier-found diagnostic stays first.
 */
export function sortDiagnostics(diagnostics: Diagnostic[], files: readonly string[]): Diagnostic[] {
  const order = new Map(files.map((file, i) => [file, i]));
  const rank = (d: Diagnostic) => (d.loc ? (order.get(d.loc.file) ?? -1) : -1);
  return diagnostics.sort((a, b) => rank(a) - rank(b) || (a.loc?.line ?? 0) - (b.loc?.line ?? 0));
}
