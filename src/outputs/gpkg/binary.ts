/**
 * GeoPackage binary geometry (GeoPackage 1.3, 2.1.3): `GP`, version 0, flags (little endian, the
 * envelope kind, empty), the srs_id, an xy envelope (minx, maxx, miny, maxy), then ISO WKB. Points
 * carry no envelope (it would be the point itself; GDAL writes them so too); every other geometry
 * does. The WKB is written straight after the header, by one reusable WKB writer per layer.
 */
import type { GeoJSONGeometry } from '../../features/geometry/types.js';
import { type Envelope, promoted, WkbWriter } from '../wkb.js';

export interface GpkgGeometry {
  /** The blob (a view: its buffer may be longer). */
  blob: Uint8Array;
  envelope: Envelope | undefined;
}

const HEADER = 8;
const ENVELOPE = 32;

export class GpkgGeometryEncoder {
  readonly #srsId: number;
  readonly #wkb: WkbWriter;

  constructor(srsId: number, hasZ: boolean) {
    this.#srsId = srsId;
    this.#wkb = new WkbWriter(hasZ);
  }

  encode(geometry: GeoJSONGeometry): GpkgGeometry {
    const g = promoted(geometry);
    const slot = g.type === 'Point' ? 0 : ENVELOPE;
    const buffer = new Uint8Array(HEADER + slot + this.#wkb.size(g));
    const view = new DataView(buffer.buffer);
    let end = this.#wkb.write(view, HEADER + slot, g);
    const envelope = this.#wkb.envelope();
    const withEnvelope = slot > 0 && envelope !== undefined;
    if (slot > 0 && !withEnvelope) {
      // an empty geometry has no envelope: its WKB moves up to the header's end
      buffer.copyWithin(HEADER, HEADER + slot, end);
      end -= slot;
    }
    buffer[0] = 0x47; // G
    buffer[1] = 0x50; // P
    buffer[2] = 0; // version 1
    // bit 0: little endian; bits 1-3: envelope (1 = xy); bit 4: empty
    buffer[3] = 0x01 | (withEnvelope ? 0x02 : 0) | (envelope === undefined ? 0x10 : 0);
    view.setInt32(4, this.#srsId, true);
    if (withEnvelope) {
      view.setFloat64(8, envelope.minX, true);
      view.setFloat64(16, envelope.maxX, true);
      view.setFloat64(24, envelope.minY, true);
      view.setFloat64(32, envelope.maxY, true);
    }
    return { blob: buffer.subarray(0, end), envelope };
  }
}
