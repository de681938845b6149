import { Command } from 'commander';

/** `joyent-live manifest lint|merge|diff` (being written). */
export function manifestCommand(_setExitCode: (code: number) => void): Command {
  return new Command('manifest').description('lint, merge and diff manifests');
}
