/**
 * GeoJSON geometry → WKB, the one encoder of the binary outputs: ISO WKB (little endian; Z types
 * are 1000 + type), with its 2D envelope, for GeoPackage and GeoParquet; or, with an `srid`,
 * PostGIS EWKB (little endian; the Z flag 0x80000000 on every geometry, the SRID flag and the SRID
 * on the outer one). Lines and polygons can be promoted to their multi type, so that a layer has
 * one geometry type (an Esri polyline or polygon layer mixes single and multi parts). A missing Z
 * on a Z layer is written as 0; a Z beyond a 2D layer is not kept.
 */
import { EtlError } from '../core/errors.js';
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
const EWKB_Z = 0x80000000;
const EWKB_SRID = 0x20000000;

export interface WkbOptions {
  /** Writes EWKB with this SRID (PostGIS) instead of ISO WKB. */
  srid?: number;
  /** Throws INVALID_GEOMETRY for a position without x and y numbers (input not checked before). */
  checkPositions?: boolean;
}

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

/** Writes WKB (or EWKB, see WkbOptions) into a DataView; one instance serves many geometries. */
export class WkbWriter {
  minX = Number.POSITIVE_INFINITY;
  minY = Number.POSITIVE_INFINITY;
  maxX = Number.NEGATIVE_INFINITY;
  maxY = Number.NEGATIVE_INFINITY;
  #view: DataView = new DataView(new ArrayBuffer(0));
  #offset = 0;
  readonly #hasZ: boolean;
  readonly #srid: number | undefined;
  readonly #check: boolean;

  constructor(hasZ: boolean, options?: WkbOptions) {
    this.#hasZ = hasZ;
    this.#srid = options?.srid;
    this.#check = options?.checkPositions === true;
  }

  /** The most bytes `write` writes for a geometry. */
  size(geometry: GeoJSONGeometry): number {
    const { positions, parts } = positionCount(geometry);
    // header (+ SRID) + count for each part and sub-geometry, generously
    return 9 + parts * 9 + positions * (this.#hasZ ? 24 : 16) + (this.#srid === undefined ? 0 : 4);
  }

  /** Writes a geometry at `offset` of `view` (with `size` bytes free there); returns the offset after it. */
  write(view: DataView, offset: number, geometry: GeoJSONGeometry): number {
    this.#view = view;
    this.#offset = offset;
    this.minX = Number.POSITIVE_INFINITY;
    this.minY = Number.POSITIVE_INFINITY;
    this.maxX = Number.NEGATIVE_INFINITY;
    this.maxY = Number.NEGATIVE_INFINITY;
    this.#header(geometry.type, true);
    switch (geometry.type) {
      case 'Point':
        this.#position(geometry.coordinates);
        break;
      case 'LineString':
        this.#positions(geometry.coordinates);
        break;
      case 'Polygon':
        this.#rings(geometry.coordinates);
        break;
      case 'MultiPoint':
        this.#count(geometry.coordinates.length);
        for (const p of geometry.coordinates) {
          this.#header('Point', false);
          this.#position(p);
        }
        break;
      case 'MultiLineString':
        this.#count(geometry.coordinates.length);
        for (const line of geometry.coordinates) {
          this.#header('LineString', false);
          this.#positions(line);
        }
        break;
      case 'MultiPolygon':
        this.#count(geometry.coordinates.length);
        for (const polygon of geometry.coordinates) {
          this.#header('Polygon', false);
          this.#rings(polygon);
        }
        break;
    }
    return this.#offset;
  }

  /** The 2D envelope of the last geometry written; undefined when it was empty. */
  envelope(): Envelope | undefined {
    return this.minX <= this.maxX
      ? { minX: this.minX, minY: this.minY, maxX: this.maxX, maxY: this.maxY }
      : undefined;
  }

  #header(type: WkbType, outer: boolean): void {
    const view = this.#view;
    view.setUint8(this.#offset, 1);
    if (this.#srid === undefined) {
      view.setUint32(this.#offset + 1, CODES[type] + (this.#hasZ ? 1000 : 0), true);
      this.#offset += 5;
    } else if (outer) {
      view.setUint32(this.#offset + 1, (CODES[type] | (this.#hasZ ? EWKB_Z : 0) | EWKB_SRID) >>> 0, true);
      view.setUint32(this.#offset + 5, this.#srid, true);
      this.#offset += 9;
    } else {
      view.setUint32(this.#offset + 1, (CODES[type] | (this.#hasZ ? EWKB_Z : 0)) >>> 0, true);
      this.#offset += 5;
    }
  }

  #count(n: number): void {
    this.#view.setUint32(this.#offset, n, true);
    this.#offset += 4;
  }

  #position(p: Position): void {
    const x = p[0]!;
    const y = p[1]!;
    if (this.#check && (typeof x !== 'number' || typeof y !== 'number')) {
      throw new EtlError('INVALID_GEOMETRY', 'A position without x and y numbers');
    }
    const view = this.#view;
    view.setFloat64(this.#offset, x, true);
    view.setFloat64(this.#offset + 8, y, true);
    this.#offset += 16;
    if (this.#hasZ) {
      view.setFloat64(this.#offset, p[2] ?? 0, true);
      this.#offset += 8;
    }
    if (x < this.minX) this.minX = x;
    if (x > this.maxX) this.maxX = x;
    if (y < this.minY) this.minY = y;
    if (y > this.maxY) this.maxY = y;
  }

  #positions(ps: readonly Position[]): void {
    this.#count(ps.length);
    for (const p of ps) this.#position(p);
  }

  #rings(rings: readonly Position[][]): void {
    this.#count(rings.length);
    for (const ring of rings) this.#positions(ring);
  }
}

/** The WKB of a geometry (see the module comment), with its envelope. */
export function toWkb(geometry: GeoJSONGeometry, hasZ: boolean, options?: WkbOptions): EncodedGeometry {
  const writer = new WkbWriter(hasZ, options);
  const bytes = new Uint8Array(writer.size(geometry));
  const end = writer.write(new DataView(bytes.buffer), 0, geometry);
  return { wkb: bytes.subarray(0, end), type: geometry.type, envelope: writer.envelope() };
}
