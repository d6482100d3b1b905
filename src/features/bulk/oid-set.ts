/**
 * A set of OIDs kept as sorted, disjoint ranges [from, to]: a server's file lists its features in
 * OID order (or in long runs of it), so a million OIDs are a handful of ranges and memory stays
 * flat. An OID that is not a safe integer goes to a plain set.
 */
export class OidSet {
  /** Range starts and ends, sorted; ranges never touch (adjacent ones are joined). */
  readonly #from: number[] = [];
  readonly #to: number[] = [];
  readonly #other = new Set<unknown>();

  /** The number of ranges held (for tests and figures). */
  get ranges(): number {
    return this.#from.length;
  }

  /** Adds an OID; false when it was in the set already. */
  add(oid: unknown): boolean {
    if (typeof oid !== 'number' || !Number.isSafeInteger(oid)) {
      if (this.#other.has(oid)) return false;
      this.#other.add(oid);
      return true;
    }
    const from = this.#from;
    const to = this.#to;
    const last = from.length - 1;
    // the usual case: just after the last range
    if (last >= 0 && oid === to[last]! + 1) {
      to[last] = oid;
      return true;
    }
    // the range starting at or before oid: binary search
    let lo = 0;
    let hi = last;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (from[mid]! <= oid) lo = mid + 1;
      else hi = mid - 1;
    }
    const at = hi; // from[at] <= oid < from[at + 1]
    if (at >= 0 && oid <= to[at]!) return false;
    const joinsLeft = at >= 0 && to[at]! + 1 === oid;
    const joinsRight = at + 1 <= last && from[at + 1]! - 1 === oid;
    if (joinsLeft && joinsRight) {
      to[at] = to[at + 1]!;
      from.splice(at + 1, 1);
      to.splice(at + 1, 1);
    } else if (joinsLeft) to[at] = oid;
    else if (joinsRight) from[at + 1] = oid;
    else {
      from.splice(at + 1, 0, oid);
      to.splice(at + 1, 0, oid);
    }
    return true;
  }
}
