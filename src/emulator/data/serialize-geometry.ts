/**
 * Geometry → JSON text, straight from the typed arrays (template strings, no objects).
 * Esri JSON keeps the stored ring order; GeoJSON groups holes under their outer ring and
 * rewinds every ring to RFC 7946 (outer counter-clockwise).
 */
import { type Geometries, ringArea2 } from './store.js';

/** Which stored values to write, and an optional projection of x/y. */
export interface GeometryOutput {
  z: boolean;
  m: boolean;
  project?: ((x: number, y: number) => [number, number]) | undefined;
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}

function positionText(g: Geometries, p: number, out: GeometryOutput, withM: boolean): string {
  const o = p * g.dim;
  const c = g.coords;
  let x = c[o]!;
  let y = c[o + 1]!;
  if (out.project) [x, y] = out.project(x, y);
  let s = `[${num(x)},${num(y)}`;
  if (g.hasZ && out.z) s += `,${num(c[o + 2]!)}`;
  if (g.hasM && withM) s += `,${num(c[o + (g.hasZ ? 3 : 2)]!)}`;
  return `${s}]`;
}

function partText(
  g: Geometries,
  part: number,
  out: GeometryOutput,
  withM: boolean,
  reverse: boolean,
): string {
  const start = g.partPos[part]!;
  const end = g.partPos[part + 1]!;
  const items: string[] = new Array(end - start);
  for (let p = start; p < end; p++) {
    items[reverse ? end - 1 - p : p - start] = positionText(g, p, out, withM);
  }
  return `[${items.join(',')}]`;
}

function flags(g: Geometries, out: GeometryOutput): string {
  let s = '';
  if (g.hasZ && out.z) s += '"hasZ":true,';
  if (g.hasM && out.m) s += '"hasM":true,';
  return s;
}

/** Esri JSON geometry of a row, or `null`. */
export function esriGeometryText(g: Geometries, row: number, out: GeometryOutput): string {
  if (g.kind === 'point') {
    const o = row * g.dim;
    const c = g.coords;
    let x = c[o]!;
    let y = c[o + 1]!;
    if (Number.isNaN(x)) return 'null';
    if (out.project) [x, y] = out.project(x, y);
    let s = `{"x":${num(x)},"y":${num(y)}`;
    if (g.hasZ && out.z) s += `,"z":${num(c[o + 2]!)}`;
    if (g.hasM && out.m) s += `,"m":${num(c[o + (g.hasZ ? 3 : 2)]!)}`;
    return `${s}}`;
  }
  const first = g.featurePart[row]!;
  const last = g.featurePart[row + 1]!;
  if (first === last) return 'null';
  if (g.kind === 'multipoint') {
    const start = g.partPos[first]!;
    const end = g.partPos[last]!;
    const items: string[] = [];
    for (let p = start; p < end; p++) items.push(positionText(g, p, out, out.m));
    return `{${flags(g, out)}"points":[${items.join(',')}]}`;
  }
  const parts: string[] = [];
  for (let part = first; part < last; part++) parts.push(partText(g, part, out, out.m, false));
  const key = g.kind === 'polyline' ? 'paths' : 'rings';
  return `{${flags(g, out)}"${key}":[${parts.join(',')}]}`;
}

/** Whether point (x, y) lies inside the ring `part` (even-odd rule). */
function inRing(g: Geometries, part: number, x: number, y: number): boolean {
  const start = g.partPos[part]!;
  const end = g.partPos[part + 1]!;
  const c = g.coords;
  const d = g.dim;
  let inside = false;
  for (let i = start, j = end - 1; i < end; j = i++) {
    const xi = c[i * d]!;
    const yi = c[i * d + 1]!;
    const xj = c[j * d]!;
    const yj = c[j * d + 1]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Groups a feature's rings into polygons: [outer, ...holes] part indexes. */
export function groupRings(g: Geometries, first: number, last: number): number[][] {
  const polygons: number[][] = [];
  const holes: number[] = [];
  for (let part = first; part < last; part++) {
    const area = ringArea2(g.coords, g.partPos[part]!, g.partPos[part + 1]!, g.dim);
    if (area <= 0) polygons.push([part]);
    else holes.push(part);
  }
  for (const hole of holes) {
    const p = g.partPos[hole]! * g.dim;
    const x = g.coords[p]!;
    const y = g.coords[p + 1]!;
    const owner = polygons.find((poly) => inRing(g, poly[0]!, x, y));
    // an orphan hole becomes an outer ring of its own
    if (owner) owner.push(hole);
    else polygons.push([hole]);
  }
  return polygons;
}

/** GeoJSON geometry of a row (RFC 7946; M dropped), or `null`. */
export function geojsonGeometryText(g: Geometries, row: number, out: GeometryOutput): string {
  if (g.kind === 'point') {
    const o = row * g.dim;
    if (Number.isNaN(g.coords[o]!)) return 'null';
    return `{"type":"Point","coordinates":${positionText(g, row, out, false)}}`;
  }
  const first = g.featurePart[row]!;
  const last = g.featurePart[row + 1]!;
  if (first === last) return 'null';
  if (g.kind === 'multipoint') {
    const items: string[] = [];
    for (let p = g.partPos[first]!; p < g.partPos[last]!; p++) items.push(positionText(g, p, out, false));
    return `{"type":"MultiPoint","coordinates":[${items.join(',')}]}`;
  }
  if (g.kind === 'polyline') {
    const parts: string[] = [];
    for (let part = first; part < last; part++) parts.push(partText(g, part, out, false, false));
    return parts.length === 1
      ? `{"type":"LineString","coordinates":${parts[0]}}`
      : `{"type":"MultiLineString","coordinates":[${parts.join(',')}]}`;
  }
  const polygons = groupRings(g, first, last).map((rings) => {
    // Esri outer rings are clockwise and holes counter-clockwise; a ring promoted from an
    // orphan hole is already counter-clockwise.
    const texts = rings.map((part, k) => {
      const ccw = ringArea2(g.coords, g.partPos[part]!, g.partPos[part + 1]!, g.dim) > 0;
      const wantCcw = k === 0;
      return partText(g, part, out, false, ccw !== wantCcw);
    });
    return `[${texts.join(',')}]`;
  });
  return polygons.length === 1
    ? `{"type":"Polygon","coordinates":${polygons[0]}}`
    : `{"type":"MultiPolygon","coordinates":[${polygons.join(',')}]}`;
}

/** Esri JSON geometry of a row as an object (for test comparisons). */
export function esriGeometryObject(g: Geometries, row: number): unknown {
  return JSON.parse(esriGeometryText(g, row, { z: true, m: true }));
}
