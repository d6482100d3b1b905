/** A byte buffer that grows as records are appended (little- and big-endian writers), reused across pages. */
import { Buffer } from 'node:buffer';

export class GrowBuffer {
  buf: Buffer;
  length = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Room for `n` more bytes; returns the offset to write them at (and counts them as written). */
  reserve(n: number): number {
    const at = this.length;
    const need = at + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, 0, at);
      this.buf = next;
    }
    this.length = need;
    return at;
  }

  bytes(bytes: Uint8Array): void {
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
  }

  fill(value: number, n: number): void {
    const at = this.reserve(n);
    this.buf.fill(value, at, at + n);
  }

  int32BE(v: number): void {
    const at = this.reserve(4);
    this.buf.writeInt32BE(v, at);
  }

  int32LE(v: number): void {
    const at = this.reserve(4);
    this.buf.writeInt32LE(v, at);
  }

  int16LE(v: number): void {
    const at = this.reserve(2);
    this.buf.writeInt16LE(v, at);
  }

  uint32LE(v: number): void {
    const at = this.reserve(4);
    this.buf.writeUInt32LE(v, at);
  }

  bigInt64LE(v: bigint): void {
    const at = this.reserve(8);
    this.buf.writeBigInt64LE(v, at);
  }

  doubleLE(v: number): void {
    const at = this.reserve(8);
    this.buf.writeDoubleLE(v, at);
  }

  /** The bytes so far (a view: valid until the next append or `clear`). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
  }
}
