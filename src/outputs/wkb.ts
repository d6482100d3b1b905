/**
 * GeoJSON geometry → ISO WKB (little endian; Z types are 1000 + type), with its 2D envelope, for
 * the binary formats (GeoPackage, GeoParquet). Lines and polygons can be promoted to their multi
 * type, so that a layer has one geometry type (an Esri polyline or polygon layer mixes single and
 * multi parts). A missing Z on a Z layer is written as 0.
 */
import type { GeoJSONGeometry, Position } from '../features/geometry/types.js';

export type WkbType = 'Point' | 'LineString' | 'Polygon' | 'MultiPoint' | 'MultiLineString' | 'MultiPolygon';

const CODES: Readonly<Record<WkbType, number>> = {
  Point: 1,
  LineString: 2,
  Polygon: 3,
  MultiPoint: 4,
  MultiLineString: 5,
  MultiPolygon: 6,
};

export interface Envelope {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export interface EncodedGeometry {
  wkb: Uint8Array;
  type: WkbType;
  /** The 2D envelope; undefined for an empty geometry. */
  envelope: Envelope | undefined;
}

/** The multi type of lines and polygons (points stay points). */
export function promoted(geometry: GeoJSONGeometry): GeoJSONGeometry {
  if (geometry.type === 'LineString') return { type: 'MultiLineString', coordinates: [geometry.coordinates] };
  if (geometry.type === 'Polygon') return { type: 'MultiPolygon', coordinates: [geometry.coordinates] };
  return geometry;
}

function positionCount(geometry: GeoJSONGeometry): { positions: number; parts: number } {
  switch (geometry.type) {
    case 'Point':
      return { positions: 1, parts: 0 };
    case 'MultiPoint':
      return { positions: geometry.coordinates.length, parts: geometry.coordinates.length };
    case 'LineString':
      return { positions: geometry.coordinates.length, parts: 0 };
    case 'MultiLineString':
    case 'Polygon': {
      let positions = 0;
      for (const part of geometry.coordinates) positions += part.length;
      return { positions, parts: geometry.coordinates.length };
    }
    case 'MultiPolygon': {
      let positions = 0;
      let parts = geometry.coordinates.length;
      for (const polygon of geometry.coordinates) {
        parts += polygon.length;
        for (const ring of polygon) positions += ring.length;
      }
      return { positions, parts };
    }
  }
}

class WkbOut {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  offset = 0;
  minX = Number.POSITIVE_INFINITY;
  minY = Number.POSITIVE_INFINITY;
  maxX = Number.NEGATIVE_INFINITY;
  maxY = Number.NEGATIVE_INFINITY;

  constructor(
    size: number,
    readonly hasZ: boolean,
  ) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  header(type: WkbType): void {
    this.view.setUint8(this.offset, 1);
    this.view.setUint32(this.offset + 1, CODES[type] + (this.hasZ ? 1000 : 0), true);
    this.offset += 5;
  }

  count(n: number): void {
    this.view.setUint32(this.offset, n, true);
    this.offset += 4;
  }

  position(p: Position): void {
    const x = p[0]!;
    const y = p[1]!;
    this.view.setFloat64(this.offset, x, true);
    this.view.setFloat64(this.offset + 8, y, true);
    this.offset += 16;
    if (this.hasZ) {
      this.view.setFloat64(this.offset, p[2] ?? 0, true);
      this.offset += 8;
    }
    if (x < this.minX) this.minX = x;
    if (x > this.maxX) this.maxX = x;
    if (y < this.minY) this.minY = y;
    if (y > this.maxY) this.maxY = y;
  }

  positions(ps: readonly Position[]): void {
    this.count(ps.length);
    for (const p of ps) this.position(p);
  }

  rings(rings: readonly Position[][]): void {
    this.count(rings.length);
    for (const ring of rings) this.positions(ring);
  }
}

/** ISO WKB of a geometry (see the module comment), with its envelope. */
export function toWkb(geometry: GeoJSONGeometry, hasZ: boolean): EncodedGeometry {
  const { positions, parts } = positionCount(geometry);
  // header + count for each part and sub-geometry, generously
  const size = 9 + parts * 9 + positions * (hasZ ? 24 : 16);
  const out = new WkbOut(size, hasZ);
  out.header(geometry.type);
  switch (geometry.type) {
    case 'Point':
      out.position(geometry.coordinates);
      break;
    case 'LineString':
      out.positions(geometry.coordinates);
      break;
    case 'Polygon':
      out.rings(geometry.coordinates);
      break;
    case 'MultiPoint':
      out.count(geometry.coordinates.length);
      for (const p of geometry.coordinates) {
        out.header('Point');
        out.position(p);
      }
      break;
    case 'MultiLineString':
      out.count(geometry.coordinates.length);
      for (const line of geometry.coordinates) {
        out.header('LineString');
        out.positions(line);
      }
      break;
    case 'MultiPolygon':
      out.count(geometry.coordinates.length);
      for (const polygon of geometry.coordinates) {
        out.header('Polygon');
        out.rings(polygon);
      }
      break;
  }
  const envelope =
    out.minX <= out.maxX ? { minX: out.minX, minY: out.minY, maxX: out.maxX, maxY: out.maxY } : undefined;
  return { wkb: out.bytes.subarray(0, out.offset), type: geometry.type, envelope };
}
