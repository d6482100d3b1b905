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
export function hilbertOrder(boxes: Float64Array, count: number, extent: readonly number[]): Uint32Array {
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

/**
 * The tree bytes (40 bytes a node: minX, minY, maxX, maxY as doubles, then a uint64 offset): leaves
 * hold the byte offset of their feature in the feature section, other nodes the index of their
 * first child. Leaves follow `order`; `sizes` are the features' byte sizes (in written order of
 * the temp file). Built in place in the tree's own buffer (no copy of the boxes).
 */
export function buildTree(
  boxes: Float64Array,
  order: Uint32Array,
  sizes: Float64Array,
  count: number,
  nodeSize: number,
): Buffer {
  const levels = levelBounds(count, nodeSize);
  const nodes = levels[0]![1];
  const memory = new ArrayBuffer(nodes * 40);
  // FlatGeobuf is little-endian, as every platform Node runs on
  const f = new Float64Array(memory);
  const u = new BigUint64Array(memory);
  const leafStart = levels[0]![0];
  for (let i = 0, at = 0; i < count; i++) {
    const k = order[i]!;
    const n = 5 * (leafStart + i);
    f[n] = boxes[4 * k]!;
    f[n + 1] = boxes[4 * k + 1]!;
    f[n + 2] = boxes[4 * k + 2]!;
    f[n + 3] = boxes[4 * k + 3]!;
    u[n + 4] = BigInt(at);
    at += sizes[k]!;
  }
  for (let level = 0; level < levels.length - 1; level++) {
    let [pos, end] = levels[level]!;
    let parent = levels[level + 1]![0];
    while (pos < end) {
      let x0 = Number.POSITIVE_INFINITY;
      let y0 = Number.POSITIVE_INFINITY;
      let x1 = Number.NEGATIVE_INFINITY;
      let y1 = Number.NEGATIVE_INFINITY;
      u[5 * parent + 4] = BigInt(pos);
      for (let j = 0; j < nodeSize && pos < end; j++, pos++) {
        // NaN boxes (no geometry) never widen a parent
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
  return Buffer.from(memory);
}
