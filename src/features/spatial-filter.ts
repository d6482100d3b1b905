/**
 * Spatial filters (`--bbox`, `--geometry`): the `geometry`/`geometryType`/`spatialRel`/`inSR`
 * parameters every query of an extraction carries (counts, id lists, statistics, probes and pages),
 * so that every strategy exports the same features the server counts for the filter.
 *
 * A polygon too large for a query is sent simplified to a polygon that covers it (its convex hull,
 * or its bounding box), and `exact` then decides on our side which of the features answered
 * intersect the polygon itself: no feature outside it is written.
 */
import { EtlError } from '../core/errors.js';
import type { EsriFeature } from '../core/protocol.js';
import type { Params } from '../http/types.js';

export type Bbox = readonly [xmin: number, ymin: number, xmax: number, ymax: number];

export interface SpatialFilter {
  /** Esri JSON geometry of the query (an envelope, or a polygon in `inSR`). */
  readonly geometry: Record<string, unknown>;
  readonly geometryType: 'esriGeometryEnvelope' | 'esriGeometryPolygon';
  /** wkid of `geometry`. */
  readonly inSR: number;
  /** Bounding box of `geometry`, in `inSR`. */
  readonly bbox: Bbox;
  /**
   * When the query geometry only covers the filter (a simplified polygon): whether a feature (its
   * geometry in `exactSR`) intersects the filter itself. Features failing it are not written.
   */
  readonly exact?: ((feature: EsriFeature) => boolean) | undefined;
  /** The spatial reference the features must be in for `exact` (the filter's own). */
  readonly exactSR?: number | undefined;
  /** What the filter is, for messages (`bbox …`, `polygon of N vertices (simplified to M)`). */
  readonly describe: string;
}

/** The query parameters of a filter (none without one). */
export function filterParams(filter: SpatialFilter | undefined): Params {
  if (!filter) return {};
  return {
    geometry: JSON.stringify({ ...filter.geometry, spatialReference: { wkid: filter.inSR } }),
    geometryType: filter.geometryType,
    spatialRel: 'esriSpatialRelIntersects',
    inSR: filter.inSR,
  };
}

/** An envelope filter; throws USAGE unless the box is four finite numbers with min ≤ max. */
export function bboxFilter(bbox: readonly number[], inSR = 4326): SpatialFilter {
  if (bbox.length !== 4 || !bbox.every((n) => Number.isFinite(n))) {
    throw new EtlError(
      'USAGE',
      `--bbox must be four numbers minx,miny,maxx,maxy (got ${bbox.length} values)`,
    );
  }
  const [xmin, ymin, xmax, ymax] = bbox as [number, number, number, number];
  if (xmin > xmax || ymin > ymax) {
    throw new EtlError('USAGE', `--bbox must be minx,miny,maxx,maxy with min ≤ max (got ${bbox.join(',')})`);
  }
  if (!(Number.isSafeInteger(inSR) && inSR > 0)) {
    throw new EtlError('USAGE', `--bbox-sr must be a positive wkid (got ${inSR})`);
  }
  return {
    geometry: { xmin, ymin, xmax, ymax },
    geometryType: 'esriGeometryEnvelope',
    inSR,
    bbox: [xmin, ymin, xmax, ymax],
    describe: `bbox ${bbox.join(',')} (wkid ${inSR})`,
  };
}

/** `minx,miny,maxx,maxy` → numbers (USAGE on anything else). */
export function parseBbox(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const numbers = parts.map((s) => (s === '' ? Number.NaN : Number(s)));
  if (parts.length !== 4 || !numbers.every(Number.isFinite)) {
    throw new EtlError('USAGE', `--bbox must be four numbers minx,miny,maxx,maxy (got "${text}")`);
  }
  return numbers;
}

const WEB_MERCATOR = new Set([3857, 102100, 900913, 102113]);
const R = 6378137;

/**
 * The filter's bounding box in the spatial reference `wkid` (its own, or WGS84 ↔ Web Mercator),
 * else undefined: the envelope quadtree is then not narrowed (the filter still holds in every query).
 */
export function bboxIn(filter: SpatialFilter, wkid: number | undefined): Bbox | undefined {
  if (wkid === undefined) return undefined;
  const from = filter.inSR;
  const same = from === wkid || (WEB_MERCATOR.has(from) && WEB_MERCATOR.has(wkid));
  if (same) return filter.bbox;
  const [xmin, ymin, xmax, ymax] = filter.bbox;
  if (from === 4326 && WEB_MERCATOR.has(wkid)) {
    const [x0, y0] = toMercator(xmin, ymin);
    const [x1, y1] = toMercator(xmax, ymax);
    return [x0, y0, x1, y1];
  }
  if (WEB_MERCATOR.has(from) && wkid === 4326) {
    const [x0, y0] = fromMercator(xmin, ymin);
    const [x1, y1] = fromMercator(xmax, ymax);
    return [x0, y0, x1, y1];
  }
  return undefined;
}

function toMercator(lon: number, lat: number): [number, number] {
  const clamped = Math.max(-85.05112878, Math.min(85.05112878, lat));
  return [(lon * Math.PI * R) / 180, R * Math.log(Math.tan(Math.PI / 4 + (clamped * Math.PI) / 360))];
}

function fromMercator(x: number, y: number): [number, number] {
  return [(x / R) * (180 / Math.PI), (2 * Math.atan(Math.exp(y / R)) - Math.PI / 2) * (180 / Math.PI)];
}
