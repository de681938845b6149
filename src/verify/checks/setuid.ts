/**
 * setuid: which files of the image run with another user's or group's
 * rights (docs/verify.md, "setuid"). With `setuid <glob>` rules in the ship
 * policy, a setuid or setgid file no rule covers is a finding, and a rule
 * that covers none is `stale-policy` at its line. With a baseline, a file
 * whose setuid or setgid bit differs from the baseline's (or a new file
 * with one) is a finding, policy or not.
 */
import { formatMode } from '../../formats/manifest-line.js';
import { imageFinding, type ImageView } from '../image-view.js';
import type { Finding } from '../types.js';
import type { BootContext } from './boot.js';
import { staleRule } from './ship-policy.js';

const SETID = 0o6000;

const bitsOf = (mode: number) =>
  [mode & 0o4000 ? 'setuid' : '', mode & 0o2000 ? 'setgid' : ''].filter(Boolean).join(' and ');

export function* setuidFiles(image: ImageView, context: BootContext): Generator<Finding, number> {
  const rules = context.policy.filter((r) => r.verb === 'setuid');
  const baseline =
    context.baseline?.format === 'boot_archive.manifest' ? context.baseline : undefined;
  let checked = 0;
  for (const entry of image.entries.values()) {
    if (entry.type !== 'f') continue;
    const bits = entry.mode & SETID;
    const before = baseline?.entries.get(entry.path);
    const beforeBits =
      before?.type === 'f' && before.mode !== undefined ? before.mode & SETID : undefined;
    if (bits === 0 && (beforeBits === undefined || beforeBits === 0)) continue;
    checked++;
    const mode = formatMode(entry.mode);
    const problems: string[] = [];
    if (bits !== 0 && rules.length > 0) {
      const rule = rules.find((r) => r.match(entry.path));
      if (rule) rule.used++;
      else
        problems.push(
          `is ${bitsOf(bits)} (mode ${mode}) and no setuid rule of ${rules[0].file} covers it`,
        );
    }
    if (baseline && beforeBits !== bits) {
      problems.push(
        beforeBits === undefined
          ? `is new and ${bitsOf(bits)} (mode ${mode}); the baseline ${baseline.file} does not have it`
          : `${bits & ~beforeBits ? `gained ${bitsOf(bits & ~beforeBits)}` : ''}${bits & ~beforeBits && beforeBits & ~bits ? ', ' : ''}${beforeBits & ~bits ? `lost ${bitsOf(beforeBits & ~bits)}` : ''} against the baseline (mode ${formatMode(before!.mode!)} there, ${mode} here)`,
      );
    }
    for (const problem of problems) yield imageFinding(image, 'setuid', entry.path, problem);
  }
  for (const rule of rules) {
    if (rule.used > 0) continue;
    yield staleRule(rule, `setuid ${rule.glob} covers no setuid or setgid file of the image`);
  }
  return checked;
}
