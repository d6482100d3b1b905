/** ISO WKB → GeoJSON-like geometry, for the tests (an independent decoder of what we write). */
export interface ReadGeometry {
  type: string;
  coordinates: unknown;
}

const NAMES = ['', 'Point', 'LineString', 'Polygon', 'MultiPoint', 'MultiLineString', 'MultiPolygon'];

export function readWkb(bytes: Uint8Array): ReadGeometry {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  function geometry(): ReadGeometry {
    const little = view.getUint8(at) === 1;
    const code = view.getUint32(at + 1, little);
    at += 5;
    const hasZ = code >= 1000;
    const type = NAMES[code % 1000]!;
    const u32 = () => {
      const v = view.getUint32(at, little);
      at += 4;
      return v;
    };
    const point = () => {
      const p = [view.getFloat64(at, little), view.getFloat64(at + 8, little)];
      at += 16;
      if (hasZ) {
        p.push(view.getFloat64(at, little));
        at += 8;
      }
      return p;
    };
    const points = () => Array.from({ length: u32() }, point);
    const rings = () => Array.from({ length: u32() }, points);
    switch (type) {
      case 'Point':
        return { type, coordinates: point() };
      case 'LineString':
        return { type, coordinates: points() };
      case 'Polygon':
        return { type, coordinates: rings() };
      default: {
        const parts = Array.from({ length: u32() }, () => geometry().coordinates);
        return { type, coordinates: parts };
      }
    }
  }
  return geometry();
}
