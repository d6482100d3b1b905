/**
 * Test helper: a canonical form of a GeoJSON geometry, equal for two geometries that differ only
 * by ring start vertex, closing vertex, hole order or polygon order. Orientation is kept.
 */
type Pos = number[];

function canonicalRing(ring: readonly Pos[]): Pos[] {
  let pts = ring.slice();
  const a = pts[0];
  const b = pts[pts.length - 1];
  if (pts.length > 1 && a && b && a[0] === b[0] && a[1] === b[1]) pts = pts.slice(0, -1);
  let best = 0;
  for (let i = 1; i < pts.length; i++) {
    const p = pts[i]!;
    const q = pts[best]!;
    if (p[0]! < q[0]! || (p[0] === q[0] && p[1]! < q[1]!)) best = i;
  }
  return [...pts.slice(best), ...pts.slice(0, best)];
}

function key(value: unknown): string {
  return JSON.stringify(value);
}

export function canonicalGeometry(geometry: unknown): unknown {
  if (geometry === null || geometry === undefined) return null;
  const g = geometry as { type: string; coordinates: unknown };
  if (g.type === 'Polygon' || g.type === 'MultiPolygon') {
    const polys = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as Pos[][][];
    const out = polys.map((rings) => {
      const [outer, ...holes] = rings.map(canonicalRing);
      return [outer, ...holes.sort((x, y) => key(x).localeCompare(key(y)))];
    });
    out.sort((x, y) => key(x).localeCompare(key(y)));
    return { type: 'Polygons', coordinates: out };
  }
  return g;
}

/**
 * Twice the signed area (positive = counter-clockwise), relative to the first vertex (absolute
 * coordinates of ~1e7 would lose the area of a small ring to cancellation).
 */
export function area2(ring: readonly Pos[]): number {
  const x0 = ring[0]![0]!;
  const y0 = ring[0]![1]!;
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    sum += (ring[j]![0]! - x0) * (ring[i]![1]! - y0) - (ring[i]![0]! - x0) * (ring[j]![1]! - y0);
  }
  return sum;
}
