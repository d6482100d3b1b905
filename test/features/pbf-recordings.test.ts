/**
 * Real f=pbf answers recorded from ArcGIS Online (test/fixtures/pbf, see its README for sources and
 * licence): every recording with a JSON twin decodes to it (coordinates within half a quantization
 * step, attributes equal), every other one to what Esri's own decoder (pbfToArcGIS) gives.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EsriFeature } from '../../src/core/protocol.js';
import { decodeQueryPbf, type PbfQueryResult } from '../../src/features/pbf-decode.js';
import { comparePages } from '../../src/features/pbf-verify.js';
import { esriPbfToArcGIS } from './esri-pbf.js';

const ROOT = join(import.meta.dirname, '..', 'fixtures', 'pbf');
const ESRI = join(ROOT, 'arcgis-rest-js');
const ARCPBF = join(ROOT, 'arcpbf');

type Features = Extract<PbfQueryResult, { kind: 'features' }>;

function bytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

function features(path: string): Features {
  const result = decodeQueryPbf(bytes(path));
  if (result.kind !== 'features') throw new Error(`${path}: a ${result.kind} result`);
  return result;
}

function twin(path: string): {
  features: EsriFeature[];
  geometryType: string;
  spatialReference: unknown;
  fields: { name: string; type: string }[];
} {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The JSON twin's geometries carry hasZ / hasM keys, which the pbf has once, in its header. */
function withoutFlags(list: EsriFeature[]): EsriFeature[] {
  return list.map((f) => {
    if (!f.geometry) return f;
    const { hasZ: _z, hasM: _m, ...geometry } = f.geometry as Record<string, unknown>;
    return { ...f, geometry: geometry as NonNullable<EsriFeature['geometry']> };
  });
}

/** Recordings and their JSON twins (same query, f=json). */
const TWINS: [pbf: string, json: string][] = [
  ['CRS3857/PBFPointResponse.pbf', 'arcGISPointResponse.json'],
  ['CRS3857/PBFLineResponse.pbf', 'arcGISLineResponse.json'],
  ['CRS3857/PBFPolygonResponse.pbf', 'arcGISPolygonResponse.json'],
  ['CRS3857/PBFPointHasZ.pbf', 'PointHasZ.json'],
  ['CRS3857/PBFPointHasM.pbf', 'PointHasM.json'],
  ['CRS3857/PBFPointHasZM.pbf', 'PointHasZM.json'],
  ['CRS3857/PBFLineHasZ.pbf', 'LineHasZ.json'],
  ['CRS3857/PBFLineHasM.pbf', 'LineHasM.json'],
  ['CRS3857/PBFLineHasZM.pbf', 'LineHasZM.json'],
  ['CRS3857/PBFPolygonHasZ.pbf', 'PolygonHasZ.json'],
  ['CRS3857/PBFPolygonHasM.pbf', 'PolygonHasM.json'],
  ['CRS3857/PBFPolygonHasZM.pbf', 'PolygonHasZM.json'],
];

describe('ArcGIS recordings decode to their f=json twins', () => {
  for (const [pbfName, jsonName] of TWINS) {
    it(`${pbfName} = ${jsonName}`, () => {
      const ours = features(join(ESRI, 'pbf', pbfName));
      const json = twin(join(ESRI, 'arcgis', jsonName));
      expect(ours.geometryType).toBe(json.geometryType);
      expect(ours.spatialReference).toEqual(json.spatialReference);
      expect(ours.fields.map((f) => [f.name, f.type])).toEqual(json.fields.map((f) => [f.name, f.type]));
      let expected = withoutFlags(json.features);
      if (pbfName.endsWith('PBFPointHasM.pbf')) {
        // The one value a pbf m cannot carry: m = mTranslate (-100000) is a raw 0, which is also
        // how a missing m is written. ArcGIS's JSON says -100000 for OBJECTID 5; the pbf (and
        // Esri's decoder) say null.
        const five = expected.find((f) => f.attributes.OBJECTID === 5)!;
        expect(five.geometry).toMatchObject({ m: -100000 });
        expect(ours.features.find((f) => f.attributes.OBJECTID === 5)!.geometry).toMatchObject({ m: null });
        expected = expected.filter((f) => f !== five);
        ours.features = ours.features.filter((f) => f.attributes.OBJECTID !== 5);
      }
      expect(comparePages(expected, ours, 'OBJECTID')).toBeUndefined();
      // the comparison is not blind: one value moved by a whole step is caught
      const moved = structuredClone(ours);
      const g = moved.features[0]!.geometry as Record<string, unknown>;
      if ('x' in g) g.x = (g.x as number) + moved.quantization!.x;
      else ((g.paths ?? g.rings) as number[][][])[0]![0]![0]! += moved.quantization!.x;
      expect(comparePages(expected, moved, 'OBJECTID')).toMatch(
        /gives x .* more than half its quantization step/,
      );
    });
  }

  it('arcpbf big-pnts.pbf = big-pnts.json (1000 points, 3857)', () => {
    const ours = features(join(ARCPBF, 'pbfs', 'big-pnts.pbf'));
    const json = twin(join(ARCPBF, 'json', 'big-pnts.json'));
    expect(ours.features).toHaveLength(1000);
    expect(ours.geometryType).toBe(json.geometryType);
    expect(comparePages(json.features, ours, 'ObjectId')).toBeUndefined();
  });
});

function listPbf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.pbf'))
    .sort();
}

/** Esri's decoder reads points, polylines and polygons, and wants the OID field among the fields. */
const ESRI_CANNOT: Record<string, RegExp> = {
  'CRS4326/PBFNoObjectIdFieldResponse.pbf': /objectIdField/,
  'pbfs/multipatch.pbf': /objectIdField/,
  'pbfs/big-multipoint.pbf': /Geometry type not supported/,
  'pbfs/multipoint.pbf': /Geometry type not supported/,
};

describe("every recording decodes as Esri's own decoder decodes it", () => {
  const files = [
    ...listPbf(join(ESRI, 'pbf')).map((f) => [join(ESRI, 'pbf', f), f] as const),
    ...listPbf(ARCPBF).map((f) => [join(ARCPBF, f), f] as const),
  ];
  it('holds the recordings named in the README', () => {
    expect(files.length).toBeGreaterThanOrEqual(45);
  });
  for (const [path, name] of files) {
    if (name.endsWith('count.pbf') || name.endsWith('ids.pbf')) continue;
    it(name, () => {
      const ours = features(path);
      const cannot = ESRI_CANNOT[name];
      if (cannot) {
        expect(() => esriPbfToArcGIS(bytes(path))).toThrow(cannot);
        // our decoder reads them: every feature, every geometry finite
        expect(ours.features.length).toBeGreaterThan(0);
        for (const f of ours.features) {
          const flat = JSON.stringify(f.geometry ?? null);
          expect(flat).not.toMatch(/NaN|Infinity/);
        }
        return;
      }
      const esri = esriPbfToArcGIS(bytes(path));
      expect(ours.features).toHaveLength(esri.features.length);
      if (ours.geometryType !== undefined) expect(ours.geometryType).toBe(esri.geometryType);
      // a table (no geometryType): Esri's decoder says points, and geometry null for every feature
      else expect(esri.features.every((f) => f.geometry === null)).toBe(true);
      expect(ours.fields.map((f) => f.name)).toEqual(esri.fields.map((f) => f.name));
      const expected = esri.features.map((f) => ({
        attributes: f.attributes,
        // a table: no geometry key in ours (as in f=json), null in Esri's
        ...(f.geometry === null && ours.geometryType === undefined ? {} : { geometry: f.geometry }),
      })) as EsriFeature[];
      expect(comparePages(expected, ours, undefined)).toBeUndefined();
    });
  }

  it('count and ids recordings', () => {
    expect(decodeQueryPbf(bytes(join(ARCPBF, 'pbfs', 'count.pbf')))).toMatchObject({ kind: 'count' });
    const ids = decodeQueryPbf(bytes(join(ARCPBF, 'pbfs', 'ids.pbf')));
    expect(ids.kind).toBe('ids');
    expect((ids as { objectIds: number[] }).objectIds.length).toBeGreaterThan(100);
  });
});
