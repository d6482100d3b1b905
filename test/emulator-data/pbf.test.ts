/**
 * `f=pbf`: Esri's FeatureCollection protocol buffers, checked with a small decoder written here
 * from the .proto field numbers, against the `f=json` answer of the same query.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { ProtoReader, WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT } from '../../src/core/protobuf.js';
import { answerBytes } from '../../src/emulator/data/answer-cache.js';
import { layerFromData, layerFromGeoJSON, loadLayers } from '../../src/emulator/data/index.js';
import { GeometryBuilder, type LayerData } from '../../src/emulator/data/store.js';
import { serveEmulator } from '../../src/emulator/server.js';
import type { EmulatedLayer, EmulatorHandle, QueryAnswer, QueryParams } from '../../src/emulator/types.js';
import { type EsriPage, q, queryError } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// A test-only decoder of esriPBuffer.FeatureCollectionPBuffer

type ValueKind =
  | 'null'
  | 'string'
  | 'float'
  | 'double'
  | 'sint'
  | 'uint'
  | 'int64'
  | 'uint64'
  | 'sint64'
  | 'bool';
interface PValue {
  kind: ValueKind;
  value: string | number | boolean | null;
}
interface PGeometry {
  lengths: number[] | undefined;
  coords: number[];
}
interface PFeature {
  attributes: PValue[];
  geometry: PGeometry | undefined;
}
interface PXYZM {
  x: number;
  y: number;
  m: number;
  z: number;
}
interface PTransform {
  origin: number;
  scale: PXYZM | undefined;
  translate: PXYZM | undefined;
}
interface PFeatureResult {
  objectIdFieldName: string;
  uniqueIdField: { name: string; isSystemMaintained: boolean } | undefined;
  globalIdFieldName: string;
  geometryType: number;
  spatialReference: { wkid: number; lastestWkid: number } | undefined;
  exceededTransferLimit: boolean;
  hasZ: boolean;
  hasM: boolean;
  transform: PTransform | undefined;
  fields: { name: string; fieldType: number; alias: string }[];
  features: PFeature[];
}
interface PCollection {
  version: string;
  featureResult?: PFeatureResult;
  countResult?: { count: number };
  idsResult?: { objectIdFieldName: string; objectIds: number[] };
}

/** Walks the fields of a message up to `end`; `on` must consume each one (unknown fields fail the test). */
function walk(r: ProtoReader, end: number, on: (field: number, wire: number) => boolean): void {
  while (r.pos < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (!on(field, wire)) throw new Error(`unexpected field ${field} (wire type ${wire}) at byte ${r.pos}`);
  }
  expect(r.pos).toBe(end);
}

function packed(r: ProtoReader, read: () => number): number[] {
  const end = r.end();
  const out: number[] = [];
  while (r.pos < end) out.push(read());
  expect(r.pos).toBe(end);
  return out;
}

function decodeValue(r: ProtoReader): PValue {
  const end = r.end();
  let v: PValue = { kind: 'null', value: null };
  let seen = 0;
  walk(r, end, (field, wire) => {
    seen++;
    const expectWire = (w: number) => expect(wire, `Value field ${field}`).toBe(w);
    switch (field) {
      case 1:
        expectWire(WIRE_BYTES);
        v = { kind: 'string', value: r.string() };
        return true;
      case 2:
        expectWire(WIRE_FIXED32);
        v = { kind: 'float', value: r.float() };
        return true;
      case 3:
        expectWire(WIRE_FIXED64);
        v = { kind: 'double', value: r.double() };
        return true;
      case 4:
        expectWire(WIRE_VARINT);
        v = { kind: 'sint', value: r.svarint() };
        return true;
      case 5:
        expectWire(WIRE_VARINT);
        v = { kind: 'uint', value: r.varint() };
        return true;
      case 6:
        expectWire(WIRE_VARINT);
        v = { kind: 'int64', value: r.int64() };
        return true;
      case 7:
        expectWire(WIRE_VARINT);
        v = { kind: 'uint64', value: r.varint() };
        return true;
      case 8:
        expectWire(WIRE_VARINT);
        v = { kind: 'sint64', value: r.svarint() };
        return true;
      case 9:
        expectWire(WIRE_VARINT);
        v = { kind: 'bool', value: r.bool() };
        return true;
      default:
        return false;
    }
  });
  expect(seen, 'a Value holds at most one field').toBeLessThanOrEqual(1);
  return v;
}

function decodeXyzm(r: ProtoReader, names: readonly (keyof PXYZM)[]): PXYZM {
  const out: PXYZM = { x: 0, y: 0, m: 0, z: 0 };
  walk(r, r.end(), (field, wire) => {
    const name = names[field - 1];
    if (!name || wire !== WIRE_FIXED64) return false;
    out[name] = r.double();
    return true;
  });
  return out;
}

function decodeTransform(r: ProtoReader): PTransform {
  const t: PTransform = { origin: 0, scale: undefined, translate: undefined };
  walk(r, r.end(), (field) => {
    if (field === 1) t.origin = r.varint();
    else if (field === 2) t.scale = decodeXyzm(r, ['x', 'y', 'm', 'z']);
    else if (field === 3) t.translate = decodeXyzm(r, ['x', 'y', 'm', 'z']);
    else return false;
    return true;
  });
  return t;
}

function decodeGeometry(r: ProtoReader): PGeometry {
  const g: PGeometry = { lengths: undefined, coords: [] };
  walk(r, r.end(), (field, wire) => {
    if (wire !== WIRE_BYTES) return false;
    if (field === 2) g.lengths = packed(r, () => r.varint());
    else if (field === 3) g.coords = packed(r, () => r.svarint());
    else return false;
    return true;
  });
  return g;
}

function decodeFeature(r: ProtoReader): PFeature {
  const f: PFeature = { attributes: [], geometry: undefined };
  walk(r, r.end(), (field) => {
    if (field === 1) f.attributes.push(decodeValue(r));
    else if (field === 2) f.geometry = decodeGeometry(r);
    else return false;
    return true;
  });
  return f;
}

function decodeFeatureResult(r: ProtoReader): PFeatureResult {
  const fr: PFeatureResult = {
    objectIdFieldName: '',
    uniqueIdField: undefined,
    globalIdFieldName: '',
    geometryType: 0,
    spatialReference: undefined,
    exceededTransferLimit: false,
    hasZ: false,
    hasM: false,
    transform: undefined,
    fields: [],
    features: [],
  };
  walk(r, r.end(), (field) => {
    switch (field) {
      case 1:
        fr.objectIdFieldName = r.string();
        return true;
      case 2: {
        const u = { name: '', isSystemMaintained: false };
        walk(r, r.end(), (f) => {
          if (f === 1) u.name = r.string();
          else if (f === 2) u.isSystemMaintained = r.bool();
          else return false;
          return true;
        });
        fr.uniqueIdField = u;
        return true;
      }
      case 3:
        fr.globalIdFieldName = r.string();
        return true;
      case 7:
        fr.geometryType = r.varint();
        return true;
      case 8: {
        const sr = { wkid: 0, lastestWkid: 0 };
        walk(r, r.end(), (f) => {
          if (f === 1) sr.wkid = r.varint();
          else if (f === 2) sr.lastestWkid = r.varint();
          else return false;
          return true;
        });
        fr.spatialReference = sr;
        return true;
      }
      case 9:
        fr.exceededTransferLimit = r.bool();
        return true;
      case 10:
        fr.hasZ = r.bool();
        return true;
      case 11:
        fr.hasM = r.bool();
        return true;
      case 12:
        fr.transform = decodeTransform(r);
        return true;
      case 13: {
        const fd = { name: '', fieldType: 0, alias: '' };
        walk(r, r.end(), (f) => {
          if (f === 1) fd.name = r.string();
          else if (f === 2) fd.fieldType = r.varint();
          else if (f === 3) fd.alias = r.string();
          else return false;
          return true;
        });
        fr.fields.push(fd);
        return true;
      }
      case 15:
        fr.features.push(decodeFeature(r));
        return true;
      default:
        return false;
    }
  });
  return fr;
}

function decode(bytes: Uint8Array): PCollection {
  const r = new ProtoReader(bytes);
  const out: PCollection = { version: '' };
  let results = 0;
  walk(r, bytes.length, (field) => {
    if (field === 1) {
      out.version = r.string();
      return true;
    }
    if (field !== 2) return false;
    walk(r, r.end(), (kind) => {
      results++;
      if (kind === 1) out.featureResult = decodeFeatureResult(r);
      else if (kind === 2) {
        const c = { count: 0 };
        walk(r, r.end(), (f) => {
          if (f !== 1) return false;
          c.count = r.varint();
          return true;
        });
        out.countResult = c;
      } else if (kind === 3) {
        const ids = { objectIdFieldName: '', objectIds: [] as number[] };
        walk(r, r.end(), (f) => {
          if (f === 1) ids.objectIdFieldName = r.string();
          else if (f === 3) ids.objectIds = packed(r, () => r.varint());
          else return false;
          return true;
        });
        out.idsResult = ids;
      } else return false;
      return true;
    });
    return true;
  });
  expect(results, 'queryResult holds one result').toBe(1);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Dequantization back to Esri JSON geometry

type Position = number[];

/**
 * Per part: x and y running sums from 0, z and m absolute (a raw m of 0 is null), then
 * scale/translate (y grows downward).
 */
function dequantize(fr: PFeatureResult, g: PGeometry): Position[][] {
  const t = fr.transform!;
  const s = t.scale!;
  const tr = t.translate ?? { x: 0, y: 0, m: 0, z: 0 };
  const stride = 2 + (fr.hasZ ? 1 : 0) + (fr.hasM ? 1 : 0);
  const lengths = g.lengths ?? [g.coords.length / stride];
  const parts: Position[][] = [];
  let i = 0;
  for (const n of lengths) {
    const sums = [0, 0];
    const part: Position[] = [];
    for (let k = 0; k < n; k++) {
      sums[0]! += g.coords[i++]!;
      sums[1]! += g.coords[i++]!;
      const pos: (number | null)[] = [sums[0]! * s.x + tr.x, tr.y - sums[1]! * s.y];
      if (fr.hasZ) pos.push(g.coords[i++]! * s.z + tr.z);
      if (fr.hasM) {
        const m = g.coords[i++]!;
        pos.push(m === 0 ? null : m * s.m + tr.m);
      }
      part.push(pos as Position);
    }
    parts.push(part);
  }
  expect(i).toBe(g.coords.length);
  return parts;
}

/** Positions of an Esri JSON geometry, as parts. */
function jsonParts(geometry: Record<string, unknown>, hasZ: boolean, hasM: boolean): Position[][] {
  if ('x' in geometry) {
    const p = [geometry.x as number, geometry.y as number];
    if (hasZ) p.push(geometry.z as number);
    if (hasM) p.push(geometry.m as number);
    return [[p]];
  }
  if ('points' in geometry) return [geometry.points as Position[]];
  return (geometry.paths ?? geometry.rings) as Position[][];
}

function expectSameGeometry(fr: PFeatureResult, json: EsriPage, xyTolerance: number): void {
  expect(fr.features).toHaveLength(json.features.length);
  for (let k = 0; k < json.features.length; k++) {
    const jg = json.features[k]!.geometry;
    const pg = fr.features[k]!.geometry;
    if (jg === null || jg === undefined) {
      expect(pg).toBeUndefined();
      continue;
    }
    expect(pg).toBeDefined();
    if ('x' in jg) expect(pg!.lengths, 'a point has no lengths').toBeUndefined();
    const want = jsonParts(jg, fr.hasZ, fr.hasM);
    const got = dequantize(fr, pg!);
    expect(got.map((p) => p.length)).toEqual(want.map((p) => p.length));
    for (let p = 0; p < want.length; p++) {
      for (let v = 0; v < want[p]!.length; v++) {
        const a = got[p]![v]!;
        const b = want[p]![v]!;
        expect(a).toHaveLength(b.length);
        for (let d = 0; d < b.length; d++) {
          const tol = d < 2 ? xyTolerance : 1e-4;
          if (Math.abs(a[d]! - b[d]!) > tol) {
            throw new Error(`feature ${k} part ${p} vertex ${v} dim ${d}: ${a[d]} vs ${b[d]}`);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

const FIELD_TYPES: Record<string, number> = {
  esriFieldTypeSmallInteger: 0,
  esriFieldTypeInteger: 1,
  esriFieldTypeBigInteger: 13,
  esriFieldTypeSingle: 2,
  esriFieldTypeDouble: 3,
  esriFieldTypeString: 4,
  esriFieldTypeDate: 5,
  esriFieldTypeOID: 6,
  esriFieldTypeGUID: 10,
  esriFieldTypeGlobalID: 11,
  esriFieldTypeXML: 12,
  esriFieldTypeDateOnly: 14,
  esriFieldTypeTimeOnly: 15,
  esriFieldTypeTimestampOffset: 16,
};

function bytesOf(answer: QueryAnswer): Uint8Array {
  expect(answer.contentType).toBe('application/x-protobuf');
  expect(answer.body).toBeInstanceOf(Uint8Array);
  return answer.body as Uint8Array;
}

function pbf(layer: EmulatedLayer, params: QueryParams): PCollection {
  return decode(bytesOf(layer.query({ ...params, f: 'pbf' })));
}

function features(layer: EmulatedLayer, params: QueryParams): { fr: PFeatureResult; json: EsriPage } {
  const c = pbf(layer, params);
  expect(c.version).toBe('1');
  expect(c.featureResult).toBeDefined();
  return { fr: c.featureResult!, json: q(layer, { ...params, f: 'json' }) };
}

/** What the JSON answer says, checked against the FeatureResult header. */
function expectSameHeader(fr: PFeatureResult, json: EsriPage, geographic: boolean): void {
  expect(fr.objectIdFieldName).toBe(json.objectIdFieldName);
  expect(fr.uniqueIdField).toEqual({ name: json.objectIdFieldName, isSystemMaintained: true });
  expect(fr.globalIdFieldName).toBe('');
  const types = [
    'esriGeometryPoint',
    'esriGeometryMultipoint',
    'esriGeometryPolyline',
    'esriGeometryPolygon',
  ];
  expect(types[fr.geometryType]).toBe(json.geometryType);
  expect(fr.spatialReference).toEqual({
    wkid: json.spatialReference.wkid,
    lastestWkid: json.spatialReference.latestWkid,
  });
  expect(fr.hasZ).toBe(json.hasZ === true);
  expect(fr.hasM).toBe(json.hasM === true);
  expect(fr.exceededTransferLimit).toBe(json.exceededTransferLimit === true);
  const xy = geographic ? 1e-9 : 1e-4;
  expect(fr.transform).toEqual({
    origin: 0, // upperLeft
    scale: { x: xy, y: xy, m: 1e-4, z: 1e-4 },
    translate: { x: 0, y: 0, m: -100000, z: -100000 },
  });
  expect(fr.fields).toEqual(
    json.fields.map((f) => ({ name: f.name, fieldType: FIELD_TYPES[f.type], alias: f.alias })),
  );
}

function expectSameAttributes(fr: PFeatureResult, json: EsriPage): void {
  expect(fr.features).toHaveLength(json.features.length);
  for (let k = 0; k < json.features.length; k++) {
    const attrs = json.features[k]!.attributes;
    const values = fr.features[k]!.attributes;
    expect(values).toHaveLength(fr.fields.length);
    fr.fields.forEach((f, i) => {
      const v = values[i]!;
      const want = attrs[f.name];
      if (want === null) expect(v.kind).toBe('null');
      else if (v.kind === 'float') expect(v.value).toBe(Math.fround(want as number));
      else expect(v.value).toBe(want);
    });
  }
}

let polygons: EmulatedLayer;
let pointsZM: EmulatedLayer;
let linesZM: EmulatedLayer;
let multipointsM: EmulatedLayer;
let hashed: EmulatedLayer;

beforeAll(async () => {
  [polygons, pointsZM, linesZM, multipointsM, hashed] = (await loadLayers({
    layers: [
      { service: 'poly', generate: { count: 250, geometry: 'mixed-polygon', seed: 3 }, maxRecordCount: 100 },
      {
        service: 'pzm',
        generate: { count: 120, geometry: 'point', seed: 4, hasZ: true, hasM: true },
        maxRecordCount: 50,
      },
      { service: 'lzm', generate: { count: 80, geometry: 'polyline', seed: 5, hasZ: true, hasM: true } },
      { service: 'mpm', generate: { count: 60, geometry: 'multipoint', seed: 6, hasM: true } },
      { service: 'hash', generate: { count: 40, geometry: 'point', seed: 7, oidMode: 'hashed' } },
    ],
  })) as [EmulatedLayer, EmulatedLayer, EmulatedLayer, EmulatedLayer, EmulatedLayer];
});

describe('f=pbf feature results', () => {
  const page = (offset: number, extra: QueryParams = {}): QueryParams => ({
    where: '1=1',
    outFields: '*',
    orderByFields: 'OBJECTID ASC',
    resultOffset: String(offset),
    resultRecordCount: '100',
    ...extra,
  });

  it('polygons with holes and several parts: header, fields, attributes and rings as in f=json', () => {
    const { fr, json } = features(polygons, page(0));
    expectSameHeader(fr, json, true);
    expect(fr.geometryType).toBe(3);
    expect(fr.exceededTransferLimit).toBe(true);
    expectSameAttributes(fr, json);
    expectSameGeometry(fr, json, 1e-9);
    // holes and multi-part features are on this page (mixed-polygon)
    const ringCounts = json.features.map((f) => (f.geometry as { rings: unknown[] }).rings.length);
    expect(Math.max(...ringCounts)).toBeGreaterThanOrEqual(3);
  });

  it('restarts the deltas at the first vertex of every part (absolute values)', () => {
    const { fr, json } = features(polygons, page(0));
    const k = json.features.findIndex((f) => (f.geometry as { rings: unknown[] }).rings.length >= 2);
    const rings = (json.features[k]!.geometry as { rings: number[][][] }).rings;
    const g = fr.features[k]!.geometry!;
    expect(g.lengths).toEqual(rings.map((r) => r.length));
    let at = 0;
    for (const ring of rings) {
      const [x, y] = ring[0]!;
      expect(g.coords[at]).toBe(Math.round(x! / 1e-9));
      expect(g.coords[at + 1]).toBe(Math.round(-y! / 1e-9));
      // the second vertex is a difference from the first
      const [x2] = ring[1]!;
      expect(g.coords[at + 2]).toBe(Math.round(x2! / 1e-9) - Math.round(x! / 1e-9));
      at += ring.length * 2;
    }
    // geographic coordinates at 1e-9 need more than 32 bits
    expect(Math.abs(g.coords[0]!)).toBeGreaterThan(2 ** 32);
  });

  it('the last page has no exceededTransferLimit; returnGeometry=false has no geometry at all', () => {
    const { fr, json } = features(polygons, page(200));
    expect(fr.features).toHaveLength(50);
    expect(fr.exceededTransferLimit).toBe(false);
    expectSameHeader(fr, json, true);
    const bare = features(polygons, page(0, { returnGeometry: 'false', outFields: 'name,created' }));
    expect(bare.fr.features.every((f) => f.geometry === undefined)).toBe(true);
    expect(bare.fr.fields.map((f) => f.name)).toEqual(['OBJECTID', 'name', 'created']);
    expectSameHeader(bare.fr, bare.json, true);
    expectSameAttributes(bare.fr, bare.json);
  });

  it('points with Z and M: [x, y, z, m] without lengths; returnZ / returnM drop a dimension', () => {
    for (const extra of [
      {},
      { returnZ: 'false' },
      { returnM: 'false' },
      { returnZ: 'false', returnM: 'false' },
    ]) {
      const { fr, json } = features(pointsZM, { where: '1=1', outFields: '*', ...extra });
      expectSameHeader(fr, json, true);
      expect(fr.geometryType).toBe(0);
      const stride = 2 + (fr.hasZ ? 1 : 0) + (fr.hasM ? 1 : 0);
      expect(stride).toBe(2 + (extra.returnZ ? 0 : 1) + (extra.returnM ? 0 : 1));
      for (const f of fr.features) {
        expect(f.geometry!.lengths).toBeUndefined();
        expect(f.geometry!.coords).toHaveLength(stride);
      }
      expectSameGeometry(fr, json, 1e-9);
      expectSameAttributes(fr, json);
    }
  });

  it('polylines with Z and M, multipoints with M', () => {
    const lines = features(linesZM, { where: '1=1', outFields: '*' });
    expect(lines.fr.hasZ && lines.fr.hasM).toBe(true);
    expect(lines.fr.geometryType).toBe(2);
    expectSameHeader(lines.fr, lines.json, true);
    expectSameGeometry(lines.fr, lines.json, 1e-9);
    expect(lines.fr.features.some((f) => f.geometry!.lengths!.length === 2)).toBe(true);
    const mp = features(multipointsM, { where: '1=1', outFields: '*' });
    expect(mp.fr.geometryType).toBe(1);
    expect(mp.fr.hasZ).toBe(false);
    expect(mp.fr.hasM).toBe(true);
    expectSameHeader(mp.fr, mp.json, true);
    for (const [k, f] of mp.fr.features.entries()) {
      const points = (mp.json.features[k]!.geometry as { points: unknown[] }).points;
      expect(f.geometry!.lengths).toEqual([points.length]);
    }
    expectSameGeometry(mp.fr, mp.json, 1e-9);
  });

  it('outSR=3857: Web Mercator, scale 1e-4, coordinates as in f=json to 1e-4', () => {
    for (const outSR of ['3857', '102100', '{"wkid":102100}']) {
      const { fr, json } = features(polygons, page(100, { outSR }));
      expect(fr.spatialReference).toEqual({ wkid: 102100, lastestWkid: 3857 });
      expectSameHeader(fr, json, false);
      expectSameGeometry(fr, json, 1e-4);
    }
    const pts = features(pointsZM, { where: '1=1', outFields: '*', outSR: '3857' });
    expectSameHeader(pts.fr, pts.json, false);
    expectSameGeometry(pts.fr, pts.json, 1e-4);
  });

  it('object ids beyond 2^32 are uint64 values', () => {
    const { fr, json } = features(hashed, { where: '1=1', outFields: '*' });
    expectSameAttributes(fr, json);
    const oids = fr.features.map((f) => f.attributes[0]!);
    expect(oids.some((v) => v.kind === 'uint64')).toBe(true);
    for (const v of oids) expect(v.kind).toBe((v.value as number) >= 2 ** 32 ? 'uint64' : 'uint');
  });

  it('data-level faults: extra row, short page, ignored offset, failAbove', () => {
    const extra = decode(bytesOf(pointsZM.query({ where: '1=1', f: 'pbf' }, { extraRow: true })));
    expect(extra.featureResult!.features).toHaveLength(51);
    expect(extra.featureResult!.exceededTransferLimit).toBe(true);
    const short = decode(
      bytesOf(
        pointsZM.query(
          { resultOffset: '100', resultRecordCount: '20', f: 'pbf' },
          { shortPageExceeded: true },
        ),
      ),
    );
    expect(short.featureResult!.features).toHaveLength(10);
    expect(short.featureResult!.exceededTransferLimit).toBe(true);
    const ignored = decode(
      bytesOf(pointsZM.query({ resultOffset: '50', f: 'pbf' }, { ignoreResultOffset: true })),
    );
    expect(ignored.featureResult!.features[0]!.attributes[0]!.value).toBe(pointsZM.objectIds()[0]);
    const err = queryError(pointsZM, { where: '1=1', f: 'pbf' }, { failAbove: 10 });
    expect(err.code).toBe(500);
    expect(err.message).toBe('Error performing query operation');
  });
});

describe('f=pbf values of every field type', () => {
  const BIG = 2 ** 40 + 5;
  const rows: Record<string, string | number | null>[] = [
    {
      small: 7,
      int: -123456,
      big: -BIG,
      single: 1.1,
      double: -2.5e-7,
      date: Date.UTC(1950, 5, 1),
      text: 'Straße 東京 🗺️',
      guid: '{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}',
      gid: '{11111111-2222-3333-4444-555555555555}',
      xml: '<a b="c"/>',
      dateOnly: '2020-02-29',
    },
    {
      small: 0,
      int: 0,
      big: 0,
      single: 0,
      double: 0,
      date: 0,
      text: '',
      guid: null,
      gid: null,
      xml: null,
      dateOnly: null,
    },
    {
      small: null,
      int: null,
      big: BIG,
      single: null,
      double: null,
      date: null,
      text: null,
      guid: null,
      gid: null,
      xml: null,
      dateOnly: null,
    },
  ];
  const types: Record<string, string> = {
    small: 'esriFieldTypeSmallInteger',
    int: 'esriFieldTypeInteger',
    big: 'esriFieldTypeBigInteger',
    single: 'esriFieldTypeSingle',
    double: 'esriFieldTypeDouble',
    date: 'esriFieldTypeDate',
    text: 'esriFieldTypeString',
    guid: 'esriFieldTypeGUID',
    gid: 'esriFieldTypeGlobalID',
    xml: 'esriFieldTypeXML',
    dateOnly: 'esriFieldTypeDateOnly',
  };
  let layer: EmulatedLayer;
  let lying: EmulatedLayer;

  beforeAll(() => {
    const geometry = new GeometryBuilder('point', false, false, rows.length);
    geometry.addPoint(-0.5, 51.25);
    geometry.addNull();
    geometry.addPoint(179.999999999, -89.5);
    const data: LayerData = {
      oids: Float64Array.from([1, 2, 2 ** 33]),
      geometry: geometry.build(),
      oidField: 'FID',
      displayField: 'text',
      columns: Object.entries(types).map(([name, type]) => ({
        field: { name, type: type as 'esriFieldTypeString', alias: `${name} alias`, nullable: true },
        get: (row: number) => rows[row]![name] ?? null,
      })),
    };
    layer = layerFromData({ service: 'types' }, data);
    lying = layerFromData({ service: 'lying', pbfQuirk: 'int32' }, data);
  });

  it("the int32 quirk (Koop's encoder) cuts Integer, BigInteger and Date values to sint32 in pbf only", () => {
    const honest = features(layer, { where: '1=1', outFields: '*' });
    const { fr, json } = features(lying, { where: '1=1', outFields: '*' });
    expect(q(lying, { where: '1=1', outFields: '*', f: 'json' })).toEqual(honest.json);
    const names = fr.fields.map((f) => f.name);
    for (const name of ['int', 'big', 'date']) {
      const k = names.indexOf(name);
      for (let i = 0; i < json.features.length; i++) {
        const v = json.features[i]!.attributes[name];
        const written = fr.features[i]!.attributes[k]!;
        if (v === null) expect(written.kind).toBe('null');
        else expect(written).toEqual({ kind: 'sint', value: (v as number) | 0 });
      }
    }
    // the other fields as an honest encoder writes them
    const small = names.indexOf('small');
    expect(fr.features.map((f) => f.attributes[small])).toEqual(
      honest.fr.features.map((f) => f.attributes[small]),
    );
  });

  it('writes each type with its Value field, null as an empty Value, and 0 or "" as set values', () => {
    const { fr, json } = features(layer, { where: '1=1', outFields: '*' });
    // DateOnly is FieldType 14 (FeatureCollection.proto); its values travel as text, as in JSON
    expectSameHeader(fr, json, true);
    expect(fr.objectIdFieldName).toBe('FID');
    expect(fr.fields.map((f) => f.alias)).toEqual(['FID', ...Object.keys(types).map((n) => `${n} alias`)]);
    expectSameAttributes(fr, json);
    const kinds = fr.features.map((f) => f.attributes.map((v) => v.kind));
    expect(kinds[0]).toEqual([
      'uint',
      'sint',
      'sint',
      'sint64',
      'float',
      'double',
      'int64',
      'string',
      'string',
      'string',
      'string',
      'string',
    ]);
    expect(kinds[1]).toEqual([
      'uint',
      'sint',
      'sint',
      'sint64',
      'float',
      'double',
      'int64',
      'string',
      'null',
      'null',
      'null',
      'null',
    ]);
    expect(kinds[2]![0]).toBe('uint64');
    expect(kinds[2]![3]).toBe('sint64');
    expect(kinds[2]!.filter((k) => k === 'null')).toHaveLength(10);
    const first = fr.features[0]!.attributes;
    expect(first[6]!.value).toBe(Date.UTC(1950, 5, 1)); // a negative date
    expect(first[6]!.value as number).toBeLessThan(0);
    expect(first[3]!.value).toBe(-BIG);
    expect(first[7]!.value).toBe('Straße 東京 🗺️');
    expect(fr.features[1]!.attributes[7]!.value).toBe('');
    expect(fr.features[2]!.attributes[0]!.value).toBe(2 ** 33);
    // the null geometry is left out, the others are there
    expect(fr.features.map((f) => f.geometry === undefined)).toEqual([false, true, false]);
    expectSameGeometry(fr, json, 1e-9);
  });

  it('null and empty geometries of other kinds are left out', () => {
    const lines = layerFromGeoJSON(
      { service: 'nulls' },
      {
        type: 'FeatureCollection',
        features: [
          { type: 'Feature', properties: { n: 1 }, geometry: null },
          {
            type: 'Feature',
            properties: { n: 2 },
            geometry: {
              type: 'MultiLineString',
              coordinates: [
                [
                  [0, 0],
                  [1, 1],
                ],
                [
                  [2, 2],
                  [3, 3],
                  [4, 5],
                ],
              ],
            },
          },
          { type: 'Feature', properties: { n: 3 }, geometry: { type: 'LineString', coordinates: [] } },
        ],
      },
    );
    const { fr, json } = features(lines, { where: '1=1', outFields: '*' });
    expect(fr.features.map((f) => f.geometry?.lengths)).toEqual([undefined, [2, 3], undefined]);
    expect(fr.features[1]!.geometry!.coords.slice(0, 4)).toEqual([0, 0, 1e9, -1e9]);
    expectSameGeometry(fr, json, 1e-9);
  });
});

describe('f=pbf counts, ids, statistics and capabilities', () => {
  it('count and ids results equal the JSON ones', () => {
    for (const where of ['1=1', 'category = 3', 'OBJECTID < 0']) {
      const count = pbf(polygons, { where, returnCountOnly: 'true' });
      expect(count.countResult).toEqual(q(polygons, { where, returnCountOnly: 'true' }));
      const ids = pbf(polygons, { where, returnIdsOnly: 'true' });
      expect(ids.idsResult).toEqual(q(polygons, { where, returnIdsOnly: 'true' }));
    }
    expect(
      pbf(polygons, { where: '1=1', returnIdsOnly: 'true', returnCountOnly: 'true' }).countResult,
    ).toEqual({
      count: 250,
    });
    const big = pbf(hashed, { returnIdsOnly: 'true' }).idsResult!;
    expect(big.objectIds).toEqual([...hashed.objectIds()]);
    expect(Math.max(...big.objectIds)).toBeGreaterThan(2 ** 32);
  });

  it('statistics are refused with a clear 400', () => {
    const err = queryError(polygons, {
      f: 'pbf',
      outStatistics: JSON.stringify([{ statisticType: 'max', onStatisticField: 'OBJECTID' }]),
    });
    expect(err.code).toBe(400);
    expect(err.details).toEqual(["'f' parameter is invalid: pbf is not supported for statistics queries"]);
  });

  it('a layer without PBF (an older server) says so in its metadata and refuses f=pbf', async () => {
    const [old] = (await loadLayers({
      layers: [{ service: 'old', generate: { count: 5, geometry: 'point' }, capabilities: { pbf: false } }],
    })) as [EmulatedLayer];
    expect(old.metadata().supportedQueryFormats).toBe('JSON, geoJSON');
    expect(polygons.metadata().supportedQueryFormats).toBe('JSON, geoJSON, PBF');
    for (const extra of [{}, { returnCountOnly: 'true' }, { returnIdsOnly: 'true' }]) {
      const err = queryError(old, { f: 'pbf', ...extra });
      expect(err.code).toBe(400);
      expect(err.details).toEqual(["'f' parameter is invalid: pbf is not supported by this layer"]);
    }
    expect(q(old, { f: 'json' }).features).toHaveLength(5);
  });

  it('the answer cache keeps PBF and JSON pages of one query apart and returns the same bytes', () => {
    const params = { where: '1=1', outFields: '*', resultOffset: '100', resultRecordCount: '100' };
    const first = polygons.query({ ...params, f: 'pbf' });
    const json1 = polygons.query({ ...params, f: 'json' });
    const second = polygons.query({ ...params, f: 'pbf' }); // cached now
    const json2 = polygons.query({ ...params, f: 'json' });
    const third = polygons.query({ ...params, f: 'pbf' });
    const json3 = polygons.query({ ...params, f: 'json' });
    expect(third).toBe(second);
    expect(json3).toBe(json2);
    expect(answerBytes(second)).toBeDefined();
    expect(Buffer.from(bytesOf(third)).equals(Buffer.from(bytesOf(first)))).toBe(true);
    expect(answerBytes(third)!.equals(Buffer.from(bytesOf(first)))).toBe(true);
    expect(typeof json3.body).toBe('string');
    expect(json3.body).toBe(json1.body);
    expect(decode(bytesOf(third)).featureResult!.features).toHaveLength(100);
  });

  it('a 2000-point page is less than half the bytes of the same page in f=json', async () => {
    const [big] = (await loadLayers({
      layers: [
        { service: 'big', generate: { count: 4000, geometry: 'point', seed: 2 }, maxRecordCount: 2000 },
      ],
    })) as [EmulatedLayer];
    const query = { where: '1=1', outFields: '*', resultOffset: '2000' };
    const bytes = bytesOf(big.query({ ...query, f: 'pbf' }));
    expect(decode(bytes).featureResult!.features).toHaveLength(2000);
    const json = big.query({ ...query, f: 'json' }).body as string;
    expect(bytes.length).toBeLessThan(Buffer.byteLength(json) / 2);
  });
});

describe('f=pbf over HTTP', () => {
  let emu: EmulatorHandle;
  let url: string;
  let oldUrl: string;

  beforeAll(async () => {
    const layers = await loadLayers({
      layers: [
        { service: 'P', generate: { count: 300, geometry: 'mixed-polygon', seed: 9 }, maxRecordCount: 100 },
        { service: 'Old', generate: { count: 10, geometry: 'point' }, capabilities: { pbf: false } },
      ],
    });
    emu = await serveEmulator({}, layers);
    url = `${emu.layerUrl('P')}/query`;
    oldUrl = `${emu.layerUrl('Old')}/query`;
  });
  afterAll(() => emu.stop());

  const get = async (base: string, params: Record<string, string>) => {
    const res = await request(`${base}?${new URLSearchParams(params)}`);
    const body = Buffer.from(await res.body.arrayBuffer());
    return {
      status: res.statusCode,
      type: String(res.headers['content-type']),
      length: Number(res.headers['content-length']),
      body,
    };
  };
  const page = { where: '1=1', outFields: '*', resultOffset: '100', resultRecordCount: '100', f: 'pbf' };

  it('answers application/x-protobuf with the right Content-Length, the same bytes every time', async () => {
    const first = await get(url, page);
    expect(first.status).toBe(200);
    expect(first.type).toBe('application/x-protobuf');
    expect(first.length).toBe(first.body.length);
    const fr = decode(first.body).featureResult!;
    expect(fr.features).toHaveLength(100);
    expect(fr.exceededTransferLimit).toBe(true);
    const json = JSON.parse((await get(url, { ...page, f: 'json' })).body.toString('utf8')) as EsriPage;
    expectSameAttributes(fr, json);
    expectSameGeometry(fr, json, 1e-9);
    for (let i = 0; i < 3; i++) {
      const again = await get(url, page); // the second and third come from the cache
      expect(again.body.equals(first.body)).toBe(true);
      expect(again.type).toBe('application/x-protobuf');
    }
    const jsonAgain = await get(url, { ...page, f: 'json' });
    expect(jsonAgain.type).toMatch(/^application\/json/);
  });

  it('errors of an f=pbf request are JSON envelopes, as for f=json', async () => {
    const bad = await get(url, { ...page, where: 'no_such_field = 1' });
    expect(bad.status).toBe(200);
    expect(bad.type).toMatch(/^application\/json/);
    expect(JSON.parse(bad.body.toString('utf8')).error.code).toBe(400);
    const old = await get(oldUrl, { where: '1=1', f: 'pbf' });
    expect(old.type).toMatch(/^application\/json/);
    expect(JSON.parse(old.body.toString('utf8')).error).toEqual({
      code: 400,
      message: 'Unable to complete operation.',
      details: ["'f' parameter is invalid: pbf is not supported by this layer"],
    });
  });

  it('metadata and the FeatureServer resource advertise PBF', async () => {
    const md = JSON.parse((await get(emu.layerUrl('P'), { f: 'json' })).body.toString('utf8'));
    expect(md.supportedQueryFormats).toBe('JSON, geoJSON, PBF');
    const service = emu.layerUrl('P').replace(/\/0$/, '');
    const fs = JSON.parse((await get(service, { f: 'json' })).body.toString('utf8'));
    expect(fs.supportedQueryFormats).toBe('JSON, geoJSON, PBF');
    const old = JSON.parse((await get(emu.layerUrl('Old'), { f: 'json' })).body.toString('utf8'));
    expect(old.supportedQueryFormats).toBe('JSON, geoJSON');
  });

  it('HTTP faults apply to PBF answers: truncated bytes, HTML pages, 429', async () => {
    const whole = await get(url, page);
    emu.setFaults({ rates: { truncate: 1 } });
    const cut = await get(url, page);
    expect(cut.status).toBe(200);
    expect(cut.type).toBe('application/x-protobuf');
    expect(cut.body.length).toBe(Math.floor(whole.body.length / 2));
    expect(cut.length).toBe(cut.body.length);
    expect(cut.body.equals(whole.body.subarray(0, cut.body.length))).toBe(true);
    let error: unknown;
    try {
      decode(cut.body);
    } catch (e) {
      error = e;
    }
    expect(isEtlError(error, 'TRUNCATED_RESPONSE')).toBe(true);
    emu.setFaults({ rates: { html: 1 } });
    expect((await get(url, page)).type).toMatch(/^text\/html/);
    emu.setFaults({ rates: { http429: 1 } });
    expect((await get(url, page)).status).toBe(429);
    emu.setFaults({});
    // the cached bytes were not damaged by the cut
    expect((await get(url, page)).body.equals(whole.body)).toBe(true);
    expect(emu.stats().faults).toEqual({ truncate: 1, html: 1, http429: 1 });
  });
});
