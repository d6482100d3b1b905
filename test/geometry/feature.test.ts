import { describe, expect, it } from 'vitest';
import type { EsriField } from '../../src/core/protocol.js';
import {
  createFeatureConverter,
  esriFeatureToGeoJSON,
  type FeatureSchema,
  propertyFields,
} from '../../src/features/geometry/feature.js';
import type { GeometryIssue } from '../../src/features/geometry/types.js';

const fields: EsriField[] = [
  { name: 'OBJECTID', type: 'esriFieldTypeOID' },
  { name: 'NAME', type: 'esriFieldTypeString' },
  { name: 'Shape', type: 'esriFieldTypeGeometry' },
  { name: 'UPDATED', type: 'esriFieldTypeDate' },
  { name: 'NAME', type: 'esriFieldTypeString' },
];
const schema: FeatureSchema = { oidField: 'OBJECTID', fields, geometryType: 'esriGeometryPoint' };

describe('esriFeatureToGeoJSON', () => {
  it('builds a Feature with the OID as id, properties in schema order, dates as epoch ms', () => {
    const feature = esriFeatureToGeoJSON(
      { attributes: { UPDATED: 1700000000000, NAME: 'a', OBJECTID: 7, EXTRA: 1 }, geometry: { x: 1, y: 2 } },
      schema,
    );
    expect(feature).toEqual({
      type: 'Feature',
      id: 7,
      geometry: { type: 'Point', coordinates: [1, 2] },
      properties: { OBJECTID: 7, NAME: 'a', UPDATED: 1700000000000 },
    });
    expect(Object.keys(feature)).toEqual(['type', 'id', 'geometry', 'properties']);
    expect(Object.keys(feature.properties)).toEqual(['OBJECTID', 'NAME', 'UPDATED']);
  });

  it('fills missing attributes with null and leaves out a missing id', () => {
    const feature = esriFeatureToGeoJSON({ attributes: { NAME: 'b' } }, schema);
    expect(feature).toEqual({
      type: 'Feature',
      geometry: null,
      properties: { OBJECTID: null, NAME: 'b', UPDATED: null },
    });
    expect('id' in feature).toBe(false);
  });

  it('reports geometry issues with the feature id', () => {
    const issues: (GeometryIssue & { id: unknown })[] = [];
    const convert = createFeatureConverter(
      { oidField: 'OBJECTID', fields, geometryType: 'esriGeometryPolygon' },
      { onIssue: (issue) => issues.push(issue) },
    );
    const out = convert({
      attributes: { OBJECTID: 3 },
      geometry: {
        rings: [
          [
            [0, 0],
            [1, 1],
            [0, 0],
          ],
        ],
      },
    });
    expect(out.geometry).toBeNull();
    expect(issues).toEqual([expect.objectContaining({ kind: 'degenerate-ring', id: 3 })]);
  });

  it('passes hasZ / hasM from the schema to the geometry', () => {
    const convert = createFeatureConverter({
      oidField: 'OBJECTID',
      fields,
      geometryType: 'esriGeometryMultipoint',
      hasM: true,
    });
    expect(convert({ attributes: { OBJECTID: 1 }, geometry: { points: [[1, 2, 99]] } }).geometry).toEqual({
      type: 'MultiPoint',
      coordinates: [[1, 2]],
    });
  });

  it('with reuseInput, the GeoJSON holds the input positions already in GeoJSON form; without, copies', () => {
    const polygons = { oidField: 'OBJECTID', fields, geometryType: 'esriGeometryPolygon' as const };
    const ring = [
      [0, 0],
      [0, 1],
      [1, 1],
      [1, 0],
      [0, 0],
    ];
    const feature = { attributes: { OBJECTID: 1 }, geometry: { rings: [ring] } };
    const reused = createFeatureConverter(polygons, { reuseInput: true })(feature);
    const copied = createFeatureConverter(polygons)(feature);
    expect(reused).toEqual(copied);
    const outer = (reused.geometry as { coordinates: number[][][] }).coordinates[0]!;
    // rewound to counter-clockwise: the same arrays, the other way round
    expect(outer[1]).toBe(ring[3]);
    expect((copied.geometry as { coordinates: number[][][] }).coordinates[0]![1]).not.toBe(ring[3]);
    // a position not in GeoJSON form (an M beside x, y; a missing Z) is still made afresh
    const zm = createFeatureConverter(
      { ...polygons, hasZ: true },
      { reuseInput: true },
    )({
      attributes: { OBJECTID: 2 },
      geometry: {
        rings: [
          [
            [0, 0, 5],
            [0, 1],
            [1, 1, 5],
            [0, 0, 5],
          ],
        ],
      },
    });
    const zRing = (zm.geometry as { coordinates: number[][][] }).coordinates[0]!;
    expect(zRing).toEqual([
      [0, 0, 5],
      [1, 1, 5],
      [0, 1, 0],
      [0, 0, 5],
    ]);
  });

  it('keeps a field named __proto__ as a plain property', () => {
    const convert = createFeatureConverter({
      oidField: 'id',
      fields: [{ name: '__proto__', type: 'esriFieldTypeString' }],
    });
    const out = convert({ attributes: JSON.parse('{"__proto__": "x"}') as Record<string, unknown> });
    expect(JSON.stringify(out.properties)).toBe('{"__proto__":"x"}');
  });

  it('lists property fields once, without geometry fields', () => {
    expect(propertyFields(fields).map((f) => f.name)).toEqual(['OBJECTID', 'NAME', 'UPDATED']);
  });
});
