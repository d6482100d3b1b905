/**
 * A growing buffer for PostgreSQL's binary COPY format: the signature, one tuple per feature
 * (field count, then each field's length and bytes, or -1 for NULL), and the trailer. Numbers are
 * big-endian (network order); EWKB inside a geometry field is little-endian. Written through a
 * DataView (the fast path for numbers); strings through Buffer's UTF-8 encoder.
 */
import { Buffer } from 'node:buffer';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const TWO_32 = 4294967296;

export class CopyBuffer {
  buf: Buffer;
  dv: DataView;
  pos = 0;

  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(64, Math.ceil(capacity)));
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  ensure(bytes: number): void {
    const need = this.pos + bytes;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.length);
  }

  /** The file header: signature, flags 0, no header extension. */
  header(): void {
    this.ensure(19);
    SIGNATURE.copy(this.buf, this.pos);
    this.dv.setInt32(this.pos + 11, 0);
    this.dv.setInt32(this.pos + 15, 0);
    this.pos += 19;
  }

  /** The file trailer: a field count of -1. */
  trailer(): void {
    this.int16(-1);
  }

  int16(v: number): void {
    this.ensure(2);
    this.dv.setInt16(this.pos, v);
    this.pos += 2;
  }

  int32(v: number): void {
    this.ensure(4);
    this.dv.setInt32(this.pos, v);
    this.pos += 4;
  }

  null(): void {
    this.int32(-1);
  }

  /** A field: length 2, int16. */
  fieldInt16(v: number): void {
    this.ensure(6);
    this.dv.setInt32(this.pos, 2);
    this.dv.setInt16(this.pos + 4, v);
    this.pos += 6;
  }

  fieldInt32(v: number): void {
    this.ensure(8);
    this.dv.setInt32(this.pos, 4);
    this.dv.setInt32(this.pos + 4, v);
    this.pos += 8;
  }

  /** A field: length 8, int64 from a safe integer (or a bigint). */
  fieldInt64(v: number | bigint): void {
    this.ensure(12);
    const dv = this.dv;
    dv.setInt32(this.pos, 8);
    if (typeof v === 'bigint') {
      dv.setBigInt64(this.pos + 4, v);
    } else {
      const high = Math.floor(v / TWO_32);
      dv.setInt32(this.pos + 4, high);
      dv.setUint32(this.pos + 8, v - high * TWO_32);
    }
    this.pos += 12;
  }

  fieldFloat32(v: number): void {
    this.ensure(8);
    this.dv.setInt32(this.pos, 4);
    this.dv.setFloat32(this.pos + 4, v);
    this.pos += 8;
  }

  fieldFloat64(v: number): void {
    this.ensure(12);
    this.dv.setInt32(this.pos, 8);
    this.dv.setFloat64(this.pos + 4, v);
    this.pos += 12;
  }

  /** A field: the UTF-8 bytes of a string. */
  fieldText(v: string): void {
    this.ensure(4 + v.length * 3);
    const n = this.buf.write(v, this.pos + 4, 'utf8');
    this.dv.setInt32(this.pos, n);
    this.pos += 4 + n;
  }

  /** Little-endian uint32 (EWKB). */
  uint32LE(v: number): void {
    this.ensure(4);
    this.dv.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** Little-endian float64 (EWKB coordinates); `ensure` first. */
  float64LE(v: number): void {
    this.dv.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Starts a field whose length is known at its end: returns where to patch it (see `endField`). */
  startField(): number {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return at;
  }

  endField(at: number): void {
    this.dv.setInt32(at, this.pos - at - 4);
  }

  /** The bytes so far (a view: copy or send it before the next `reset`). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }
}
