import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { layerFromGeoJSON, loadLayers } from '../../src/emulator/data/index.js';
import { q, signedArea2, textOf } from './helpers.js';

// GeoJSON rings as RFC 7946 writes them: outer counter-clockwise, hole clockwise
const square = [
  [
    [0, 0],
    [10, 0],
    [10, 10],
    [0, 10],
    [0, 0],
  ],
];
const squareWithHole = [
  [
    [0, 0],
    [10, 0],
    [10, 10],
    [0, 10],
    [0, 0],
  ],
  [
    [2, 2],
    [2, 4],
    [4, 4],
    [4, 2],
    [2, 2],
  ],
];

const parcels = {
  type: 'FeatureCollection',
  features: [
    {
      type: 'Feature',
      id: 30,
      geometry: { type: 'Polygon', coordinates: squareWithHole },
      properties: { owner: 'Zoë, "Z"', area: 96, share: 0.5, vacant: false, tags: ['a'], note: null },
    },
    {
      type: 'Feature',
      id: 10,
      geometry: {
        type: 'MultiPolygon',
        coordinates: [
          square,
          [
            [
              [20, 20],
              [30, 20],
              [30, 30],
              [20, 20],
            ],
          ],
        ],
      },
      properties: { owner: 'Ann', area: 150, share: 1, vacant: true, note: 'x' },
    },
    {
      type: 'Feature',
      id: 20,
      geometry: null,
      properties: { owner: null, area: 3000000000, share: 2, vacant: true },
    },
  ],
};

describe('GeoJSON layers', () => {
  it('maps ids to OIDs (sorted), properties to typed fields, and keeps null geometry', () => {
    const layer = layerFromGeoJSON({ service: 'parcels' }, parcels);
    expect(layer.objectIds()).toEqual([10, 20, 30]);
    expect(layer.geometryType).toBe('esriGeometryPolygon');
    const md = layer.metadata();
    const types = Object.fromEntries(md.fields!.map((f) => [f.name, f.type]));
    expect(types).toEqual({
      OBJECTID: 'esriFieldTypeOID',
      owner: 'esriFieldTypeString',
      area: 'esriFieldTypeDouble',
      share: 'esriFieldTypeDouble',
      vacant: 'esriFieldTypeSmallInteger',
      tags: 'esriFieldTypeString',
      note: 'esriFieldTypeString',
      Shape: 'esriFieldTypeGeometry',
    });
    expect(layer.feature(30)!.attributes).toEqual({
      OBJECTID: 30,
      owner: 'Zoë, "Z"',
      area: 96,
      share: 0.5,
      vacant: 0,
      tags: '["a"]',
      note: null,
    });
    expect(layer.feature(20)!.geometry).toBeNull();
    expect(md.displayField).toBe('owner');
    expect(q(layer, { where: "owner = 'Ann'" }).features.map((f) => f.attributes.OBJECTID)).toEqual([10]);
  });

  it('rewinds polygons to Esri orientation (outer clockwise, holes counter-clockwise) and closes rings', () => {
    const layer = layerFromGeoJSON({ service: 'parcels' }, parcels);
    const holed = layer.feature(30)!.geometry as { rings: number[][][] };
    expect(holed.rings).toHaveLength(2);
    expect(signedArea2(holed.rings[0]!)).toBeLessThan(0);
    expect(signedArea2(holed.rings[1]!)).toBeGreaterThan(0);
    const multi = layer.feature(10)!.geometry as { rings: number[][][] };
    expect(multi.rings).toHaveLength(2);
    for (const ring of multi.rings) {
      expect(signedArea2(ring)).toBeLessThan(0);
      expect(ring[0]).toEqual(ring[ring.length - 1]);
    }
    // and back to RFC 7946 for f=geojson: same coordinates as the input
    const fc = JSON.parse(textOf(layer.query({ f: 'geojson', outFields: '*' })));
    const f30 = fc.features.find((f: { id: number }) => f.id === 30);
    expect(f30.geometry).toEqual({ type: 'Polygon', coordinates: squareWithHole });
    const f10 = fc.features.find((f: { id: number }) => f.id === 10);
    expect(f10.geometry.type).toBe('MultiPolygon');
    expect(f10.geometry.coordinates[0]).toEqual(square);
    expect(fc.features.find((f: { id: number }) => f.id === 20).geometry).toBeNull();
  });

  it('falls back to 1..n when ids are missing, strings or duplicated; infers Integer and Z', () => {
    const doc = (ids: unknown[]) => ({
      type: 'FeatureCollection',
      features: ids.map((id, i) => ({
        type: 'Feature',
        ...(id === undefined ? {} : { id }),
        geometry: { type: 'Point', coordinates: [i, i, 100 + i] },
        properties: { n: i },
      })),
    });
    expect(layerFromGeoJSON({ service: 'a' }, doc(['x', 'y', 'z'])).objectIds()).toEqual([1, 2, 3]);
    expect(layerFromGeoJSON({ service: 'a' }, doc([5, 5, 6])).objectIds()).toEqual([1, 2, 3]);
    expect(layerFromGeoJSON({ service: 'a' }, doc([undefined, 4, 6])).objectIds()).toEqual([1, 2, 3]);
    const layer = layerFromGeoJSON({ service: 'a' }, doc([9, 8, 7]));
    expect(layer.objectIds()).toEqual([7, 8, 9]);
    expect(layer.metadata().fields!.find((f) => f.name === 'n')?.type).toBe('esriFieldTypeInteger');
    expect(layer.metadata().hasZ).toBe(true);
    expect(layer.feature(7)!.geometry).toEqual({ x: 2, y: 2, z: 102 });
  });

  it('uses an OBJECTID property as the OID when there are no ids', () => {
    const layer = layerFromGeoJSON(
      { service: 'a' },
      {
        type: 'FeatureCollection',
        features: [3, 1].map((oid) => ({
          type: 'Feature',
          geometry: {
            type: 'LineString',
            coordinates: [
              [0, 0],
              [1, oid],
            ],
          },
          properties: { OBJECTID: oid, k: 'v' },
        })),
      },
    );
    expect(layer.objectIds()).toEqual([1, 3]);
    expect(layer.metadata().fields!.map((f) => f.name)).toEqual(['OBJECTID', 'k', 'Shape']);
    expect(layer.geometryType).toBe('esriGeometryPolyline');
  });

  it('maps points mixed with multipoints to a multipoint layer, rejects other mixes', () => {
    const layer = layerFromGeoJSON(
      { service: 'mp' },
      {
        type: 'FeatureCollection',
        features: [
          { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] }, properties: {} },
          {
            type: 'Feature',
            geometry: {
              type: 'MultiPoint',
              coordinates: [
                [1, 2],
                [3, 4],
              ],
            },
            properties: {},
          },
        ],
      },
    );
    expect(layer.geometryType).toBe('esriGeometryMultipoint');
    expect(layer.feature(1)!.geometry).toEqual({ points: [[1, 2]] });
    const mixed = () =>
      layerFromGeoJSON(
        { service: 'bad' },
        {
          type: 'FeatureCollection',
          features: [
            { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] }, properties: {} },
            { type: 'Feature', geometry: { type: 'Polygon', coordinates: square }, properties: {} },
          ],
        },
      );
    expect(mixed).toThrow(/mixed geometry/);
    expect(() => layerFromGeoJSON({ service: 'bad' }, { type: 'Topology' })).toThrow(/FeatureCollection/);
    try {
      layerFromGeoJSON(
        { service: 'bad' },
        {
          type: 'FeatureCollection',
          features: [
            { type: 'Feature', geometry: { type: 'GeometryCollection', geometries: [] }, properties: {} },
          ],
        },
      );
      expect.unreachable();
    } catch (e) {
      expect(isEtlError(e, 'UNSUPPORTED_GEOMETRY')).toBe(true);
    }
  });

  describe('dataDir', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'emulator-data-'));
      await writeFile(join(dir, 'Parcels.geojson'), JSON.stringify(parcels));
      await writeFile(
        join(dir, 'roads.json'),
        JSON.stringify({
          type: 'FeatureCollection',
          features: [
            {
              type: 'Feature',
              geometry: {
                type: 'LineString',
                coordinates: [
                  [0, 0],
                  [1, 1],
                ],
              },
              properties: { name: 'A1' },
            },
          ],
        }),
      );
      await writeFile(join(dir, 'readme.txt'), 'not a layer');
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('loads every *.geojson / *.json file as a layer named after the file', async () => {
      const layers = await loadLayers({
        dataDir: dir,
        layers: [{ service: 'gen', generate: { count: 3, geometry: 'point' } }],
      });
      expect(layers.map((l) => [l.service, l.id, l.geometryType, l.count])).toEqual([
        ['gen', 0, 'esriGeometryPoint', 3],
        ['Parcels', 0, 'esriGeometryPolygon', 3],
        ['roads', 0, 'esriGeometryPolyline', 1],
      ]);
      expect(layers[1]!.metadata().name).toBe('Parcels');
    });

    it('loads a geojsonFile spec, and reports unreadable or invalid files as USAGE', async () => {
      const [layer] = await loadLayers({
        layers: [{ service: 'p', geojsonFile: join(dir, 'Parcels.geojson'), maxRecordCount: 2 }],
      });
      expect(q(layer!, {}).exceededTransferLimit).toBe(true);
      const missing = await loadLayers({
        layers: [{ service: 'p', geojsonFile: join(dir, 'nope.geojson') }],
      }).catch((e) => e);
      expect(isEtlError(missing, 'USAGE')).toBe(true);
      const notJson = await loadLayers({
        layers: [{ service: 'p', geojsonFile: join(dir, 'readme.txt') }],
      }).catch((e) => e);
      expect(isEtlError(notJson, 'USAGE')).toBe(true);
      const noDir = await loadLayers({ dataDir: join(dir, 'absent') }).catch((e) => e);
      expect(isEtlError(noDir, 'USAGE')).toBe(true);
    });

    it('rejects duplicate layers and specs with neither or both sources', async () => {
      const dup = await loadLayers({
        dataDir: dir,
        layers: [{ service: 'roads', generate: { count: 1, geometry: 'point' } }],
      }).catch((e) => e);
      expect(isEtlError(dup, 'USAGE')).toBe(true);
      const neither = await loadLayers({ layers: [{ service: 'x' }] }).catch((e) => e);
      expect(isEtlError(neither, 'USAGE')).toBe(true);
      const both = await loadLayers({
        layers: [{ service: 'x', geojsonFile: 'a.geojson', generate: { count: 1, geometry: 'point' } }],
      }).catch((e) => e);
      expect(isEtlError(both, 'USAGE')).toBe(true);
      const twoIds = await loadLayers({
        layers: [
          { service: 'x', id: 0, generate: { count: 1, geometry: 'point' } },
          { service: 'x', id: 1, generate: { count: 1, geometry: 'polygon' } },
        ],
      });
      expect(twoIds.map((l) => l.id)).toEqual([0, 1]);
    });
  });
});
