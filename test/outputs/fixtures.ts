/**
 * One layer per geometry kind, with every value kind the binary formats must keep: unicode text,
 * dates (epoch ms), nulls, 64-bit integers (beyond 2^53 as bigints), Z, null geometries, polygons
 * with holes and multipart polygons.
 */
import type { EsriField, EsriGeometryType } from '../../src/core/protocol.js';
import type { GeoJSONFeature, GeoJSONGeometry } from '../../src/features/geometry/types.js';
import type { WriterSchema } from '../../src/features/writers/types.js';

export const FIELDS: EsriField[] = [
  { name: 'OBJECTID', type: 'esriFieldTypeOID' },
  { name: 'name', type: 'esriFieldTypeString', length: 64 },
  { name: 'small', type: 'esriFieldTypeSmallInteger' },
  { name: 'count', type: 'esriFieldTypeInteger' },
  { name: 'big', type: 'esriFieldTypeBigInteger' },
  { name: 'value', type: 'esriFieldTypeDouble' },
  { name: 'created', type: 'esriFieldTypeDate' },
  { name: 'guid', type: 'esriFieldTypeGUID' },
];

const NAMES = ['Café Örebro', 'Straße 東京', 'Emoji 🗺️ map', 'Say "hello", ok', 'Two\nlines'];
const BIGS: (number | bigint | null)[] = [
  9007199254740991,
  -9007199254740991,
  9223372036854775807n,
  null,
  42,
];

export function properties(i: number): Record<string, unknown> {
  return {
    OBJECTID: i + 1,
    name: i % 6 === 5 ? null : `${NAMES[i % NAMES.length]} ${i + 1}`,
    small: i % 4 === 3 ? null : (i % 100) - 50,
    count: i * 1000,
    big: BIGS[i % BIGS.length]!,
    value: i % 3 === 2 ? null : i * 1.25 - 7.5,
    created: i % 5 === 4 ? null : Date.UTC(2001, 0, 1) + i * 86_400_123,
    guid: i % 2 === 0 ? `{0000${String(i).padStart(4, '0')}-0000-4000-8000-000000000000}` : null,
  };
}

function z(p: number[], hasZ: boolean, i: number): number[] {
  return hasZ ? [...p, 10 + i] : p;
}

function ring(cx: number, cy: number, r: number, hasZ: boolean, clockwise: boolean): number[][] {
  const pts = [
    [cx - r, cy - r],
    [cx + r, cy - r],
    [cx + r, cy + r],
    [cx - r, cy + r],
  ];
  if (clockwise) pts.reverse();
  return [...pts, pts[0]!].map((p, i) => z(p, hasZ, i));
}

export type Kind = 'point' | 'multipoint' | 'polyline' | 'polygon';

export const ESRI_TYPES: Readonly<Record<Kind, EsriGeometryType>> = {
  point: 'esriGeometryPoint',
  multipoint: 'esriGeometryMultipoint',
  polyline: 'esriGeometryPolyline',
  polygon: 'esriGeometryPolygon',
};

export function geometry(kind: Kind, i: number, hasZ: boolean): GeoJSONGeometry | null {
  if (i % 7 === 6) return null;
  const cx = -100 + (i % 50) * 0.5;
  const cy = 30 + Math.floor(i / 50) * 0.5;
  switch (kind) {
    case 'point':
      return { type: 'Point', coordinates: z([cx, cy], hasZ, i) };
    case 'multipoint':
      return {
        type: 'MultiPoint',
        coordinates: [z([cx, cy], hasZ, 1), z([cx + 0.1, cy + 0.1], hasZ, 2)],
      };
    case 'polyline':
      return i % 2 === 0
        ? { type: 'LineString', coordinates: [z([cx, cy], hasZ, 1), z([cx + 0.2, cy + 0.1], hasZ, 2)] }
        : {
            type: 'MultiLineString',
            coordinates: [
              [z([cx, cy], hasZ, 1), z([cx + 0.2, cy], hasZ, 2)],
              [z([cx, cy + 0.1], hasZ, 3), z([cx + 0.2, cy + 0.3], hasZ, 4)],
            ],
          };
    case 'polygon':
      // a polygon with a hole, or two polygons (the first with a hole)
      return i % 2 === 0
        ? { type: 'Polygon', coordinates: [ring(cx, cy, 0.2, hasZ, false), ring(cx, cy, 0.05, hasZ, true)] }
        : {
            type: 'MultiPolygon',
            coordinates: [
              [ring(cx, cy, 0.2, hasZ, false), ring(cx, cy, 0.05, hasZ, true)],
              [ring(cx + 0.4, cy, 0.1, hasZ, false)],
            ],
          };
  }
}

export function layerSchema(kind: Kind, hasZ: boolean): WriterSchema {
  return { oidField: 'OBJECTID', fields: FIELDS, geometryType: ESRI_TYPES[kind], hasZ };
}

export function features(kind: Kind, hasZ: boolean, count: number, from = 0): GeoJSONFeature[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { type: 'Feature', id: i + 1, geometry: geometry(kind, i, hasZ), properties: properties(i) };
  });
}

/** Lines and polygons as the binary formats write them: always their multi type. */
export function promotedGeometry(g: GeoJSONGeometry | null): { type: string; coordinates: unknown } | null {
  if (g === null) return null;
  if (g.type === 'LineString') return { type: 'MultiLineString', coordinates: [g.coordinates] };
  if (g.type === 'Polygon') return { type: 'MultiPolygon', coordinates: [g.coordinates] };
  return { type: g.type, coordinates: g.coordinates };
}
