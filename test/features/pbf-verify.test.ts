import { describe, expect, it } from 'vitest';
import type { EsriFeature } from '../../src/core/protocol.js';
import { comparePages, type PbfSample } from '../../src/features/pbf-verify.js';

const fields = [
  { name: 'OBJECTID', type: 'esriFieldTypeOID', alias: '' },
  { name: 'when', type: 'esriFieldTypeInteger', alias: '' },
  { name: 'ratio', type: 'esriFieldTypeSingle', alias: '' },
  { name: 'value', type: 'esriFieldTypeDouble', alias: '' },
];
const q = { x: 1e-4, y: 1e-4, z: 1e-4, m: 1e-4 };
const json: EsriFeature[] = [
  {
    attributes: { OBJECTID: 3, when: 1_700_000_001_000, ratio: 0.1, value: 2.5 },
    geometry: {
      paths: [
        [
          [10, 20, 5, 1],
          [11, 21, 6, null],
        ],
      ],
    },
  },
];
const page = (change: (f: EsriFeature) => void, hasZ = true): PbfSample => {
  const features = structuredClone(json);
  change(features[0]!);
  return { features, fields, quantization: q, hasZ };
};
const path = (f: EsriFeature) => (f.geometry as { paths: (number | null)[][][] }).paths[0]!;

describe('comparePages: what a server pbf does that its json does not', () => {
  it('agrees within half a quantization step, with Single fields as float32', () => {
    expect(
      comparePages(
        json,
        page((f) => {
          f.attributes.ratio = Math.fround(0.1);
          path(f)[0]![0] = 10 + 0.49e-4;
          path(f)[0]![2] = 5 - 0.49e-4;
        }),
        'OBJECTID',
      ),
    ).toBeUndefined();
  });

  it('names a field cut to 32 bits, with the values', () => {
    expect(
      comparePages(
        json,
        page((f) => (f.attributes.when = -807048216)),
        'OBJECTID',
      ),
    ).toBe('truncates field `when` to 32 bits (OID 3: 1700000001000 in json, -807048216 in pbf)');
  });

  it('names a double rounded to float32, a dropped field, a changed value', () => {
    expect(
      comparePages(
        json,
        page((f) => (f.attributes.value = Math.fround(2.1))),
        'OBJECTID',
      ),
    ).toMatch(/gives field `value` as/);
    const j = structuredClone(json);
    j[0]!.attributes.value = 2.1;
    expect(
      comparePages(
        j,
        page((f) => (f.attributes.value = Math.fround(2.1))),
        'OBJECTID',
      ),
    ).toMatch(/^rounds field `value` to a 32-bit float/);
    expect(
      comparePages(
        json,
        page((f) => delete f.attributes.value),
        'OBJECTID',
      ),
    ).toMatch(/^drops field `value`/);
  });

  it('catches coordinates off by more than half a step, a lost m, a lost vertex or geometry, missing features', () => {
    expect(
      comparePages(
        json,
        page((f) => (path(f)[1]![2] = 6.0002)),
        'OBJECTID',
      ),
    ).toMatch(/^gives z 6.0002 where its json gives 6, more than half its quantization step/);
    expect(
      comparePages(
        json,
        page((f) => (path(f)[0]![3] = null)),
        'OBJECTID',
      ),
    ).toMatch(/^gives m null where its json gives 1/);
    expect(
      comparePages(
        json,
        page((f) => void path(f).pop()),
        'OBJECTID',
      ),
    ).toMatch(/^gives 1 vertices/);
    expect(
      comparePages(
        json,
        page((f) => (f.geometry = null)),
        'OBJECTID',
      ),
    ).toMatch(/^loses a geometry/);
    expect(comparePages(json, { features: [], fields, quantization: q, hasZ: true }, 'OBJECTID')).toMatch(
      /^lacks OID 3/,
    );
    expect(comparePages(json, { features: [], fields, quantization: q, hasZ: true }, undefined)).toMatch(
      /^answers 0 features where its json answers 1/,
    );
  });
});
