/**
 * A build that stops making progress ends with a message, not silently.
 *
 * When every promise the build awaits is waiting for something that will
 * never come (a stream that never ends, a callback never called), Node has
 * nothing left to run: it emits 'beforeExit' and, if nothing new is
 * started, exits with status 13 ("unsettled top-level await") and no word.
 * Here that moment rejects the build with a message naming the phase it
 * was in, so that its `finally` blocks run (the workspace lock is removed)
 * and the entry reports an error and exits 1 (docs/build-world.md).
 */
import { UserError } from '../util/errors.js';

/** `work`, or a UserError naming `phase()` if the event loop runs dry before it settles. */
export async function failOnStall<T>(
  work: Promise<T>,
  command: string,
  phase: () => string,
): Promise<T> {
  let onIdle = (): void => undefined;
  const stalled = new Promise<never>((_, reject) => {
    onIdle = () =>
      reject(
        new UserError(
          `${command} stopped while ${phase()}: it was waiting for something that will never ` +
            'happen (nothing was left running); this is a bug of joyent-live, please report it',
        ),
      );
  });
  process.once('beforeExit', onIdle);
  try {
    return await Promise.race([work, stalled]);
  } finally {
    process.off('beforeExit', onIdle);
  }
}
