/**
 * Which illumos distribution this host runs, from the first line of
 * /etc/release (the product banner every illumos distribution ships):
 * "SmartOS 20160330T234717Z x86_64", "OmniOS v11 r151026",
 * "OpenIndiana Hipster 2020.04 (powered by illumos)".
 */
import { open } from 'node:fs/promises';
import { describeError, UserError } from '../util/errors.js';

export const DISTROS = ['SmartOS', 'OmniOS', 'OpenIndiana'] as const;
export type Distro = (typeof DISTROS)[number];

export const DEFAULT_RELEASE_FILE = '/etc/release';

export interface HostRelease {
  distro: Distro;
  /** The banner line, trimmed: "OmniOS v11 r151026". */
  release: string;
  file: string;
}

/** Enough for any banner; the file is a few lines. */
const HEAD_BYTES = 4096;

export async function detectRelease(file = DEFAULT_RELEASE_FILE): Promise<HostRelease> {
  let text: string;
  try {
    const handle = await open(file, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(HEAD_BYTES), 0, HEAD_BYTES, 0);
      text = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new UserError(`cannot read the release file ${file}: ${describeError(err)}`);
  }
  const lines = text.split('\n');
  const index = lines.findIndex((l) => l.trim() !== '');
  if (index < 0)
    throw new UserError(`${file}: empty; cannot tell which illumos distribution this is`);
  const release = lines[index].trim();
  const distro = DISTROS.find((d) => new RegExp(`\\b${d}\\b`).test(release));
  if (!distro) {
    throw new UserError(
      `${file}:${index + 1}: unknown illumos distribution ${JSON.stringify(release)} ` +
        `(setup-host knows ${DISTROS.join(', ')})`,
    );
  }
  return { distro, release, file };
}
