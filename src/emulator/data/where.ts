/**
 * Compiles a `where` clause to a row predicate with SQL three-valued logic (a comparison with
 * NULL is unknown; only rows where the clause is TRUE match). Conjuncts that bound the OID
 * (`OBJECTID >= a AND OBJECTID <= b`, `BETWEEN`, `=`) become an OID range the caller
 * resolves by binary search; the rest is the residual predicate.
 */
import type { CellValue } from './store.js';
import {
  type CmpOp,
  invalidQuery,
  type Operand,
  parseDateLiteral,
  parseWhereAst,
  type WhereNode,
} from './where-parse.js';

export type ValueKind = 'number' | 'string' | 'date';

export interface WhereField {
  readonly name: string;
  readonly kind: ValueKind;
  get(row: number): CellValue;
}

export interface WhereSchema {
  /** Case-insensitive lookup. */
  field(name: string): WhereField | undefined;
  readonly oidField: string;
}

export type RowPredicate = (row: number) => boolean;

export interface CompiledWhere {
  /** Inclusive OID bounds (±Infinity when unbounded). */
  oidMin: number;
  oidMax: number;
  /** From `OBJECTID IN (...)` conjuncts: only these OIDs can match. */
  oidList: number[] | undefined;
  /** The part of the clause not covered by the OID range; undefined = every row. */
  residual: RowPredicate | undefined;
  /** True when the clause can never match (e.g. `1=0`). */
  never: boolean;
}

type Tri = boolean | null;
type TriFn = (row: number) => Tri;

interface CompiledNode {
  fn: TriFn;
  /** Set when the node's value does not depend on the row. */
  constant?: Tri;
}

type LitKind = ValueKind | 'null';

interface CompiledOperand {
  kind: LitKind;
  get: (row: number) => CellValue;
  /** Set for literals. */
  literal?: CellValue;
  /** An unresolved string literal (its kind adapts to the other side). */
  rawString?: string;
  fieldName?: string;
}

function constNode(v: Tri): CompiledNode {
  return { fn: () => v, constant: v };
}

function compileOperand(op: Operand, schema: WhereSchema): CompiledOperand {
  switch (op.t) {
    case 'num':
      return { kind: 'number', get: () => op.v, literal: op.v };
    case 'str':
      return { kind: 'string', get: () => op.v, literal: op.v, rawString: op.v };
    case 'null':
      return { kind: 'null', get: () => null, literal: null };
    case 'date':
      return { kind: 'date', get: () => op.v, literal: op.v };
    case 'field': {
      const f = schema.field(op.name);
      if (!f) throw invalidQuery(`Invalid field name '${op.name.slice(0, 64)}'`);
      return { kind: f.kind, get: (row) => f.get(row), fieldName: f.name };
    }
    case 'fn': {
      const arg = compileOperand(op.arg, schema);
      if (arg.kind !== 'string' && arg.kind !== 'null') throw invalidQuery(`${op.name}() needs a string`);
      const g = arg.get;
      const get =
        op.name === 'UPPER'
          ? (row: number) => {
              const v = g(row);
              return typeof v === 'string' ? v.toUpperCase() : v;
            }
          : (row: number) => {
              const v = g(row);
              return typeof v === 'string' ? v.toLowerCase() : v;
            };
      if (arg.literal !== undefined) {
        const lit = get(0);
        return { kind: arg.kind, get: () => lit, literal: lit };
      }
      return { kind: arg.kind, get };
    }
  }
}

/** Converts a literal so it can be compared with a value of `kind`. */
function coerce(o: CompiledOperand, kind: LitKind): CompiledOperand {
  if (o.kind === kind || o.literal === undefined || o.kind === 'null' || kind === 'null') return o;
  const lit = o.literal;
  if (kind === 'number' || kind === 'date') {
    if (o.kind === 'number' || o.kind === 'date') return { ...o, kind };
    const text = String(lit).trim();
    let v: number | undefined = text !== '' && Number.isFinite(Number(text)) ? Number(text) : undefined;
    if (v === undefined && kind === 'date') v = parseDateLiteral(text);
    if (v === undefined) throw invalidQuery(`'${text.slice(0, 40)}' is not a valid ${kind}`);
    const n = v;
    return { kind, get: () => n, literal: n };
  }
  // kind === 'string': compare a number literal with a string field as text
  const s = String(lit);
  return { kind, get: () => s, literal: s };
}

function unify(a: CompiledOperand, b: CompiledOperand): [CompiledOperand, CompiledOperand] {
  if (a.kind === b.kind || a.kind === 'null' || b.kind === 'null') return [a, b];
  if (a.literal === undefined && b.literal === undefined) {
    const numeric = (k: LitKind) => k === 'number' || k === 'date';
    if (numeric(a.kind) && numeric(b.kind)) return [a, b];
    throw invalidQuery(`cannot compare ${a.fieldName} (${a.kind}) with ${b.fieldName} (${b.kind})`);
  }
  if (a.literal === undefined) return [a, coerce(b, a.kind)];
  if (b.literal === undefined) return [coerce(a, b.kind), b];
  return a.kind === 'string' ? [coerce(a, b.kind), b] : [a, coerce(b, a.kind)];
}

function compare(a: CellValue, b: CellValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

const TESTS: Record<CmpOp, (c: number) => boolean> = {
  '=': (c) => c === 0,
  '<>': (c) => c !== 0,
  '<': (c) => c < 0,
  '<=': (c) => c <= 0,
  '>': (c) => c > 0,
  '>=': (c) => c >= 0,
};

function withConstant(fn: TriFn, operands: CompiledOperand[]): CompiledNode {
  return operands.every((o) => o.literal !== undefined) ? constNode(fn(0)) : { fn };
}

function compileCmp(op: CmpOp, l0: CompiledOperand, r0: CompiledOperand): CompiledNode {
  const [l, r] = unify(l0, r0);
  const test = TESTS[op];
  const lg = l.get;
  if (r.literal !== undefined && r.literal !== null && l.literal === undefined) {
    const c = r.literal;
    if (typeof c === 'number') {
      return {
        fn: (row) => {
          const v = lg(row);
          return v === null ? null : test(compare(v, c));
        },
      };
    }
  }
  const rg = r.get;
  return withConstant(
    (row) => {
      const a = lg(row);
      const b = rg(row);
      return a === null || b === null ? null : test(compare(a, b));
    },
    [l, r],
  );
}

function likeRegExp(pattern: string, escapeChar: string | undefined): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (escapeChar !== undefined && c === escapeChar && i + 1 < pattern.length) {
      re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'u');
}

function negate(fn: TriFn): TriFn {
  return (row) => {
    const v = fn(row);
    return v === null ? null : !v;
  };
}

/**
 * AND (dominant false) and OR (dominant true) in SQL three-valued logic: the dominant value wins,
 * else NULL if either side is NULL, else the other value.
 */
function junction(a: CompiledNode, b: CompiledNode, dominant: boolean): CompiledNode {
  if (a.constant === dominant || b.constant === dominant) return constNode(dominant);
  if (a.constant === !dominant) return b;
  if (b.constant === !dominant) return a;
  const fa = a.fn;
  const fb = b.fn;
  return {
    fn: (row) => {
      const x = fa(row);
      if (x === dominant) return dominant;
      const y = fb(row);
      if (y === dominant) return dominant;
      return x === null || y === null ? null : !dominant;
    },
  };
}

function compileNode(node: WhereNode, schema: WhereSchema): CompiledNode {
  switch (node.t) {
    case 'and':
      return junction(compileNode(node.a, schema), compileNode(node.b, schema), false);
    case 'or':
      return junction(compileNode(node.a, schema), compileNode(node.b, schema), true);
    case 'not': {
      const a = compileNode(node.a, schema);
      if (a.constant !== undefined) return constNode(a.constant === null ? null : !a.constant);
      return { fn: negate(a.fn) };
    }
    case 'cmp':
      return compileCmp(node.op, compileOperand(node.l, schema), compileOperand(node.r, schema));
    case 'isnull': {
      const l = compileOperand(node.l, schema);
      const g = l.get;
      const neg = node.neg;
      return withConstant((row) => (g(row) === null) !== neg, [l]);
    }
    case 'between': {
      const both = compileNode(
        {
          t: 'and',
          a: { t: 'cmp', op: '>=', l: node.l, r: node.lo },
          b: { t: 'cmp', op: '<=', l: node.l, r: node.hi },
        },
        schema,
      );
      if (!node.neg) return both;
      if (both.constant !== undefined) return constNode(both.constant === null ? null : !both.constant);
      return { fn: negate(both.fn) };
    }
    case 'in': {
      const l = compileOperand(node.l, schema);
      const items = node.list.map((o) => compileOperand(o, schema));
      if (items.some((i) => i.literal === undefined)) {
        // general form: l = a OR l = b ...
        const ors = items.map((i) => compileCmp('=', l, i));
        const fns = ors.map((o) => o.fn);
        const fn: TriFn = (row) => {
          let unknown = false;
          for (const f of fns) {
            const v = f(row);
            if (v === true) return true;
            if (v === null) unknown = true;
          }
          return unknown ? null : false;
        };
        return { fn: node.neg ? negate(fn) : fn };
      }
      const set = new Set<CellValue>();
      for (const item of items) {
        if (item.kind === 'null') continue;
        const [, c] = unify(l, item);
        set.add(c.literal ?? null);
      }
      const g = l.get;
      const neg = node.neg;
      return withConstant(
        (row) => {
          const v = g(row);
          if (v === null) return null;
          return set.has(v) !== neg;
        },
        [l],
      );
    }
    case 'like': {
      const l = compileOperand(node.l, schema);
      const p = compileOperand(node.pattern, schema);
      if (p.literal === undefined || p.kind === 'null') throw invalidQuery('LIKE needs a string pattern');
      const re = likeRegExp(String(p.literal), node.escape);
      const g = l.get;
      const neg = node.neg;
      return withConstant(
        (row) => {
          const v = g(row);
          if (v === null) return null;
          return re.test(String(v)) !== neg;
        },
        [l],
      );
    }
  }
}

/** Splits the top-level AND chain. */
function conjuncts(node: WhereNode, out: WhereNode[] = []): WhereNode[] {
  if (node.t === 'and') {
    conjuncts(node.a, out);
    conjuncts(node.b, out);
  } else out.push(node);
  return out;
}

const FLIP: Record<CmpOp, CmpOp> = { '=': '=', '<>': '<>', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

function oidLiteral(o: Operand): number | undefined {
  if (o.t === 'num') return o.v;
  if (o.t === 'str' && o.v.trim() !== '' && Number.isFinite(Number(o.v))) return Number(o.v);
  return undefined;
}

interface OidConstraint {
  min: number;
  max: number;
  list: number[] | undefined;
}

/** Applies an OID bound or OID IN list conjunct; false when the conjunct is neither. */
function applyBound(node: WhereNode, schema: WhereSchema, range: OidConstraint): boolean {
  const isOid = (o: Operand) => o.t === 'field' && o.name.toLowerCase() === schema.oidField.toLowerCase();
  if (node.t === 'in' && !node.neg && isOid(node.l)) {
    const values = node.list.map(oidLiteral);
    if (values.some((v) => v === undefined)) return false;
    const list = values as number[];
    range.list = range.list === undefined ? list : range.list.filter((v) => list.includes(v));
    return true;
  }
  const bound = (op: CmpOp, v: number): boolean => {
    switch (op) {
      case '=':
        if (Number.isInteger(v)) {
          range.min = Math.max(range.min, v);
          range.max = Math.min(range.max, v);
        } else {
          range.min = Number.POSITIVE_INFINITY;
        }
        return true;
      case '>=':
        range.min = Math.max(range.min, Math.ceil(v));
        return true;
      case '>':
        range.min = Math.max(range.min, Math.floor(v) + 1);
        return true;
      case '<=':
        range.max = Math.min(range.max, Math.floor(v));
        return true;
      case '<':
        range.max = Math.min(range.max, Math.ceil(v) - 1);
        return true;
      default:
        return false;
    }
  };
  if (node.t === 'cmp') {
    if (isOid(node.l)) {
      const v = oidLiteral(node.r);
      return v !== undefined && bound(node.op, v);
    }
    if (isOid(node.r)) {
      const v = oidLiteral(node.l);
      return v !== undefined && bound(FLIP[node.op], v);
    }
    return false;
  }
  if (node.t === 'between' && !node.neg && isOid(node.l)) {
    const lo = oidLiteral(node.lo);
    const hi = oidLiteral(node.hi);
    if (lo === undefined || hi === undefined) return false;
    bound('>=', lo);
    bound('<=', hi);
    return true;
  }
  return false;
}

/** Compiles a where clause (empty = `1=1`). Throws EmulatorQueryError(400) when invalid. */
export function compileWhere(where: string | undefined, schema: WhereSchema): CompiledWhere {
  const text = (where ?? '').trim();
  const range: OidConstraint = {
    min: Number.NEGATIVE_INFINITY,
    max: Number.POSITIVE_INFINITY,
    list: undefined,
  };
  if (text === '') {
    return { oidMin: range.min, oidMax: range.max, oidList: undefined, residual: undefined, never: false };
  }
  const ast = parseWhereAst(text);
  // compile the whole clause first, so that unknown fields anywhere are reported
  const whole = compileNode(ast, schema);
  const rest: WhereNode[] = [];
  for (const c of conjuncts(ast)) if (!applyBound(c, schema, range)) rest.push(c);
  let residual: CompiledNode = constNode(true);
  if (rest.length > 0) {
    const node = rest.reduce((a, b) => ({ t: 'and', a, b }));
    residual = rest.length === conjuncts(ast).length ? whole : compileNode(node, schema);
  }
  const never =
    residual.constant === false ||
    residual.constant === null ||
    range.min > range.max ||
    range.list?.length === 0;
  const fn = residual.fn;
  return {
    oidMin: range.min,
    oidMax: range.max,
    oidList: range.list,
    residual: residual.constant !== undefined ? undefined : (row) => fn(row) === true,
    never,
  };
}
