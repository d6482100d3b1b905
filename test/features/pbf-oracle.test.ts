/**
 * Esri's own decoder as a differential oracle. Random layers (every geometry type, Z and M, null
 * geometries and null m, every field type with nulls) are answered in f=pbf by the emulator's
 * encoder; our decoder must read them as Esri's pbfToArcGIS does (points, polylines, polygons:
 * what it reads), and as the emulator's own f=json answer says (every type): coordinates within half
 * a quantization step, attributes equal.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EsriFeature } from '../../src/core/protocol.js';
import { layerFromData } from '../../src/emulator/data/index.js';
import { GeometryBuilder, type GeometryKind, type LayerData } from '../../src/emulator/data/store.js';
import { decodeQueryPbf, type PbfQueryResult } from '../../src/features/pbf-decode.js';
import { comparePages } from '../../src/features/pbf-verify.js';
import { q } from '../emulator-data/helpers.js';
import { esriPbfToArcGIS } from './esri-pbf.js';

type Cell = string | number | null;

/** Every field type an ArcGIS layer may have, with values of its range (null included). */
const FIELDS: { name: string; type: string; value: fc.Arbitrary<Cell> }[] = [
  { name: 'small', type: 'esriFieldTypeSmallInteger', value: fc.integer({ min: -32768, max: 32767 }) },
  { name: 'int', type: 'esriFieldTypeInteger', value: fc.integer() },
  {
    name: 'big',
    type: 'esriFieldTypeBigInteger',
    value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 }).map((n) => n * 2 ** 21 + 7),
  },
  {
    name: 'single',
    type: 'esriFieldTypeSingle',
    value: fc.float({
      noNaN: true,
      noDefaultInfinity: true,
      min: Math.fround(-1e30),
      max: Math.fround(1e30),
    }),
  },
  { name: 'double', type: 'esriFieldTypeDouble', value: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { name: 'date', type: 'esriFieldTypeDate', value: fc.integer({ min: -(2 ** 41), max: 2 ** 42 }) },
  { name: 'text', type: 'esriFieldTypeString', value: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { name: 'guid', type: 'esriFieldTypeGUID', value: fc.uuid().map((u) => `{${u.toUpperCase()}}`) },
  { name: 'gid', type: 'esriFieldTypeGlobalID', value: fc.uuid().map((u) => `{${u.toUpperCase()}}`) },
  { name: 'xml', type: 'esriFieldTypeXML', value: fc.constant('<a b="c"/>') },
  { name: 'dateOnly', type: 'esriFieldTypeDateOnly', value: fc.constant('2020-02-29') },
  { name: 'timeOnly', type: 'esriFieldTypeTimeOnly', value: fc.constant('13:45:00') },
  {
    name: 'offset',
    type: 'esriFieldTypeTimestampOffset',
    value: fc.constant('2020-02-29T13:45:00.000+01:00'),
  },
];

const lon = fc.double({ min: -180, max: 180, noNaN: true });
const lat = fc.double({ min: -85, max: 85, noNaN: true });
const zValue = fc.double({ min: -1000, max: 9000, noNaN: true });
/** m: a measure, or missing (NaN, a JSON null). */
const mValue = fc.oneof(fc.double({ min: -5000, max: 5000, noNaN: true }), fc.constant(Number.NaN));

interface Spec {
  kind: GeometryKind;
  hasZ: boolean;
  hasM: boolean;
  rows: { geometry: number[][] | null; cells: Cell[] }[];
}

function position(hasZ: boolean, hasM: boolean): fc.Arbitrary<number[]> {
  return fc
    .tuple(lon, lat, zValue, mValue)
    .map(([x, y, z, m]) => [x, y, ...(hasZ ? [z] : []), ...(hasM ? [m] : [])]);
}

function geometry(kind: GeometryKind, hasZ: boolean, hasM: boolean): fc.Arbitrary<number[][] | null> {
  const pos = position(hasZ, hasM);
  const part =
    kind === 'point'
      ? fc.tuple(pos).map(([p]) => p)
      : kind === 'polygon'
        ? fc.array(pos, { minLength: 3, maxLength: 6 }).map((ring) => [...ring, ...ring[0]!].flat())
        : fc
            .array(pos, { minLength: kind === 'multipoint' ? 1 : 2, maxLength: 6 })
            .map((path) => path.flat());
  const parts = kind === 'point' ? part.map((p) => [p]) : fc.array(part, { minLength: 1, maxLength: 3 });
  return fc.option(parts, { freq: 5 });
}

const layerSpec: fc.Arbitrary<Spec> = fc
  .record({
    kind: fc.constantFrom<GeometryKind>('point', 'multipoint', 'polyline', 'polygon'),
    hasZ: fc.boolean(),
    hasM: fc.boolean(),
  })
  .chain(({ kind, hasZ, hasM }) =>
    fc
      .array(
        fc.record({
          geometry: geometry(kind, hasZ, hasM),
          cells: fc.tuple(...FIELDS.map((f) => fc.option(f.value, { freq: 4 }))),
        }),
        { minLength: 1, maxLength: 6 },
      )
      .map((rows) => ({ kind, hasZ, hasM, rows })),
  );

function layerOf(spec: Spec) {
  const builder = new GeometryBuilder(spec.kind, spec.hasZ, spec.hasM, spec.rows.length);
  for (const row of spec.rows) {
    if (row.geometry === null) builder.addNull();
    else if (spec.kind === 'point') {
      const [x, y, ...rest] = row.geometry[0]!;
      const z = spec.hasZ ? rest.shift()! : 0;
      builder.addPoint(x!, y!, z, spec.hasM ? rest.shift()! : 0);
    } else builder.addParts(row.geometry);
  }
  const data: LayerData = {
    oids: Float64Array.from(spec.rows.map((_, i) => i * 3 + 1)),
    geometry: builder.build(),
    oidField: 'OBJECTID',
    displayField: 'text',
    columns: FIELDS.map((f, k) => ({
      field: { name: f.name, type: f.type, alias: f.name, nullable: true },
      get: (row: number) => spec.rows[row]!.cells[k] ?? null,
    })),
  };
  return layerFromData({ service: 'Oracle' }, data);
}

type Features = Extract<PbfQueryResult, { kind: 'features' }>;

describe("our decoder against Esri's pbfToArcGIS, on the emulator's encoder", () => {
  it('random layers: both decoders agree, and agree with f=json', () => {
    fc.assert(
      fc.property(layerSpec, (spec) => {
        const layer = layerOf(spec);
        const params = { where: '1=1', outFields: '*', returnZ: 'true', returnM: 'true' };
        const answer = layer.query({ ...params, f: 'pbf' });
        const bytes = answer.body as Uint8Array;
        const ours = decodeQueryPbf(bytes) as Features;
        expect(ours.kind).toBe('features');
        expect(ours.hasZ).toBe(spec.hasZ);
        expect(ours.hasM).toBe(spec.hasM);
        expect(ours.fields.map((f) => f.type)).toEqual(['esriFieldTypeOID', ...FIELDS.map((f) => f.type)]);
        // the emulator's f=json answer of the same query
        const json = q<{ features: EsriFeature[] }>(layer, { ...params, f: 'json' });
        expect(comparePages(json.features, ours, 'OBJECTID')).toBeUndefined();
        if (spec.kind === 'multipoint') return; // Esri's decoder reads no multipoints
        const esri = esriPbfToArcGIS(bytes);
        expect(esri.fields.map((f) => f.type)).toEqual(ours.fields.map((f) => f.type));
        expect(esri.features).toHaveLength(ours.features.length);
        const theirs = esri.features.map((f) => ({ attributes: f.attributes, geometry: f.geometry }));
        expect(comparePages(theirs as EsriFeature[], ours, 'OBJECTID')).toBeUndefined();
        for (let i = 0; i < ours.features.length; i++) {
          expect(Object.keys(ours.features[i]!.attributes)).toEqual(
            Object.keys(esri.features[i]!.attributes),
          );
        }
      }),
      { numRuns: 150 },
    );
  });
});
