import { Command, CommanderError } from 'commander';
import { exitOnSignals, interruption, untilInterruptHandled } from '../util/cleanup.js';
import { errnoCode } from '../util/errors.js';
import { describeFailure } from '../util/failure.js';
import { VERSION } from '../version.js';
import { buildLiveCommand } from './build-live-command.js';
import { buildWorldCommand } from './build-world-command.js';
import { manifestCommand } from './manifest-command.js';
import { writeLine, writeLines } from './output.js';
import { setupHostCommand } from './setup-host-command.js';
import { verifyCommand } from './verify-command.js';

/**
 * Runs the CLI and returns its exit code (docs/exit-codes.md): 0 built clean, 3 built
 * with FAILED entries, 1 error, 2 usage, 130/143 interrupted by SIGINT/SIGTERM.
 * Messages only, never a stack trace.
 */
export async function main(argv: readonly string[]): Promise<number> {
  // INT/TERM: our temporaries are removed, one line says so, exit 130/143.
  exitOnSignals((line) => process.stderr.write(`joyent-live: ${line}\n`));
  // A reader that stops early (`| head`) is not an error of ours. Without
  // stdout there is nothing more to say: stop. Without stderr (progress,
  // warnings) the work goes on, silently.
  process.stdout.on('error', (err) => {
    if (errnoCode(err) === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.stderr.on('error', (err) => {
    if (errnoCode(err) !== 'EPIPE') throw err;
  });
  let exitCode = 0;
  const setExitCode = (code: number) => (exitCode = code);
  const program = new Command('joyent-live')
    .description('Build illumos live platform images the SmartOS way')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addCommand(buildLiveCommand(setExitCode))
    .addCommand(verifyCommand(setExitCode))
    .addCommand(manifestCommand(setExitCode))
    .addCommand(setupHostCommand(setExitCode))
    .addCommand(buildWorldCommand());
  // Nested commands (manifest lint, ...) must not exit the process either.
  const override = (command: Command) => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    // Removing our temporaries under a running build makes it fail: that is not news.
    if (interruption()) return untilInterruptHandled();
    if (err instanceof CommanderError) {
      // Help and version print themselves and succeed; anything else is usage.
      return err.exitCode === 0 ? 0 : 2;
    }
    const failure = describeFailure(err);
    if (failure.kind === 'error') {
      // A message may hold lines of its own (a command's stderr): each is printed as a line,
      // printable, so none starts with `::` or carries a control character.
      writeLines(process.stderr, [
        ...`joyent-live: error: ${failure.message}`.split('\n'),
        ...failure.details.map((detail) => `  ${detail}`),
      ]);
      return failure.exitCode;
    }
    writeLine(process.stderr, `joyent-live: internal error: ${failure.message}`);
    if (process.env.JOYENT_LIVE_DEBUG && failure.stack) process.stderr.write(`${failure.stack}\n`);
    return 1;
  }
}
