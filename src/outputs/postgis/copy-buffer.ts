/**
 * A growing buffer for PostgreSQL's binary COPY format: the signature, one tuple per feature
 * (field count, then each field's length and bytes, or -1 for NULL), and the trailer. Numbers are
 * big-endian (network order); EWKB inside a geometry field is little-endian.
 */
import { Buffer } from 'node:buffer';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

export class CopyBuffer {
  buf: Buffer;
  pos = 0;

  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(64, Math.ceil(capacity)));
  }

  ensure(bytes: number): void {
    const need = this.pos + bytes;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** The file header: signature, flags 0, no header extension. */
  header(): void {
    this.ensure(19);
    SIGNATURE.copy(this.buf, this.pos);
    this.buf.writeInt32BE(0, this.pos + 11);
    this.buf.writeInt32BE(0, this.pos + 15);
    this.pos += 19;
  }

  /** The file trailer: a field count of -1. */
  trailer(): void {
    this.int16(-1);
  }

  int16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  null(): void {
    this.int32(-1);
  }

  /** A field: length 2, int16. */
  fieldInt16(v: number): void {
    this.ensure(6);
    this.buf.writeInt32BE(2, this.pos);
    this.buf.writeInt16BE(v, this.pos + 4);
    this.pos += 6;
  }

  fieldInt32(v: number): void {
    this.ensure(8);
    this.buf.writeInt32BE(4, this.pos);
    this.buf.writeInt32BE(v, this.pos + 4);
    this.pos += 8;
  }

  /** A field: length 8, int64 from a safe integer (or a bigint). */
  fieldInt64(v: number | bigint): void {
    this.ensure(12);
    this.buf.writeInt32BE(8, this.pos);
    if (typeof v === 'bigint') {
      this.buf.writeBigInt64BE(v, this.pos + 4);
    } else {
      const high = Math.floor(v / 4294967296);
      this.buf.writeInt32BE(high, this.pos + 4);
      this.buf.writeUInt32BE(v - high * 4294967296, this.pos + 8);
    }
    this.pos += 12;
  }

  fieldFloat32(v: number): void {
    this.ensure(8);
    this.buf.writeInt32BE(4, this.pos);
    this.buf.writeFloatBE(v, this.pos + 4);
    this.pos += 8;
  }

  fieldFloat64(v: number): void {
    this.ensure(12);
    this.buf.writeInt32BE(8, this.pos);
    this.buf.writeDoubleBE(v, this.pos + 4);
    this.pos += 12;
  }

  /** A field: the UTF-8 bytes of a string. */
  fieldText(v: string): void {
    this.ensure(4 + v.length * 3);
    const n = this.buf.write(v, this.pos + 4, 'utf8');
    this.buf.writeInt32BE(n, this.pos);
    this.pos += 4 + n;
  }

  /** Starts a field whose length is known at its end: returns where to patch it (see `endField`). */
  startField(): number {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return at;
  }

  endField(at: number): void {
    this.buf.writeInt32BE(this.pos - at - 4, at);
  }

  /** The bytes so far (a view: copy or send it before the next `reset`). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }
}
