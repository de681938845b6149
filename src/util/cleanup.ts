/**
 * What to undo when the process is interrupted (docs/exit-codes.md,
 * "Interrupted"): temporary files and trees to remove and running process
 * groups to stop. The engine registers each as it makes it and disposes of
 * the registration when the thing is gone or published; the CLI and the
 * action entries call exitOnSignals() once, which on SIGINT or SIGTERM
 * stops the processes, removes the paths, reports one line and exits 130
 * or 143. A second signal during that exits at once.
 */
import { describeError } from './errors.js';
import { removeTree } from './remove-tree.js';

type Undo = () => Promise<unknown>;

/** Processes are stopped before paths are removed: a writer left running would refill them. */
const stops = new Set<Undo>();
const undos = new Set<Undo>();

type Interrupt = 'SIGINT' | 'SIGTERM';
let interruptedBy: Interrupt | undefined;

/** The signal the process is being interrupted by, once one came. */
export function interruption(): Interrupt | undefined {
  return interruptedBy;
}

/** Registers `undo` to run on an interrupt; returns the disposer (call it once done). */
export function onInterrupt(undo: Undo): () => void {
  undos.add(undo);
  return () => undos.delete(undo);
}

/** Registers a process (group) to stop on an interrupt, before any path is removed. */
export function stopOnInterrupt(stop: Undo): () => void {
  stops.add(stop);
  return () => stops.delete(stop);
}

/** Registers a temporary file or tree to remove on an interrupt; returns the disposer. */
export function removeOnInterrupt(path: string): () => void {
  return onInterrupt(() => removeTree(path));
}

/** How long the undo may take before the process exits anyway. */
const UNDO_LIMIT_MS = 15_000;

/** Runs every registered undo once: processes first, then paths. Returns what failed. */
export async function runInterruptUndos(): Promise<{
  stopped: number;
  removed: number;
  failures: string[];
}> {
  const failures: string[] = [];
  const runAll = async (set: Set<Undo>) => {
    const all = [...set];
    set.clear();
    const results = await Promise.allSettled(all.map((undo) => undo()));
    for (const r of results) {
      if (r.status === 'rejected') failures.push(describeUndoFailure(r.reason));
    }
    return all.length;
  };
  const stopped = await runAll(stops);
  const removed = await runAll(undos);
  return { stopped, removed, failures };
}

function describeUndoFailure(err: unknown): string {
  const path = (err as { path?: unknown } | null)?.path;
  return `${typeof path === 'string' ? `${path}: ` : ''}${describeError(err)}`;
}

const EXIT_CODES: Record<Interrupt, number> = { SIGINT: 130, SIGTERM: 143 };

let installed = false;

/**
 * On SIGINT or SIGTERM: runs the registered undos (at most UNDO_LIMIT_MS),
 * reports one line through `report`, exits 130 (INT) or 143 (TERM). A
 * second signal while that runs exits at once. Installed once per process.
 */
export function exitOnSignals(report: (line: string) => void): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interruptedBy) process.exit(EXIT_CODES[interruptedBy]);
      interruptedBy = signal;
      const code = EXIT_CODES[signal];
      const limit = setTimeout(() => {
        report(`interrupted by ${signal}: temporary files may be left (cleanup took too long)`);
        process.exit(code);
      }, UNDO_LIMIT_MS);
      void runInterruptUndos().then(({ stopped, removed, failures }) => {
        clearTimeout(limit);
        const done = [
          stopped > 0 && `stopped ${stopped} running command${stopped === 1 ? '' : 's'}`,
          removed > 0 && 'removed temporary files',
        ].filter(Boolean);
        report(
          `interrupted by ${signal}` +
            (failures.length > 0
              ? `: could not undo everything: ${failures.join('; ')}`
              : done.length > 0
                ? `: ${done.join(' and ')}`
                : ''),
        );
        process.exit(code);
      });
    });
  }
}

/**
 * A promise that never settles once an interrupt is under way: an entry
 * that meets an error caused by the undo (a tree removed under the build)
 * awaits it instead of reporting that error; exitOnSignals() ends the process.
 */
export function untilInterruptHandled(): Promise<never> {
  return new Promise<never>(() => {
    // Kept alive by the undo's own work and timer.
    setInterval(() => undefined, 1000);
  });
}
