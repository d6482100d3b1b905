/**
 * Parses and validates the string parameters of `{layer}/query`.
 */
import { EmulatorQueryError, type QueryParams } from '../types.js';
import type { FieldRef, FieldSet } from './fields.js';
import { fromWebMercator, isWebMercator, parseSpatialReference } from './projection.js';

export type StatisticType = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'stddev' | 'var';

export interface StatisticRequest {
  type: StatisticType;
  field: FieldRef;
  outName: string;
}

export interface OrderBy {
  field: FieldRef;
  desc: boolean;
}

export type QueryFormat = 'json' | 'geojson' | 'pbf';

export interface QueryRequest {
  /** `pjson` is `json`. */
  format: QueryFormat;
  where: string | undefined;
  objectIds: number[] | undefined;
  /** Query envelope in WGS84: xmin, ymin, xmax, ymax. */
  envelope: [number, number, number, number] | undefined;
  /**
   * A polygon `geometry` (esriSpatialRelIntersects), in WGS84 as GeoJSON: rows must intersect it,
   * not only its envelope, as ArcGIS does.
   */
  polygon: QueryPolygon | undefined;
  outFields: FieldRef[];
  returnGeometry: boolean;
  returnZ: boolean;
  returnM: boolean;
  orderBy: OrderBy[];
  resultOffset: number | undefined;
  resultRecordCount: number | undefined;
  returnIdsOnly: boolean;
  returnCountOnly: boolean;
  statistics: StatisticRequest[] | undefined;
  groupBy: FieldRef[];
  /** Output in Web Mercator instead of WGS84. */
  outWebMercator: boolean;
  /** `geometryPrecision`: x/y rounded to this many decimals (Esri JSON and pbf answers). */
  geometryPrecision: number | undefined;
  /** `maxAllowableOffset`: lines and rings generalised within this distance, in output units. */
  maxAllowableOffset: number | undefined;
}

/** The output projection, with x/y rounded to `precision` decimals when one is asked for. */
export function outputProjection(
  project: ((x: number, y: number) => [number, number]) | undefined,
  precision: number | undefined,
): ((x: number, y: number) => [number, number]) | undefined {
  if (precision === undefined) return project;
  const round = (v: number) => Number(v.toFixed(precision));
  return (x, y) => {
    const [px, py] = project ? project(x, y) : [x, y];
    return [round(px), round(py)];
  };
}

/** A query polygon in WGS84 (GeoJSON MultiPolygon coordinates). */
export interface QueryPolygon {
  type: 'MultiPolygon';
  coordinates: number[][][][];
}

/** The ArcGIS answer to an invalid parameter. */
export function invalidParameter(detail: string): EmulatorQueryError {
  return new EmulatorQueryError(400, 'Unable to complete operation.', [detail]);
}

function present(v: string | undefined): v is string {
  return v !== undefined && v.trim() !== '';
}

export function parseBool(v: string | undefined, fallback: boolean): boolean {
  if (!present(v)) return fallback;
  const s = v.trim().toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  return fallback;
}

function parseInteger(name: string, v: string | undefined): number | undefined {
  if (!present(v)) return undefined;
  const n = Number(v.trim());
  if (!Number.isSafeInteger(n) || n < 0) throw invalidParameter(`'${name}' parameter is invalid`);
  return n;
}

function resolveField(fields: FieldSet, name: string, param: string): FieldRef {
  const ref = fields.field(name);
  if (!ref)
    throw invalidParameter(`'${param}' parameter is invalid: Invalid field: ${name.trim().slice(0, 64)}`);
  return ref;
}

function parseOutFields(fields: FieldSet, v: string | undefined): FieldRef[] {
  if (!present(v)) return [fields.oid];
  const names = v.split(',').map((s) => s.trim());
  if (names.includes('*')) return [...fields.all];
  const out: FieldRef[] = [fields.oid];
  for (const name of names) {
    if (name === '' || name.toLowerCase() === fields.geometryField.toLowerCase()) continue;
    const ref = resolveField(fields, name, 'outFields');
    if (!out.includes(ref)) out.push(ref);
  }
  return out;
}

function parseOrderBy(fields: FieldSet, v: string | undefined): OrderBy[] {
  if (!present(v)) return [];
  return v.split(',').map((item) => {
    const parts = item.trim().split(/\s+/);
    if (parts.length > 2 || parts[0] === '') throw invalidParameter(`'orderByFields' parameter is invalid`);
    const dir = (parts[1] ?? 'ASC').toUpperCase();
    if (dir !== 'ASC' && dir !== 'DESC') throw invalidParameter(`'orderByFields' parameter is invalid`);
    return { field: resolveField(fields, parts[0]!, 'orderByFields'), desc: dir === 'DESC' };
  });
}

function parseObjectIds(v: string | undefined): number[] | undefined {
  if (!present(v)) return undefined;
  const out: number[] = [];
  for (const item of v.split(',')) {
    const s = item.trim();
    if (s === '') continue;
    const n = Number(s);
    if (!Number.isFinite(n)) throw invalidParameter(`'objectIds' parameter is invalid`);
    out.push(n);
  }
  return out;
}

/** The bbox of an Esri JSON geometry object (envelope, point, multipoint, polyline, polygon). */
function bboxOfGeometry(g: Record<string, unknown>): [number, number, number, number] | undefined {
  const n = (k: string) => (typeof g[k] === 'number' ? (g[k] as number) : Number(g[k]));
  if ('xmin' in g) {
    const b: [number, number, number, number] = [n('xmin'), n('ymin'), n('xmax'), n('ymax')];
    return b.every(Number.isFinite) ? b : undefined;
  }
  if ('x' in g) {
    const x = n('x');
    const y = n('y');
    return Number.isFinite(x) && Number.isFinite(y) ? [x, y, x, y] : undefined;
  }
  const lists = (g.points ? [g.points] : ((g.paths ?? g.rings) as unknown)) as unknown;
  if (!Array.isArray(lists)) return undefined;
  let b: [number, number, number, number] | undefined;
  for (const list of lists) {
    if (!Array.isArray(list)) return undefined;
    for (const p of list) {
      if (!Array.isArray(p) || typeof p[0] !== 'number' || typeof p[1] !== 'number') return undefined;
      const [x, y] = p as number[];
      b = b
        ? [Math.min(b[0], x!), Math.min(b[1], y!), Math.max(b[2], x!), Math.max(b[3], y!)]
        : [x!, y!, x!, y!];
    }
  }
  return b;
}

const GEOMETRY_TYPES = new Set([
  'esriGeometryEnvelope',
  'esriGeometryPoint',
  'esriGeometryMultipoint',
  'esriGeometryPolyline',
  'esriGeometryPolygon',
]);
const SPATIAL_RELS = new Set([
  'esriSpatialRelIntersects',
  'esriSpatialRelEnvelopeIntersects',
  'esriSpatialRelIndexIntersects',
]);

/**
 * Esri polygon rings (outer rings clockwise, each followed by its holes) as a GeoJSON
 * MultiPolygon in WGS84 (Web Mercator input projected back).
 */
function queryPolygon(params: QueryParams): QueryPolygon | undefined {
  const text = params.geometry?.trim();
  if (!present(text) || !text.startsWith('{') || params.geometryType?.trim() !== 'esriGeometryPolygon') {
    return undefined;
  }
  let g: { rings?: unknown; spatialReference?: unknown };
  try {
    g = JSON.parse(text) as typeof g;
  } catch {
    return undefined;
  }
  if (!Array.isArray(g.rings)) return undefined;
  let wkid = parseSpatialReference(g.spatialReference);
  if (present(params.inSR)) wkid = parseSpatialReference(params.inSR.trim()) ?? wkid;
  const mercator = wkid !== undefined && isWebMercator(wkid);
  const polygons: number[][][][] = [];
  for (const ring of g.rings as unknown[]) {
    if (!Array.isArray(ring) || ring.length < 4) throw invalidParameter(`'geometry' parameter is invalid`);
    const positions = ring.map((p: unknown) => {
      if (!Array.isArray(p) || typeof p[0] !== 'number' || typeof p[1] !== 'number') {
        throw invalidParameter(`'geometry' parameter is invalid`);
      }
      return mercator ? fromWebMercator(p[0], p[1]) : [p[0], p[1]];
    });
    let area2 = 0;
    for (let i = 1; i < positions.length; i++) {
      const a = positions[i - 1]!;
      const b = positions[i]!;
      area2 += a[0]! * b[1]! - b[0]! * a[1]!;
    }
    const last = polygons[polygons.length - 1];
    if (area2 < 0 || !last) polygons.push([area2 < 0 ? positions.reverse() : positions]);
    else last.push(area2 > 0 ? positions.reverse() : positions);
  }
  return { type: 'MultiPolygon', coordinates: polygons };
}

function parseGeometry(params: QueryParams): [number, number, number, number] | undefined {
  const text = params.geometry;
  if (!present(text)) return undefined;
  const geometryType = present(params.geometryType) ? params.geometryType.trim() : 'esriGeometryEnvelope';
  if (!GEOMETRY_TYPES.has(geometryType)) throw invalidParameter(`'geometryType' parameter is invalid`);
  const spatialRel = present(params.spatialRel) ? params.spatialRel.trim() : 'esriSpatialRelIntersects';
  if (!SPATIAL_RELS.has(spatialRel)) throw invalidParameter(`'spatialRel' parameter is invalid`);
  let bbox: [number, number, number, number] | undefined;
  let wkid: number | undefined;
  const t = text.trim();
  if (t.startsWith('{')) {
    let g: unknown;
    try {
      g = JSON.parse(t);
    } catch {
      throw invalidParameter(`'geometry' parameter is invalid`);
    }
    if (!g || typeof g !== 'object') throw invalidParameter(`'geometry' parameter is invalid`);
    bbox = bboxOfGeometry(g as Record<string, unknown>);
    wkid = parseSpatialReference((g as { spatialReference?: unknown }).spatialReference);
  } else {
    const nums = t.split(',').map((s) => Number(s.trim()));
    if (nums.length === 4 && nums.every(Number.isFinite)) bbox = nums as [number, number, number, number];
    else if (nums.length === 2 && nums.every(Number.isFinite))
      bbox = [nums[0]!, nums[1]!, nums[0]!, nums[1]!];
  }
  if (!bbox) throw invalidParameter(`'geometry' parameter is invalid`);
  if (present(params.inSR)) wkid = parseSpatialReference(params.inSR.trim()) ?? wkid;
  if (wkid !== undefined && isWebMercator(wkid)) {
    const [x0, y0] = fromWebMercator(bbox[0], bbox[1]);
    const [x1, y1] = fromWebMercator(bbox[2], bbox[3]);
    bbox = [x0, y0, x1, y1];
  }
  const [xmin, ymin, xmax, ymax] = bbox;
  return [Math.min(xmin, xmax), Math.min(ymin, ymax), Math.max(xmin, xmax), Math.max(ymin, ymax)];
}

const STAT_TYPES = new Set<StatisticType>(['count', 'sum', 'min', 'max', 'avg', 'stddev', 'var']);

function parseStatistics(fields: FieldSet, v: string | undefined): StatisticRequest[] | undefined {
  if (!present(v)) return undefined;
  let list: unknown;
  try {
    list = JSON.parse(v);
  } catch {
    throw invalidParameter(`'outStatistics' parameter is invalid`);
  }
  if (!Array.isArray(list) || list.length === 0)
    throw invalidParameter(`'outStatistics' parameter is invalid`);
  const names = new Set<string>();
  return list.map((item: unknown) => {
    const s = (item ?? {}) as Record<string, unknown>;
    const type = String(s.statisticType ?? '').toLowerCase() as StatisticType;
    if (!STAT_TYPES.has(type)) throw invalidParameter(`'outStatistics' parameter is invalid: statisticType`);
    const fieldName = String(s.onStatisticField ?? '');
    const field = resolveField(fields, fieldName, 'outStatistics');
    if (type !== 'count' && type !== 'min' && type !== 'max' && field.kind !== 'number') {
      throw invalidParameter(`'outStatistics' parameter is invalid: ${type} needs a numeric field`);
    }
    const outName =
      typeof s.outStatisticFieldName === 'string' && s.outStatisticFieldName.trim() !== ''
        ? s.outStatisticFieldName.trim()
        : `${type.toUpperCase()}_${field.name}`;
    if (names.has(outName.toLowerCase())) throw invalidParameter(`'outStatistics' parameter is invalid`);
    names.add(outName.toLowerCase());
    return { type, field, outName };
  });
}

/** Parses every supported parameter; throws EmulatorQueryError(400) for an invalid one. */
export function parseQueryParams(params: QueryParams, fields: FieldSet): QueryRequest {
  const f = present(params.f) ? params.f.trim().toLowerCase() : 'json';
  if (f !== 'json' && f !== 'pjson' && f !== 'geojson' && f !== 'pbf') {
    throw invalidParameter(`'f' parameter is invalid: unsupported format '${f.slice(0, 20)}'`);
  }
  const outWkid = present(params.outSR) ? parseSpatialReference(params.outSR.trim()) : undefined;
  const groupBy = present(params.groupByFieldsForStatistics)
    ? params.groupByFieldsForStatistics
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map((name) => resolveField(fields, name, 'groupByFieldsForStatistics'))
    : [];
  return {
    format: f === 'pjson' ? 'json' : f,
    where: params.where,
    objectIds: parseObjectIds(params.objectIds),
    envelope: parseGeometry(params),
    polygon: queryPolygon(params),
    outFields: parseOutFields(fields, params.outFields),
    returnGeometry: parseBool(params.returnGeometry, true),
    returnZ: parseBool(params.returnZ, true),
    returnM: parseBool(params.returnM, true),
    orderBy: parseOrderBy(fields, params.orderByFields),
    resultOffset: parseInteger('resultOffset', params.resultOffset),
    resultRecordCount: parseInteger('resultRecordCount', params.resultRecordCount),
    returnIdsOnly: parseBool(params.returnIdsOnly, false),
    returnCountOnly: parseBool(params.returnCountOnly, false),
    statistics: parseStatistics(fields, params.outStatistics),
    groupBy,
    outWebMercator: f !== 'geojson' && outWkid !== undefined && isWebMercator(outWkid),
    geometryPrecision: parsePrecision(params.geometryPrecision),
    maxAllowableOffset: parseOffset(params.maxAllowableOffset),
    ...checkDatumTransformation(params.datumTransformation),
  };
}

/**
 * `datumTransformation`: a wkid or a transformation's JSON. Checked only (the emulator's data is
 * WGS84 and it projects to Web Mercator only: no datum changes).
 */
function checkDatumTransformation(v: string | undefined): Record<string, never> {
  if (!present(v)) return {};
  const t = v.trim();
  if (/^\d+$/.test(t)) return {};
  try {
    const parsed: unknown = JSON.parse(t);
    if (parsed !== null && typeof parsed === 'object') return {};
  } catch {
    // invalid below
  }
  throw invalidParameter(`'datumTransformation' parameter is invalid`);
}

function parseOffset(v: string | undefined): number | undefined {
  if (!present(v)) return undefined;
  const n = Number(v.trim());
  if (!Number.isFinite(n) || n < 0) throw invalidParameter(`'maxAllowableOffset' parameter is invalid`);
  return n === 0 ? undefined : n;
}

function parsePrecision(v: string | undefined): number | undefined {
  const n = parseInteger('geometryPrecision', v);
  if (n !== undefined && n > 17) throw invalidParameter(`'geometryPrecision' parameter is invalid`);
  return n;
}
