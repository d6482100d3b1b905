/** Ring orientation helpers for writers whose format fixes it (Shapefile: outer rings clockwise). */
import type { Position } from '../../features/geometry/types.js';

/** Twice the signed area (shoelace): positive when counter-clockwise (x right, y up). */
export function signedArea2(ring: readonly Position[]): number {
  let sum = 0;
  for (let i = 0, n = ring.length, j = n - 1; i < n; j = i++) {
    const a = ring[j]!;
    const b = ring[i]!;
    sum += (a[0]! - b[0]!) * (a[1]! + b[1]!);
  }
  return sum;
}

/** The ring in the wanted orientation (the same array when it already is). */
export function oriented(ring: readonly Position[], clockwise: boolean): readonly Position[] {
  const ccw = signedArea2(ring) > 0;
  return ccw === clockwise ? [...ring].reverse() : ring;
}
