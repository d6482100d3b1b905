/**
 * Property tests of the where-clause builder (src/features/where.ts) against the emulator's where
 * parser (src/emulator/data/where-parse.ts): no injection through OIDs or field names. A random
 * field name or OID is either refused (USAGE) or produces a clause that parses into exactly the
 * intended comparisons; a user clause can never lift the OID bounds around it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EtlError } from '../../src/core/errors.js';
import { parseWhereAst, type WhereNode } from '../../src/emulator/data/where-parse.js';
import { buildWhere, sqlOid } from '../../src/features/where.js';
import { RUNS, SEED } from './leak.js';

const params = { seed: SEED, numRuns: RUNS };

/** The keywords and function names of the where grammar. */
const RESERVED = [
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'IS',
  'NULL',
  'BETWEEN',
  'ESCAPE',
  'DATE',
  'TIMESTAMP',
  'and',
  'Or',
  'null',
];

const plainName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.]{0,24}$/).filter((n) => !isReserved(n));

const fieldNameArb = fc.oneof(
  { weight: 3, arbitrary: plainName },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        plainName,
        fc.constantFrom(' ', ';', "'", '"', ')', '(', '--', '/*', '=', ' OR 1=1', '\n', '[', '$'),
        plainName,
      )
      .map(([a, b, c]) => `${a}${b}${c}`),
  },
);

const oidArb = fc.oneof(
  fc.integer({ min: -1000, max: 2 ** 31 + 1000 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.double(),
  fc.constantFrom(
    12.0,
    2 ** 31,
    2 ** 31 + 0.5,
    2 ** 53,
    2 ** 53 + 2,
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ),
  fc.string({ maxLength: 20 }),
  fc.constantFrom('12', ' 12 ', '12.0', '1e3', '0x10', '1 OR 1=1', '1; DROP TABLE x', '', 'Infinity', '-5'),
  fc.anything(),
);

function isReserved(name: string): boolean {
  return RESERVED.some((r) => r.toUpperCase() === name.toUpperCase());
}

function cmp(name: string, op: '>' | '>=' | '<=', v: number): WhereNode {
  return { t: 'cmp', op, l: { t: 'field', name }, r: { t: 'num', v } };
}

/** The AST the builder must produce for the OID bounds (left-associative AND chain). */
function expectedBounds(name: string, bounds: { after?: number; min?: number; max?: number }): WhereNode {
  const parts: WhereNode[] = [];
  if (bounds.after !== undefined) parts.push(cmp(name, '>', bounds.after));
  if (bounds.min !== undefined) parts.push(cmp(name, '>=', bounds.min));
  if (bounds.max !== undefined) parts.push(cmp(name, '<=', bounds.max));
  return parts.slice(1).reduce<WhereNode>((a, b) => ({ t: 'and', a, b }), parts[0]!);
}

/** Runs the builder: the clause, or the USAGE refusal (anything else fails the test). */
function build(fn: () => string): string | undefined {
  try {
    return fn();
  } catch (error) {
    if (error instanceof EtlError && error.code === 'USAGE') return undefined;
    throw error;
  }
}

/** Normalises -0 to 0 (the clause `OID >= 0` parses to +0). */
function num(v: number): number {
  return v === 0 ? 0 : v;
}

describe('where builder properties', () => {
  it('an OID is refused or written as exactly that safe integer', () => {
    fc.assert(
      fc.property(oidArb, (value) => {
        const text = build(() => sqlOid(value));
        if (text === undefined) return;
        expect(text).toMatch(/^-?\d+$/);
        const n = Number(text);
        expect(Number.isSafeInteger(n)).toBe(true);
        const ast = parseWhereAst(`OBJECTID >= ${text}`);
        expect(ast).toEqual(cmp('OBJECTID', '>=', n));
      }),
      params,
    );
  });

  it('random OIDs and plain field names give exactly the intended comparisons', () => {
    fc.assert(
      fc.property(
        plainName,
        fc.record({ after: oidArb, min: oidArb, max: oidArb }, { requiredKeys: [] }),
        (name, bounds) => {
          // random values on purpose: the builder must refuse what is not a safe integer
          const parts = bounds as { after?: number; min?: number; max?: number };
          const clause = build(() => buildWhere({ oidField: name, ...parts }));
          if (clause === undefined) return;
          const given = Object.entries(bounds).filter(([, v]) => v !== undefined);
          if (given.length === 0) {
            expect(clause).toBe('1=1');
            return;
          }
          const numeric = Object.fromEntries(given.map(([k, v]) => [k, num(Number(sqlOid(v)))]));
          expect(parseWhereAst(clause)).toEqual(expectedBounds(name, numeric));
        },
      ),
      params,
    );
  });

  it('a random field name is refused or compared as itself, never as something else', () => {
    fc.assert(
      fc.property(
        fieldNameArb.filter((n) => !isReserved(n)),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (name, oid) => {
          const clause = build(() => buildWhere({ oidField: name, min: oid, max: oid + 10 }));
          if (clause === undefined) return;
          expect(parseWhereAst(clause)).toEqual(expectedBounds(name, { min: oid, max: oid + 10 }));
        },
      ),
      params,
    );
  });

  it('a field named like an SQL keyword (NULL, NOT, AND, DATE…) is refused or compared as that field', () => {
    for (const name of RESERVED) {
      const clause = build(() => buildWhere({ oidField: name, min: 1, max: 5 }));
      if (clause === undefined) continue;
      let ast: WhereNode | string;
      try {
        ast = parseWhereAst(clause);
      } catch (error) {
        ast = `parse error: ${(error as Error).message}`;
      }
      expect(ast, `oidField ${name} → ${clause}`).toEqual(expectedBounds(name, { min: 1, max: 5 }));
    }
  });

  it('a user clause cannot lift the OID bounds (unbalanced parentheses included)', () => {
    const fragment = fc.constantFrom(
      'a = 1',
      '1=1',
      ')',
      '(',
      ' OR ',
      ' AND ',
      'NOT ',
      "name = 'x)'",
      "name = '('",
      'b IN (1, 2)',
      '"odd)name" = 3',
      ' ',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(fragment, { minLength: 1, maxLength: 8 }).map((parts) => parts.join('')),
          // the classic escape: close the builder's parenthesis, OR, reopen it
          fc
            .tuple(fragment, fc.constantFrom(') OR (', ')) OR ((', ') OR NOT ('), fragment)
            .map(([a, op, b]) => `${a}${op}${b}`),
        ),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (userWhere, min) => {
          const clause = build(() => buildWhere({ userWhere, oidField: 'OBJECTID', min, max: min + 99 }));
          if (clause === undefined) return;
          let ast: WhereNode;
          try {
            ast = parseWhereAst(clause);
          } catch {
            return; // the server refuses the clause: nothing is returned, nothing escapes
          }
          if (clause === expectedClause('OBJECTID', min)) return;
          // ((user) AND OID >= min) AND OID <= max: the bounds are top-level conjuncts
          expect(ast.t, clause).toBe('and');
          const root = ast as Extract<WhereNode, { t: 'and' }>;
          expect(root.b).toEqual(cmp('OBJECTID', '<=', min + 99));
          expect(root.a.t, clause).toBe('and');
          expect((root.a as Extract<WhereNode, { t: 'and' }>).b).toEqual(cmp('OBJECTID', '>=', min));
        },
      ),
      params,
    );
  });
});

function expectedClause(name: string, min: number): string {
  return `${name} >= ${min} AND ${name} <= ${min + 99}`;
}
