/** Stateless 32-bit mixing: a deterministic pseudo-random value for (seed, row, salt). */
export function hash3(seed: number, row: number, salt: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(row + 0x7f4a7c15, 0xc2b2ae35);
  h ^= Math.imul(salt + 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** hash3 scaled to [0, 1). */
export function unit3(seed: number, row: number, salt: number): number {
  return hash3(seed, row, salt) / 4294967296;
}
