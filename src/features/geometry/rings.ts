/**
 * Planar ring helpers: signed area, bounding box, point-in-ring. Plain loops, no allocation.
 */
import type { Position } from './types.js';

/**
 * Twice the signed area of a closed ring (shoelace), positive when counter-clockwise.
 * Coordinates are taken relative to the first vertex, which keeps precision with large
 * projected coordinates (state plane feet, web mercator metres).
 */
export function signedArea2(ring: readonly Position[]): number {
  const n = ring.length;
  if (n < 3) return 0;
  const first = ring[0]!;
  const x0 = first[0]!;
  const y0 = first[1]!;
  let sum = 0;
  let px = 0;
  let py = 0;
  for (let i = 1; i < n; i++) {
    const p = ring[i]!;
    const x = p[0]! - x0;
    const y = p[1]! - y0;
    sum += px * y - x * py;
    px = x;
    py = y;
  }
  return sum;
}

/** Sets minX, minY, maxX, maxY of a ring. */
export function ringBBox(target: {
  coords: readonly Position[];
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}): void {
  const ring = target.coords;
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < ring.length; i++) {
    const p = ring[i]!;
    const x = p[0]!;
    const y = p[1]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  target.minX = minX;
  target.minY = minY;
  target.maxX = maxX;
  target.maxY = maxY;
}

/** 1 inside, -1 outside, 0 on the boundary of a closed ring (crossing number). */
export function pointInRing(x: number, y: number, ring: readonly Position[]): 1 | 0 | -1 {
  let inside = false;
  const n = ring.length;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const a = ring[i]!;
    const b = ring[j]!;
    const ax = a[0]!;
    const ay = a[1]!;
    const bx = b[0]!;
    const by = b[1]!;
    // on the segment a-b?
    if (
      (ax - x) * (by - y) - (bx - x) * (ay - y) === 0 &&
      (ax <= x ? x <= bx : bx <= x) &&
      (ay <= y ? y <= by : by <= y)
    ) {
      return 0;
    }
    if (ay > y !== by > y && x < ((bx - ax) * (y - ay)) / (by - ay) + ax) inside = !inside;
  }
  return inside ? 1 : -1;
}

/**
 * Whether `inner` lies inside `outer`, judged on the first vertex of `inner` that is not on the
 * boundary of `outer` (holes may touch their outer ring at a vertex). A ring lying entirely on
 * the boundary counts as inside.
 */
export function ringInsideRing(inner: readonly Position[], outer: readonly Position[]): boolean {
  for (let i = 0; i < inner.length; i++) {
    const p = inner[i]!;
    const where = pointInRing(p[0]!, p[1]!, outer);
    if (where !== 0) return where === 1;
  }
  return true;
}
