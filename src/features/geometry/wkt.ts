/**
 * GeoJSON geometry → WKT (OGC Simple Features): POINT, MULTIPOINT, LINESTRING, MULTILINESTRING,
 * POLYGON, MULTIPOLYGON, with `Z` (3 values) and `ZM` (4 values) variants taken from the first
 * position.
 *
 * A null geometry is written as the empty string (an empty CSV cell reads as NULL in most loaders;
 * `POINT EMPTY` would claim a type the feature does not have). Numbers use the shortest decimal
 * that round-trips, never exponent notation (`1e-7` → `0.0000001`), which some WKT readers reject.
 * MultiPoint members are written without inner parentheses: `MULTIPOINT (1 2, 3 4)`.
 */
import type { GeoJSONGeometry, Position } from './types.js';

export function geometryToWkt(geometry: GeoJSONGeometry | null): string {
  if (geometry === null) return '';
  switch (geometry.type) {
    case 'Point':
      return `POINT${dim(geometry.coordinates)} (${position(geometry.coordinates)})`;
    case 'MultiPoint':
      return `MULTIPOINT${dim(geometry.coordinates[0])} ${positions(geometry.coordinates)}`;
    case 'LineString':
      return `LINESTRING${dim(geometry.coordinates[0])} ${positions(geometry.coordinates)}`;
    case 'MultiLineString':
      return `MULTILINESTRING${dim(geometry.coordinates[0]?.[0])} ${lists(geometry.coordinates)}`;
    case 'Polygon':
      return `POLYGON${dim(geometry.coordinates[0]?.[0])} ${lists(geometry.coordinates)}`;
    case 'MultiPolygon': {
      const polys = geometry.coordinates;
      if (polys.length === 0) return 'MULTIPOLYGON EMPTY';
      let out = `MULTIPOLYGON${dim(polys[0]?.[0]?.[0])} (`;
      for (let i = 0; i < polys.length; i++) out += (i === 0 ? '' : ', ') + lists(polys[i]!);
      return `${out})`;
    }
  }
}

function dim(p: Position | undefined): string {
  if (p === undefined || p.length < 3) return '';
  return p.length === 3 ? ' Z' : ' ZM';
}

function position(p: Position): string {
  let out = formatNumber(p[0]!);
  for (let i = 1; i < p.length; i++) out += ` ${formatNumber(p[i]!)}`;
  return out;
}

function positions(ps: readonly Position[]): string {
  if (ps.length === 0) return 'EMPTY';
  let out = '(';
  for (let i = 0; i < ps.length; i++) out += (i === 0 ? '' : ', ') + position(ps[i]!);
  return `${out})`;
}

function lists(pss: readonly (readonly Position[])[]): string {
  if (pss.length === 0) return 'EMPTY';
  let out = '(';
  for (let i = 0; i < pss.length; i++) out += (i === 0 ? '' : ', ') + positions(pss[i]!);
  return `${out})`;
}

/** Shortest round-trip decimal, without exponent notation. */
export function formatNumber(n: number): string {
  const s = String(n);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const negative = s.startsWith('-');
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exponent = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const point = (dot < 0 ? mantissa.length : dot) + exponent;
  let body: string;
  if (point <= 0) body = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) body = digits + '0'.repeat(point - digits.length);
  else body = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${body}` : body;
}
