/**
 * `--geometry FILE`: a GeoJSON polygon (Polygon, MultiPolygon, or a Feature / FeatureCollection of
 * them, WGS84 as GeoJSON says) turned into an Esri JSON polygon filter.
 *
 * A polygon with more vertices than a query should carry is sent as a polygon that covers it (its
 * convex hull, else its bounding box), and the features answered are then checked exactly on our
 * side with @turf/boolean-intersects: no feature outside the polygon is written.
 */
import type * as TurfIntersects from '@turf/boolean-intersects';
import { EtlError } from '../core/errors.js';
import { requireOnUse } from '../core/lazy-require.js';
import type { EsriFeature } from '../core/protocol.js';
import { signedArea2 } from './geometry/rings.js';
import { esriGeometryToGeoJSON } from './geometry/toGeoJSON.js';
import type { Position } from './geometry/types.js';
import type { SpatialFilter } from './spatial-filter.js';

/** More vertices than this and the query carries a covering polygon (the exact check is ours). */
export const MAX_QUERY_VERTICES = 2000;

type Ring = [number, number][];
type PolygonRings = Ring[];

/** The filter from a GeoJSON text; USAGE for anything that is not a polygon. */
export function geometryFilter(
  text: string,
  source: string,
  options: { maxVertices?: number | undefined } = {},
): SpatialFilter {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new EtlError('USAGE', `--geometry ${source} is not valid JSON (a GeoJSON polygon is expected)`);
  }
  const polygons = collectPolygons(value, source);
  if (polygons.length === 0) {
    throw new EtlError('USAGE', `--geometry ${source} holds no polygon (Polygon or MultiPolygon expected)`);
  }
  const vertices = polygons.reduce((n, p) => n + p.reduce((m, r) => m + r.length, 0), 0);
  const bbox = bboxOf(polygons);
  const max = options.maxVertices ?? MAX_QUERY_VERTICES;
  const exactGeometry = {
    type: 'MultiPolygon' as const,
    coordinates: polygons as number[][][][],
  };
  if (vertices <= max) {
    return {
      geometry: { rings: esriRings(polygons) },
      geometryType: 'esriGeometryPolygon',
      inSR: 4326,
      bbox,
      describe: `polygon of ${source} (${vertices} vertices)`,
    };
  }
  const { booleanIntersects } = requireOnUse('@turf/boolean-intersects') as typeof TurfIntersects;
  const hull = convexHull(polygons);
  const simplified = hull.length <= max;
  return {
    geometry: simplified
      ? { rings: esriRings([[hull]]) }
      : { xmin: bbox[0], ymin: bbox[1], xmax: bbox[2], ymax: bbox[3] },
    geometryType: simplified ? 'esriGeometryPolygon' : 'esriGeometryEnvelope',
    inSR: 4326,
    bbox,
    exactSR: 4326,
    exact: (feature: EsriFeature) => {
      const g = esriGeometryToGeoJSON(feature.geometry);
      // a feature without geometry cannot intersect: a server that answered it is not trusted
      if (!g) return false;
      return booleanIntersects(g as Parameters<typeof booleanIntersects>[0], exactGeometry);
    },
    describe: `polygon of ${source} (${vertices} vertices, queried as its ${simplified ? `convex hull of ${hull.length}` : 'bounding box'})`,
  };
}

function collectPolygons(value: unknown, source: string): PolygonRings[] {
  const out: PolygonRings[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (!v || typeof v !== 'object' || depth > 3) throw notPolygon(source, v);
    const o = v as { type?: unknown; coordinates?: unknown; geometry?: unknown; features?: unknown };
    switch (o.type) {
      case 'FeatureCollection':
        if (!Array.isArray(o.features)) throw notPolygon(source, v);
        for (const f of o.features) visit(f, depth + 1);
        return;
      case 'Feature':
        visit(o.geometry, depth + 1);
        return;
      case 'Polygon':
        out.push(polygonRings(o.coordinates, source));
        return;
      case 'MultiPolygon':
        if (!Array.isArray(o.coordinates)) throw notPolygon(source, v);
        for (const p of o.coordinates) out.push(polygonRings(p, source));
        return;
      default:
        throw notPolygon(source, v);
    }
  };
  visit(value, 0);
  return out;
}

function notPolygon(source: string, v: unknown): EtlError {
  const type = v && typeof v === 'object' ? (v as { type?: unknown }).type : undefined;
  return new EtlError(
    'USAGE',
    `--geometry ${source} must be a GeoJSON Polygon or MultiPolygon (or features of them), not ${typeof type === 'string' ? type : 'that'}`,
  );
}

function polygonRings(coordinates: unknown, source: string): PolygonRings {
  if (!Array.isArray(coordinates) || coordinates.length === 0) {
    throw new EtlError('USAGE', `--geometry ${source}: a polygon without rings`);
  }
  return coordinates.map((ring: unknown) => {
    if (!Array.isArray(ring) || ring.length < 4) {
      throw new EtlError('USAGE', `--geometry ${source}: a polygon ring needs at least 4 positions`);
    }
    return ring.map((p: unknown) => {
      if (!Array.isArray(p) || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
        throw new EtlError('USAGE', `--geometry ${source}: a position is not two numbers`);
      }
      return [p[0] as number, p[1] as number] as [number, number];
    });
  });
}

/** Esri rings: outer rings clockwise, holes counter-clockwise (GeoJSON's are the other way). */
function esriRings(polygons: PolygonRings[]): number[][][] {
  const rings: number[][][] = [];
  for (const polygon of polygons) {
    polygon.forEach((ring, i) => {
      const ccw = signedArea2(ring as Position[]) > 0;
      const wantCw = i === 0;
      rings.push(ccw === wantCw ? [...ring].reverse() : ring);
    });
  }
  return rings;
}

function bboxOf(polygons: PolygonRings[]): [number, number, number, number] {
  const b: [number, number, number, number] = [
    Number.POSITIVE_INFINITY,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ];
  for (const p of polygons) {
    for (const [x, y] of p[0] ?? []) {
      b[0] = Math.min(b[0], x);
      b[1] = Math.min(b[1], y);
      b[2] = Math.max(b[2], x);
      b[3] = Math.max(b[3], y);
    }
  }
  return b;
}

/** Convex hull of the outer rings (monotone chain), closed, counter-clockwise. */
function convexHull(polygons: PolygonRings[]): Ring {
  const points = polygons.flatMap((p) => p[0] ?? []).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: number[], a: number[], b: number[]) =>
    (a[0]! - o[0]!) * (b[1]! - o[1]!) - (a[1]! - o[1]!) * (b[0]! - o[0]!);
  const lower: Ring = [];
  for (const p of points) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0)
      lower.pop();
    lower.push(p);
  }
  const upper: Ring = [];
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0)
      upper.pop();
    upper.push(p);
  }
  const hull = [...lower.slice(0, -1), ...upper.slice(0, -1)];
  hull.push(hull[0]!);
  return hull;
}
