/**
 * GeoJSON geometry → Esri JSON geometry, so that what a bulk job hands out (GeoJSON, shapefiles)
 * goes through the same converter as `export` (ring orientation, closing, multi-part rules), and
 * the outputs of both are the same. Polygon rings: outer clockwise, holes counter-clockwise (Esri).
 */
type Coords = number[];

export function geojsonToEsri(geometry: unknown): unknown {
  if (!geometry || typeof geometry !== 'object') return null;
  const g = geometry as { type?: string; coordinates?: unknown };
  const c = g.coordinates;
  switch (g.type) {
    case 'Point': {
      const p = c as Coords;
      return p.length > 2 ? { x: p[0], y: p[1], z: p[2] } : { x: p[0], y: p[1] };
    }
    case 'MultiPoint':
      return { points: c as Coords[] };
    case 'LineString':
      return { paths: [c as Coords[]] };
    case 'MultiLineString':
      return { paths: c as Coords[][] };
    case 'Polygon':
      return { rings: polygonRings(c as Coords[][]) };
    case 'MultiPolygon':
      return { rings: (c as Coords[][][]).flatMap(polygonRings) };
    default:
      return null;
  }
}

function polygonRings(rings: Coords[][]): Coords[][] {
  return rings.map((ring, i) => (isClockwise(ring) === (i === 0) ? ring : [...ring].reverse()));
}

function isClockwise(ring: readonly Coords[]): boolean {
  let sum = 0;
  for (let i = 0; i + 1 < ring.length; i++) {
    const a = ring[i]!;
    const b = ring[i + 1]!;
    sum += ((b[0] ?? 0) - (a[0] ?? 0)) * ((b[1] ?? 0) + (a[1] ?? 0));
  }
  return sum > 0;
}
