/**
 * GeoPackage binary geometry (GeoPackage 1.3, 2.1.3): `GP`, version 0, flags (little endian, the
 * envelope kind, empty), the srs_id, an xy envelope (minx, maxx, miny, maxy), then ISO WKB. Points
 * carry no envelope (it would be the point itself; GDAL writes them so too); every other geometry
 * does.
 */
import type { GeoJSONGeometry } from '../../features/geometry/types.js';
import { type Envelope, promoted, toWkb } from '../wkb.js';

export interface GpkgGeometry {
  blob: Uint8Array;
  envelope: Envelope | undefined;
}

export function gpkgGeometry(geometry: GeoJSONGeometry, srsId: number, hasZ: boolean): GpkgGeometry {
  const { wkb, envelope } = toWkb(promoted(geometry), hasZ);
  const withEnvelope = envelope !== undefined && geometry.type !== 'Point';
  const headerSize = 8 + (withEnvelope ? 32 : 0);
  const blob = new Uint8Array(headerSize + wkb.length);
  const view = new DataView(blob.buffer);
  blob[0] = 0x47; // G
  blob[1] = 0x50; // P
  blob[2] = 0; // version 1
  // bit 0: little endian; bits 1-3: envelope (1 = xy); bit 4: empty
  blob[3] = 0x01 | (withEnvelope ? 0x02 : 0) | (envelope === undefined ? 0x10 : 0);
  view.setInt32(4, srsId, true);
  if (withEnvelope) {
    view.setFloat64(8, envelope.minX, true);
    view.setFloat64(16, envelope.maxX, true);
    view.setFloat64(24, envelope.minY, true);
    view.setFloat64(32, envelope.maxY, true);
  }
  blob.set(wkb, headerSize);
  return { blob, envelope };
}
