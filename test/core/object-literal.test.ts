import { describe, expect, it } from 'vitest';
import { literalMaker } from '../../src/core/object-literal.js';

describe('literalMaker', () => {
  it('values: the values in key order, keys in that order', () => {
    const make = literalMaker(['b', 'a', 'c'], 'values')!;
    const made = make([1, null, 'x']);
    expect(made).toStrictEqual({ b: 1, a: null, c: 'x' });
    expect(Object.keys(made)).toEqual(['b', 'a', 'c']);
  });

  it('fields: copies the keys of an object, a missing or undefined one as null, nothing else', () => {
    const make = literalMaker(['name', 'missing', 'gone', 'zero'], 'fields')!;
    const made = make({ name: 'x', gone: undefined, zero: 0, extra: 1 });
    expect(made).toStrictEqual({ name: 'x', missing: null, gone: null, zero: 0 });
    expect(Object.keys(made)).toEqual(['name', 'missing', 'gone', 'zero']);
  });

  it('reads any key as a string, never as code', () => {
    const odd = ['a"b\\c', '"}); throw new Error("injected"); ({"', 'é😀', '', ' ', 'constructor'];
    const values = literalMaker(odd, 'values')!;
    expect(Object.keys(values([1, 2, 3, 4, 5, 6]))).toEqual(odd);
    const fields = literalMaker(odd, 'fields')!;
    const source = Object.fromEntries(odd.map((k, i) => [k, i]));
    expect(fields(source)).toStrictEqual(source);
  });

  it('leaves a __proto__ key, or no key, to the caller (a literal key would set the prototype)', () => {
    expect(literalMaker(['a', '__proto__'], 'values')).toBeNull();
    expect(literalMaker(['__proto__'], 'fields')).toBeNull();
    expect(literalMaker([], 'fields')).toBeNull();
  });

  it('makes one function per mode and key list', () => {
    expect(literalMaker(['x', 'y'], 'fields')).toBe(literalMaker(['x', 'y'], 'fields'));
    expect(literalMaker(['x', 'y'], 'fields')).not.toBe(literalMaker(['x', 'y'], 'values'));
  });
});
