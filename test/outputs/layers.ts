/**
 * Source layers for the output tests: GeoJSON files served by the emulator (points, multipoints,
 * lines, polygons with holes and several parts, Z, null geometries, unicode, nulls).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

type Props = Record<string, unknown>;
type Geometry = { type: string; coordinates: unknown } | null;

const props = (i: number): Props => ({
  name: i % 3 === 0 ? null : ['Zürich ✓', '東京 タワー', 'plain', 'émoji 🗺️'][i % 4],
  count: i % 4 === 1 ? null : i * 7 - 10,
  ratio: i % 5 === 2 ? null : i / 8 + 0.0625,
  a_very_long_field_name: `long ${i}`,
  a_very_long_field_other: i % 2 === 0 ? `other ${i}` : null,
});

const square = (x: number, y: number, s: number) => [
  [x, y],
  [x + s, y],
  [x + s, y + s],
  [x, y + s],
  [x, y],
];

export const LAYERS: Record<string, Geometry[]> = {
  points: [
    { type: 'Point', coordinates: [8.5, 47.25] },
    { type: 'Point', coordinates: [-122.5, 37.75] },
    null,
    { type: 'Point', coordinates: [139.75, 35.5] },
    { type: 'Point', coordinates: [0, 0] },
  ],
  pointz: [
    { type: 'Point', coordinates: [1, 2, 300.5] },
    { type: 'Point', coordinates: [3, 4, -12.25] },
    null,
  ],
  multipoints: [
    {
      type: 'MultiPoint',
      coordinates: [
        [1, 1],
        [2, 3],
        [5, 8],
      ],
    },
    { type: 'MultiPoint', coordinates: [[10, 10]] },
    null,
  ],
  lines: [
    {
      type: 'LineString',
      coordinates: [
        [0, 0],
        [1, 1],
        [2, 0.5],
      ],
    },
    {
      type: 'MultiLineString',
      coordinates: [
        [
          [10, 10],
          [11, 12],
        ],
        [
          [20, 20],
          [21, 19],
          [25, 25],
        ],
      ],
    },
    null,
  ],
  polygons: [
    // a square with a hole
    { type: 'Polygon', coordinates: [square(0, 0, 10).reverse(), square(2, 2, 3)] },
    // two parts, one with a hole
    {
      type: 'MultiPolygon',
      coordinates: [
        [square(20, 20, 5).reverse()],
        [square(40, 40, 10).reverse(), square(42, 42, 2), square(46, 46, 2)],
      ],
    },
    null,
    { type: 'Polygon', coordinates: [square(-5, -5, 1).reverse()] },
  ],
  linez: [
    {
      type: 'LineString',
      coordinates: [
        [0, 0, 1],
        [1, 1, 2.5],
      ],
    },
    null,
  ],
};

/** Writes every layer as a GeoJSON file in `dir`; returns the emulator's layer specs. */
export async function writeLayers(dir: string): Promise<{ service: string; geojsonFile: string }[]> {
  const specs = [];
  for (const [service, geometries] of Object.entries(LAYERS)) {
    const file = join(dir, `${service}.geojson`);
    const features = geometries.map((geometry, i) => ({
      type: 'Feature',
      id: i + 1,
      geometry,
      properties: props(i + 1),
    }));
    await writeFile(file, JSON.stringify({ type: 'FeatureCollection', features }));
    specs.push({ service, geojsonFile: file });
  }
  return specs;
}

export function sourceProperties(service: string): Props[] {
  return (LAYERS[service] ?? []).map((_, i) => props(i + 1));
}
