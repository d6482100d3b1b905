/** Test helpers: a small schema, three features in two pages, a temp directory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EsriField } from '../../src/core/protocol.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import type { WriterSchema } from '../../src/features/writers/types.js';

export const fields: EsriField[] = [
  { name: 'OBJECTID', type: 'esriFieldTypeOID' },
  { name: 'NAME', type: 'esriFieldTypeString' },
  { name: 'UPDATED', type: 'esriFieldTypeDate' },
  { name: 'VALUE', type: 'esriFieldTypeDouble' },
];

export const schema: WriterSchema = { oidField: 'OBJECTID', fields, geometryType: 'esriGeometryPolygon' };

export const f1: GeoJSONFeature = {
  type: 'Feature',
  id: 1,
  geometry: {
    type: 'Polygon',
    coordinates: [
      [
        [0, 0],
        [1, 0],
        [1, 1],
        [0, 0],
      ],
    ],
  },
  properties: { OBJECTID: 1, NAME: 'Main St, "North"', UPDATED: 1700000000000, VALUE: -5 },
};
export const f2: GeoJSONFeature = {
  type: 'Feature',
  id: 2,
  geometry: null,
  properties: { OBJECTID: 2, NAME: '=HYPERLINK("http://x")', UPDATED: null, VALUE: 2.5 },
};
export const f3: GeoJSONFeature = {
  type: 'Feature',
  id: 3,
  geometry: { type: 'Point', coordinates: [-81.5, 27.25] },
  properties: { OBJECTID: 3, NAME: 'line1\nline2 é', UPDATED: 0, VALUE: null },
};

export const pages: GeoJSONFeature[][] = [[f1, f2], [f3]];

/** A fresh directory per test; call the returned cleanup in afterEach. */
export async function tempDir(): Promise<{
  dir: string;
  file: (name: string) => string;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-writers-'));
  return { dir, file: (name) => join(dir, name), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Many features, for resume tests. */
export function manyPages(pageCount: number, perPage: number): GeoJSONFeature[][] {
  const out: GeoJSONFeature[][] = [];
  let id = 0;
  for (let p = 0; p < pageCount; p++) {
    const page: GeoJSONFeature[] = [];
    for (let i = 0; i < perPage; i++) {
      id++;
      page.push({
        type: 'Feature',
        id,
        geometry: { type: 'Point', coordinates: [id / 7, -id / 3] },
        properties: {
          OBJECTID: id,
          NAME: `n°${id}, "q"`,
          UPDATED: 1600000000000 + id * 1000,
          VALUE: id % 3 === 0 ? null : id * 1.5,
        },
      });
    }
    out.push(page);
  }
  return out;
}
