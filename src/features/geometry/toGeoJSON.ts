/**
 * Esri JSON geometry → GeoJSON geometry (RFC 7946). Built for speed: plain loops, one array per
 * output position and nothing else per vertex. The input is never modified, and the output
 * shares no arrays with it.
 *
 * - `{x, y[, z]}` → Point; `x`/`y` of `"NaN"`, null or NaN → null.
 * - `points` → MultiPoint; `paths` → LineString (one path) or MultiLineString.
 * - `rings` → Polygon / MultiPolygon (see polygon.ts); envelope → Polygon.
 * - empty `points` / `paths` / `rings`, `{}`, null → null.
 * - `curveRings` / `curvePaths` → EtlError UNSUPPORTED_GEOMETRY (ask the server for densified
 *   geometry with `returnTrueCurves=false`).
 * - Z is kept as the third value when the options or the geometry say `hasZ`. With `hasM` and no
 *   `hasZ` the third value is M and is dropped. See positions.ts for `keepM`.
 * Repairs (dropped degenerate rings/paths, promoted orphan holes, dropped invalid positions) are
 * reported through `onIssue`.
 */
import { EtlError } from '../../core/errors.js';
import type { EsriGeometryType } from '../../core/protocol.js';
import { ringsToGeoJSON } from './polygon.js';
import { copyPosition, type PositionLayout, positionLayout } from './positions.js';
import type { ConvertOptions, GeoJSONGeometry, GeometryIssue, Position } from './types.js';

type Report = ((issue: GeometryIssue) => void) | undefined;
type Shape = 'point' | 'multipoint' | 'polyline' | 'polygon' | 'envelope';

const SHAPE_OF_TYPE: Record<EsriGeometryType, Shape> = {
  esriGeometryPoint: 'point',
  esriGeometryMultipoint: 'multipoint',
  esriGeometryPolyline: 'polyline',
  esriGeometryPolygon: 'polygon',
  esriGeometryEnvelope: 'envelope',
};

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function esriGeometryToGeoJSON(
  geometry: unknown,
  options: ConvertOptions = {},
): GeoJSONGeometry | null {
  if (geometry === null || typeof geometry !== 'object') return null;
  const g = geometry as Record<string, unknown>;
  const shape = shapeOf(g);
  if (shape === undefined) return null;
  const expected = options.geometryType === undefined ? undefined : SHAPE_OF_TYPE[options.geometryType];
  if (expected !== undefined && expected !== shape) {
    throw new EtlError(
      'INVALID_GEOMETRY',
      `Expected a ${options.geometryType} geometry, got a ${shape} (keys: ${Object.keys(g).slice(0, 6).join(', ')})`,
    );
  }
  const hasZ = options.hasZ === true || g.hasZ === true;
  const hasM = options.hasM === true || g.hasM === true;
  const layout = positionLayout(hasZ, hasM, options.keepM === true, options.reuseInput === true);
  const report = options.onIssue;
  switch (shape) {
    case 'point':
      return pointToGeoJSON(g, hasZ, layout);
    case 'multipoint':
      return multipointToGeoJSON(g.points, layout, report);
    case 'polyline':
      return pathsToGeoJSON(g.paths, layout, report);
    case 'polygon':
      return Array.isArray(g.rings) ? ringsToGeoJSON(g.rings, layout, report) : null;
    case 'envelope':
      return envelopeToGeoJSON(g, report);
  }
}

function shapeOf(g: Record<string, unknown>): Shape | undefined {
  if (g.rings !== undefined) return 'polygon';
  if (g.paths !== undefined) return 'polyline';
  if (g.points !== undefined) return 'multipoint';
  if (g.x !== undefined || g.y !== undefined) return 'point';
  if (g.xmin !== undefined) return 'envelope';
  if (g.curveRings !== undefined || g.curvePaths !== undefined) {
    throw new EtlError(
      'UNSUPPORTED_GEOMETRY',
      'True curves (curveRings / curvePaths) are not supported: query the layer with returnTrueCurves=false ' +
        'so that the server densifies them into rings and paths',
    );
  }
  return undefined;
}

function pointToGeoJSON(
  g: Record<string, unknown>,
  hasZ: boolean,
  layout: PositionLayout,
): GeoJSONGeometry | null {
  const x = g.x;
  const y = g.y;
  if (!isFiniteNumber(x) || !isFiniteNumber(y)) return null;
  // a point's z and m are named, so z is unambiguous even without hasZ
  const z = g.z;
  if (!hasZ && !isFiniteNumber(z)) return { type: 'Point', coordinates: [x, y] };
  const coordinates: Position = [x, y, isFiniteNumber(z) ? z : 0];
  if (layout.mIndex >= 0) coordinates.push(isFiniteNumber(g.m) ? g.m : 0);
  return { type: 'Point', coordinates };
}

function multipointToGeoJSON(
  points: unknown,
  layout: PositionLayout,
  report: Report,
): GeoJSONGeometry | null {
  if (!Array.isArray(points) || points.length === 0) return null;
  const coordinates: Position[] = [];
  for (let i = 0; i < points.length; i++) {
    const p = copyPosition(points[i], layout);
    if (p !== undefined) coordinates.push(p);
    else report?.({ kind: 'invalid-position', detail: `point ${i} is not a finite x, y`, index: i });
  }
  return coordinates.length === 0 ? null : { type: 'MultiPoint', coordinates };
}

function pathsToGeoJSON(paths: unknown, layout: PositionLayout, report: Report): GeoJSONGeometry | null {
  if (!Array.isArray(paths) || paths.length === 0) return null;
  const lines: Position[][] = [];
  for (let i = 0; i < paths.length; i++) {
    const src: unknown = paths[i];
    const line: Position[] = [];
    if (Array.isArray(src)) {
      for (let j = 0; j < src.length; j++) {
        const p = copyPosition(src[j], layout);
        if (p !== undefined) line.push(p);
        else
          report?.({
            kind: 'invalid-position',
            detail: `path ${i} vertex ${j} is not a finite x, y`,
            index: i,
          });
      }
    }
    if (line.length >= 2) lines.push(line);
    else report?.({ kind: 'degenerate-path', detail: `path ${i} has fewer than 2 positions`, index: i });
  }
  if (lines.length === 0) return null;
  return lines.length === 1
    ? { type: 'LineString', coordinates: lines[0]! }
    : { type: 'MultiLineString', coordinates: lines };
}

function envelopeToGeoJSON(g: Record<string, unknown>, report: Report): GeoJSONGeometry | null {
  const { xmin, ymin, xmax, ymax } = g;
  if (!isFiniteNumber(xmin) || !isFiniteNumber(ymin) || !isFiniteNumber(xmax) || !isFiniteNumber(ymax))
    return null;
  if (xmin === xmax || ymin === ymax) {
    report?.({ kind: 'degenerate-ring', detail: 'envelope has zero area', index: 0 });
    return null;
  }
  const x0 = Math.min(xmin, xmax);
  const x1 = Math.max(xmin, xmax);
  const y0 = Math.min(ymin, ymax);
  const y1 = Math.max(ymin, ymax);
  return {
    type: 'Polygon',
    coordinates: [
      [
        [x0, y0],
        [x1, y0],
        [x1, y1],
        [x0, y1],
        [x0, y0],
      ],
    ],
  };
}
