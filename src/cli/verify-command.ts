import { Command } from 'commander';

/** `joyent-live verify-manifest` (being written). */
export function verifyCommand(_setExitCode: (code: number) => void): Command {
  return new Command('verify-manifest').description('gate a build on its log and manifest');
}
