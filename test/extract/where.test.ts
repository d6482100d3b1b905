import { describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { featureOid, sortedUniqueOids, toOid } from '../../src/features/oid.js';
import { buildWhere, sqlOid, validateFieldName } from '../../src/features/where.js';

const fields = [
  { name: 'OBJECTID', type: 'esriFieldTypeOID' },
  { name: 'SHAPE.fid', type: 'esriFieldTypeInteger' },
  { name: 'Name', type: 'esriFieldTypeString' },
];

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isEtlError(error) ? error.code : 'other';
  }
  return undefined;
}

describe('where builder', () => {
  it('parenthesises the user clause so OR cannot escape the OID bounds', () => {
    expect(buildWhere({ userWhere: "a = 1 OR b = 'x'", oidField: 'OBJECTID', min: 10, max: 20 })).toBe(
      "(a = 1 OR b = 'x') AND OBJECTID >= 10 AND OBJECTID <= 20",
    );
  });

  it('answers 1=1 with nothing to restrict, and drops a 1=1 user clause', () => {
    expect(buildWhere({ oidField: 'OBJECTID' })).toBe('1=1');
    expect(buildWhere({ userWhere: ' 1=1 ', oidField: 'OBJECTID', after: 5 })).toBe('OBJECTID > 5');
  });

  it('accepts dotted field names and floats that are integers', () => {
    expect(buildWhere({ oidField: 'SHAPE.fid', min: 12.0, max: 410106100035 })).toBe(
      'SHAPE.fid >= 12 AND SHAPE.fid <= 410106100035',
    );
  });

  it('rejects injected field names and non-integer OIDs', () => {
    expect(code(() => buildWhere({ oidField: 'OBJECTID; DROP TABLE x', min: 1 }))).toBe('USAGE');
    expect(code(() => buildWhere({ oidField: '1ABC' }))).toBe('USAGE');
    expect(code(() => sqlOid(12.5))).toBe('USAGE');
    expect(code(() => sqlOid('1 OR 1=1'))).toBe('USAGE');
    expect(code(() => sqlOid(2 ** 53 + 2))).toBe('USAGE');
    expect(code(() => sqlOid(Number.NaN))).toBe('USAGE');
  });

  it('validates fields against the layer (case-insensitive match returns the layer spelling)', () => {
    expect(validateFieldName('name', fields)).toBe('Name');
    expect(code(() => validateFieldName('Missing', fields))).toBe('USAGE');
  });
});

describe('object ids', () => {
  it('accepts integer floats and numeric strings, rejects the rest', () => {
    expect(toOid(6.4579816e7)).toBe(64579816);
    expect(toOid('17')).toBe(17);
    expect(toOid(1.5)).toBeUndefined();
    expect(toOid(null)).toBeUndefined();
    expect(toOid('')).toBeUndefined();
  });

  it('finds the OID attribute whatever its case', () => {
    expect(featureOid({ objectid: 3 }, 'OBJECTID')).toBe(3);
    expect(code(() => featureOid({ other: 3 }, 'OBJECTID'))).toBe('INVALID_RESPONSE');
  });

  it('sorts and de-duplicates ids into a Float64Array', () => {
    const ids = sortedUniqueOids([5, 3, 410106100009, 3, 1.0, 5]);
    expect(ids).toBeInstanceOf(Float64Array);
    expect([...ids]).toEqual([1, 3, 5, 410106100009]);
  });
});

describe('the user where clause stays inside its parentheses', () => {
  it('refuses clauses that would escape the OID bounds or comment them out', () => {
    for (const where of [
      'a = 1) OR (a = 1',
      'a = 1 --',
      'a = 1; DROP TABLE x',
      'a = (1',
      "a = 'x",
      'a /* x */ = 1',
    ]) {
      expect(code(() => buildWhere({ userWhere: where, oidField: 'OBJECTID', min: 1, max: 9 }))).toBe(
        'USAGE',
      );
    }
  });

  it('accepts parentheses, semicolons and dashes inside strings', () => {
    expect(buildWhere({ userWhere: "name = 'a) OR (b; --'", oidField: 'OBJECTID', min: 1 })).toBe(
      "(name = 'a) OR (b; --') AND OBJECTID >= 1",
    );
    expect(buildWhere({ userWhere: '(a = 1 OR b = 2) AND c IN (1, 2)', oidField: 'OBJECTID' })).toBe(
      '((a = 1 OR b = 2) AND c IN (1, 2))',
    );
  });

  it('refuses SQL keywords as field names', () => {
    for (const name of ['NULL', 'not', 'And', 'DATE'])
      expect(code(() => validateFieldName(name))).toBe('USAGE');
  });
});
