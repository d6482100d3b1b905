/**
 * A compact set of OIDs (8 bytes each): a sorted Float64Array plus a small insertion buffer that is
 * merged in when full. Holds every OID an extraction writes (repeats are dropped, handoffs and the
 * end are checked against it). OIDs above the largest one (every OID of an ascending stream) are
 * appended to the sorted array directly: O(1) to add and to look up.
 */
export class OidSet {
  #sorted = new Float64Array(0);
  /** Used length of #sorted (its capacity grows by doubling). */
  #length = 0;
  #buffer = new Set<number>();
  readonly #bufferLimit: number;
  /** The largest OID in the set. */
  #max = Number.NEGATIVE_INFINITY;

  constructor(bufferLimit = 8192) {
    this.#bufferLimit = Math.max(1, bufferLimit);
  }

  get size(): number {
    return this.#length + this.#buffer.size;
  }

  has(oid: number): boolean {
    if (oid > this.#max) return false;
    return this.#buffer.has(oid) || binarySearch(this.#sorted.subarray(0, this.#length), oid) >= 0;
  }

  /** Adds; false when it was already there. */
  add(oid: number): boolean {
    if (oid > this.#max) {
      this.#max = oid;
      if (this.#buffer.size === 0) {
        this.#append(oid);
        return true;
      }
    } else if (this.has(oid)) {
      return false;
    }
    this.#buffer.add(oid);
    // The buffer grows with the set (an eighth of it), so merging stays amortised O(log n) per add.
    if (this.#buffer.size >= Math.max(this.#bufferLimit, this.#length >>> 3)) this.#merge();
    return true;
  }

  #append(oid: number): void {
    if (this.#length === this.#sorted.length) {
      const grown = new Float64Array(Math.max(1024, this.#sorted.length * 2));
      grown.set(this.#sorted);
      this.#sorted = grown;
    }
    this.#sorted[this.#length++] = oid;
  }

  #merge(): void {
    const incoming = Float64Array.from(this.#buffer).sort();
    const sorted = this.#sorted;
    const n = this.#length;
    const merged = new Float64Array(Math.max(1024, (n + incoming.length) * 2));
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < n && j < incoming.length) {
      merged[k++] = sorted[i]! < incoming[j]! ? sorted[i++]! : incoming[j++]!;
    }
    while (i < n) merged[k++] = sorted[i++]!;
    while (j < incoming.length) merged[k++] = incoming[j++]!;
    this.#sorted = merged;
    this.#length = k;
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
