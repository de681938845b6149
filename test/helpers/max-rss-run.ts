import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The compiled preload (build/test/helpers/max-rss.js) as a URL for `node --import`. */
export const MAX_RSS_PRELOAD = new URL('./max-rss.js', import.meta.url);

/**
 * Node options that make a child node process write its peak resident
 * memory (KiB) to `file` when it exits: pass `args` before the script and
 * `env` into the child's environment, then read it with readMaxRss().
 */
export function maxRssArgs(file: string): { args: string[]; env: NodeJS.ProcessEnv } {
  return {
    args: ['--import', MAX_RSS_PRELOAD.href],
    env: { JOYENT_LIVE_MAXRSS_FILE: file },
  };
}

/** The peak resident memory in bytes that the preload recorded in `file`. */
export async function readMaxRss(file: string): Promise<number> {
  const text = await readFile(file, 'utf8');
  const kib = Number(text.trim());
  if (!Number.isInteger(kib) || kib <= 0) {
    throw new Error(
      `no peak memory in ${file} (preload ${fileURLToPath(MAX_RSS_PRELOAD)}): ${text}`,
    );
  }
  return kib * 1024;
}
