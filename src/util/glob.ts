/**
 * The one glob matcher of every glob input (ship policy `skip` rules,
 * --allow-missing, --allow-dangling, --ignore-diff and the run-time allow
 * list): image paths, no leading `/`. The syntax is in docs/verify.md,
 * "Globs". Globs come from pull requests, so matching is linear in the
 * path's length times the glob's (a Thompson simulation of the glob's
 * automaton, never a backtracking regular expression), and what would not
 * be bounded is refused when the glob is read: extglob groups such as
 * `*(a|aa)`, negation, and more than MAX_ALTERNATIVES brace alternatives.
 */

/** A glob that cannot be used: the message says why (the caller says where). */
export class GlobError extends Error {}

/** Brace alternatives one glob may expand to. */
export const MAX_ALTERNATIVES = 256;
/** Characters of one glob, and of all its alternatives together. */
export const MAX_GLOB_LENGTH = 4096;
const MAX_EXPANDED_LENGTH = 16_384;

type ClassItem = { from: number; to: number } | { posix: RegExp };

type Token =
  | { t: 'lit'; c: string }
  /** `?` or a bracket expression: one character other than `/`. */
  | { t: 'one'; items?: ClassItem[]; negated?: boolean }
  /** `*`: any run of characters other than `/`. */
  | { t: 'star' }
  /** `**` as the whole glob: anything. */
  | { t: 'any' }
  /** `**` then `/` at a segment start: zero or more whole segments, each with its `/`. */
  | { t: 'dirs' }
  /** `/**` at the end: nothing, or `/` and anything. */
  | { t: 'tail' };

const POSIX_CLASSES: Record<string, RegExp> = {
  alnum: /[A-Za-z0-9]/,
  alpha: /[A-Za-z]/,
  blank: /[ \t]/,
  digit: /[0-9]/,
  lower: /[a-z]/,
  punct: /[!-/:-@[-`{-~]/,
  space: /\s/,
  upper: /[A-Z]/,
  word: /\w/,
  xdigit: /[0-9A-Fa-f]/,
};

const EXTGLOB = /^[*?+@!]\($/;

/** Refuses what this matcher does not take, with the reason. */
function refuseUnsupported(glob: string): void {
  if (glob.length === 0) throw new GlobError('an empty glob');
  if (glob.length > MAX_GLOB_LENGTH) {
    throw new GlobError(`a glob of ${glob.length} characters (at most ${MAX_GLOB_LENGTH})`);
  }
  if (glob.startsWith('!')) {
    throw new GlobError('a leading "!" (negation) is not supported; write "\\!" for a literal "!"');
  }
  let inClass = false;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') {
      // `]` right after `[` or `[!` is a member, not the end.
      inClass = true;
      if (glob[i + 1] === '!' || glob[i + 1] === '^') i++;
      if (glob[i + 1] === ']') i++;
      continue;
    }
    if (EXTGLOB.test(glob.slice(i, i + 2))) {
      throw new GlobError(
        `extglob "${glob.slice(i, i + 2)}...)" is not supported (its matching can take exponential time); ` +
          'use *, ?, [...], ** and {a,b} (docs/verify.md, "Globs"), or write "\\(" for a literal "("',
      );
    }
  }
}

/** The end of the brace group opening at `open`, or -1; with its top-level commas. */
function braceGroup(glob: string, open: number): { close: number; commas: number[] } {
  const commas: number[] = [];
  let depth = 0;
  for (let i = open; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '\\') i++;
    else if (ch === '[') i = classEnd(glob, i);
    else if (ch === '{') depth++;
    else if (ch === ',' && depth === 1) commas.push(i);
    else if (ch === '}' && --depth === 0) return { close: i, commas };
  }
  return { close: -1, commas };
}

/** The index of the `]` that closes the class opening at `open` (or `open` when none does). */
function classEnd(glob: string, open: number): number {
  let i = open + 1;
  if (glob[i] === '!' || glob[i] === '^') i++;
  if (glob[i] === ']') i++;
  for (; i < glob.length; i++) {
    if (glob[i] === '\\') i++;
    else if (glob[i] === '[' && glob[i + 1] === ':') {
      const end = glob.indexOf(':]', i + 2);
      if (end > 0) i = end + 1;
    } else if (glob[i] === ']') return i;
  }
  return open;
}

/** `a{b,c{d,e}}f` as its alternatives; `{x}` (no comma) is literal, as in sh. */
function expandBraces(glob: string): string[] {
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '\\') i++;
    else if (ch === '[') i = classEnd(glob, i);
    else if (ch === '{') {
      const { close, commas } = braceGroup(glob, i);
      if (close < 0) throw new GlobError('a "{" is never closed (write "\\{" for a literal "{")');
      if (commas.length === 0) continue;
      const bounds = [i, ...commas, close];
      const choices = bounds.slice(1).map((end, k) => glob.slice(bounds[k] + 1, end));
      const out: string[] = [];
      for (const choice of choices) {
        for (const alt of expandBraces(glob.slice(0, i) + choice + glob.slice(close + 1))) {
          out.push(alt);
          if (out.length > MAX_ALTERNATIVES) {
            throw new GlobError(`more than ${MAX_ALTERNATIVES} brace alternatives`);
          }
        }
      }
      return out;
    }
  }
  return [glob];
}

/** The bracket expression opening at `open`: its token and the index after it. */
function parseClass(glob: string, open: number): { token: Token; next: number } {
  const close = classEnd(glob, open);
  if (close === open) throw new GlobError('a "[" is never closed (write "\\[" for a literal "[")');
  let i = open + 1;
  const negated = glob[i] === '!' || glob[i] === '^';
  if (negated) i++;
  const items: ClassItem[] = [];
  const at = (k: number): [number, number] =>
    glob[k] === '\\' ? [glob.charCodeAt(k + 1), k + 2] : [glob.charCodeAt(k), k + 1];
  let first = true;
  while (i < close || (first && glob[i] === ']' && i < close)) {
    first = false;
    if (glob[i] === '[' && glob[i + 1] === ':') {
      const end = glob.indexOf(':]', i + 2);
      const name = glob.slice(i + 2, end);
      const posix = POSIX_CLASSES[name];
      if (!posix) throw new GlobError(`unknown character class "[:${name}:]"`);
      items.push({ posix });
      i = end + 2;
      continue;
    }
    const [from, afterFrom] = at(i);
    if (glob[afterFrom] === '-' && afterFrom + 1 < close) {
      const [to, afterTo] = at(afterFrom + 1);
      if (to < from) throw new GlobError(`range "${glob.slice(i, afterTo)}" is backwards`);
      items.push({ from, to });
      i = afterTo;
    } else {
      items.push({ from, to: from });
      i = afterFrom;
    }
  }
  return { token: { t: 'one', items, negated }, next: close + 1 };
}

/** One path segment of a glob (no `/`, not `**`) as tokens. */
function segmentTokens(segment: string, out: Token[]): void {
  for (let i = 0; i < segment.length;) {
    const ch = segment[i];
    if (ch === '\\') {
      if (i + 1 >= segment.length) throw new GlobError('a trailing "\\" escapes nothing');
      out.push({ t: 'lit', c: segment[i + 1] });
      i += 2;
    } else if (ch === '*') {
      if (out.at(-1)?.t !== 'star') out.push({ t: 'star' });
      i++;
    } else if (ch === '?') {
      out.push({ t: 'one' });
      i++;
    } else if (ch === '[') {
      const { token, next } = parseClass(segment, i);
      out.push(token);
      i = next;
    } else {
      out.push({ t: 'lit', c: ch });
      i++;
    }
  }
}

/** Splits on the `/`s that are not inside a bracket expression or escaped. */
function segments(glob: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < glob.length; i++) {
    if (glob[i] === '\\') i++;
    else if (glob[i] === '[') i = classEnd(glob, i);
    else if (glob[i] === '/') {
      out.push(glob.slice(start, i));
      start = i + 1;
    }
  }
  out.push(glob.slice(start));
  return out;
}

/** One brace alternative as tokens. */
function tokens(glob: string): Token[] {
  const parts = segments(glob);
  if (parts.length === 1 && parts[0] === '**') return [{ t: 'any' }];
  const out: Token[] = [];
  parts.forEach((part, k) => {
    const last = k === parts.length - 1;
    if (part === '**' && last) {
      // `a/**`: `a` itself and everything below it; the `/` is the tail's.
      if (out.at(-1)?.t === 'lit') out.pop();
      out.push({ t: 'tail' });
      return;
    }
    if (part === '**') {
      out.push({ t: 'dirs' });
      return;
    }
    segmentTokens(part, out);
    if (!last) out.push({ t: 'lit', c: '/' });
  });
  return out;
}

/** Does the class token take `ch` (never `/`)? */
function classTakes(token: Extract<Token, { t: 'one' }>, ch: string): boolean {
  if (ch === '/') return false;
  if (!token.items) return true;
  const code = ch.charCodeAt(0);
  const hit = token.items.some((item) =>
    'posix' in item ? item.posix.test(ch) : code >= item.from && code <= item.to,
  );
  return hit !== Boolean(token.negated);
}

/**
 * A matcher for one alternative: the set of automaton states is carried
 * along the path, one step a character. State 2i is "before token i",
 * 2i+1 is "inside token i" (for `dirs` and `tail`).
 */
function automaton(list: readonly Token[]): (path: string) => boolean {
  const size = 2 * list.length + 2;
  const accept = 2 * list.length;
  let current = new Uint8Array(size);
  let next = new Uint8Array(size);
  // The states reachable without a character.
  const close = (set: Uint8Array) => {
    for (let i = 0; i < list.length; i++) {
      const t = list[i].t;
      const here = set[2 * i] === 1 || (t === 'tail' && set[2 * i + 1] === 1);
      if (here && (t === 'star' || t === 'any' || t === 'dirs' || t === 'tail')) {
        set[2 * i + 2] = 1;
      }
    }
  };
  const step = (i: number, inside: boolean, ch: string) => {
    const token = list[i];
    const after = 2 * i + 2;
    switch (token.t) {
      case 'lit':
        if (!inside && token.c === ch) next[after] = 1;
        break;
      case 'one':
        if (!inside && classTakes(token, ch)) next[after] = 1;
        break;
      case 'star':
        if (ch !== '/') next[2 * i] = 1;
        break;
      case 'any':
        next[2 * i] = 1;
        break;
      case 'dirs':
        next[2 * i + 1] = 1;
        if (ch === '/') next[after] = 1;
        break;
      case 'tail':
        if (inside || ch === '/') next[2 * i + 1] = 1;
        break;
    }
  };
  return (path) => {
    current.fill(0);
    current[0] = 1;
    close(current);
    for (const ch of path) {
      next.fill(0);
      let alive = false;
      for (let s = 0; s < accept; s++) {
        if (current[s] === 1) {
          alive = true;
          step(s >> 1, (s & 1) === 1, ch);
        }
      }
      if (!alive) return false;
      [current, next] = [next, current];
      close(current);
    }
    return current[accept] === 1;
  };
}

/**
 * A matcher for `glob` (docs/verify.md, "Globs"), or a GlobError saying why
 * the glob cannot be used. A leading `./` is ignored.
 */
export function compileGlob(glob: string): (path: string) => boolean {
  refuseUnsupported(glob);
  const alternatives = expandBraces(glob.replace(/^(\.\/)+/, ''));
  const total = alternatives.reduce((n, alt) => n + alt.length, 0);
  if (total > MAX_EXPANDED_LENGTH) {
    throw new GlobError(
      `its brace alternatives come to ${total} characters (at most ${MAX_EXPANDED_LENGTH})`,
    );
  }
  const matchers = alternatives.map((alt) => {
    const list = tokens(alt);
    if (list.every((t) => t.t === 'lit')) {
      const literal = list.map((t) => (t as { c: string }).c).join('');
      return (path: string) => path === literal;
    }
    return automaton(list);
  });
  return matchers.length === 1 ? matchers[0] : (path) => matchers.some((m) => m(path));
}
