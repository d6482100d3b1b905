import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoUtc } from '../../src/core/iso-time.js';

const DATE_RANGE = 8.64e15;

describe('isoUtc', () => {
  it('is Date.toISOString for any instant in the range of Date', () => {
    fc.assert(
      fc.property(fc.integer({ min: -DATE_RANGE, max: DATE_RANGE }), (ms) => {
        expect(isoUtc(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 20_000 },
    );
    // the years 0–9999, where the arithmetic path runs
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), (ms) => {
        expect(isoUtc(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 50_000 },
    );
  });

  it('agrees at the edges: leap days, century years, the epoch, the ends of the 4-digit years', () => {
    const cases = [
      0, -1, 1, 951_782_400_000 /* 2000-02-29 */, 4_107_542_400_000 /* 2100-03-01 */,
      -2_203_891_200_000 /* 1900-02-28 */, -62_167_219_200_000, -62_167_219_200_001, 253_402_300_799_999,
      253_402_300_800_000, 1_700_000_000_123.9, -1_700_000_000_123.9, -0,
    ];
    for (const ms of cases) expect(isoUtc(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('is undefined outside the range of Date, and for what is not a finite number', () => {
    expect(isoUtc(DATE_RANGE + 1)).toBeUndefined();
    expect(isoUtc(-DATE_RANGE - 1)).toBeUndefined();
    expect(isoUtc(Number.NaN)).toBeUndefined();
    expect(isoUtc(Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});
