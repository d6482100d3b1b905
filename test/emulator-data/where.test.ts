import { describe, expect, it } from 'vitest';
import type { CellValue } from '../../src/emulator/data/store.js';
import { compileWhere, type WhereField, type WhereSchema } from '../../src/emulator/data/where.js';
import { EmulatorQueryError } from '../../src/emulator/types.js';

interface Row {
  OBJECTID: number;
  name: string | null;
  n: number | null;
  d: number | null;
}

const rows: Row[] = [
  { OBJECTID: 1, name: 'alpha', n: 1, d: Date.UTC(2020, 0, 1) },
  { OBJECTID: 2, name: "O'Brien", n: 2.5, d: Date.UTC(2021, 5, 15, 12, 30) },
  { OBJECTID: 5, name: 'Beta_1', n: null, d: null },
  { OBJECTID: 7, name: null, n: -3, d: Date.UTC(2019, 11, 31) },
  { OBJECTID: 10, name: '100%', n: 10, d: Date.UTC(2022, 0, 1) },
  { OBJECTID: 11, name: 'x; DROP TABLE t --', n: 0, d: Date.UTC(2022, 0, 2) },
];

const schema: WhereSchema = {
  oidField: 'OBJECTID',
  field(name: string): WhereField | undefined {
    const key = (['OBJECTID', 'name', 'n', 'd'] as const).find((k) => k.toLowerCase() === name.toLowerCase());
    if (!key) return undefined;
    const kind = key === 'name' ? 'string' : key === 'd' ? 'date' : 'number';
    return { name: key, kind, get: (row: number): CellValue => rows[row]![key] };
  },
};

/** The OIDs a clause matches (OID range applied like the selector does). */
function match(where: string): number[] {
  const c = compileWhere(where, schema);
  if (c.never) return [];
  return rows
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.OBJECTID >= c.oidMin && r.OBJECTID <= c.oidMax)
    .filter(({ r }) => c.oidList === undefined || c.oidList.includes(r.OBJECTID))
    .filter(({ i }) => !c.residual || c.residual(i))
    .map(({ r }) => r.OBJECTID);
}

function fails(where: string): EmulatorQueryError {
  try {
    compileWhere(where, schema);
  } catch (e) {
    expect(e).toBeInstanceOf(EmulatorQueryError);
    const err = e as EmulatorQueryError;
    expect(err.code).toBe(400);
    expect(err.message).toBe('Unable to complete operation.');
    expect(err.details[0]).toBe('Invalid query');
    return err;
  }
  throw new Error(`expected ${where} to be rejected`);
}

const ALL = [1, 2, 5, 7, 10, 11];

describe('where parser', () => {
  it.each([
    ['', ALL],
    ['1=1', ALL],
    ['1=0', []],
    ['1 = 1 AND n > 0', [1, 2, 10]],
    ['n = 2.5', [2]],
    ['n <> 1', [2, 7, 10, 11]],
    ['n != 1', [2, 7, 10, 11]],
    ['n < 0', [7]],
    ['n <= 1', [1, 7, 11]],
    ['n >= -3', [1, 2, 7, 10, 11]],
    ['n > -3.5', [1, 2, 7, 10, 11]],
    ["name = 'alpha'", [1]],
    ["name = 'O''Brien'", [2]],
    ["name > 'a'", [1, 11]],
    ["NAME = 'alpha'", [1]],
    ["name = 'ALPHA'", []],
    ["UPPER(name) = 'ALPHA'", [1]],
    ["lower(name) LIKE 'o''b%'", [2]],
    ['n = 1 OR n = 10', [1, 10]],
    ['n = 1 AND n = 10', []],
    ['NOT n = 1', [2, 7, 10, 11]],
    ['NOT (n = 1 OR n = 10)', [2, 7, 11]],
    ['(n = 1 OR n = 10) AND OBJECTID > 5', [10]],
    ['n = 1 OR n = 10 AND OBJECTID > 5', [1, 10]],
    ['n IN (1, 10, 99)', [1, 10]],
    ['n NOT IN (1, 10)', [2, 7, 11]],
    ["name IN ('alpha', 'Beta_1')", [1, 5]],
    ["name LIKE 'a%'", [1]],
    ["name LIKE '%a%'", [1, 5]],
    ["name LIKE 'Beta__'", [5]],
    ["name LIKE 'Beta\\_%' ESCAPE '\\'", [5]],
    ["name LIKE '100!%' ESCAPE '!'", [10]],
    ["name LIKE '100%'", [10]],
    ["name NOT LIKE '%a%'", [2, 10, 11]],
    ['name IS NULL', [7]],
    ['name IS NOT NULL', [1, 2, 5, 10, 11]],
    ['n IS NULL OR name IS NULL', [5, 7]],
    ['n BETWEEN 0 AND 2.5', [1, 2, 11]],
    ['n NOT BETWEEN 0 AND 2.5', [7, 10]],
    ["d >= DATE '2021-01-01'", [2, 10, 11]],
    ["d < TIMESTAMP '2020-01-01 00:00:01'", [1, 7]],
    ["d = '2020-01-01'", [1]],
    [`d > ${Date.UTC(2021, 11, 31)}`, [10, 11]],
    ['"n" = 10', [10]],
    ['[name] IS NULL', [7]],
    // SQL three-valued logic: NULL compares unknown, NOT unknown is unknown
    ['NOT n > 1', [1, 7, 11]],
    ['n = NULL', []],
    ['NOT (n = NULL)', []],
    ['n > 100 OR name IS NULL', [7]],
    // "injections" are just strings
    ["name = 'x; DROP TABLE t --'", [11]],
    ["name = 'a'' OR ''1''=''1'", []],
    ["name = 'alpha' OR '1'='1'", ALL],
  ])('%s', (where, expected) => {
    expect(match(where)).toEqual(expected);
  });

  it.each([
    ['n ='],
    ['n = = 1'],
    ["name = 'unterminated"],
    ['(n = 1'],
    ['n = 1)'],
    ['n = 1; DROP TABLE x'],
    ['n = 1 -- comment'],
    ['n = 1 /* c */'],
    ['n IN ()'],
    ['n LIKE 5 ESCAPE'],
    ['n BETWEEN 1'],
    ['AND n = 1'],
    ['n'],
    ['1'],
    ["d = DATE 'yesterday'"],
    ["n = 'abc'"],
    ['n IS 5'],
    ['n = 1 AND'],
    ['n = 1 OR OR n = 2'],
    ['12abc = 1'],
    ['"unterminated = 1'],
  ])('rejects %s', (where) => {
    fails(where);
  });

  it('rejects unknown fields, naming them', () => {
    const err = fails('nope = 1');
    expect(err.details.join(' ')).toContain('nope');
    fails('n = 1 OR missing IS NULL');
    fails("UPPER(nope) = 'A'");
  });

  it('turns OID bounds into a range with no residual predicate (fast path)', () => {
    const c = compileWhere('OBJECTID >= 100 AND OBJECTID <= 2099', schema);
    expect([c.oidMin, c.oidMax, c.residual, c.never]).toEqual([100, 2099, undefined, false]);
    const strict = compileWhere('objectid > 100.5 AND 2000 > OBJECTID', schema);
    expect([strict.oidMin, strict.oidMax, strict.residual]).toEqual([101, 1999, undefined]);
    const between = compileWhere('1=1 AND OBJECTID BETWEEN 5 AND 9', schema);
    expect([between.oidMin, between.oidMax, between.residual]).toEqual([5, 9, undefined]);
    const eq = compileWhere('OBJECTID = 7', schema);
    expect([eq.oidMin, eq.oidMax]).toEqual([7, 7]);
    const empty = compileWhere('OBJECTID > 10 AND OBJECTID < 5', schema);
    expect(empty.never).toBe(true);
  });

  it('turns OBJECTID IN (...) into an OID list', () => {
    const c = compileWhere('OBJECTID IN (1, 5, 99)', schema);
    expect([c.oidList, c.residual]).toEqual([[1, 5, 99], undefined]);
    expect(match('OBJECTID IN (1, 5, 99)')).toEqual([1, 5]);
    expect(match("OBJECTID IN (1, 5) AND objectid IN (5, '7') AND n IS NULL")).toEqual([5]);
    expect(compileWhere('OBJECTID IN (1) AND OBJECTID IN (2)', schema).never).toBe(true);
    expect(compileWhere('OBJECTID NOT IN (1)', schema).oidList).toBeUndefined();
    expect(match('OBJECTID NOT IN (1, 2)')).toEqual([5, 7, 10, 11]);
  });

  it('keeps other conjuncts as the residual and does not range-ify ORs', () => {
    const c = compileWhere("OBJECTID >= 2 AND name LIKE '%a%'", schema);
    expect([c.oidMin, c.oidMax]).toEqual([2, Number.POSITIVE_INFINITY]);
    expect(c.residual).toBeTypeOf('function');
    expect(match("OBJECTID >= 2 AND name LIKE '%a%'")).toEqual([5]);
    const or = compileWhere('OBJECTID < 2 OR OBJECTID > 10', schema);
    expect([or.oidMin, or.oidMax]).toEqual([Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]);
    expect(match('OBJECTID < 2 OR OBJECTID > 10')).toEqual([1, 11]);
    expect(match('NOT OBJECTID >= 5')).toEqual([1, 2]);
  });
});
