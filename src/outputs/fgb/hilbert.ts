/**
 * The packed Hilbert R-tree of FlatGeobuf: feature boxes sorted by the Hilbert value of their
 * centres, then nodes of 16 built bottom-up; the tree is stored root first, leaves last.
 */

/** The Hilbert curve index of (x, y), both in 0..65535. */
export function hilbert(x: number, y: number): number {
  let a = x ^ y;
  let b = 0xffff ^ a;
  let c = 0xffff ^ (x | y);
  let d = x & (y ^ 0xffff);
  let A = a | (b >> 1);
  let B = (a >> 1) ^ a;
  let C = (c >> 1) ^ (b & (d >> 1)) ^ c;
  let D = (a & (c >> 1)) ^ (d >> 1) ^ d;
  a = A;
  b = B;
  c = C;
  d = D;
  A = (a & (a >> 2)) ^ (b & (b >> 2));
  B = (a & (b >> 2)) ^ (b & ((a ^ b) >> 2));
  C ^= (a & (c >> 2)) ^ (b & (d >> 2));
  D ^= (b & (c >> 2)) ^ ((a ^ b) & (d >> 2));
  a = A;
  b = B;
  c = C;
  d = D;
  A = (a & (a >> 4)) ^ (b & (b >> 4));
  B = (a & (b >> 4)) ^ (b & ((a ^ b) >> 4));
  C ^= (a & (c >> 4)) ^ (b & (d >> 4));
  D ^= (b & (c >> 4)) ^ ((a ^ b) & (d >> 4));
  a = A;
  b = B;
  c = C;
  d = D;
  C ^= (a & (c >> 8)) ^ (b & (d >> 8));
  D ^= (b & (c >> 8)) ^ ((a ^ b) & (d >> 8));
  a = C ^ (C >> 1);
  b = D ^ (D >> 1);
  let i0 = x ^ y;
  let i1 = b | (0xffff ^ (i0 | a));
  i0 = (i0 | (i0 << 8)) & 0x00ff00ff;
  i0 = (i0 | (i0 << 4)) & 0x0f0f0f0f;
  i0 = (i0 | (i0 << 2)) & 0x33333333;
  i0 = (i0 | (i0 << 1)) & 0x55555555;
  i1 = (i1 | (i1 << 8)) & 0x00ff00ff;
  i1 = (i1 | (i1 << 4)) & 0x0f0f0f0f;
  i1 = (i1 | (i1 << 2)) & 0x33333333;
  i1 = (i1 | (i1 << 1)) & 0x55555555;
  return ((i1 << 1) | i0) >>> 0;
}

/** [start, end) node indexes of each level, leaves first (as FlatGeobuf's readers compute them). */
export function levelBounds(items: number, nodeSize: number): [number, number][] {
  let n = items;
  let nodes = n;
  const counts = [n];
  do {
    n = Math.ceil(n / nodeSize);
    nodes += n;
    counts.push(n);
  } while (n !== 1);
  const bounds: [number, number][] = [];
  let end = nodes;
  for (const count of counts) {
    bounds.push([end - count, end]);
    end -= count;
  }
  return bounds;
}

/**
 * The order to write features in: indexes sorted by the Hilbert value of their box centres
 * within `extent` (boxes are minX, minY, maxX, maxY per feature; NaN for no geometry).
 */
export function hilbertOrder(
  boxes: Float64Array | Float32Array,
  count: number,
  extent: readonly number[],
): Uint32Array {
  const [minX, minY, maxX, maxY] = extent as [number, number, number, number];
  const width = maxX - minX || 1;
  const height = maxY - minY || 1;
  const keys = new BigUint64Array(count);
  for (let i = 0; i < count; i++) {
    const cx = (boxes[4 * i]! + boxes[4 * i + 2]!) / 2;
    const cy = (boxes[4 * i + 1]! + boxes[4 * i + 3]!) / 2;
    const h = Number.isNaN(cx)
      ? 0xffffffff
      : hilbert(Math.floor((0xffff * (cx - minX)) / width), Math.floor((0xffff * (cy - minY)) / height));
    keys[i] = (BigInt(h) << 32n) | BigInt(i);
  }
  keys.sort();
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = Number(keys[i]! & 0xffffffffn);
  return order;
}

/** Where the tree goes: bytes written at a position of the output file. */
export type WriteAt = (bytes: Uint8Array, position: number) => Promise<void>;

const LEAF_CHUNK = 16384;

/**
 * Writes the tree (40 bytes a node: minX, minY, maxX, maxY as doubles, then a uint64 offset) at
 * `start`: leaves hold the byte offset of their feature in the feature section, other nodes the
 * index of their first child. Leaves follow `order`; `sizes` are the features' byte sizes. The
 * leaves are streamed in chunks: only the nodes above them (1/15 of the tree) are held.
 * Returns the tree's size in bytes.
 */
export async function writeTree(
  write: WriteAt,
  start: number,
  boxes: Float64Array,
  order: Uint32Array,
  sizes: Float64Array,
  count: number,
  nodeSize: number,
): Promise<number> {
  const levels = levelBounds(count, nodeSize);
  const nodes = levels[0]![1];
  const leafStart = levels[0]![0];
  // FlatGeobuf is little-endian, as every platform Node runs on
  const upper = new ArrayBuffer(leafStart * 40);
  const f = new Float64Array(upper);
  const u = new BigUint64Array(upper);
  for (let n = 0; n < leafStart; n++) {
    f[5 * n] = f[5 * n + 1] = Number.POSITIVE_INFINITY;
    f[5 * n + 2] = f[5 * n + 3] = Number.NEGATIVE_INFINITY;
  }
  const firstParent = levels[1]![0];
  const chunk = new ArrayBuffer(Math.min(count, LEAF_CHUNK) * 40);
  const lf = new Float64Array(chunk);
  const lu = new BigUint64Array(chunk);
  let at = 0;
  for (let i0 = 0; i0 < count; i0 += LEAF_CHUNK) {
    const n = Math.min(LEAF_CHUNK, count - i0);
    for (let j = 0; j < n; j++) {
      const i = i0 + j;
      const k = order[i]!;
      const x0 = boxes[4 * k]!;
      const y0 = boxes[4 * k + 1]!;
      const x1 = boxes[4 * k + 2]!;
      const y1 = boxes[4 * k + 3]!;
      lf[5 * j] = x0;
      lf[5 * j + 1] = y0;
      lf[5 * j + 2] = x1;
      lf[5 * j + 3] = y1;
      lu[5 * j + 4] = BigInt(at);
      at += sizes[k]!;
      const slot = Math.floor(i / nodeSize);
      const p = 5 * (firstParent + slot);
      if (i % nodeSize === 0) u[p + 4] = BigInt(leafStart + i);
      // NaN boxes (no geometry) never widen a parent
      if (x0 < f[p]!) f[p] = x0;
      if (y0 < f[p + 1]!) f[p + 1] = y0;
      if (x1 > f[p + 2]!) f[p + 2] = x1;
      if (y1 > f[p + 3]!) f[p + 3] = y1;
    }
    await write(new Uint8Array(chunk, 0, n * 40), start + (leafStart + i0) * 40);
  }
  for (let level = 1; level < levels.length - 1; level++) {
    let [pos, end] = levels[level]!;
    let parent = levels[level + 1]![0];
    while (pos < end) {
      let x0 = Number.POSITIVE_INFINITY;
      let y0 = Number.POSITIVE_INFINITY;
      let x1 = Number.NEGATIVE_INFINITY;
      let y1 = Number.NEGATIVE_INFINITY;
      u[5 * parent + 4] = BigInt(pos);
      for (let j = 0; j < nodeSize && pos < end; j++, pos++) {
        const n = 5 * pos;
        if (f[n]! < x0) x0 = f[n]!;
        if (f[n + 1]! < y0) y0 = f[n + 1]!;
        if (f[n + 2]! > x1) x1 = f[n + 2]!;
        if (f[n + 3]! > y1) y1 = f[n + 3]!;
      }
      const n = 5 * parent;
      f[n] = x0;
      f[n + 1] = y0;
      f[n + 2] = x1;
      f[n + 3] = y1;
      parent++;
    }
  }
  await write(new Uint8Array(upper), start);
  return nodes * 40;
}
