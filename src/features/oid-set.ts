/**
 * A compact set of OIDs (8 bytes each): a sorted Float64Array plus a small insertion buffer that is
 * merged in when full. Used to de-duplicate features that several envelope cells return.
 */
export class OidSet {
  #sorted = new Float64Array(0);
  #buffer = new Set<number>();
  readonly #bufferLimit: number;

  constructor(bufferLimit = 8192) {
    this.#bufferLimit = Math.max(1, bufferLimit);
  }

  get size(): number {
    return this.#sorted.length + this.#buffer.size;
  }

  has(oid: number): boolean {
    return this.#buffer.has(oid) || binarySearch(this.#sorted, oid) >= 0;
  }

  /** Adds; false when it was already there. */
  add(oid: number): boolean {
    if (this.has(oid)) return false;
    this.#buffer.add(oid);
    // The buffer grows with the set (an eighth of it), so merging stays amortised O(log n) per add.
    if (this.#buffer.size >= Math.max(this.#bufferLimit, this.#sorted.length >>> 3)) this.#merge();
    return true;
  }

  #merge(): void {
    const incoming = Float64Array.from(this.#buffer).sort();
    const merged = new Float64Array(this.#sorted.length + incoming.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < this.#sorted.length && j < incoming.length) {
      merged[k++] = this.#sorted[i]! < incoming[j]! ? this.#sorted[i++]! : incoming[j++]!;
    }
    while (i < this.#sorted.length) merged[k++] = this.#sorted[i++]!;
    while (j < incoming.length) merged[k++] = incoming[j++]!;
    this.#sorted = merged;
    this.#buffer.clear();
  }
}

/** Index of `value` in a sorted array, or -1. */
export function binarySearch(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
