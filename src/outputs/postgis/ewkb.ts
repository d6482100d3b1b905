/**
 * GeoJSON geometry → EWKB (little-endian, with the SRID on the outer geometry and the Z flag where
 * the column has Z), written straight into a COPY buffer. PostGIS reads EWKB as the binary input
 * of `geometry`. Lines and polygons are written as their Multi- kind (one part for a single one),
 * so that every row fits the column's type, as Esri's own polylines and polygons may be multipart.
 */
import { EtlError } from '../../core/errors.js';
import type { CopyBuffer } from './copy-buffer.js';

export type PostgisGeometryType = 'Point' | 'MultiPoint' | 'MultiLineString' | 'MultiPolygon';

/** The GeoJSON shape a writer receives (a subset of RFC 7946). */
export interface GeometryInput {
  type: string;
  coordinates: unknown;
}

const WKB_POINT = 1;
const WKB_LINESTRING = 2;
const WKB_POLYGON = 3;
const WKB_MULTIPOINT = 4;
const WKB_MULTILINESTRING = 5;
const WKB_MULTIPOLYGON = 6;
const FLAG_Z = 0x80000000;
const FLAG_SRID = 0x20000000;

type Coords = number[];

export class EwkbWriter {
  readonly #type: PostgisGeometryType;
  readonly #z: boolean;
  readonly #srid: number;
  readonly #zFlag: number;

  constructor(type: PostgisGeometryType, hasZ: boolean, srid: number) {
    this.#type = type;
    this.#z = hasZ;
    this.#srid = srid;
    this.#zFlag = hasZ ? FLAG_Z : 0;
  }

  /** Writes the geometry as one COPY field (length, then EWKB). */
  field(out: CopyBuffer, geometry: GeometryInput): void {
    const at = out.startField();
    this.#write(out, geometry);
    out.endField(at);
  }

  #write(out: CopyBuffer, g: GeometryInput): void {
    const c = g.coordinates;
    switch (this.#type) {
      case 'Point':
        if (g.type !== 'Point') throw mismatch(g.type, this.#type);
        this.#header(out, WKB_POINT, true);
        this.#position(out, c as Coords);
        return;
      case 'MultiPoint': {
        const points = g.type === 'Point' ? [c as Coords] : g.type === 'MultiPoint' ? (c as Coords[]) : null;
        if (points === null) throw mismatch(g.type, this.#type);
        this.#header(out, WKB_MULTIPOINT, true);
        out.uint32LE(points.length);
        for (const p of points) {
          this.#header(out, WKB_POINT, false);
          this.#position(out, p);
        }
        return;
      }
      case 'MultiLineString': {
        const lines =
          g.type === 'LineString' ? [c as Coords[]] : g.type === 'MultiLineString' ? (c as Coords[][]) : null;
        if (lines === null) throw mismatch(g.type, this.#type);
        this.#header(out, WKB_MULTILINESTRING, true);
        this.#count(out, lines.length);
        for (const line of lines) {
          this.#header(out, WKB_LINESTRING, false);
          this.#positions(out, line);
        }
        return;
      }
      case 'MultiPolygon': {
        const polygons =
          g.type === 'Polygon' ? [c as Coords[][]] : g.type === 'MultiPolygon' ? (c as Coords[][][]) : null;
        if (polygons === null) throw mismatch(g.type, this.#type);
        this.#header(out, WKB_MULTIPOLYGON, true);
        this.#count(out, polygons.length);
        for (const rings of polygons) {
          this.#header(out, WKB_POLYGON, false);
          this.#count(out, rings.length);
          for (const ring of rings) this.#positions(out, ring);
        }
        return;
      }
    }
  }

  #header(out: CopyBuffer, type: number, outer: boolean): void {
    out.ensure(9);
    const dv = out.dv;
    dv.setUint8(out.pos, 1); // little-endian
    if (outer) {
      dv.setUint32(out.pos + 1, (type | this.#zFlag | FLAG_SRID) >>> 0, true);
      dv.setUint32(out.pos + 5, this.#srid, true);
      out.pos += 9;
    } else {
      dv.setUint32(out.pos + 1, (type | this.#zFlag) >>> 0, true);
      out.pos += 5;
    }
  }

  #count(out: CopyBuffer, n: number): void {
    out.uint32LE(n);
  }

  #positions(out: CopyBuffer, positions: Coords[]): void {
    this.#count(out, positions.length);
    for (const p of positions) this.#position(out, p);
  }

  #position(out: CopyBuffer, p: Coords): void {
    out.ensure(this.#z ? 24 : 16);
    const x = p[0];
    const y = p[1];
    if (typeof x !== 'number' || typeof y !== 'number') {
      throw new EtlError('INVALID_GEOMETRY', 'A position without x and y numbers');
    }
    out.float64LE(x);
    out.float64LE(y);
    // a 2D position in a Z layer gets z = 0 (as GDAL writes it); a Z beyond the column is not kept
    if (this.#z) out.float64LE(p[2] ?? 0);
  }
}

function mismatch(got: string, column: PostgisGeometryType): EtlError {
  return new EtlError('INVALID_GEOMETRY', `A ${got} geometry does not fit the ${column} column`);
}
