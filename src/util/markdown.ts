/**
 * Text from the inputs (paths, link text, messages that quote them) in
 * GitHub-flavoured markdown: the job summaries, the pull-request comment
 * and the check run. All of it comes from pull requests, so none of it may
 * become markup: no HTML (`<h1>`, `</details>`, a `<!--` that hides the rest
 * of a comment), no link or image, no entity, no `@` mention, no autolink,
 * no raw control or bidi character (docs/verify.md, "Text from the inputs").
 * Every markdown writer of the project goes through mdCode() or mdText().
 */
import { printable } from './format.js';

/** The longest run of backticks in `text`. */
function longestBacktickRun(text: string): number {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return longest;
}

/**
 * `text` as an inline code span: fenced by one backtick more than its
 * longest run (so no backtick inside closes it), padded with a space when
 * it starts or ends with a backtick or a blank (CommonMark strips one of
 * each). Inside a code span nothing is markup: not HTML, not an entity,
 * not a mention. Control and bidi characters are shown escaped (a line end
 * would end the span).
 */
export function mdCode(text: string): string {
  const shown = printable(text);
  if (shown === '') return '` `';
  const fence = '`'.repeat(longestBacktickRun(shown) + 1);
  const pad = /^[` ]|[` ]$/.test(shown) ? ' ' : '';
  return `${fence}${pad}${shown}${pad}${fence}`;
}

/** mdCode() for a table cell: a `|`, even inside a code span, would split the cell. */
export function mdCell(text: string): string {
  return mdCode(text).replace(/\|/g, '\\|');
}

/** Markdown punctuation that starts markup inline: shown with a backslash. */
const INLINE_MARKUP = /[\\`*_[\]()#|~!]/g;
const HTML_SPECIAL: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * `text` as plain inline markdown: markup characters backslash-escaped, `&`
 * `<` `>` as entities (so `<!--`, `</details>` and `&#x2F;` stay text), a
 * zero-width space after each `@` (no mention, no team ping) and in `://`
 * and `www.` (no autolink), a leading list or heading marker escaped, and
 * control and bidi characters shown escaped.
 */
export function mdText(text: string): string {
  return printable(text)
    .replace(INLINE_MARKUP, '\\$&')
    .replace(/[&<>]/g, (ch) => HTML_SPECIAL[ch])
    .replace(/@/g, '@&#8203;')
    .replace(/:\/\//g, ':&#8203;//')
    .replace(/\bwww\./gi, (www) => `${www.slice(0, 3)}&#8203;.`)
    .replace(/^(\s*)([-+=])/, '$1\\$2')
    .replace(/^(\s*\d+)\./, '$1\\.');
}
