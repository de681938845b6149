import { requireIllumos } from '../../host/uname.js';
import { UserError } from '../../util/errors.js';

/**
 * The gate of the actions that only make sense on illumos: fails with the
 * kernel it found. Their engines are not written yet, so on illumos they
 * fail too, saying so, rather than pretend to have done the work.
 */
export async function illumosOnlyPlaceholder(action: string): Promise<never> {
  await requireIllumos(action);
  throw new UserError(
    `${action}: this release does not include its engine yet (it comes in a later release); ` +
      'nothing was done',
  );
}
