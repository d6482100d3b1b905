/**
 * .shp records from GeoJSON geometries: Point, MultiPoint, PolyLine, Polygon (and their Z types),
 * rings written in Shapefile order (outer rings clockwise, holes counter-clockwise), null shapes
 * for null geometries. Also the 100-byte header shared by .shp and .shx.
 */
import { Buffer } from 'node:buffer';
import type { GeoJSONGeometry, Position } from '../../features/geometry/types.js';
import type { GrowBuffer } from '../common/grow-buffer.js';
import { oriented } from '../common/rings.js';

export type ShapeClass = 'point' | 'multipoint' | 'polyline' | 'polygon';

export const SHAPE_CLASSES: readonly ShapeClass[] = ['point', 'multipoint', 'polyline', 'polygon'];

export function classOf(geometry: GeoJSONGeometry): ShapeClass {
  switch (geometry.type) {
    case 'Point':
      return 'point';
    case 'MultiPoint':
      return 'multipoint';
    case 'LineString':
    case 'MultiLineString':
      return 'polyline';
    default:
      return 'polygon';
  }
}

const TYPE_2D: Record<ShapeClass, number> = { point: 1, polyline: 3, polygon: 5, multipoint: 8 };

export function shapeType(cls: ShapeClass, z: boolean): number {
  return TYPE_2D[cls] + (z ? 10 : 0);
}

export class Bounds {
  xmin = Number.POSITIVE_INFINITY;
  ymin = Number.POSITIVE_INFINITY;
  xmax = Number.NEGATIVE_INFINITY;
  ymax = Number.NEGATIVE_INFINITY;
  zmin = Number.POSITIVE_INFINITY;
  zmax = Number.NEGATIVE_INFINITY;

  add(p: Position, z: boolean): void {
    const x = p[0]!;
    const y = p[1]!;
    if (x < this.xmin) this.xmin = x;
    if (x > this.xmax) this.xmax = x;
    if (y < this.ymin) this.ymin = y;
    if (y > this.ymax) this.ymax = y;
    if (z) {
      const v = p[2] ?? 0;
      if (v < this.zmin) this.zmin = v;
      if (v > this.zmax) this.zmax = v;
    }
  }

  merge(other: Bounds): void {
    this.xmin = Math.min(this.xmin, other.xmin);
    this.ymin = Math.min(this.ymin, other.ymin);
    this.xmax = Math.max(this.xmax, other.xmax);
    this.ymax = Math.max(this.ymax, other.ymax);
    this.zmin = Math.min(this.zmin, other.zmin);
    this.zmax = Math.max(this.zmax, other.zmax);
  }
}

const finiteOr0 = (v: number) => (Number.isFinite(v) ? v : 0);

/** The 100-byte .shp / .shx header. `fileBytes` is the whole file's length. */
export function shpHeader(type: number, fileBytes: number, bounds: Bounds): Buffer {
  const h = Buffer.alloc(100);
  h.writeInt32BE(9994, 0);
  h.writeInt32BE(fileBytes / 2, 24);
  h.writeInt32LE(1000, 28);
  h.writeInt32LE(type, 32);
  h.writeDoubleLE(finiteOr0(bounds.xmin), 36);
  h.writeDoubleLE(finiteOr0(bounds.ymin), 44);
  h.writeDoubleLE(finiteOr0(bounds.xmax), 52);
  h.writeDoubleLE(finiteOr0(bounds.ymax), 60);
  h.writeDoubleLE(finiteOr0(bounds.zmin), 68);
  h.writeDoubleLE(finiteOr0(bounds.zmax), 76);
  return h;
}

/** The parts (paths or rings) of a line or polygon geometry, rings in Shapefile order. */
function partsOf(geometry: GeoJSONGeometry): readonly (readonly Position[])[] {
  switch (geometry.type) {
    case 'LineString':
      return [geometry.coordinates];
    case 'MultiLineString':
      return geometry.coordinates;
    case 'Polygon':
      return geometry.coordinates.map((ring, i) => oriented(ring, i === 0));
    case 'MultiPolygon':
      return geometry.coordinates.flatMap((polygon) => polygon.map((ring, i) => oriented(ring, i === 0)));
    default:
      return [];
  }
}

/**
 * Appends the record (header + content) for `geometry` to `out`; the file and feature bounds grow.
 * Returns the content length in bytes.
 */
export function encodeShape(
  out: GrowBuffer,
  recordNumber: number,
  geometry: GeoJSONGeometry | null,
  type: number,
  z: boolean,
  bounds: Bounds,
): number {
  out.int32BE(recordNumber);
  if (geometry === null) {
    out.int32BE(2);
    out.int32LE(0);
    return 4;
  }
  if (geometry.type === 'Point') {
    // PointZ without M (as GDAL writes it: a record with M reads as a measured point)
    const length = z ? 28 : 20;
    out.int32BE(length / 2);
    out.int32LE(type);
    const p = geometry.coordinates;
    bounds.add(p, z);
    out.doubleLE(p[0]!);
    out.doubleLE(p[1]!);
    if (z) {
      out.doubleLE(p[2] ?? 0);
    }
    return length;
  }
  const parts = geometry.type === 'MultiPoint' ? [geometry.coordinates] : partsOf(geometry);
  const box = new Bounds();
  let n = 0;
  for (const part of parts) {
    for (const p of part) box.add(p, z);
    n += part.length;
  }
  bounds.merge(box);
  const multipoint = geometry.type === 'MultiPoint';
  const length = (multipoint ? 40 : 44 + 4 * parts.length) + 16 * n + (z ? 16 + 8 * n : 0);
  out.int32BE(length / 2);
  out.int32LE(type);
  out.doubleLE(box.xmin);
  out.doubleLE(box.ymin);
  out.doubleLE(box.xmax);
  out.doubleLE(box.ymax);
  if (!multipoint) {
    out.int32LE(parts.length);
    out.int32LE(n);
    let start = 0;
    for (const part of parts) {
      out.int32LE(start);
      start += part.length;
    }
  } else {
    out.int32LE(n);
  }
  for (const part of parts) {
    for (const p of part) {
      out.doubleLE(p[0]!);
      out.doubleLE(p[1]!);
    }
  }
  if (z) {
    out.doubleLE(box.zmin);
    out.doubleLE(box.zmax);
    for (const part of parts) for (const p of part) out.doubleLE(p[2] ?? 0);
  }
  return length;
}
