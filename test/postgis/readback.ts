/**
 * Reads a table back with SQL, exactly: every coordinate through ST_DumpPoints as float8 (PostgreSQL
 * prints the shortest exact text), values as text, dates as epoch milliseconds, and compares it with
 * the source features (lines and polygons as their Multi- kind, as the writer stores them).
 */
import type { GeoJSONFeature, GeoJSONGeometry } from '../../src/features/geometry/types.js';
import type { TestDatabase } from './helpers.js';

type Nested = number[] | Nested[];

/** Geometry of each row by key, rebuilt from ST_DumpPoints paths (null for a NULL geometry). */
export async function geometriesOf(
  db: TestDatabase,
  table: string,
  key: string,
  geom = 'geom',
): Promise<Map<string, { type: string; coordinates: unknown } | null>> {
  const rows = await db.query<{
    k: string;
    type: string | null;
    path: number[] | null;
    x: number;
    y: number;
    z: number | null;
  }>(
    `SELECT t.${q(key)}::text AS k, GeometryType(t.${q(geom)}) AS type, (d).path AS path,
            ST_X((d).geom) AS x, ST_Y((d).geom) AS y, ST_Z((d).geom) AS z
     FROM ${table} t LEFT JOIN LATERAL ST_DumpPoints(t.${q(geom)}) d ON true
     ORDER BY t.${q(key)}, (d).path`,
  );
  const out = new Map<string, { type: string; coordinates: unknown } | null>();
  for (const r of rows) {
    if (r.type === null) {
      out.set(r.k, null);
      continue;
    }
    let g = out.get(r.k);
    if (!g) {
      g = { type: typeName(r.type), coordinates: [] };
      out.set(r.k, g);
    }
    if (r.path === null) continue; // an empty geometry
    const position = r.z === null ? [r.x, r.y] : [r.x, r.y, r.z];
    if (r.type === 'POINT' || r.path.length === 0) {
      g.coordinates = position;
      continue;
    }
    // a multipoint's points are {i, 1}: the point of part i
    const path = r.type === 'MULTIPOINT' ? r.path.slice(0, 1) : r.path;
    let at = g.coordinates as Nested[];
    for (let i = 0; i < path.length - 1; i++) {
      const index = path[i]! - 1;
      at[index] ??= [];
      at = at[index] as Nested[];
    }
    at[path[path.length - 1]! - 1] = position;
  }
  return out;
}

function typeName(upper: string): string {
  const names: Record<string, string> = {
    POINT: 'Point',
    MULTIPOINT: 'MultiPoint',
    MULTILINESTRING: 'MultiLineString',
    MULTIPOLYGON: 'MultiPolygon',
    LINESTRING: 'LineString',
    POLYGON: 'Polygon',
  };
  return names[upper] ?? upper;
}

function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The source geometry as the writer stores it: lines and polygons as Multi-, points as they are. */
export function asStored(g: GeoJSONGeometry | null): { type: string; coordinates: unknown } | null {
  if (g === null) return null;
  if (g.type === 'LineString') return { type: 'MultiLineString', coordinates: [g.coordinates] };
  if (g.type === 'Polygon') return { type: 'MultiPolygon', coordinates: [g.coordinates] };
  return { type: g.type, coordinates: g.coordinates };
}

/** Every source feature's geometry equals the table's row with the same key, exactly. */
export async function expectSameGeometries(
  db: TestDatabase,
  table: string,
  key: string,
  features: readonly GeoJSONFeature[],
  expectFn: (actual: unknown, expected: unknown, message: string) => void,
): Promise<void> {
  const stored = await geometriesOf(db, table, key);
  for (const f of features) {
    const k = String(f.properties[key]);
    expectFn(stored.get(k), asStored(f.geometry), `geometry of ${key}=${k}`);
  }
}
