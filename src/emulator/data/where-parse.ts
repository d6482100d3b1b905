/**
 * Tokenizer and recursive-descent parser for the `where` SQL subset, producing an AST.
 * Grammar (keywords case-insensitive):
 *   expr      := and (OR and)*
 *   and       := not (AND not)*
 *   not       := NOT not | '(' expr ')' | predicate
 *   predicate := operand ( cmpOp operand
 *                        | [NOT] IN '(' operand (',' operand)* ')'
 *                        | [NOT] LIKE operand [ESCAPE string]
 *                        | [NOT] BETWEEN operand AND operand
 *                        | IS [NOT] NULL )
 *   operand   := field | number | -number | 'string' | NULL | DATE 'x' | TIMESTAMP 'x'
 *              | UPPER(operand) | LOWER(operand)
 */
import { WHERE_KEYWORDS } from '../../core/protocol.js';
import { EmulatorQueryError } from '../types.js';

export type CmpOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type Operand =
  | { t: 'field'; name: string }
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 'null' }
  | { t: 'date'; v: number }
  | { t: 'fn'; name: 'UPPER' | 'LOWER'; arg: Operand };

export type WhereNode =
  | { t: 'and'; a: WhereNode; b: WhereNode }
  | { t: 'or'; a: WhereNode; b: WhereNode }
  | { t: 'not'; a: WhereNode }
  | { t: 'cmp'; op: CmpOp; l: Operand; r: Operand }
  | { t: 'in'; neg: boolean; l: Operand; list: Operand[] }
  | { t: 'like'; neg: boolean; l: Operand; pattern: Operand; escape: string | undefined }
  | { t: 'isnull'; neg: boolean; l: Operand }
  | { t: 'between'; neg: boolean; l: Operand; lo: Operand; hi: Operand };

type Token =
  | { k: 'num'; v: number; at: number }
  | { k: 'str'; v: string; at: number }
  | { k: 'id'; v: string; quoted: boolean; at: number }
  | { k: 'op'; v: string; at: number }
  | { k: 'end'; at: number };

/** The ArcGIS answer to an invalid `where`. */
export function invalidQuery(reason: string): EmulatorQueryError {
  return new EmulatorQueryError(400, 'Unable to complete operation.', ['Invalid query', reason]);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const at = i;
    if (ch === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length) throw invalidQuery(`unterminated string starting at ${at + 1}`);
        const c = text[i]!;
        if (c === "'") {
          if (text[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += c;
        i++;
      }
      tokens.push({ k: 'str', v, at });
      continue;
    }
    const num = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (num) {
      const after = text[i + num[0].length];
      if (after !== undefined && /[A-Za-z_]/.test(after)) {
        throw invalidQuery(`unexpected '${text.slice(i, i + num[0].length + 1)}' at ${at + 1}`);
      }
      tokens.push({ k: 'num', v: Number(num[0]), at });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_.$]*/.exec(text.slice(i));
    if (id) {
      tokens.push({ k: 'id', v: id[0], quoted: false, at });
      i += id[0].length;
      continue;
    }
    if (ch === '"' || ch === '[') {
      const close = ch === '"' ? '"' : ']';
      const end = text.indexOf(close, i + 1);
      if (end < 0) throw invalidQuery(`unterminated identifier at ${at + 1}`);
      tokens.push({ k: 'id', v: text.slice(i + 1, end), quoted: true, at });
      i = end + 1;
      continue;
    }
    const op = /^(?:<=|>=|<>|!=|=|<|>|\(|\)|,|-|\+)/.exec(text.slice(i));
    if (op) {
      tokens.push({ k: 'op', v: op[0] === '!=' ? '<>' : op[0], at });
      i += op[0].length;
      continue;
    }
    throw invalidQuery(`unexpected character '${ch}' at ${at + 1}`);
  }
  tokens.push({ k: 'end', at: text.length });
  return tokens;
}

/** Parses `DATE 'YYYY-MM-DD[ HH:MM:SS[.fff]]'` (UTC) to epoch ms. */
export function parseDateLiteral(text: string): number | undefined {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?Z?$/.exec(
    text.trim(),
  );
  if (!m) return undefined;
  const ms = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
    Number((m[7] ?? '0').padEnd(3, '0')),
  );
  return Number.isNaN(ms) ? undefined : ms;
}

class Parser {
  #pos = 0;
  constructor(readonly tokens: Token[]) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.#pos + offset, this.tokens.length - 1)]!;
  }
  next(): Token {
    const t = this.peek();
    if (this.#pos < this.tokens.length - 1) this.#pos++;
    return t;
  }
  isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.k === 'id' && !t.quoted && t.v.toUpperCase() === word;
  }
  isOp(op: string): boolean {
    const t = this.peek();
    return t.k === 'op' && t.v === op;
  }
  expectOp(op: string): void {
    if (!this.isOp(op)) throw this.unexpected(`expected '${op}'`);
    this.next();
  }
  expectKeyword(word: string): void {
    if (!this.isKeyword(word)) throw this.unexpected(`expected ${word}`);
    this.next();
  }
  unexpected(what: string): EmulatorQueryError {
    const t = this.peek();
    if (t.k === 'end') return invalidQuery(`${what}, found end of clause`);
    const shown = t.k === 'str' ? `'${t.v}'` : String(t.v);
    return invalidQuery(`${what}, found ${shown.slice(0, 40)} at ${t.at + 1}`);
  }

  parse(): WhereNode {
    const node = this.expr();
    if (this.peek().k !== 'end') throw this.unexpected('expected end of clause');
    return node;
  }

  expr(): WhereNode {
    let node = this.and();
    while (this.isKeyword('OR')) {
      this.next();
      node = { t: 'or', a: node, b: this.and() };
    }
    return node;
  }

  and(): WhereNode {
    let node = this.not();
    while (this.isKeyword('AND')) {
      this.next();
      node = { t: 'and', a: node, b: this.not() };
    }
    return node;
  }

  not(): WhereNode {
    if (this.isKeyword('NOT')) {
      this.next();
      return { t: 'not', a: this.not() };
    }
    if (this.isOp('(')) {
      this.next();
      const inner = this.expr();
      this.expectOp(')');
      return inner;
    }
    return this.predicate();
  }

  predicate(): WhereNode {
    const l = this.operand();
    const t = this.peek();
    if (t.k === 'op' && ['=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
      this.next();
      return { t: 'cmp', op: t.v as CmpOp, l, r: this.operand() };
    }
    if (this.isKeyword('IS')) {
      this.next();
      let neg = false;
      if (this.isKeyword('NOT')) {
        this.next();
        neg = true;
      }
      this.expectKeyword('NULL');
      return { t: 'isnull', neg, l };
    }
    let neg = false;
    if (this.isKeyword('NOT')) {
      this.next();
      neg = true;
    }
    if (this.isKeyword('IN')) {
      this.next();
      this.expectOp('(');
      const list = [this.operand()];
      while (this.isOp(',')) {
        this.next();
        list.push(this.operand());
      }
      this.expectOp(')');
      return { t: 'in', neg, l, list };
    }
    if (this.isKeyword('LIKE')) {
      this.next();
      const pattern = this.operand();
      let escapeChar: string | undefined;
      if (this.isKeyword('ESCAPE')) {
        this.next();
        const e = this.next();
        if (e.k !== 'str' || e.v.length !== 1) throw invalidQuery('ESCAPE needs a one-character string');
        escapeChar = e.v;
      }
      return { t: 'like', neg, l, pattern, escape: escapeChar };
    }
    if (this.isKeyword('BETWEEN')) {
      this.next();
      const lo = this.operand();
      this.expectKeyword('AND');
      const hi = this.operand();
      return { t: 'between', neg, l, lo, hi };
    }
    throw this.unexpected('expected a comparison');
  }

  operand(): Operand {
    const t = this.next();
    if (t.k === 'num') return { t: 'num', v: t.v };
    if (t.k === 'str') return { t: 'str', v: t.v };
    if (t.k === 'op' && (t.v === '-' || t.v === '+')) {
      const n = this.next();
      if (n.k !== 'num') throw invalidQuery(`expected a number after '${t.v}' at ${t.at + 1}`);
      return { t: 'num', v: t.v === '-' ? -n.v : n.v };
    }
    if (t.k === 'id') {
      const upper = t.v.toUpperCase();
      if (!t.quoted && (upper === 'DATE' || upper === 'TIMESTAMP') && this.peek().k === 'str') {
        const s = this.next() as { v: string };
        const v = parseDateLiteral(s.v);
        if (v === undefined) throw invalidQuery(`invalid date literal '${s.v.slice(0, 40)}'`);
        return { t: 'date', v };
      }
      if (!t.quoted && (upper === 'UPPER' || upper === 'LOWER') && this.isOp('(')) {
        this.next();
        const arg = this.operand();
        this.expectOp(')');
        return { t: 'fn', name: upper, arg };
      }
      if (!t.quoted && upper === 'NULL') return { t: 'null' };
      if (!t.quoted && WHERE_KEYWORDS.has(upper)) {
        throw invalidQuery(`unexpected keyword ${upper} at ${t.at + 1}`);
      }
      return { t: 'field', name: t.v };
    }
    if (t.k === 'end') throw invalidQuery('unexpected end of clause');
    throw invalidQuery(`unexpected '${String(t.v)}' at ${t.at + 1}`);
  }
}

/** Parses a where clause to an AST; throws EmulatorQueryError(400) on a syntax error. */
export function parseWhereAst(text: string): WhereNode {
  return new Parser(tokenize(text)).parse();
}
