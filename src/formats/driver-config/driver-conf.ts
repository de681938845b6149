/**
 * kernel/drv/<driver>.conf (driver.conf(5)), read as the kernel reads it
 * (hwc_parse and get_hwc_spec in modsysfile.c, through kobj_lex): specs
 * `name=value ...;`, each ended by `;`, values strings or integers, lists
 * of them joined by `,`; `name=`, `parent=` and `class=` make a node spec,
 * which needs a parent or a class; `#` comments. What the kernel warns
 * about is an error at its line: a missing closing quote, a token out of
 * place, a spec cut off by the end of the file (its `;` missing)
 * (docs/verify.md).
 */
import { KobjLexer, LineErrors, nextToken, type ConfigError, type Token } from './kobj-lex.js';

export interface DriverConf {
  /** Specs read whole (node specs and global properties). */
  specs: number;
  errors: ConfigError[];
}

/** The kernel's token buffer for this file (MAX_HWC_LINESIZE). */
const MAX_TOKEN = 1023;

type SpecState =
  | 'begin'
  | 'parent'
  | 'drvname'
  | 'drvclass'
  | 'prop'
  | 'parent-equals'
  | 'name-equals'
  | 'drvclass-equals'
  | 'prop-equals'
  | 'prop-string'
  | 'prop-integer'
  | 'prop-string-comma'
  | 'prop-integer-comma';

const KEYWORD: Record<string, SpecState> = {
  parent: 'parent',
  PARENT: 'parent',
  name: 'drvname',
  NAME: 'drvname',
  class: 'drvclass',
  CLASS: 'drvclass',
};
const EQUALS: Partial<Record<SpecState, SpecState>> = {
  drvname: 'name-equals',
  parent: 'parent-equals',
  drvclass: 'drvclass-equals',
  prop: 'prop-equals',
};
/** States after which another property may start (or the spec end). */
const COMPLETE = new Set<SpecState>(['begin', 'prop', 'prop-string', 'prop-integer']);

interface Spec {
  name?: string;
  parent?: string;
  cls?: string;
}

class ConfParser {
  readonly errors: LineErrors;

  constructor(readonly lex: KobjLexer) {
    this.errors = new LineErrors(lex);
  }

  fail(line: number, message: string): void {
    this.errors.fail(line, message);
  }

  /** One spec from its first NAME token to its `;`; undefined when the kernel drops it. */
  spec(first: Token): Spec | undefined {
    const spec: Spec = {};
    let state: SpecState = 'begin';
    let tok = first;
    do {
      const next = this.step(spec, state, tok);
      if (next === 'bad') return undefined;
      state = next;
    } while ((tok = this.lex.next()).kind !== 'semicolon');
    if (!COMPLETE.has(state)) this.fail(tok.line, `"=" with no value before the ";"`);
    return spec;
  }

  private step(spec: Spec, state: SpecState, tok: Token): SpecState | 'bad' {
    const unexpected = () => {
      this.fail(tok.line, `unexpected "${tok.value}"`);
      return state;
    };
    switch (tok.kind) {
      case 'name':
        return COMPLETE.has(state) ? (KEYWORD[tok.value] ?? 'prop') : unexpected();
      case 'equals':
        return EQUALS[state] ?? unexpected();
      case 'string':
        return this.string(spec, state, tok) ?? unexpected();
      case 'hexval':
      case 'decval':
        return state === 'prop-equals' || state === 'prop-integer-comma'
          ? 'prop-integer'
          : unexpected();
      case 'comma':
        if (state === 'prop-string') return 'prop-string-comma';
        return state === 'prop-integer' ? 'prop-integer-comma' : unexpected();
      case 'newline':
        return state;
      case 'pound':
        this.lex.findEol();
        return state;
      case 'eof':
        this.fail(tok.line, 'the file ends inside a spec (its ";" is missing)');
        return 'bad';
      default:
        unexpected();
        return 'bad';
    }
  }

  private string(spec: Spec, state: SpecState, tok: Token): SpecState | 'bad' | undefined {
    const fields: Partial<Record<SpecState, keyof Spec>> = {
      'name-equals': 'name',
      'parent-equals': 'parent',
      'drvclass-equals': 'cls',
    };
    const field = fields[state];
    if (field !== undefined) {
      if (spec[field] !== undefined) {
        const what = field === 'cls' ? 'class' : field;
        this.fail(tok.line, `"${what}" given twice (is the ";" of the spec before missing?)`);
        return 'bad';
      }
      spec[field] = tok.value;
      return field === 'cls' ? 'prop-string' : 'begin';
    }
    return state === 'prop-equals' || state === 'prop-string-comma' ? 'prop-string' : undefined;
  }
}

export function parseDriverConf(text: string): DriverConf {
  const lex = new KobjLexer(text, MAX_TOKEN);
  const parser = new ConfParser(lex);
  let specs = 0;
  for (let tok = nextToken(lex); tok.kind !== 'eof'; tok = nextToken(lex)) {
    if (tok.kind === 'newline') continue;
    else if (tok.kind !== 'name') parser.fail(tok.line, `unexpected "${tok.value}"`);
    else {
      const spec = parser.spec(tok);
      if (!spec) continue;
      if (spec.name === undefined && (spec.parent !== undefined || spec.cls !== undefined))
        parser.fail(tok.line, 'a spec with a parent or class but no name');
      else if (spec.name !== undefined && spec.parent === undefined && spec.cls === undefined)
        parser.fail(tok.line, `the spec of "${spec.name}" has neither a parent nor a class`);
      else specs++;
    }
  }
  return { specs, errors: parser.errors.all() };
}
