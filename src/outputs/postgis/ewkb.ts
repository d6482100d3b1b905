/**
 * A geometry as one binary COPY field of a PostGIS `geometry` column: EWKB (see ../wkb.ts), written
 * straight into the COPY buffer. PostGIS reads EWKB as the binary input of `geometry`. Lines and
 * polygons are written as their Multi- kind (one part for a single one), so that every row fits
 * the column's type, as Esri's own polylines and polygons may be multipart.
 */
import { EtlError } from '../../core/errors.js';
import type { GeoJSONGeometry } from '../../features/geometry/types.js';
import { promoted, WkbWriter } from '../wkb.js';
import type { CopyBuffer } from './copy-buffer.js';

export type PostgisGeometryType = 'Point' | 'MultiPoint' | 'MultiLineString' | 'MultiPolygon';

/** The GeoJSON shape a writer receives (a subset of RFC 7946). */
export interface GeometryInput {
  type: string;
  coordinates: unknown;
}

export class EwkbWriter {
  readonly #type: PostgisGeometryType;
  readonly #wkb: WkbWriter;

  constructor(type: PostgisGeometryType, hasZ: boolean, srid: number) {
    this.#type = type;
    this.#wkb = new WkbWriter(hasZ, { srid, checkPositions: true });
  }

  /** Writes the geometry as one COPY field (length, then EWKB). */
  field(out: CopyBuffer, geometry: GeometryInput): void {
    const fitted = this.#fit(geometry);
    const at = out.startField();
    out.ensure(this.#wkb.size(fitted));
    out.pos = this.#wkb.write(out.dv, out.pos, fitted);
    out.endField(at);
  }

  /** The geometry as the column's type: a single point, line or polygon as a one-part multi. */
  #fit(g: GeometryInput): GeoJSONGeometry {
    const geometry = g as GeoJSONGeometry;
    switch (this.#type) {
      case 'Point':
        if (g.type === 'Point') return geometry;
        break;
      case 'MultiPoint':
        if (geometry.type === 'Point') return { type: 'MultiPoint', coordinates: [geometry.coordinates] };
        if (g.type === 'MultiPoint') return geometry;
        break;
      case 'MultiLineString':
        if (g.type === 'LineString' || g.type === 'MultiLineString') return promoted(geometry);
        break;
      case 'MultiPolygon':
        if (g.type === 'Polygon' || g.type === 'MultiPolygon') return promoted(geometry);
        break;
    }
    throw new EtlError('INVALID_GEOMETRY', `A ${g.type} geometry does not fit the ${this.#type} column`);
  }
}
