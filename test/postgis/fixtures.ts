/** Layers for the PostGIS writer tests: every geometry kind, every field type, awkward values. */
import type { EsriField, EsriGeometryType } from '../../src/core/protocol.js';
import type { GeoJSONFeature, GeoJSONGeometry } from '../../src/features/geometry/types.js';
import type { WriterSchema } from '../../src/features/writers/types.js';

export const FIELDS: EsriField[] = [
  { name: 'OBJECTID', type: 'esriFieldTypeOID' },
  { name: 'name', type: 'esriFieldTypeString', length: 64 },
  { name: 'small', type: 'esriFieldTypeSmallInteger' },
  { name: 'count', type: 'esriFieldTypeInteger' },
  { name: 'big', type: 'esriFieldTypeBigInteger' },
  { name: 'single', type: 'esriFieldTypeSingle' },
  { name: 'value', type: 'esriFieldTypeDouble' },
  { name: 'when', type: 'esriFieldTypeDate' },
  { name: 'day', type: 'esriFieldTypeDateOnly' },
  { name: 'time', type: 'esriFieldTypeTimeOnly' },
  { name: 'guid', type: 'esriFieldTypeGlobalID' },
  { name: 'Mixed Case "q"', type: 'esriFieldTypeString' },
  { name: 'shape', type: 'esriFieldTypeGeometry' },
];

/** The PostgreSQL type of each column, as format_type prints it. */
export const PG_TYPES: Record<string, string> = {
  OBJECTID: 'bigint',
  name: 'text',
  small: 'smallint',
  count: 'integer',
  big: 'bigint',
  single: 'real',
  value: 'double precision',
  when: 'timestamp with time zone',
  day: 'date',
  time: 'time without time zone',
  guid: 'text',
  'Mixed Case "q"': 'text',
};

const NAMES = [
  'Main Street',
  'Café Örebro',
  'O\'Brien\'s, "quoted"',
  'Straße 東京',
  'Emoji 🗺️ map',
  'Two\nlines\tand a tab',
  'Back\\slash',
  '',
];

/** Properties of feature i: every type, nulls in turn, extremes on the first rows. */
export function propertiesOf(i: number, oid: number): Record<string, unknown> {
  const extremes: Record<string, unknown>[] = [
    {
      small: -32768,
      count: 2147483647,
      big: 9007199254740991,
      single: 3.4028234663852886e38,
      value: 0.1,
      when: -86400000 * 365 * 40 + 123,
      day: '1900-01-01',
      time: '00:00:00',
    },
    {
      small: 32767,
      count: -2147483648,
      big: -9007199254740991,
      single: -1.5,
      value: 1e-300,
      when: Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      day: '2024-02-29',
      time: '23:59:59.999',
    },
    { big: '9223372036854775807', value: -2.5e300, when: 0, day: '1970-01-01', time: '12:30:15.5' },
  ];
  const base: Record<string, unknown> = {
    OBJECTID: oid,
    name: `${NAMES[i % NAMES.length]} ${i}`,
    small: (i % 200) - 100,
    count: i * 1000 - 7,
    big: 2 ** 40 + i,
    single: 0.5 + i,
    value: i / 7,
    when: 1_600_000_000_000 + i * 86_400_123,
    day: `2020-0${1 + (i % 9)}-1${i % 10}`,
    time: `0${i % 10}:1${i % 6}:2${i % 10}.125`,
    guid: `{6F9619FF-8B86-D011-B42D-00C04FC964F${i % 10}}`,
    'Mixed Case "q"': i % 2 === 0 ? 'même' : null,
  };
  Object.assign(base, extremes[i] ?? {});
  // every field is null on some row (but the OID)
  const nullable = Object.keys(base).filter((k) => k !== 'OBJECTID');
  if (i >= 3) base[nullable[i % nullable.length]!] = null;
  return base;
}

export interface Layer {
  name: string;
  geometryType: EsriGeometryType;
  hasZ: boolean;
  features: GeoJSONFeature[];
  schema: WriterSchema;
}

function ring(cx: number, cy: number, r: number, z: number | undefined, hole: boolean): number[][] {
  const pts: number[][] = [];
  for (let k = 0; k < 5; k++) {
    const a = ((hole ? -1 : 1) * k * Math.PI * 2) / 5;
    const p = [cx + r * Math.cos(a), cy + r * Math.sin(a)];
    if (z !== undefined) p.push(z + k);
    pts.push(p);
  }
  pts.push([...pts[0]!]);
  return pts;
}

function geometryOf(kind: string, i: number, z: boolean): GeoJSONGeometry | null {
  if (i % 5 === 4) return null;
  const cx = -120 + i * 0.37 + Math.PI / 1e4;
  const cy = 35 + i * 0.11 + 1 / 3;
  const zz = z ? 100.25 + i : undefined;
  const at = (x: number, y: number, dz = 0) => (zz === undefined ? [x, y] : [x, y, zz + dz]);
  switch (kind) {
    case 'point':
      return { type: 'Point', coordinates: at(cx, cy) };
    case 'multipoint':
      return {
        type: 'MultiPoint',
        coordinates: [at(cx, cy), at(cx + 0.01, cy - 0.01, 1), at(cx + 0.02, cy)],
      };
    case 'line':
      return i % 2 === 0
        ? { type: 'LineString', coordinates: [at(cx, cy), at(cx + 0.1, cy + 0.05, 2), at(cx + 0.2, cy)] }
        : {
            type: 'MultiLineString',
            coordinates: [
              [at(cx, cy), at(cx + 0.1, cy)],
              [at(cx, cy + 1), at(cx + 0.1, cy + 1, 3), at(cx + 0.3, cy + 1.2)],
            ],
          };
    default:
      // polygons: with a hole, and multipart with holes
      return i % 2 === 0
        ? { type: 'Polygon', coordinates: [ring(cx, cy, 1, zz, false), ring(cx, cy, 0.3, zz, true)] }
        : {
            type: 'MultiPolygon',
            coordinates: [
              [
                ring(cx, cy, 1, zz, false),
                ring(cx + 0.2, cy, 0.2, zz, true),
                ring(cx - 0.4, cy, 0.2, zz, true),
              ],
              [ring(cx + 5, cy, 0.5, zz, false)],
            ],
          };
  }
}

const TYPES: Record<string, EsriGeometryType> = {
  point: 'esriGeometryPoint',
  multipoint: 'esriGeometryMultipoint',
  line: 'esriGeometryPolyline',
  polygon: 'esriGeometryPolygon',
};

/** A layer of `count` features of one geometry kind (every fifth geometry null). */
export function layer(kind: 'point' | 'multipoint' | 'line' | 'polygon', count: number, hasZ = false): Layer {
  const features: GeoJSONFeature[] = [];
  for (let i = 0; i < count; i++) {
    const oid = 1000 + i * 3;
    features.push({
      type: 'Feature',
      id: oid,
      geometry: geometryOf(kind, i, hasZ),
      properties: propertiesOf(i, oid),
    });
  }
  const geometryType = TYPES[kind]!;
  return {
    name: `${kind}${hasZ ? '_z' : ''}`,
    geometryType,
    hasZ,
    features,
    schema: { oidField: 'OBJECTID', fields: FIELDS, geometryType, hasZ },
  };
}

export function pagesOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
