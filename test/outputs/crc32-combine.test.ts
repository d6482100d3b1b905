import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32Combine } from '../../src/outputs/common/crc32-combine.js';

describe('crc32Combine', () => {
  it('is the CRC-32 of the two byte strings joined', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
        const joined = Buffer.concat([a, b]);
        expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(joined));
      }),
      { numRuns: 500 },
    );
  });

  it('holds for long second parts (lengths past 2^31 take the same path by halving)', () => {
    const a = Buffer.from('header');
    const b = Buffer.alloc(5_000_011, 0x20);
    expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
    expect(crc32Combine(crc32(a), 0, 0)).toBe(crc32(a));
  });
});
