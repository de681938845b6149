import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from build/test/, compiled). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = join(REPO_ROOT, 'action-fixtures');
export const CLI = join(REPO_ROOT, 'bin', 'joyent-live');

/**
 * `../shared` beside the checkout (real SmartOS manifests); CI lays it
 * there too. JOYENT_LIVE_SHARED points elsewhere.
 */
export const SHARED = process.env.JOYENT_LIVE_SHARED ?? resolve(REPO_ROOT, '..', 'shared');
export const SMARTOS_DATA = join(SHARED, 'data', 'smartos');
export const hasSharedData = existsSync(join(SMARTOS_DATA, 'manifest-2011-09.txt'));

/** The arguments `npm start` uses: the good fixture build, all four sources. */
export function fixtureArgs(output: string, logDir: string): string[] {
  return [
    'build-live',
    '--manifest',
    join(FIXTURES, 'manifests', 'good'),
    '--proto',
    join(FIXTURES, 'proto'),
    '--overlay',
    join(FIXTURES, 'overlay-base'),
    '--overlay',
    join(FIXTURES, 'overlay-site'),
    '--man-dir',
    join(FIXTURES, 'man'),
    '--system-root',
    join(FIXTURES, 'system-root'),
    '--customize',
    join(FIXTURES, 'customize', 'customize'),
    '--output',
    output,
    '--log-dir',
    logDir,
  ];
}
