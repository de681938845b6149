/**
 * A preload (`node --import <this file's URL> ...`) that records the peak
 * resident memory of the process it is loaded into: at exit it writes
 * `process.resourceUsage().maxRSS` (KiB) to the file named by
 * $JOYENT_LIVE_MAXRSS_FILE, or to stderr as `maxrss-kib: <n>` without it.
 * It imports nothing but node:fs, so it adds next to nothing to the peak.
 * See maxRssArgs() in max-rss-run.ts for how tests and benches use it.
 */
import { writeFileSync } from 'node:fs';

const out = process.env.JOYENT_LIVE_MAXRSS_FILE;
process.on('exit', () => {
  const kib = process.resourceUsage().maxRSS;
  if (out) writeFileSync(out, `${kib}\n`);
  else process.stderr.write(`maxrss-kib: ${kib}\n`);
});
