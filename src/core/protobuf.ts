/**
 * The Protocol Buffers wire format, as small as ArcGIS `f=pbf` needs: a reader over a byte array
 * (varints up to 64 bits as JavaScript numbers, zigzag, fixed 32/64-bit floats, length-delimited
 * fields) and a growable writer. No schema, no code generation: callers walk the tags themselves.
 *
 * Numbers above 2^53 lose precision (as JSON numbers do), zigzag ones above 2^52; nothing ArcGIS
 * sends in PBF gets there (quantized coordinates, dates and object ids stay far below).
 */
import { Buffer } from 'node:buffer';
import { EtlError } from './errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

const TWO_32 = 4294967296;

function truncated(at: number, length: number): EtlError {
  return new EtlError(
    'TRUNCATED_RESPONSE',
    `Protocol buffer cut short: a field at byte ${at} runs past the end (${length} bytes)`,
  );
}

function malformed(message: string): EtlError {
  return new EtlError('INVALID_RESPONSE', `Malformed protocol buffer: ${message}`);
}

/** A bigint as a number when that is exact. */
function exactNumber(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** Bytes of the varint of a 64-bit integer (two's complement for a negative one). */
export function bigVarintSize(value: bigint): number {
  let v = BigInt.asUintN(64, value);
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

export class ProtoReader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly #view: DataView;
  /** The same bytes as a Buffer (no copy): Node's native UTF-8 decoding for strings. */
  readonly #text: Buffer;

  constructor(bytes: Uint8Array, start = 0) {
    this.bytes = bytes;
    this.pos = start;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** An unsigned varint (up to 64 bits; exact below 2^53). */
  varint(): number {
    const b = this.bytes;
    let pos = this.pos;
    if (pos >= b.length) throw truncated(pos, b.length);
    let byte = b[pos++]!;
    let value = byte & 0x7f;
    if (byte < 0x80) {
      this.pos = pos;
      return value;
    }
    // low 28 bits with shifts, then multiplications (no 32-bit overflow)
    for (let shift = 7; shift < 28; shift += 7) {
      if (pos >= b.length) throw truncated(pos, b.length);
      byte = b[pos++]!;
      value |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = pos;
        return value;
      }
    }
    let factor = 268435456; // 2^28
    for (let i = 4; i < 10; i++) {
      if (pos >= b.length) throw truncated(pos, b.length);
      byte = b[pos++]!;
      value += (byte & 0x7f) * factor;
      if (byte < 0x80) {
        this.pos = pos;
        return value;
      }
      factor *= 128;
    }
    throw malformed(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  /**
   * A 64-bit varint as its exact 64 bits: a number when it is a safe integer, else a bigint
   * (`signed`: two's complement, int64; else uint64). Varints up to 7 bytes take the number path.
   */
  varint64Exact(signed: boolean): number | bigint {
    const b = this.bytes;
    const start = this.pos;
    let len = 0;
    for (;;) {
      if (start + len >= b.length) throw truncated(start + len, b.length);
      if (b[start + len]! < 0x80) break;
      if (++len === 10) throw malformed(`varint longer than 10 bytes at byte ${start}`);
    }
    if (len < 7) return this.varint();
    let v = 0n;
    for (let i = len; i >= 0; i--) v = (v << 7n) | BigInt(b[start + i]! & 0x7f);
    this.pos = start + len + 1;
    v = signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v);
    return exactNumber(v);
  }

  /** A zigzag sint64 exactly: a number when it is a safe integer, else a bigint. */
  svarint64Exact(): number | bigint {
    const n = this.varint64Exact(false);
    if (typeof n === 'number') return n % 2 === 1 ? (n + 1) / -2 : n / 2;
    return exactNumber((n >> 1n) ^ -(n & 1n));
  }

  /** A zigzag-encoded signed varint (sint32 / sint64). */
  svarint(): number {
    const n = this.varint();
    // within 31 bits (every delta of a coordinate), with integer operations: the double `%` and
    // divisions below cost a third of the decoding of a polygon page
    if (n <= 0x7fffffff) return (n >>> 1) ^ -(n & 1);
    // n % 2 rather than n & 1: n may exceed 32 bits
    return n % 2 === 1 ? (n + 1) / -2 : n / 2;
  }

  /** A two's-complement int64 (negative values take 10 bytes on the wire). */
  int64(): number {
    const start = this.pos;
    const b = this.bytes;
    // read the raw 64 bits as two 32-bit halves
    let lo = 0;
    let hi = 0;
    let i = 0;
    let pos = start;
    for (; i < 10; i++) {
      if (pos >= b.length) throw truncated(pos, b.length);
      const byte = b[pos++]!;
      if (i < 4) lo |= (byte & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x70) >> 4;
      } else hi |= (byte & 0x7f) << (7 * i - 32);
      if (byte < 0x80) break;
    }
    if (i === 10) throw malformed(`varint longer than 10 bytes at byte ${start}`);
    this.pos = pos;
    if (hi & 0x80000000) {
      // negative: -(~value + 1)
      const nlo = (~lo >>> 0) + 1;
      return -((~hi >>> 0) * TWO_32 + nlo);
    }
    return (hi >>> 0) * TWO_32 + (lo >>> 0);
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  double(): number {
    const at = this.pos;
    if (at + 8 > this.bytes.length) throw truncated(at, this.bytes.length);
    this.pos = at + 8;
    return this.#view.getFloat64(at, true);
  }

  float(): number {
    const at = this.pos;
    if (at + 4 > this.bytes.length) throw truncated(at, this.bytes.length);
    this.pos = at + 4;
    return this.#view.getFloat32(at, true);
  }

  /** The end offset of a length-delimited field whose length prefix is next. */
  end(): number {
    const at = this.pos;
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.bytes.length) throw truncated(at, this.bytes.length);
    return end;
  }

  /** A length-delimited UTF-8 string (invalid sequences become U+FFFD). */
  string(): string {
    const end = this.end();
    const start = this.pos;
    this.pos = end;
    return this.#text.toString('utf8', start, end);
  }

  /** Skips one field of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.#advance(8);
        return;
      case WIRE_BYTES:
        this.pos = this.end();
        return;
      case WIRE_FIXED32:
        this.#advance(4);
        return;
      default:
        throw malformed(`unsupported wire type ${wireType} at byte ${this.pos}`);
    }
  }

  #advance(n: number): void {
    if (this.pos + n > this.bytes.length) throw truncated(this.pos, this.bytes.length);
    this.pos += n;
  }
}

/** A growable protocol-buffer writer. Nested messages: `message(field, (w) => { ... })`. */
export class ProtoWriter {
  #buf: Uint8Array;
  #view: DataView;
  pos = 0;
  static readonly #encoder = new TextEncoder();

  constructor(capacity = 1024) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  #ensure(n: number): void {
    if (this.pos + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.pos + n));
    next.set(this.#buf.subarray(0, this.pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** An unsigned varint (non-negative integers up to 2^53). */
  varint(value: number): void {
    this.#ensure(10);
    const b = this.#buf;
    let v = value;
    if (v < 0 || !Number.isInteger(v)) throw new RangeError(`varint needs a non-negative integer, got ${v}`);
    while (v >= 0x80) {
      b[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    b[this.pos++] = v;
  }

  /** A zigzag-encoded signed integer (sint32 / sint64 fields), |value| ≤ 2^52 (zigzag doubles it). */
  svarint(value: number): void {
    if (Math.abs(value) > 2 ** 52) throw new RangeError(`svarint out of range: ${value}`);
    this.varint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  /** A varint of any 64-bit integer: two's complement for a negative one (int64), else uint64. */
  bigVarint(value: bigint): void {
    this.#ensure(10);
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.#buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.pos++] = Number(v);
  }

  /** A two's-complement int64 (int64 fields; negative values take 10 bytes). */
  int64(value: number): void {
    if (value >= 0) {
      this.varint(value);
      return;
    }
    this.#ensure(10);
    // 64-bit two's complement of a negative safe integer, 7 bits at a time
    const abs = -value;
    let lo = (~(abs % TWO_32) + 1) >>> 0;
    let hi = (~Math.floor(abs / TWO_32) + (lo === 0 ? 1 : 0)) >>> 0;
    for (let i = 0; i < 9; i++) {
      this.#buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.#buf[this.pos++] = lo & 0x01;
  }

  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** `field` as a varint field. */
  uintField(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  sintField(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.svarint(value);
  }

  int64Field(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.int64(value);
  }

  boolField(field: number, value: boolean): void {
    this.uintField(field, value ? 1 : 0);
  }

  doubleField(field: number, value: number): void {
    this.tag(field, WIRE_FIXED64);
    this.#ensure(8);
    this.#view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  floatField(field: number, value: number): void {
    this.tag(field, WIRE_FIXED32);
    this.#ensure(4);
    this.#view.setFloat32(this.pos, value, true);
    this.pos += 4;
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, WIRE_BYTES);
    this.varint(bytes.length);
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  stringField(field: number, value: string): void {
    this.bytesField(field, ProtoWriter.#encoder.encode(value));
  }

  /** A packed repeated varint field (uint32/uint64). */
  packedVarints(field: number, values: readonly number[]): void {
    const inner = new ProtoWriter(values.length * 2 + 8);
    for (const v of values) inner.varint(v);
    this.bytesField(field, inner.finish());
  }

  /** A packed repeated zigzag field (sint32/sint64). */
  packedSvarints(field: number, values: readonly number[]): void {
    const inner = new ProtoWriter(values.length * 3 + 8);
    for (const v of values) inner.svarint(v);
    this.bytesField(field, inner.finish());
  }

  /** A nested message, written by `build` into its own writer. */
  message(field: number, build: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter(256);
    build(inner);
    this.bytesField(field, inner.finish());
  }

  /** The bytes written so far (a view: copy it before writing more). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.pos);
  }
}
