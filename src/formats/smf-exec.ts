/**
 * An exec_method's `exec` string (smf_method(7)), read for the command it
 * runs (docs/verify.md, "smf-method"):
 *
 * - `:true`, `:kill`, `:kill_process` (with their signal arguments, `-9`,
 *   `-TERM`) are done by svc.startd itself: nothing to find;
 * - `%`-tokens (`%m`, `%i`, `%{config/file}`, ...) are expanded by
 *   svc.startd: an argument made of them is fine, a command made of them
 *   cannot be read here;
 * - leading `VAR=value` words set the environment;
 * - the next word is the command.
 *
 * A string with shell syntax (quotes, `;`, `&`, `|`, redirections, `$`,
 * backquotes, globs, ...) is not read: it is skipped, never guessed.
 */

export type ExecCommand =
  | { kind: 'keyword'; keyword: string }
  | { kind: 'command'; path: string }
  | { kind: 'skipped'; why: string };

const KEYWORDS = new Set([':true', ':kill', ':kill_process']);
const TOKEN = /%\{[^}]*\}|%[a-zA-Z%]/g;
const SHELL = /[;&|<>()`$\\"'*?[\]{}~!#\n\r]/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

export function execCommand(exec: string): ExecCommand {
  const words = exec.trim().split(/[ \t]+/);
  if (words[0] === '') return { kind: 'skipped', why: 'empty exec' };
  if (words[0].startsWith(':')) {
    if (!KEYWORDS.has(words[0])) return { kind: 'skipped', why: `unknown keyword ${words[0]}` };
    return { kind: 'keyword', keyword: words[0] };
  }
  // %-tokens stand for one word each; what is left must be plain words.
  const plain = words.map((w) => w.replace(TOKEN, '%'));
  if (plain.some((w) => SHELL.test(w))) return { kind: 'skipped', why: 'shell syntax' };
  const at = plain.findIndex((w) => !ASSIGNMENT.test(w));
  if (at < 0) return { kind: 'skipped', why: 'no command after the assignments' };
  const command = plain[at];
  if (command.includes('%')) return { kind: 'skipped', why: 'the command is made of %-tokens' };
  if (!command.startsWith('/')) return { kind: 'skipped', why: 'not an absolute path' };
  return { kind: 'command', path: command };
}
