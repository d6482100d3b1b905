/**
 * Esri `rings` → GeoJSON Polygon / MultiPolygon (RFC 7946).
 *
 * Esri puts every ring of a polygon in one flat array: outer rings clockwise, holes
 * counter-clockwise. Each ring is closed if needed, degenerate rings (< 4 positions once closed,
 * or zero area) are dropped and reported, each hole goes to the smallest outer ring that contains
 * it (bounding-box pre-check, then a point-in-ring test of one of its vertices), holes inside no
 * outer ring are promoted to outer rings and reported, and everything is rewound to RFC 7946
 * (outer rings counter-clockwise, holes clockwise). Polygons come out in the order of their outer
 * rings, holes in input order.
 */
import { copyPosition, type PositionLayout } from './positions.js';
import { ringBBox, ringInsideRing, signedArea2 } from './rings.js';
import type { GeoJSONMultiPolygon, GeoJSONPolygon, GeometryIssue, Position } from './types.js';

interface Ring {
  /** Closed, already in RFC 7946 orientation for its role. */
  coords: Position[];
  /** |2 × area| */
  area: number;
  outer: boolean;
  /** Bounding box, computed only when there are holes to place. */
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  /** Index of the polygon this ring starts (outer rings and promoted holes). */
  polygon: number;
  /** Index in the Esri `rings` array. */
  index: number;
}

function samePoint(a: unknown, b: unknown): boolean {
  return Array.isArray(a) && Array.isArray(b) && a[0] === b[0] && a[1] === b[1];
}

type Report = ((issue: GeometryIssue) => void) | undefined;

/**
 * The ring reversed (so that an Esri clockwise outer ring comes out counter-clockwise and a
 * counter-clockwise hole comes out clockwise), closed, starting at the same vertex.
 */
function reversedClosedRing(
  src: readonly unknown[],
  layout: PositionLayout,
  index: number,
  report: Report,
): Position[] {
  const n = src.length;
  const out: Position[] = [];
  if (n === 0) return out;
  const first = src[0];
  const last = src[n - 1];
  const closed = n > 1 && samePoint(first, last);
  const start = copyPosition(first, layout);
  if (start !== undefined) out.push(start);
  else report?.({ kind: 'invalid-position', detail: `ring ${index} vertex 0 is not a finite x, y`, index });
  for (let i = closed ? n - 2 : n - 1; i >= 1; i--) {
    const p = copyPosition(src[i], layout);
    if (p !== undefined) out.push(p);
    else
      report?.({ kind: 'invalid-position', detail: `ring ${index} vertex ${i} is not a finite x, y`, index });
  }
  if (out.length === 0) return out;
  const head = out[0]!;
  const tail = out[out.length - 1]!;
  if (out.length > 1 && tail[0] === head[0] && tail[1] === head[1]) return out;
  // RFC 7946: the closing position repeats the first one exactly (z and m included)
  out.push(head.slice());
  return out;
}

export function ringsToGeoJSON(
  rings: readonly unknown[],
  layout: PositionLayout,
  report: Report,
): GeoJSONPolygon | GeoJSONMultiPolygon | null {
  const kept: Ring[] = [];
  let outers = 0;
  for (let r = 0; r < rings.length; r++) {
    const src = rings[r];
    const coords = Array.isArray(src) ? reversedClosedRing(src, layout, r, report) : [];
    if (coords.length < 4) {
      report?.({
        kind: 'degenerate-ring',
        detail: `ring ${r} has fewer than 4 positions once closed`,
        index: r,
      });
      continue;
    }
    const a2 = signedArea2(coords);
    if (a2 === 0 || !Number.isFinite(a2)) {
      report?.({ kind: 'degenerate-ring', detail: `ring ${r} has zero area`, index: r });
      continue;
    }
    // coords are reversed: a counter-clockwise result was a clockwise (outer) Esri ring
    const outer = a2 > 0;
    if (outer) outers++;
    kept.push({
      coords,
      area: Math.abs(a2),
      outer,
      polygon: -1,
      index: r,
      minX: 0,
      minY: 0,
      maxX: 0,
      maxY: 0,
    });
  }
  if (kept.length === 0) return null;

  // holes → smallest containing outer ring
  const container = new Int32Array(kept.length).fill(-1);
  if (outers < kept.length) {
    for (let i = 0; i < kept.length; i++) ringBBox(kept[i]!);
    for (let h = 0; h < kept.length; h++) {
      const hole = kept[h]!;
      if (hole.outer) continue;
      let best = -1;
      let bestArea = Number.POSITIVE_INFINITY;
      for (let o = 0; o < kept.length; o++) {
        const outer = kept[o]!;
        if (!outer.outer || outer.area >= bestArea) continue;
        if (
          hole.minX < outer.minX ||
          hole.minY < outer.minY ||
          hole.maxX > outer.maxX ||
          hole.maxY > outer.maxY
        ) {
          continue;
        }
        if (ringInsideRing(hole.coords, outer.coords)) {
          best = o;
          bestArea = outer.area;
        }
      }
      if (best < 0) {
        report?.({
          kind: 'orphan-hole',
          detail: `ring ${hole.index} is a hole inside no outer ring: promoted to an outer ring`,
          index: hole.index,
        });
        hole.coords.reverse();
        hole.outer = true;
      } else {
        container[h] = best;
      }
    }
  }

  const polygons: Position[][][] = [];
  for (let i = 0; i < kept.length; i++) {
    const ring = kept[i]!;
    if (!ring.outer) continue;
    ring.polygon = polygons.length;
    polygons.push([ring.coords]);
  }
  for (let i = 0; i < kept.length; i++) {
    const c = container[i]!;
    if (c >= 0) polygons[kept[c]!.polygon]!.push(kept[i]!.coords);
  }
  return polygons.length === 1
    ? { type: 'Polygon', coordinates: polygons[0]! }
    : { type: 'MultiPolygon', coordinates: polygons };
}
