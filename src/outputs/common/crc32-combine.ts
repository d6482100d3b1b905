/**
 * The CRC-32 of `a ‖ b` from the CRC-32 of `a`, that of `b` and the length of `b` (zlib's
 * crc32_combine, by GF(2) matrix squaring: O(log length), no byte is read again). A file whose
 * header is written after its body gets the CRC of the whole from the CRC kept while the body was
 * written.
 */

const POLYNOMIAL = 0xedb88320;

function times(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  for (let i = 0, v = vector >>> 0; v !== 0; i++, v >>>= 1) if (v & 1) sum ^= matrix[i]!;
  return sum >>> 0;
}

function square(into: Uint32Array, matrix: Uint32Array): void {
  for (let n = 0; n < 32; n++) into[n] = times(matrix, matrix[n]!);
}

export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  // the operator for one zero bit
  odd[0] = POLYNOMIAL;
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  square(even, odd); // two zero bits
  square(odd, even); // four zero bits
  let crc = crcA >>> 0;
  let length = lengthB;
  // apply length zero bytes to crcA (the first square gives one zero byte)
  for (;;) {
    square(even, odd);
    if (length % 2 === 1) crc = times(even, crc);
    length = Math.floor(length / 2);
    if (length === 0) break;
    square(odd, even);
    if (length % 2 === 1) crc = times(odd, crc);
    length = Math.floor(length / 2);
    if (length === 0) break;
  }
  return (crc ^ crcB) >>> 0;
}
