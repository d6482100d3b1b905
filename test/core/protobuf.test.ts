import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { ProtoReader, ProtoWriter, WIRE_BYTES, WIRE_VARINT } from '../../src/core/protobuf.js';

const safeInt = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const zigzagInt = fc.integer({ min: -(2 ** 52), max: 2 ** 52 });

describe('protobuf wire format', () => {
  it('round-trips unsigned, zigzag and two-complement integers up to 2^53', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), zigzagInt, safeInt, (u, s, i) => {
        const w = new ProtoWriter(4);
        w.varint(u);
        w.svarint(s);
        w.int64(i);
        const r = new ProtoReader(w.finish());
        expect(r.varint()).toBe(u);
        expect(r.svarint()).toBe(s);
        expect(r.int64()).toBe(i);
        expect(r.pos).toBe(w.pos);
      }),
    );
  });

  it('reads zigzag integers at the edges of 31 and 32 bits exactly (the integer fast path and the double one)', () => {
    const edges = [0, -1, 1, -2, 2, 63, -64, 64, -65];
    for (const k of [30, 31, 32, 33]) {
      for (const d of [-2, -1, 0, 1]) edges.push(2 ** k + d, -(2 ** k) - d);
    }
    const w = new ProtoWriter(4);
    for (const s of edges) w.svarint(s);
    const r = new ProtoReader(w.finish());
    for (const s of edges) {
      const got = r.svarint();
      expect(got).toBe(s);
      expect(Object.is(got, -0)).toBe(false);
    }
  });

  it('encodes the reference bytes of the protobuf documentation', () => {
    const w = new ProtoWriter();
    w.varint(150);
    w.svarint(-1);
    w.svarint(1);
    w.int64(-1);
    expect([...w.finish()]).toEqual([0x96, 0x01, 0x01, 0x02, ...Array(9).fill(0xff), 0x01]);
  });

  it('round-trips strings (ASCII and not), doubles, floats and nested messages', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.double({ noNaN: true }), (s, d) => {
        const w = new ProtoWriter(2);
        w.message(3, (m) => {
          m.stringField(1, s);
          m.doubleField(2, d);
          m.floatField(3, 1.5);
        });
        const r = new ProtoReader(w.finish());
        expect(r.varint()).toBe(3 * 8 + WIRE_BYTES);
        const end = r.end();
        expect(r.varint()).toBe(1 * 8 + WIRE_BYTES);
        expect(r.string()).toBe(s);
        r.varint();
        expect(Object.is(r.double(), d)).toBe(true);
        r.varint();
        expect(r.float()).toBe(1.5);
        expect(r.pos).toBe(end);
      }),
    );
  });

  it('skips unknown fields of every wire type', () => {
    const w = new ProtoWriter();
    w.uintField(1, 300);
    w.doubleField(2, 1);
    w.stringField(3, 'skip me');
    w.floatField(4, 2);
    w.uintField(5, 7);
    const r = new ProtoReader(w.finish());
    for (let i = 0; i < 4; i++) {
      const tag = r.varint();
      r.skip(tag & 7);
    }
    expect(r.varint()).toBe(5 * 8 + WIRE_VARINT);
    expect(r.varint()).toBe(7);
  });

  it('reports a buffer cut short as TRUNCATED_RESPONSE, never reads past the end', () => {
    const w = new ProtoWriter();
    w.stringField(1, 'a string that will be cut');
    w.varint(2 ** 40);
    const whole = w.finish();
    for (let cut = 1; cut < whole.length; cut++) {
      const r = new ProtoReader(whole.subarray(0, cut));
      let error: unknown;
      try {
        r.varint();
        r.string();
        r.varint();
      } catch (e) {
        error = e;
      }
      expect(isEtlError(error, 'TRUNCATED_RESPONSE'), `cut at ${cut}`).toBe(true);
    }
  });

  it('refuses to zigzag-encode what would not survive the round trip', () => {
    expect(() => new ProtoWriter().svarint(2 ** 52 + 2)).toThrow(RangeError);
  });

  it('refuses an over-long varint and an unknown wire type as INVALID_RESPONSE', () => {
    expect(() => new ProtoReader(new Uint8Array(11).fill(0xff)).varint()).toThrow(/longer than 10 bytes/);
    expect(() => new ProtoReader(new Uint8Array([0])).skip(3)).toThrow(/wire type 3/);
  });
});
