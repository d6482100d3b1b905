import { describe, expect, it } from 'vitest';
import { loadLayers } from '../../src/emulator/data/index.js';
import { recordedJson } from '../fixtures/recorded.js';
import { q } from './helpers.js';

const METADATA = [
  'us-ca-tuolumne/us-ca-tuolumne-metadata.json',
  'us-fl-polk/us-fl-polk-metadata.json',
  'us-il-chicago/metadata.json',
  'us-mi-kent/us-mi-kent-metadata.json',
  'us-mo-columbia/us-mo-columbia-metadata.json',
  'us-ms-madison/us-ms-madison-metadata.json',
];
const PAGES = [
  'us-ca-tuolumne/us-ca-tuolumne-0.json',
  'us-fl-polk/us-fl-polk-0.json',
  'us-mi-kent/us-mi-kent-0.json',
  'us-mo-columbia/us-mo-columbia-0.json',
  'us-ms-madison/us-ms-madison-0.json',
];

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

async function sample(geometry: 'point' | 'polygon' = 'polygon') {
  const [layer] = await loadLayers({
    layers: [{ service: 'Parcels', id: 3, name: 'Parcels', generate: { count: 120, geometry, seed: 3 } }],
  });
  return layer!;
}

describe('layer metadata', () => {
  it('has every key that all recorded layers have, with the same JSON types', async () => {
    const md = (await sample()).metadata() as Record<string, unknown>;
    const fixtures = METADATA.map((p) => recordedJson(p));
    const common = Object.keys(fixtures[0]!).filter((k) => fixtures.every((f) => k in f));
    expect(common.length).toBeGreaterThan(15);
    for (const key of common) {
      expect(md, key).toHaveProperty(key);
      const types = new Set(fixtures.map((f) => typeOf(f[key])));
      expect(types, key).toContain(typeOf(md[key]));
    }
  });

  it('has the keys the newer recorded layers have (pagination, formats, statistics)', async () => {
    const md = (await sample()).metadata() as Record<string, unknown>;
    const chicago = recordedJson('us-il-chicago/metadata.json');
    for (const key of [
      'maxRecordCount',
      'supportedQueryFormats',
      'supportsStatistics',
      'supportsAdvancedQueries',
      'advancedQueryCapabilities',
      'useStandardizedQueries',
      'geometryField',
    ]) {
      expect(md, key).toHaveProperty(key);
    }
    const adv = md.advancedQueryCapabilities as Record<string, unknown>;
    for (const key of Object.keys(chicago.advancedQueryCapabilities as object))
      expect(adv, key).toHaveProperty(key);
    // the recorded 10.81 server answers "JSON, geoJSON"; ArcGIS Online hosted layers add PBF
    expect(md.supportedQueryFormats).toBe(`${chicago.supportedQueryFormats as string}, PBF`);
  });

  it('describes the layer: ids, types, OID field, extent, default maxRecordCount', async () => {
    const layer = await sample();
    const md = layer.metadata();
    expect(md).toMatchObject({
      id: 3,
      name: 'Parcels',
      type: 'Feature Layer',
      geometryType: 'esriGeometryPolygon',
      objectIdField: 'OBJECTID',
      maxRecordCount: 2000,
      capabilities: 'Query,Create,Update,Delete,Editing,ChangeTracking',
      hasZ: false,
      hasM: false,
    });
    expect(typeof md.currentVersion).toBe('number');
    const oid = md.fields!.find((f) => f.type === 'esriFieldTypeOID');
    expect(oid?.name).toBe('OBJECTID');
    for (const f of md.fields!)
      expect(Object.keys(f)).toEqual(expect.arrayContaining(['name', 'type', 'alias', 'domain']));
    expect(md.fields!.find((f) => f.name === 'name')).toMatchObject({ length: 64, nullable: true });
    // the extent is the real bbox of the data
    const all = q(layer, { outFields: 'OBJECTID' });
    const xs = all.features.flatMap((f) =>
      (f.geometry as { rings: number[][][] }).rings.flat().map((p) => p[0]!),
    );
    const ys = all.features.flatMap((f) =>
      (f.geometry as { rings: number[][][] }).rings.flat().map((p) => p[1]!),
    );
    expect(md.extent).toEqual({
      xmin: Math.min(...xs),
      ymin: Math.min(...ys),
      xmax: Math.max(...xs),
      ymax: Math.max(...ys),
      spatialReference: { wkid: 4326, latestWkid: 4326 },
    });
    // callers get a copy
    md.name = 'changed';
    expect(layer.metadata().name).toBe('Parcels');
  });

  it('query pages have the keys of the recorded pages, fields shaped alike', async () => {
    const page = q(await sample('point'), { outFields: '*' }) as unknown as Record<string, unknown>;
    for (const path of PAGES) {
      const fixture = recordedJson(path);
      for (const key of ['geometryType', 'spatialReference', 'fields', 'features']) {
        expect(fixture, path).toHaveProperty(key);
        expect(page).toHaveProperty(key);
      }
      const fixtureFeature = (fixture.features as Record<string, unknown>[])[0]!;
      const feature = (page.features as Record<string, unknown>[])[0]!;
      expect(Object.keys(feature).sort()).toEqual(Object.keys(fixtureFeature).sort());
      const fixtureField = (fixture.fields as Record<string, unknown>[])[0]!;
      for (const key of ['name', 'type', 'alias']) expect(fixtureField).toHaveProperty(key);
    }
    const polk = recordedJson('us-fl-polk/us-fl-polk-0.json');
    expect(page.spatialReference).toEqual(polk.spatialReference);
    const fields = page.fields as Record<string, unknown>[];
    for (const f of fields)
      expect(['name', 'type', 'alias', 'length']).toEqual(expect.arrayContaining(Object.keys(f)));
  });

  it('count, ids and statistics answers have the recorded shapes', async () => {
    const layer = await sample();
    expect(Object.keys(q(layer, { returnCountOnly: 'true' }))).toEqual(
      Object.keys(recordedJson('us-mi-kent/us-mi-kent-count-only.json')),
    );
    expect(Object.keys(q(layer, { returnIdsOnly: 'true' }))).toEqual(
      Object.keys(recordedJson('us-mi-kent/us-mi-kent-ids-only.json')),
    );
    const stats = q(layer, {
      outStatistics: JSON.stringify([
        { statisticType: 'min', onStatisticField: 'OBJECTID', outStatisticFieldName: 'THE_MIN' },
        { statisticType: 'max', onStatisticField: 'OBJECTID', outStatisticFieldName: 'THE_MAX' },
      ]),
    }) as unknown as Record<string, unknown>;
    const fixture = recordedJson('us-fl-polk/us-fl-polk-statistics.json');
    expect(Object.keys(stats)).toEqual(Object.keys(fixture));
    expect(stats.fields).toEqual(fixture.fields);
    expect(stats.fieldAliases).toEqual(fixture.fieldAliases);
  });
});
