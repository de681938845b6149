/**
 * The tokenizer the illumos kernel reads its driver configuration with
 * (kobj_lex in the kernel's modsysfile.c): etc/name_to_major,
 * etc/driver_aliases and kernel/drv/*.conf all go through it, so they are
 * read here with its rules (docs/verify.md, "driver-config"):
 *
 * - spaces and tabs between tokens are skipped; `\n` and `\r` are each a
 *   NEWLINE (a CRLF line end is two, which every parser takes as an empty line);
 * - `= & | * # : ; , /` are tokens of their own; `#` starts a comment the
 *   parsers skip to the line's end;
 * - `"..."` is a STRING (backslash escapes the next character, `\NNN` is
 *   octal); a newline or the end of the file before the closing quote is an
 *   error ("missing closing quote"), and the string ends there;
 * - a number (`0x1f`, `42`, with an optional `-` or `~`) is HEXVAL/DECVAL;
 * - a letter, `_` or `\` starts a NAME of letters, digits, `_` and `-`;
 * - anything else is UNEXPECTED.
 *
 * The text is the file's bytes as latin1 (one character a byte).
 */

export type TokenKind =
  | 'unexpected'
  | 'equals'
  | 'ampersand'
  | 'bit-or'
  | 'star'
  | 'pound'
  | 'colon'
  | 'semicolon'
  | 'comma'
  | 'slash'
  | 'white-space'
  | 'newline'
  | 'eof'
  | 'string'
  | 'hexval'
  | 'decval'
  | 'name';

export interface Token {
  kind: TokenKind;
  value: string;
  /** 1-based line of the token's first character. */
  line: number;
}

/** An error of a configuration file, at its own line. */
export interface ConfigError {
  line: number;
  message: string;
}

const SINGLE: Record<string, TokenKind> = {
  '=': 'equals',
  '&': 'ampersand',
  '|': 'bit-or',
  '*': 'star',
  '#': 'pound',
  ':': 'colon',
  ';': 'semicolon',
  ',': 'comma',
  '/': 'slash',
};

const isDigit = (c: string) => c >= '0' && c <= '9';
const isXDigit = (c: string) => isDigit(c) || /^[a-fA-F]$/.test(c);
const isAlpha = (c: string) => /^[a-zA-Z]$/.test(c);
const isNameChar = (c: string) => isAlpha(c) || isDigit(c) || c === '_' || c === '-';

export class KobjLexer {
  private pos = 0;
  private lineNo = 1;
  /** Errors found while reading tokens (a missing quote, a token too long). */
  readonly errors: ConfigError[] = [];

  /**
   * @param text the file, one character a byte
   * @param maxToken the longest token the kernel's buffer holds for this file
   */
  constructor(
    private readonly text: string,
    private readonly maxToken: number,
  ) {}

  get line(): number {
    return this.lineNo;
  }

  private getc(): string {
    if (this.pos >= this.text.length) {
      this.pos++;
      return '';
    }
    const c = this.text[this.pos++];
    if (c === '\n') this.lineNo++;
    return c;
  }

  private ungetc(): void {
    this.pos--;
    if (this.pos < this.text.length && this.text[this.pos] === '\n') this.lineNo--;
  }

  /** Skips to the end of the line, leaving its newline as the next token (kobj_find_eol). */
  findEol(): void {
    for (;;) {
      const c = this.getc();
      if (c === '') {
        this.ungetc();
        return;
      }
      if (c === '\n' || c === '\r' || c === '\f') {
        this.ungetc();
        return;
      }
    }
  }

  next(): Token {
    let c = this.getc();
    while (c === ' ' || c === '\t') c = this.getc();
    const line = this.lineNo - (c === '\n' ? 1 : 0);
    const token = (kind: TokenKind, value: string): Token => {
      if (value.length > this.maxToken) {
        this.errors.push({ line, message: `token longer than ${this.maxToken} characters` });
        return { kind: 'unexpected', value: value.slice(0, 40), line };
      }
      return { kind, value, line };
    };
    if (c === '') return { kind: 'eof', value: '', line };
    const single = SINGLE[c];
    if (single) return token(single, c);
    if (c === '\f') {
      let value = c;
      while ((c = this.getc()) === ' ' || c === '\t' || c === '\f') value += c;
      this.ungetc();
      return token('white-space', value);
    }
    if (c === '\n' || c === '\r') return { kind: 'newline', value: c, line };
    if (c === '"') return this.quoted(line, token);
    return this.word(c, token);
  }

  private quoted(line: number, token: (kind: TokenKind, value: string) => Token): Token {
    let value = '';
    for (;;) {
      let c = this.getc();
      if (c === '"') return token('string', value);
      if (c === '\n' || c === '') {
        this.errors.push({ line, message: 'missing closing quote (")' });
        this.ungetc();
        return token('string', value);
      }
      if (c === '\\') {
        c = this.getc();
        if (!isDigit(c)) {
          value += c;
          continue;
        }
        let octal = 0;
        while (c >= '0' && c <= '7') {
          octal = octal * 8 + Number(c);
          c = this.getc();
        }
        this.ungetc();
        value += String.fromCharCode(octal & 0xff);
        continue;
      }
      value += c;
      if (value.length > this.maxToken) return token('string', value);
    }
  }

  private word(first: string, token: (kind: TokenKind, value: string) => Token): Token {
    let c = first;
    let value = c;
    if (c === '-') {
      c = this.getc();
      if (c === ' ' || c === '\t' || c === '\n') {
        this.ungetc();
        return token('name', '-');
      }
      value += c;
    } else if (c === '~') {
      c = this.getc();
      value += c;
    }
    if (isDigit(c)) return this.number(c, value, token);
    if (isAlpha(c) || c === '\\' || c === '_') {
      if (c === '\\') value = value.slice(0, -1);
      else c = this.getc();
      return this.rest(c, value, (ch) => isNameChar(ch) || ch === '\\', 'name', token);
    }
    return token('unexpected', value);
  }

  private number(
    digit: string,
    value: string,
    token: (kind: TokenKind, value: string) => Token,
  ): Token {
    let c = digit;
    if (c === '0') {
      c = this.getc();
      if (c === 'x') {
        value += c;
        while (isXDigit((c = this.getc()))) value += c;
        this.ungetc();
        return token('hexval', value);
      }
    } else {
      c = this.getc();
    }
    return this.rest(c, value, isDigit, 'decval', token);
  }

  /**
   * The rest of a name or a decimal number from `c` on: characters while
   * `accepts` takes them (a backslash takes the next one as it is), the
   * token cut where it outgrows the kernel's buffer.
   */
  private rest(
    c: string,
    value: string,
    accepts: (c: string) => boolean,
    kind: 'name' | 'decval',
    token: (kind: TokenKind, value: string) => Token,
  ): Token {
    while (accepts(c)) {
      if (c === '\\') c = this.getc();
      value += c;
      if (value.length > this.maxToken) return token(kind, value);
      c = this.getc();
    }
    this.ungetc();
    return token(kind, value);
  }
}

/**
 * A number as the kernel reads one (kobj_getvalue): `0x` hex, a leading 0
 * octal, else decimal, with `-` or `~`; undefined when it is not one.
 */
export function kobjValue(text: string): number | undefined {
  let t = text;
  const sign = t.startsWith('-') ? -1 : 1;
  const complement = t.startsWith('~');
  if (sign < 0 || complement) t = t.slice(1);
  let value: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) value = parseInt(t.slice(2), 16);
  else if (/^0[0-7]*$/.test(t)) value = t === '0' ? 0 : parseInt(t, 8);
  else if (/^[1-9][0-9]*$/.test(t)) value = parseInt(t, 10);
  else return undefined;
  return complement ? ~value : sign * value;
}

/** A file's errors: one a line (the first found there), the lexer's first. */
export class LineErrors {
  private readonly byLine = new Map<number, ConfigError>();

  constructor(private readonly lex: KobjLexer) {}

  readonly fail = (line: number, message: string): void => {
    if (!this.byLine.has(line)) this.byLine.set(line, { line, message });
  };

  /** Every error, in line order. */
  all(): ConfigError[] {
    const out = new Map<number, ConfigError>();
    for (const e of [...this.lex.errors, ...this.byLine.values()])
      if (!out.has(e.line)) out.set(e.line, e);
    return [...out.values()].sort((a, b) => a.line - b.line);
  }
}

/** The next token, comments skipped (`#` to the end of its line, the newline left). */
export function nextToken(lex: KobjLexer): Token {
  let tok = lex.next();
  while (tok.kind === 'pound') {
    lex.findEol();
    tok = lex.next();
  }
  return tok;
}

/**
 * A file of records a line (name_to_major, driver_aliases) read token by
 * token as the kernel reads it: `step` gets each token (comments skipped),
 * the end of the file last, with the sink for errors at a line and the
 * entries so far. Returns the entries and every error in line order.
 */
export function readKobjLines<T>(
  text: string,
  maxToken: number,
  step: (tok: Token, fail: (line: number, message: string) => void, entries: T[]) => void,
): { entries: T[]; errors: ConfigError[] } {
  const lex = new KobjLexer(text, maxToken);
  const entries: T[] = [];
  const errors = new LineErrors(lex);
  for (;;) {
    const tok = nextToken(lex);
    step(tok, errors.fail, entries);
    if (tok.kind === 'eof') break;
  }
  return { entries, errors: errors.all() };
}
