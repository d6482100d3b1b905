/**
 * A GeoJSON FeatureCollection → layer data: geometry types mapped to Esri kinds, polygons
 * rewound to Esri orientation (outer clockwise, holes counter-clockwise), properties → fields
 * with inferred types, integer ids → OIDs (else 1..n).
 */
import { readFile } from 'node:fs/promises';
import { EtlError } from '../../core/errors.js';
import type { EsriField } from '../../core/protocol.js';
import {
  type CellValue,
  type Column,
  GeometryBuilder,
  type GeometryKind,
  type LayerData,
  ringArea2,
} from './store.js';

type Json = unknown;

interface GeoFeature {
  id?: Json;
  geometry: { type: string; coordinates?: Json } | null;
  properties: Record<string, Json> | null;
}

const KIND_OF: Record<string, GeometryKind> = {
  Point: 'point',
  MultiPoint: 'multipoint',
  LineString: 'polyline',
  MultiLineString: 'polyline',
  Polygon: 'polygon',
  MultiPolygon: 'polygon',
};

function fail(
  source: string,
  message: string,
  code: 'USAGE' | 'UNSUPPORTED_GEOMETRY' | 'INVALID_GEOMETRY' = 'USAGE',
): EtlError {
  return new EtlError(code, `${source}: ${message}`);
}

function features(doc: Json, source: string): GeoFeature[] {
  const d = doc as { type?: unknown; features?: unknown };
  let list: unknown[];
  if (d && d.type === 'FeatureCollection' && Array.isArray(d.features)) list = d.features;
  else if (d && d.type === 'Feature') list = [d];
  else throw fail(source, 'not a GeoJSON FeatureCollection');
  return list.map((f, i) => {
    const feature = f as { type?: unknown; geometry?: unknown; properties?: unknown; id?: unknown };
    if (feature?.type !== 'Feature') throw fail(source, `features[${i}] is not a Feature`);
    const geometry = (feature.geometry ?? null) as GeoFeature['geometry'];
    if (geometry !== null && (typeof geometry !== 'object' || typeof geometry.type !== 'string')) {
      throw fail(source, `features[${i}].geometry is invalid`, 'INVALID_GEOMETRY');
    }
    const properties = (feature.properties ?? null) as GeoFeature['properties'];
    return {
      id: feature.id,
      geometry,
      properties: properties && typeof properties === 'object' ? properties : null,
    };
  });
}

function layerKind(list: GeoFeature[], source: string): GeometryKind {
  const kinds = new Set<GeometryKind>();
  for (const f of list) {
    if (!f.geometry) continue;
    const kind = KIND_OF[f.geometry.type];
    if (!kind)
      throw fail(source, `geometry type ${f.geometry.type} is not supported`, 'UNSUPPORTED_GEOMETRY');
    kinds.add(kind);
  }
  if (kinds.size === 0) return 'point';
  if (kinds.size === 1) return [...kinds][0]!;
  if (kinds.size === 2 && kinds.has('point') && kinds.has('multipoint')) return 'multipoint';
  throw fail(source, `mixed geometry types (${[...kinds].join(', ')}) in one layer`, 'UNSUPPORTED_GEOMETRY');
}

/** Every position of a geometry (for the Z scan). */
function* positions(coords: Json, depth: number): Generator<unknown[]> {
  if (!Array.isArray(coords)) return;
  if (depth === 0) {
    yield coords;
    return;
  }
  for (const c of coords) yield* positions(c, depth - 1);
}

const DEPTH: Record<string, number> = {
  Point: 0,
  MultiPoint: 1,
  LineString: 1,
  MultiLineString: 2,
  Polygon: 2,
  MultiPolygon: 3,
};

function hasZ(list: GeoFeature[]): boolean {
  for (const f of list) {
    if (!f.geometry) continue;
    for (const p of positions(f.geometry.coordinates, DEPTH[f.geometry.type] ?? 0)) {
      if (p.length >= 3) return true;
    }
  }
  return false;
}

/** OIDs: feature ids, else a property named like the OID field, else 1..n. */
function pickOids(list: GeoFeature[], oidField: string): { oids: number[]; oidProperty: string | undefined } {
  const valid = (values: unknown[]) =>
    values.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) &&
    new Set(values).size === values.length;
  const ids = list.map((f) => f.id);
  if (list.length > 0 && valid(ids)) return { oids: ids as number[], oidProperty: undefined };
  const key = list[0]?.properties
    ? Object.keys(list[0].properties).find((k) => k.toLowerCase() === oidField.toLowerCase())
    : undefined;
  if (key !== undefined) {
    const values = list.map((f) => f.properties?.[key]);
    if (valid(values)) return { oids: values as number[], oidProperty: key };
  }
  return { oids: list.map((_, i) => i + 1), oidProperty: undefined };
}

type Inferred = 'int' | 'double' | 'bool' | 'string';

function inferField(values: Iterable<Json>): { type: Inferred; maxLength: number } {
  let type: Inferred | undefined;
  let maxLength = 0;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    let t: Inferred;
    if (typeof v === 'boolean') t = 'bool';
    else if (typeof v === 'number') t = Number.isInteger(v) && Math.abs(v) <= 2147483647 ? 'int' : 'double';
    else t = 'string';
    const text = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    maxLength = Math.max(maxLength, text.length);
    if (type === undefined || type === t) type = t;
    else if ((type === 'int' && t === 'double') || (type === 'double' && t === 'int')) type = 'double';
    else type = 'string';
  }
  return { type: type ?? 'string', maxLength };
}

function buildColumns(list: GeoFeature[], order: number[], exclude: Set<string>): Column[] {
  const names: string[] = [];
  const seen = new Set<string>(exclude);
  for (const f of list) {
    for (const key of Object.keys(f.properties ?? {})) {
      if (seen.has(key.toLowerCase())) continue;
      seen.add(key.toLowerCase());
      names.push(key);
    }
  }
  return names.map((name) => {
    const { type, maxLength } = inferField(list.map((f) => f.properties?.[name]));
    const n = order.length;
    if (type === 'string') {
      const values: (string | null)[] = new Array(n);
      for (let r = 0; r < n; r++) {
        const v = list[order[r]!]!.properties?.[name];
        values[r] =
          v === null || v === undefined
            ? null
            : typeof v === 'string'
              ? v
              : typeof v === 'object'
                ? JSON.stringify(v)
                : String(v);
      }
      const field: EsriField = {
        name,
        type: 'esriFieldTypeString',
        alias: name,
        length: Math.max(255, maxLength),
        nullable: true,
      };
      return { field, get: (row: number): CellValue => values[row] ?? null };
    }
    const values = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      const v = list[order[r]!]!.properties?.[name];
      values[r] = v === null || v === undefined ? Number.NaN : v === true ? 1 : v === false ? 0 : Number(v);
    }
    const esriType =
      type === 'bool'
        ? 'esriFieldTypeSmallInteger'
        : type === 'int'
          ? 'esriFieldTypeInteger'
          : 'esriFieldTypeDouble';
    const field: EsriField = { name, type: esriType, alias: name, nullable: true };
    return {
      field,
      get: (row: number): CellValue => {
        const v = values[row]!;
        return Number.isNaN(v) ? null : v;
      },
    };
  });
}

function flatPositions(coords: Json, dim: number, source: string): number[] {
  if (!Array.isArray(coords)) throw fail(source, 'invalid coordinates', 'INVALID_GEOMETRY');
  const out: number[] = [];
  for (const p of coords) {
    if (!Array.isArray(p) || p.length < 2) throw fail(source, 'invalid position', 'INVALID_GEOMETRY');
    for (let k = 0; k < dim; k++) {
      const v = k < p.length ? p[k] : 0;
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw fail(source, 'invalid coordinate', 'INVALID_GEOMETRY');
      out.push(v);
    }
  }
  return out;
}

function reversePositions(flat: number[], dim: number): number[] {
  const out: number[] = [];
  for (let p = flat.length / dim - 1; p >= 0; p--) out.push(...flat.slice(p * dim, p * dim + dim));
  return out;
}

/** GeoJSON polygon rings → Esri rings (outer clockwise, holes counter-clockwise, closed). */
function esriRings(polygon: Json, dim: number, source: string): number[][] {
  if (!Array.isArray(polygon)) throw fail(source, 'invalid polygon', 'INVALID_GEOMETRY');
  return polygon.map((ring, k) => {
    let flat = flatPositions(ring, dim, source);
    const n = flat.length / dim;
    if (n > 0 && flat.slice(0, 2).some((v, i) => v !== flat[(n - 1) * dim + i])) {
      flat = [...flat, ...flat.slice(0, dim)];
    }
    const area = ringArea2(flat, 0, flat.length / dim, dim);
    const wantClockwise = k === 0;
    return (wantClockwise ? area > 0 : area < 0) ? reversePositions(flat, dim) : flat;
  });
}

function esriParts(g: { type: string; coordinates?: Json }, dim: number, source: string): number[][] {
  const c = g.coordinates;
  switch (g.type) {
    case 'Point':
      return [flatPositions([c], dim, source)];
    case 'MultiPoint':
    case 'LineString':
      return [flatPositions(c, dim, source)];
    case 'MultiLineString':
      if (!Array.isArray(c)) throw fail(source, 'invalid coordinates', 'INVALID_GEOMETRY');
      return c.map((path) => flatPositions(path, dim, source));
    case 'Polygon':
      return esriRings(c, dim, source);
    case 'MultiPolygon':
      if (!Array.isArray(c)) throw fail(source, 'invalid coordinates', 'INVALID_GEOMETRY');
      return c.flatMap((polygon) => esriRings(polygon, dim, source));
    default:
      throw fail(source, `geometry type ${g.type} is not supported`, 'UNSUPPORTED_GEOMETRY');
  }
}

/** Converts a parsed GeoJSON document. `source` names it in error messages. */
export function geojsonToLayerData(doc: Json, oidField: string, source = 'GeoJSON'): LayerData {
  const list = features(doc, source);
  const kind = layerKind(list, source);
  const z = hasZ(list);
  const { oids, oidProperty } = pickOids(list, oidField);
  const order = list.map((_, i) => i).sort((a, b) => oids[a]! - oids[b]!);
  const builder = new GeometryBuilder(kind, z, false, list.length);
  const dim = z ? 3 : 2;
  for (const i of order) {
    const g = list[i]!.geometry;
    const empty = g && Array.isArray(g.coordinates) && g.coordinates.length === 0;
    if (!g || empty) builder.addNull();
    else if (kind === 'point') {
      const [p] = esriParts(g, dim, source);
      builder.addPoint(p![0]!, p![1]!, p![2] ?? 0);
    } else {
      const parts = esriParts(g, dim, source).filter((p) => p.length > 0);
      if (parts.length === 0) builder.addNull();
      else builder.addParts(parts);
    }
  }
  const exclude = new Set([oidField.toLowerCase()]);
  if (oidProperty) exclude.add(oidProperty.toLowerCase());
  const columns = buildColumns(list, order, exclude);
  return {
    oids: Float64Array.from(order.map((i) => oids[i]!)),
    geometry: builder.build(),
    oidField,
    columns,
    displayField: columns.find((c) => c.field.type === 'esriFieldTypeString')?.field.name ?? oidField,
  };
}

/** Reads and converts a GeoJSON file. */
export async function loadGeojsonFile(file: string, oidField: string): Promise<LayerData> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new EtlError('USAGE', `Cannot read GeoJSON file ${file}`, { cause });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new EtlError('USAGE', `${file}: invalid JSON`, { cause });
  }
  return geojsonToLayerData(doc, oidField, file);
}
