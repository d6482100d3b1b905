import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EtlError, isEtlError } from '../../src/core/errors.js';
import { ProtoWriter } from '../../src/core/protobuf.js';
import { checkPbfWhole, decodeQueryPbf, type PbfQueryResult } from '../../src/features/pbf-decode.js';

// ---------------------------------------------------------------------------------------------
// A small FeatureCollectionPBuffer encoder for the tests (field numbers from Esri's
// FeatureCollection.proto), built on ProtoWriter.

type ValueSpec =
  | null
  | { string: string }
  | { float: number }
  | { double: number }
  | { sint: number }
  | { uint: number }
  | { int64: number }
  | { uint64: number }
  | { sint64: number }
  | { bool: boolean };

interface GeometrySpec {
  lengths?: number[];
  coords: number[];
  /** Write lengths and coords as unpacked repeated fields (wire type 0). */
  unpacked?: boolean;
}

interface FeatureSpec {
  attributes?: ValueSpec[];
  geometry?: GeometrySpec;
  shapeBuffer?: Uint8Array;
  centroid?: GeometrySpec;
  /** A curveGeometry (Feature field 7) with these coords. */
  curve?: number[];
}

interface TransformSpec {
  lowerLeft?: boolean;
  /** x, y, z, m (written to their proto fields: x 1, y 2, m 3, z 4). */
  scale?: { x?: number; y?: number; z?: number; m?: number };
  translate?: { x?: number; y?: number; z?: number; m?: number };
}

interface FeatureResultSpec {
  objectIdFieldName?: string;
  geometryType?: number;
  spatialReference?: {
    wkid?: number;
    latestWkid?: number;
    vcsWkid?: number;
    latestVcsWkid?: number;
    wkt?: string;
  };
  exceededTransferLimit?: boolean;
  hasZ?: boolean;
  hasM?: boolean;
  transform?: TransformSpec;
  fields?: { name: string; type: number; alias?: string }[];
  features?: FeatureSpec[];
  /** Write the fields after the features. */
  fieldsLast?: boolean;
  /** Unknown fields, written at the start of the feature result. */
  extra?: (w: ProtoWriter) => void;
}

const FIELD = {
  SmallInteger: 0,
  Integer: 1,
  Single: 2,
  Double: 3,
  String: 4,
  Date: 5,
  OID: 6,
  Geometry: 7,
  GUID: 10,
  GlobalID: 11,
} as const;
const GEOMETRY = {
  point: 0,
  multipoint: 1,
  polyline: 2,
  polygon: 3,
  multipatch: 4,
  envelope: 5,
  none: 127,
} as const;

function writeValue(w: ProtoWriter, value: ValueSpec): void {
  if (value === null) return;
  if ('string' in value) w.stringField(1, value.string);
  else if ('float' in value) w.floatField(2, value.float);
  else if ('double' in value) w.doubleField(3, value.double);
  else if ('sint' in value) w.sintField(4, value.sint);
  else if ('uint' in value) w.uintField(5, value.uint);
  else if ('int64' in value) w.int64Field(6, value.int64);
  else if ('uint64' in value) w.uintField(7, value.uint64);
  else if ('sint64' in value) w.sintField(8, value.sint64);
  else w.boolField(9, value.bool);
}

function writeGeometry(w: ProtoWriter, g: GeometrySpec): void {
  if (g.unpacked) {
    for (const length of g.lengths ?? []) w.uintField(2, length);
    for (const c of g.coords) w.sintField(3, c);
    return;
  }
  if (g.lengths !== undefined) w.packedVarints(2, g.lengths);
  w.packedSvarints(3, g.coords);
}

function writeFeature(w: ProtoWriter, f: FeatureSpec): void {
  for (const value of f.attributes ?? []) w.message(1, (v) => writeValue(v, value));
  if (f.geometry !== undefined) {
    const g = f.geometry;
    w.message(2, (m) => writeGeometry(m, g));
  }
  if (f.shapeBuffer !== undefined) {
    const bytes = f.shapeBuffer;
    w.message(3, (m) => m.bytesField(1, bytes));
  }
  if (f.centroid !== undefined) {
    const c = f.centroid;
    w.message(4, (m) => writeGeometry(m, c));
  }
  if (f.curve !== undefined) {
    const coords = f.curve;
    w.message(7, (m) => {
      m.uintField(1, GEOMETRY.polygon);
      m.message(3, (set) => {
        set.uintField(1, 1); // arc
        set.uintField(2, 1);
      });
      m.packedSvarints(4, coords);
    });
  }
}

function writeTransform(w: ProtoWriter, t: TransformSpec): void {
  if (t.lowerLeft) w.uintField(1, 1);
  const fourDoubles = (field: number, d: { x?: number; y?: number; z?: number; m?: number }) =>
    w.message(field, (m) => {
      if (d.x !== undefined) m.doubleField(1, d.x);
      if (d.y !== undefined) m.doubleField(2, d.y);
      if (d.m !== undefined) m.doubleField(3, d.m);
      if (d.z !== undefined) m.doubleField(4, d.z);
    });
  if (t.scale !== undefined) fourDoubles(2, t.scale);
  if (t.translate !== undefined) fourDoubles(3, t.translate);
}

function writeFeatureResult(w: ProtoWriter, spec: FeatureResultSpec): void {
  spec.extra?.(w);
  if (spec.objectIdFieldName !== undefined) w.stringField(1, spec.objectIdFieldName);
  if (spec.geometryType !== undefined && spec.geometryType !== 0) w.uintField(7, spec.geometryType);
  const sr = spec.spatialReference;
  if (sr !== undefined) {
    w.message(8, (m) => {
      if (sr.wkid !== undefined) m.uintField(1, sr.wkid);
      if (sr.latestWkid !== undefined) m.uintField(2, sr.latestWkid);
      if (sr.vcsWkid !== undefined) m.uintField(3, sr.vcsWkid);
      if (sr.latestVcsWkid !== undefined) m.uintField(4, sr.latestVcsWkid);
      if (sr.wkt !== undefined) m.stringField(5, sr.wkt);
    });
  }
  if (spec.exceededTransferLimit) w.boolField(9, true);
  if (spec.hasZ) w.boolField(10, true);
  if (spec.hasM) w.boolField(11, true);
  const transform = spec.transform;
  if (transform !== undefined) w.message(12, (m) => writeTransform(m, transform));
  const writeFields = () => {
    for (const field of spec.fields ?? []) {
      w.message(13, (m) => {
        m.stringField(1, field.name);
        if (field.type !== 0) m.uintField(2, field.type);
        m.stringField(3, field.alias ?? field.name);
      });
    }
  };
  if (!spec.fieldsLast) writeFields();
  for (const feature of spec.features ?? []) w.message(15, (m) => writeFeature(m, feature));
  if (spec.fieldsLast) writeFields();
}

/** A whole FeatureCollectionPBuffer: version, then queryResult { featureResult }. */
function encodeFeatures(spec: FeatureResultSpec): Uint8Array {
  const w = new ProtoWriter();
  w.stringField(1, '2.0');
  w.message(2, (q) => q.message(1, (f) => writeFeatureResult(f, spec)));
  return w.finish().slice();
}

function encodeCount(count: number): Uint8Array {
  const w = new ProtoWriter();
  w.stringField(1, '2.0');
  w.message(2, (q) => q.message(2, (c) => count !== 0 && c.uintField(1, count)));
  return w.finish().slice();
}

function encodeIds(name: string, ids: number[], packed = true): Uint8Array {
  const w = new ProtoWriter();
  w.stringField(1, '2.0');
  w.message(2, (q) =>
    q.message(3, (m) => {
      m.stringField(1, name);
      if (packed) m.packedVarints(3, ids);
      else for (const id of ids) m.uintField(3, id);
    }),
  );
  return w.finish().slice();
}

type FeaturesResult = Extract<PbfQueryResult, { kind: 'features' }>;

function decodeFeatures(bytes: Uint8Array): FeaturesResult {
  const result = decodeQueryPbf(bytes);
  if (result.kind !== 'features') throw new Error(`expected features, got ${result.kind}`);
  return result;
}

/** The error a call throws (fails the test when it throws nothing). */
/** The error `fn` throws, or undefined. */
function errorOf(fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error;
  }
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

/** Quantizes the parts of a geometry the way a server does: per part, per dimension deltas. */
function quantize(
  parts: number[][][],
  t: { sx: number; sy: number; tx: number; ty: number; lowerLeft?: boolean },
): { lengths: number[]; coords: number[] } {
  const coords: number[] = [];
  for (const part of parts) {
    let px = 0;
    let py = 0;
    for (const [x, y] of part) {
      const qx = Math.round((x! - t.tx) / t.sx);
      const qy = t.lowerLeft ? Math.round((y! - t.ty) / t.sy) : Math.round((t.ty - y!) / t.sy);
      coords.push(qx - px, qy - py);
      px = qx;
      py = qy;
    }
  }
  return { lengths: parts.map((p) => p.length), coords };
}

const IDENTITY_UP: TransformSpec = { lowerLeft: true, scale: { x: 1, y: 1 }, translate: { x: 0, y: 0 } };

// ---------------------------------------------------------------------------------------------

describe('attributes', () => {
  it('decodes every Value type, null included, into what JSON.parse gives', () => {
    const long = 'ArcGIS '.repeat(5000);
    const fields = [
      { name: 'OBJECTID', type: FIELD.OID },
      { name: 'name', type: FIELD.String },
      { name: 'unicode', type: FIELD.String },
      { name: 'long', type: FIELD.String },
      { name: 'empty', type: FIELD.String },
      { name: 'single', type: FIELD.Single },
      { name: 'double', type: FIELD.Double },
      { name: 'small', type: FIELD.SmallInteger },
      { name: 'count', type: FIELD.Integer },
      { name: 'created', type: FIELD.Date },
      { name: 'big', type: FIELD.Integer },
      { name: 'delta', type: FIELD.Integer },
      { name: 'flag', type: FIELD.SmallInteger },
      { name: 'nothing', type: FIELD.String },
    ];
    const bytes = encodeFeatures({
      objectIdFieldName: 'OBJECTID',
      fields,
      features: [
        {
          attributes: [
            { uint64: 2 ** 53 - 1 },
            { string: 'Main St' },
            { string: 'Zürich 東京 🗺️ \u0000 "quoted"' },
            { string: long },
            { string: '' },
            { float: 0.1 },
            { double: -123.456789012345 },
            { sint: -32768 },
            { uint: 4294967295 },
            { int64: -2208988800000 },
            { int64: 9007199254740991 },
            { sint64: -(2 ** 52) },
            { bool: true },
            null,
          ],
        },
      ],
    });
    const json = `{"features":[{"attributes":{"OBJECTID":9007199254740991,"name":"Main St",
      "unicode":"Zürich 東京 🗺️ \\u0000 \\"quoted\\"","long":${JSON.stringify(long)},"empty":"",
      "single":0.1,"double":-123.456789012345,"small":-32768,"count":4294967295,
      "created":-2208988800000,"big":9007199254740991,"delta":-4503599627370496,"flag":true,
      "nothing":null}}]}`;
    const result = decodeFeatures(bytes);
    expect(result.features).toStrictEqual(JSON.parse(json).features);
    expect(Object.keys(result.features[0]!.attributes)).toEqual(fields.map((f) => f.name));
    expect('geometry' in result.features[0]!).toBe(false);
    expect(result.fields[0]).toEqual({ name: 'OBJECTID', type: 'esriFieldTypeOID', alias: 'OBJECTID' });
    expect(result.fields.map((f) => f.type)).toContain('esriFieldTypeDate');
    expect(result.objectIdFieldName).toBe('OBJECTID');
    expect(result.geometryType).toBeUndefined();
  });

  it('gives floats the double of their shortest decimal, as a JSON answer prints them', () => {
    const values = [0.1, 1.5, -3.4028234663852886e38, 1e-7, 123456.789, 0, -0.25, 16777216];
    const bytes = encodeFeatures({
      fields: values.map((_, i) => ({ name: `f${i}`, type: FIELD.Single })),
      features: [{ attributes: values.map((v) => ({ float: v })) }],
    });
    const attributes = decodeFeatures(bytes).features[0]!.attributes;
    expect(Object.values(attributes)).toEqual([0.1, 1.5, -3.4028235e38, 1e-7, 123456.79, 0, -0.25, 16777216]);
  });

  it('keeps a field named __proto__ as an own attribute, like JSON.parse', () => {
    const bytes = encodeFeatures({
      fields: [
        { name: 'a', type: FIELD.Integer },
        { name: '__proto__', type: FIELD.String },
      ],
      features: [{ attributes: [{ uint: 1 }, { string: 'x' }] }],
    });
    const attributes = decodeFeatures(bytes).features[0]!.attributes;
    expect(attributes).toStrictEqual(JSON.parse('{"a":1,"__proto__":"x"}'));
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
  });

  it('treats a field listed twice like JSON.parse treats a repeated key (first place, last value)', () => {
    const bytes = encodeFeatures({
      fields: [
        { name: 'a', type: FIELD.Integer },
        { name: 'b', type: FIELD.Integer },
        { name: 'a', type: FIELD.Integer },
      ],
      features: [{ attributes: [{ uint: 1 }, { uint: 2 }, { uint: 3 }] }, { attributes: [{ uint: 4 }] }],
    });
    const [full, short] = decodeFeatures(bytes).features;
    expect(full!.attributes).toStrictEqual(JSON.parse('{"a":1,"b":2,"a":3}'));
    expect(Object.keys(full!.attributes)).toEqual(['a', 'b']);
    expect(short!.attributes).toStrictEqual({ a: 4 });
  });

  it('reads field names that are not identifiers, quotes and backslashes included', () => {
    const names = [
      'x-y',
      '1',
      'a"b',
      'c\\d',
      "e'f",
      'a`b',
      '\u2028',
      '} ; throw 1; {',
      'constructor',
      'ünï 名',
    ];
    const bytes = encodeFeatures({
      fields: names.map((name) => ({ name, type: FIELD.Integer })),
      features: [{ attributes: names.map((_, i) => ({ uint: i })) }],
    });
    const attributes = decodeFeatures(bytes).features[0]!.attributes;
    expect(attributes).toStrictEqual(
      JSON.parse(JSON.stringify(Object.fromEntries(names.map((n, i) => [n, i])))),
    );
    expect(Object.hasOwn(attributes, 'constructor')).toBe(true);
  });

  it('takes the last value of a Value holding several (protobuf oneof rules)', () => {
    const w = new ProtoWriter();
    w.message(2, (q) =>
      q.message(1, (f) => {
        f.message(13, (m) => m.stringField(1, 'v'));
        f.message(15, (m) =>
          m.message(1, (v) => {
            v.stringField(1, 'first');
            v.uintField(5, 7);
          }),
        );
      }),
    );
    expect(decodeFeatures(w.finish()).features[0]!.attributes).toEqual({ v: 7 });
  });

  it('leaves out the attributes a short feature does not carry, refuses extra ones', () => {
    const fields = [
      { name: 'a', type: FIELD.Integer },
      { name: 'b', type: FIELD.Integer },
    ];
    const short = encodeFeatures({ fields, features: [{ attributes: [{ uint: 1 }] }] });
    expect(decodeFeatures(short).features[0]!.attributes).toStrictEqual({ a: 1 });
    const extra = encodeFeatures({
      fields,
      features: [{ attributes: [{ uint: 1 }, { uint: 2 }, { uint: 3 }] }],
    });
    const error = thrown(() => decodeQueryPbf(extra));
    expect(isEtlError(error, 'INVALID_RESPONSE')).toBe(true);
    expect((error as EtlError).message).toMatch(/pbf answer of the query.*more attribute values than fields/);
  });
});

describe('geometries', () => {
  const oid = [{ name: 'OBJECTID', type: FIELD.OID }];

  it('decodes points: { x, y } from absolute quantized coordinates, lengths omitted', () => {
    const result = decodeFeatures(
      encodeFeatures({
        fields: oid,
        geometryType: GEOMETRY.point,
        spatialReference: { wkid: 102100, latestWkid: 3857 },
        transform: { scale: { x: 0.5, y: 0.25 }, translate: { x: 100, y: 50 } },
        features: [
          { attributes: [{ uint: 1 }], geometry: { coords: [4, 8] } },
          { attributes: [{ uint: 2 }], geometry: { lengths: [1], coords: [-2, -4] } },
        ],
      }),
    );
    expect(result.geometryType).toBe('esriGeometryPoint');
    expect(result.spatialReference).toStrictEqual({ wkid: 102100, latestWkid: 3857 });
    expect(result.features).toStrictEqual([
      { attributes: { OBJECTID: 1 }, geometry: { x: 102, y: 48 } },
      { attributes: { OBJECTID: 2 }, geometry: { x: 99, y: 51 } },
    ]);
    expect(Object.keys(result.features[0]!.geometry!)).toEqual(['x', 'y']);
  });

  it('reads Z, M without Z (M is not Z), and Z with M, in that key order', () => {
    const transform: TransformSpec = {
      lowerLeft: true,
      scale: { x: 1, y: 1, z: 0.5, m: 0.1 },
      translate: { x: 0, y: 0, z: 100, m: 1000 },
    };
    const one = (spec: Partial<FeatureResultSpec>, coords: number[]) =>
      decodeFeatures(
        encodeFeatures({
          ...spec,
          transform,
          fields: oid,
          features: [{ attributes: [{ uint: 1 }], geometry: { coords } }],
        }),
      ).features[0]!.geometry;
    const z = one({ hasZ: true }, [1, 2, 10]);
    expect(z).toStrictEqual({ x: 1, y: 2, z: 105 });
    const m = one({ hasM: true }, [1, 2, 10]);
    expect(m).toStrictEqual({ x: 1, y: 2, m: 1001 });
    const zm = one({ hasZ: true, hasM: true }, [1, 2, 10, 10]);
    expect(zm).toStrictEqual({ x: 1, y: 2, z: 105, m: 1001 });
    expect(Object.keys(zm!)).toEqual(['x', 'y', 'z', 'm']);
    const polyline = decodeFeatures(
      encodeFeatures({
        hasM: true,
        transform,
        geometryType: GEOMETRY.polyline,
        fields: oid,
        features: [{ attributes: [{ uint: 1 }], geometry: { lengths: [2], coords: [1, 2, 10, 1, 1, -20] } }],
      }),
    ).features[0]!.geometry;
    // x and y are deltas, m is absolute (not 10 - 20)
    expect(polyline).toStrictEqual({
      paths: [
        [
          [1, 2, 1001],
          [2, 3, 998],
        ],
      ],
    });
  });

  it('z and m are absolute, not deltas (Esri PBFLineHasZ.pbf, feature 2: z 1, 3, 2)', () => {
    const result = decodeFeatures(
      encodeFeatures({
        geometryType: GEOMETRY.polyline,
        hasZ: true,
        transform: { lowerLeft: true, scale: { x: 1, y: 1, z: 1e-4 }, translate: { z: -100000 } },
        fields: oid,
        features: [
          {
            attributes: [{ uint: 2 }],
            geometry: { lengths: [3], coords: [5, 5, 1000010000, 1, 0, 1000030000, 1, 0, 1000020000] },
          },
        ],
      }),
    );
    expect(result.features[0]!.geometry).toStrictEqual({
      paths: [
        [
          [5, 5, 1],
          [6, 5, 3],
          [7, 5, 2],
        ],
      ],
    });
  });

  it('a raw m of 0 is null (a missing m), in points, paths and with z', () => {
    const transform: TransformSpec = {
      lowerLeft: true,
      scale: { x: 1, y: 1, z: 1e-4, m: 1e-4 },
      translate: { z: -100000, m: -100000 },
    };
    const page = (spec: Partial<FeatureResultSpec>, geometry: GeometrySpec) =>
      decodeFeatures(
        encodeFeatures({
          ...spec,
          transform,
          fields: oid,
          features: [{ attributes: [{ uint: 1 }], geometry }],
        }),
      ).features[0]!.geometry;
    expect(page({ hasM: true }, { coords: [1, 2, 0] })).toStrictEqual({ x: 1, y: 2, m: null });
    expect(page({ hasM: true }, { coords: [1, 2, 1000000000] })).toStrictEqual({ x: 1, y: 2, m: 0 });
    expect(page({ hasZ: true, hasM: true }, { coords: [1, 2, 0, 0] })).toStrictEqual({
      x: 1,
      y: 2,
      z: -100000,
      m: null,
    });
    expect(
      page(
        { hasZ: true, hasM: true, geometryType: GEOMETRY.polyline },
        { lengths: [2], coords: [1, 2, 1000000000, 0, 1, 1, 1000000000, 1000035000] },
      ),
    ).toStrictEqual({
      paths: [
        [
          [1, 2, 0, null],
          [2, 3, 0, 3.5],
        ],
      ],
    });
    expect(
      page(
        { hasM: true, geometryType: GEOMETRY.multipoint },
        { lengths: [2], coords: [1, 2, 0, 1, 1, 10000] },
      ),
    ).toStrictEqual({
      points: [
        [1, 2, null],
        [2, 3, -99999],
      ],
    });
  });

  it("ignores a point's lengths (Koop writes [2], the number of values)", () => {
    for (const lengths of [[2], [1], [7, 7]]) {
      const result = decodeFeatures(
        encodeFeatures({
          transform: IDENTITY_UP,
          fields: oid,
          features: [{ attributes: [{ uint: 1 }], geometry: { lengths, coords: [3, 4] } }],
        }),
      );
      expect(result.features[0]!.geometry).toStrictEqual({ x: 3, y: 4 });
    }
  });

  it('geometryType None (127): a table, features without a geometry key', () => {
    const result = decodeFeatures(
      encodeFeatures({
        geometryType: GEOMETRY.none,
        fields: oid,
        features: [{ attributes: [{ uint: 1 }] }, { attributes: [{ uint: 2 }], geometry: { coords: [] } }],
      }),
    );
    expect(result.geometryType).toBeUndefined();
    expect(result.features).toStrictEqual([{ attributes: { OBJECTID: 1 } }, { attributes: { OBJECTID: 2 } }]);
  });

  it('geometryType Envelope (5): two corners, as xmin, ymin, xmax, ymax', () => {
    const result = decodeFeatures(
      encodeFeatures({
        geometryType: GEOMETRY.envelope,
        transform: IDENTITY_UP,
        fields: oid,
        features: [{ attributes: [{ uint: 1 }], geometry: { lengths: [2], coords: [10, 20, 5, 7] } }],
      }),
    );
    expect(result.geometryType).toBe('esriGeometryEnvelope');
    expect(result.features[0]!.geometry).toStrictEqual({ xmin: 10, ymin: 20, xmax: 15, ymax: 27 });
  });

  it('decodes multipoints as points, deltas running through the part', () => {
    const result = decodeFeatures(
      encodeFeatures({
        geometryType: GEOMETRY.multipoint,
        transform: IDENTITY_UP,
        fields: oid,
        features: [{ attributes: [{ uint: 1 }], geometry: { lengths: [3], coords: [10, 10, 1, 1, 1, -2] } }],
      }),
    );
    expect(result.geometryType).toBe('esriGeometryMultipoint');
    expect(result.features[0]!.geometry).toStrictEqual({
      points: [
        [10, 10],
        [11, 11],
        [12, 9],
      ],
    });
  });

  it("decodes a multipart polyline: each path restarts from absolute values (Esri's README example)", () => {
    const result = decodeFeatures(
      encodeFeatures({
        geometryType: GEOMETRY.polyline,
        transform: IDENTITY_UP,
        fields: [{ name: 'field1', type: FIELD.String }],
        features: [
          {
            attributes: [{ string: 'Egypt' }],
            geometry: { lengths: [3, 2], coords: [2, 2, 0, 8, 8, 0, 1, 1, 2, 4] },
          },
        ],
      }),
    );
    expect(result.features[0]!.geometry).toStrictEqual({
      paths: [
        [
          [2, 2],
          [2, 10],
          [10, 10],
        ],
        [
          [1, 1],
          [3, 5],
        ],
      ],
    });
  });

  it('decodes a polygon with a hole: the second ring restarts from absolute values', () => {
    const result = decodeFeatures(
      encodeFeatures({
        geometryType: GEOMETRY.polygon,
        transform: IDENTITY_UP,
        fields: oid,
        features: [
          {
            attributes: [{ uint: 1 }],
            geometry: {
              lengths: [5, 5],
              coords: [256, 256, 2, 0, 0, 2, -2, 0, 0, -2, 56, 56, 2, 0, 0, 2, -2, 0, 0, -2],
            },
          },
        ],
      }),
    );
    expect(result.geometryType).toBe('esriGeometryPolygon');
    expect(result.features[0]!.geometry).toStrictEqual({
      rings: [
        [
          [256, 256],
          [258, 256],
          [258, 258],
          [256, 258],
          [256, 256],
        ],
        [
          [56, 56],
          [58, 56],
          [58, 58],
          [56, 58],
          [56, 56],
        ],
      ],
    });
  });

  it('decodes Z+M polygons and accepts unpacked lengths and coords', () => {
    // z and m absolute
    const geometry = { lengths: [4], coords: [0, 0, 5, 7, 1, 0, 6, 8, 0, 1, 7, 9, -1, -1, 5, 7] };
    const spec = (unpacked: boolean): FeatureResultSpec => ({
      geometryType: GEOMETRY.polygon,
      hasZ: true,
      hasM: true,
      transform: IDENTITY_UP,
      fields: oid,
      features: [{ attributes: [{ uint: 1 }], geometry: { ...geometry, unpacked } }],
    });
    const expected = {
      rings: [
        [
          [0, 0, 5, 7],
          [1, 0, 6, 8],
          [1, 1, 7, 9],
          [0, 0, 5, 7],
        ],
      ],
    };
    expect(decodeFeatures(encodeFeatures(spec(false))).features[0]!.geometry).toStrictEqual(expected);
    expect(decodeFeatures(encodeFeatures(spec(true))).features[0]!.geometry).toStrictEqual(expected);
  });

  it('flips y for the upper-left origin (the default) and not for lower-left', () => {
    const feature = { attributes: [{ uint: 1 }], geometry: { coords: [100, 200] } };
    const upper = decodeFeatures(
      encodeFeatures({
        fields: oid,
        transform: { scale: { x: 0.01, y: 0.01 }, translate: { x: -10, y: 60 } },
        features: [feature],
      }),
    );
    const lower = decodeFeatures(
      encodeFeatures({
        fields: oid,
        transform: { lowerLeft: true, scale: { x: 0.01, y: 0.01 }, translate: { x: -10, y: 60 } },
        features: [feature],
      }),
    );
    expect(upper.features[0]!.geometry).toStrictEqual({ x: -9, y: 58 });
    expect(lower.features[0]!.geometry).toStrictEqual({ x: -9, y: 62 });
  });

  it('reads coordinates unchanged without a transform, and a scale of 0 as 1', () => {
    const feature = { attributes: [{ uint: 1 }], geometry: { coords: [3, 4] } };
    const none = decodeFeatures(encodeFeatures({ fields: oid, features: [feature] }));
    expect(none.features[0]!.geometry).toStrictEqual({ x: 3, y: 4 });
    const zero = decodeFeatures(
      encodeFeatures({
        fields: oid,
        transform: { lowerLeft: true, scale: { x: 0, y: 0 }, translate: { x: 10, y: 20 } },
        features: [feature],
      }),
    );
    expect(zero.features[0]!.geometry).toStrictEqual({ x: 13, y: 24 });
    // an empty transform message: upper-left origin, scale 1, translate 0
    const empty = decodeFeatures(encodeFeatures({ fields: oid, transform: {}, features: [feature] }));
    expect(empty.features[0]!.geometry).toStrictEqual({ x: 3, y: -4 });
  });

  it('uses the plain formula for scales that are not powers of ten', () => {
    const result = decodeFeatures(
      encodeFeatures({
        fields: oid,
        transform: { scale: { x: 0.3, y: 1 / 3 }, translate: { x: 0.1, y: 7 } },
        features: [{ attributes: [{ uint: 1 }], geometry: { coords: [7, 5] } }],
      }),
    );
    expect(result.features[0]!.geometry).toStrictEqual({ x: 0.1 + 7 * 0.3, y: 7 - 5 * (1 / 3) });
  });

  it('omits the geometry of a feature without one, null for an empty geometry message', () => {
    const result = decodeFeatures(
      encodeFeatures({
        geometryType: GEOMETRY.polygon,
        transform: IDENTITY_UP,
        fields: oid,
        features: [{ attributes: [{ uint: 1 }] }, { attributes: [{ uint: 2 }], geometry: { coords: [] } }],
      }),
    );
    expect(result.features).toStrictEqual([
      { attributes: { OBJECTID: 1 } },
      { attributes: { OBJECTID: 2 }, geometry: null },
    ]);
  });

  it('takes an absent geometryType (the proto3 default) as points when features have geometries', () => {
    const withGeometry = encodeFeatures({
      fields: oid,
      features: [{ attributes: [{ uint: 1 }], geometry: { coords: [1, 1] } }],
    });
    expect(decodeFeatures(withGeometry).geometryType).toBe('esriGeometryPoint');
    const without = encodeFeatures({ fields: oid, features: [{ attributes: [{ uint: 1 }] }] });
    expect(decodeFeatures(without).geometryType).toBeUndefined();
  });

  it('ignores centroids', () => {
    const result = decodeFeatures(
      encodeFeatures({
        geometryType: GEOMETRY.polygon,
        transform: IDENTITY_UP,
        fields: oid,
        features: [
          {
            attributes: [{ uint: 1 }],
            geometry: { lengths: [4], coords: [0, 0, 1, 0, 0, 1, -1, -1] },
            centroid: { coords: [9, 9] },
          },
        ],
      }),
    );
    expect(result.features[0]!.geometry).toStrictEqual({
      rings: [
        [
          [0, 0],
          [1, 0],
          [1, 1],
          [0, 0],
        ],
      ],
    });
  });

  it('refuses coordinates that do not match the lengths, or a point with two vertices', () => {
    const bad = (geometryType: number, geometry: GeometrySpec) =>
      thrown(() =>
        decodeQueryPbf(
          encodeFeatures({ geometryType, fields: oid, features: [{ attributes: [{ uint: 1 }], geometry }] }),
        ),
      );
    for (const error of [
      bad(GEOMETRY.polygon, { lengths: [3], coords: [0, 0, 1, 1] }),
      bad(GEOMETRY.polyline, { lengths: [1, 1], coords: [0, 0, 1, 1, 2] }),
      bad(GEOMETRY.point, { coords: [1, 2, 3] }),
      bad(GEOMETRY.point, { coords: [1, 2, 3, 4] }),
      bad(GEOMETRY.multipoint, { lengths: [4294967295], coords: [1, 2] }),
    ]) {
      expect(isEtlError(error, 'INVALID_RESPONSE'), String(error)).toBe(true);
    }
  });

  it('refuses shape buffers, curve geometries and multipatches as UNSUPPORTED_GEOMETRY', () => {
    const shapeBuffer = thrown(() =>
      decodeQueryPbf(
        encodeFeatures({
          geometryType: GEOMETRY.polygon,
          fields: oid,
          features: [{ attributes: [{ uint: 1 }], shapeBuffer: new Uint8Array([5, 0, 0, 0]) }],
        }),
      ),
    );
    expect(isEtlError(shapeBuffer, 'UNSUPPORTED_GEOMETRY')).toBe(true);
    expect((shapeBuffer as Error).message).toMatch(/compressed shape buffer/);
    expect((shapeBuffer as Error).message).toMatch(/f=json/);
    const multipatch = thrown(() =>
      decodeQueryPbf(encodeFeatures({ geometryType: GEOMETRY.multipatch, fields: oid, features: [] })),
    );
    expect(isEtlError(multipatch, 'UNSUPPORTED_GEOMETRY')).toBe(true);
    expect((multipatch as Error).message).toMatch(/multipatch/);
    const unknown = thrown(() => decodeQueryPbf(encodeFeatures({ geometryType: 9, fields: oid })));
    expect(isEtlError(unknown, 'UNSUPPORTED_GEOMETRY')).toBe(true);
    // a feature with true curves is never a feature without its geometry
    const curve = thrown(() =>
      decodeQueryPbf(
        encodeFeatures({
          geometryType: GEOMETRY.polygon,
          transform: IDENTITY_UP,
          fields: oid,
          features: [{ attributes: [{ uint: 1 }], curve: [0, 0, 10, 0, 0, 10, -10, -10] }],
        }),
      ),
    );
    expect(isEtlError(curve, 'UNSUPPORTED_GEOMETRY'), String(curve)).toBe(true);
    expect((curve as Error).message).toMatch(/curve geometry/);
  });

  it('accepts geometryFields (FeatureResult field 16) and reads the features', () => {
    const result = decodeFeatures(
      encodeFeatures({
        transform: IDENTITY_UP,
        fields: oid,
        features: [{ attributes: [{ uint: 1 }], geometry: { coords: [1, 2] } }],
        extra: (w) =>
          w.message(16, (g) => {
            g.message(1, (f) => {
              f.stringField(1, 'Shape');
              f.uintField(2, FIELD.Geometry);
            });
            g.uintField(2, GEOMETRY.point);
          }),
      }),
    );
    expect(result.features).toStrictEqual([{ attributes: { OBJECTID: 1 }, geometry: { x: 1, y: 2 } }]);
  });
});

describe('exactness', () => {
  it('gives the double of the exact decimal for 10^-k scales, not the product', () => {
    const result = decodeFeatures(
      encodeFeatures({
        fields: [{ name: 'OBJECTID', type: FIELD.OID }],
        transform: { lowerLeft: true, scale: { x: 1e-7, y: 1e-7 }, translate: { x: 0, y: 0 } },
        features: [{ attributes: [{ uint: 1 }], geometry: { coords: [-886463030, 421234567] } }],
      }),
    );
    expect(-886463030 * 1e-7).not.toBe(-88.646303); // the naive formula
    expect(result.features[0]!.geometry).toStrictEqual({ x: -88.646303, y: 42.1234567 });
  });

  const decimal = (n: number, digits: number): string => {
    const abs = Math.abs(n);
    const unit = 10 ** digits;
    const frac = String(abs % unit).padStart(digits, '0');
    return `${n < 0 ? '-' : ''}${Math.floor(abs / unit)}.${frac}`;
  };

  it('decodes any decimal with up to 9 fractional digits to the double JSON.parse gives (scale 1e-9)', () => {
    const nanos = fc.integer({ min: -(1e12 - 1), max: 1e12 - 1 }); // |d| < 1000, 9 digits
    fc.assert(
      fc.property(
        fc.array(fc.tuple(nanos, nanos), { minLength: 1, maxLength: 6 }),
        nanos,
        nanos,
        fc.boolean(),
        (vertices, txNanos, tyNanos, lowerLeft) => {
          const tx = Number(decimal(txNanos, 9));
          const ty = Number(decimal(tyNanos, 9));
          // quantize exactly, in integers (what the server's grid means)
          const coords: number[] = [];
          let px = 0;
          let py = 0;
          for (const [x, y] of vertices) {
            const qx = x - txNanos;
            const qy = lowerLeft ? y - tyNanos : tyNanos - y;
            coords.push(qx - px, qy - py);
            px = qx;
            py = qy;
          }
          const result = decodeFeatures(
            encodeFeatures({
              geometryType: GEOMETRY.polyline,
              fields: [],
              transform: { lowerLeft, scale: { x: 1e-9, y: 1e-9 }, translate: { x: tx, y: ty } },
              features: [{ geometry: { lengths: [vertices.length], coords } }],
            }),
          );
          const expected = JSON.parse(
            `[${vertices.map(([x, y]) => `[${decimal(x, 9)},${decimal(y, 9)}]`).join(',')}]`,
          );
          expect(result.features[0]!.geometry).toStrictEqual({ paths: [expected] });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is exact for a server-style web mercator grid (translate with decimals, scale 1e-4)', () => {
    const t = { sx: 1e-4, sy: 1e-4, tx: -20037700, ty: 30241100 };
    const ring = [
      [-9757148.1234, 5138274.5678],
      [-9757148.0001, 5138200.9999],
      [-9757000.5, 5138274.5678],
      [-9757148.1234, 5138274.5678],
    ];
    const result = decodeFeatures(
      encodeFeatures({
        geometryType: GEOMETRY.polygon,
        fields: [],
        transform: { scale: { x: t.sx, y: t.sy }, translate: { x: t.tx, y: t.ty } },
        features: [{ geometry: quantize([ring], t) }],
      }),
    );
    expect(result.features[0]!.geometry).toStrictEqual({ rings: [ring] });
  });
});

describe('feature results', () => {
  it('reads fields written after the features, and exceededTransferLimit', () => {
    const result = decodeFeatures(
      encodeFeatures({
        fieldsLast: true,
        exceededTransferLimit: true,
        geometryType: GEOMETRY.point,
        transform: IDENTITY_UP,
        fields: [
          { name: 'OBJECTID', type: FIELD.OID },
          { name: 'NAME', type: FIELD.String, alias: 'Name' },
        ],
        features: [
          { attributes: [{ uint: 1 }, { string: 'a' }], geometry: { coords: [1, 2] } },
          { attributes: [{ uint: 2 }, null], geometry: { coords: [3, 4] } },
        ],
      }),
    );
    expect(result.exceededTransferLimit).toBe(true);
    expect(result.fields).toEqual([
      { name: 'OBJECTID', type: 'esriFieldTypeOID', alias: 'OBJECTID' },
      { name: 'NAME', type: 'esriFieldTypeString', alias: 'Name' },
    ]);
    expect(result.features).toStrictEqual([
      { attributes: { OBJECTID: 1, NAME: 'a' }, geometry: { x: 1, y: 2 } },
      { attributes: { OBJECTID: 2, NAME: null }, geometry: { x: 3, y: 4 } },
    ]);
  });

  it('decodes an empty page', () => {
    const result = decodeFeatures(encodeFeatures({}));
    expect(result).toStrictEqual({
      kind: 'features',
      features: [],
      exceededTransferLimit: false,
      objectIdFieldName: undefined,
      geometryType: undefined,
      spatialReference: undefined,
      hasZ: false,
      hasM: false,
      fields: [],
      quantization: undefined,
    });
  });

  it('keeps vcsWkid and latestVcsWkid', () => {
    const result = decodeFeatures(
      encodeFeatures({
        spatialReference: { wkid: 4326, latestWkid: 4326, vcsWkid: 115700, latestVcsWkid: 5773 },
      }),
    );
    expect(result.spatialReference).toStrictEqual({
      wkid: 4326,
      latestWkid: 4326,
      vcsWkid: 115700,
      latestVcsWkid: 5773,
    });
  });

  it('names field types 13 to 16 (BigInteger, DateOnly, TimeOnly, TimestampOffset)', () => {
    const result = decodeFeatures(
      encodeFeatures({
        fields: [13, 14, 15, 16].map((type, i) => ({ name: `f${i}`, type })),
      }),
    );
    expect(result.fields.map((f) => f.type)).toEqual([
      'esriFieldTypeBigInteger',
      'esriFieldTypeDateOnly',
      'esriFieldTypeTimeOnly',
      'esriFieldTypeTimestampOffset',
    ]);
  });

  it('reads a spatial reference given as wkt', () => {
    const wkt = 'PROJCS["Custom",GEOGCS["GCS_WGS_1984"]]';
    const result = decodeFeatures(encodeFeatures({ spatialReference: { wkt } }));
    expect(result.spatialReference).toStrictEqual({ wkt });
  });

  it('skips unknown fields of every wire type at every level', () => {
    const unknowns = (w: ProtoWriter) => {
      w.uintField(90, 2 ** 40);
      w.doubleField(91, 1.5);
      w.stringField(92, 'future');
      w.floatField(93, 2);
    };
    const w = new ProtoWriter();
    unknowns(w);
    w.stringField(1, '2.0');
    w.message(2, (q) => {
      unknowns(q);
      q.message(1, (f) => {
        unknowns(f);
        // known fields the decoder does not use
        f.message(2, (m) => m.stringField(1, 'GlobalID'));
        f.stringField(3, 'GlobalID');
        f.message(5, (m) => m.stringField(1, 'Shape__Area'));
        f.message(6, (m) => m.uintField(2, 12));
        f.uintField(7, GEOMETRY.point);
        f.message(8, (m) => {
          m.uintField(1, 4326);
          m.uintField(3, 5773);
          unknowns(m);
        });
        f.message(12, (m) => {
          unknowns(m);
          m.uintField(1, 1);
          m.message(2, (s) => {
            s.doubleField(1, 0.5);
            s.doubleField(2, 0.5);
            unknowns(s);
          });
          m.message(3, (s) => s.doubleField(1, 10));
        });
        f.message(13, (m) => {
          m.stringField(1, 'id');
          m.uintField(2, FIELD.OID);
          m.uintField(4, 10);
          m.stringField(5, '');
          unknowns(m);
        });
        f.message(14, (m) => m.stringField(1, 'shared value'));
        f.message(15, (m) => {
          unknowns(m);
          m.message(1, (v) => {
            unknowns(v);
            v.uintField(5, 42);
          });
          m.message(2, (g) => {
            unknowns(g);
            g.uintField(1, GEOMETRY.point);
            g.packedSvarints(3, [4, 6]);
          });
        });
        f.message(16, () => {});
      });
    });
    const result = decodeFeatures(w.finish());
    expect(result.spatialReference).toStrictEqual({ wkid: 4326, vcsWkid: 5773 });
    expect(result.features).toStrictEqual([{ attributes: { id: 42 }, geometry: { x: 12, y: 3 } }]);
  });
});

describe('count and ids results', () => {
  it('decodes counts, zero included', () => {
    expect(decodeQueryPbf(encodeCount(14))).toStrictEqual({ kind: 'count', count: 14 });
    expect(decodeQueryPbf(encodeCount(0))).toStrictEqual({ kind: 'count', count: 0 });
    expect(decodeQueryPbf(encodeCount(2 ** 40))).toStrictEqual({ kind: 'count', count: 2 ** 40 });
  });

  it('decodes object ids, packed or not, up to 2^53', () => {
    const ids = [1, 3, 8, 2 ** 31, 2 ** 53 - 1];
    for (const packed of [true, false]) {
      expect(decodeQueryPbf(encodeIds('ObjectId', ids, packed))).toStrictEqual({
        kind: 'ids',
        objectIdFieldName: 'ObjectId',
        objectIds: ids,
      });
    }
  });

  it('decodes an extentCountResult (returnExtentOnly): the envelope and the count', () => {
    const w = new ProtoWriter();
    w.stringField(1, '2.0');
    w.message(2, (q) =>
      q.message(4, (m) => {
        m.message(1, (e) => {
          e.doubleField(1, -10.5);
          e.doubleField(2, 20);
          e.doubleField(3, 30.25);
          e.doubleField(4, 40);
          e.message(5, (sr) => sr.uintField(1, 4326));
        });
        m.uintField(2, 17);
      }),
    );
    expect(decodeQueryPbf(w.finish().slice())).toStrictEqual({
      kind: 'extent',
      extent: { xmin: -10.5, ymin: 20, xmax: 30.25, ymax: 40, spatialReference: { wkid: 4326 } },
      count: 17,
    });
  });
});

describe('malformed answers', () => {
  const sample = (): Uint8Array =>
    encodeFeatures({
      objectIdFieldName: 'OBJECTID',
      geometryType: GEOMETRY.polygon,
      spatialReference: { wkid: 4326 },
      hasZ: true,
      transform: { scale: { x: 1e-6, y: 1e-6, z: 1 }, translate: { x: -180, y: 90 } },
      fields: [
        { name: 'OBJECTID', type: FIELD.OID },
        { name: 'NAME', type: FIELD.String },
        { name: 'WHEN', type: FIELD.Date },
      ],
      features: [
        {
          attributes: [{ uint64: 1 }, { string: 'Ünïcode' }, { int64: -1 }],
          geometry: {
            lengths: [4, 3],
            coords: [1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6, 7, 7, 7, 1, 1, 1, 2, 2, 2],
          },
        },
        { attributes: [{ uint64: 2 }, null, { double: 1.5 }] },
      ],
    });

  it('throws TRUNCATED_RESPONSE or INVALID_RESPONSE for every truncation, never garbage', () => {
    const whole = sample();
    expect(decodeFeatures(whole).features).toHaveLength(2);
    for (let cut = 0; cut < whole.length; cut++) {
      const error = thrown(() => decodeQueryPbf(whole.slice(0, cut)));
      expect(
        isEtlError(error, 'TRUNCATED_RESPONSE') || isEtlError(error, 'INVALID_RESPONSE'),
        `cut at ${cut}`,
      ).toBe(true);
      expect((error as Error).message).toMatch(/pbf answer of the query/);
    }
  });

  it('checkPbfWhole finds every cut that decoding would find, in the top-level fields only', () => {
    const whole = sample();
    expect(() => checkPbfWhole(whole)).not.toThrow();
    for (let cut = 0; cut < whole.length; cut++) {
      const part = whole.slice(0, cut);
      const checked = errorOf(() => checkPbfWhole(part));
      const decoded = errorOf(() => decodeQueryPbf(part));
      // a cut the decoder reads as cut is cut for the check too (the transport asks again)...
      if (isEtlError(decoded, 'TRUNCATED_RESPONSE')) {
        expect(isEtlError(checked, 'TRUNCATED_RESPONSE'), `cut at ${cut}`).toBe(true);
      }
      // ...and a body the check passes is never found cut when it is decoded later
      if (checked === undefined)
        expect(isEtlError(decoded, 'TRUNCATED_RESPONSE'), `cut at ${cut}`).toBe(false);
      else expect((checked as Error).message).toMatch(/pbf answer of the query/);
    }
  });

  it('refuses an answer without a query result, or with an empty one', () => {
    expect(
      isEtlError(
        thrown(() => decodeQueryPbf(new Uint8Array())),
        'INVALID_RESPONSE',
      ),
    ).toBe(true);
    const w = new ProtoWriter();
    w.stringField(1, '2.0');
    w.message(2, () => {});
    expect(
      isEtlError(
        thrown(() => decodeQueryPbf(w.finish())),
        'INVALID_RESPONSE',
      ),
    ).toBe(true);
  });

  it('refuses a nested message that claims more bytes than its parent holds', () => {
    const w = new ProtoWriter();
    w.message(2, (q) =>
      q.message(1, (f) => {
        f.tag(13, 2);
        f.varint(50); // a Field "of 50 bytes" inside a 2-byte feature result
      }),
    );
    const bytes = new Uint8Array([...w.finish(), ...new Uint8Array(60)]);
    expect(
      isEtlError(
        thrown(() => decodeQueryPbf(bytes)),
        'INVALID_RESPONSE',
      ),
    ).toBe(true);
  });

  it('never hangs nor throws anything but an EtlError on random bytes', () => {
    const codes = new Set(['INVALID_RESPONSE', 'TRUNCATED_RESPONSE', 'UNSUPPORTED_GEOMETRY']);
    const valid = sample();
    const mutated = fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 4 }))
      .map(([at, byte, extra]) => {
        const copy = valid.slice();
        copy[at] = byte;
        return extra === 0 ? copy : copy.subarray(0, Math.max(0, copy.length - extra));
      });
    const prefixed = fc
      .uint8Array({ maxLength: 300 })
      .map((tail) => new Uint8Array([0x12, Math.min(tail.length, 127), 0x0a, ...tail]));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated, prefixed), (bytes) => {
        try {
          decodeQueryPbf(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(EtlError);
          expect(codes.has((error as EtlError).code), (error as EtlError).code).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
