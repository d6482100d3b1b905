/**
 * A page of features, a count or a list of object ids → `f=pbf`: Esri's FeatureCollection protocol
 * buffers (package esriPBuffer, message FeatureCollectionPBuffer), as ArcGIS Server 10.7+ and
 * ArcGIS Online answer them.
 *
 * Written the way proto3 serializers write: a scalar field holding its default (0, false, "") is
 * left out (geometryType Point, fieldType SmallInteger, quantizeOriginPostion upperLeft, a zero
 * translate), except inside a oneof (a Value holding 0 keeps its field: only null is empty).
 *
 * Geometry is quantized with a transform that is always present: origin upper-left, x/y translate 0,
 * scale 1e-9 degrees (geographic output) or 1e-4 (Web Mercator output) for x and y; y grows downward
 * (qy = round((ty - y) / sy)). z and m: scale 1e-4, translate -100000, as ArcGIS Online writes them.
 * x and y are delta-encoded per part, from 0 at the first vertex of every part; z and m are
 * absolute (not deltas), and a missing m is a raw 0 (so an m of exactly -100000 reads back as null,
 * as it does from ArcGIS). The field types are FeatureCollection.proto's, 0 to 16.
 *
 * One writer per layer, reused from page to page: a page is written into `#page`, each feature into
 * the scratch `#feature` (then copied in as one length-delimited field), nested Values and Geometry
 * straight into it with their sizes computed first. The answer is one exact-size buffer.
 */
import { bigVarintSize, ProtoWriter, WIRE_BYTES, WIRE_VARINT } from '../../core/protobuf.js';
import { type EsriGeometryType, PBF_FIELD_TYPES, PBF_GEOMETRY_TYPES } from '../../core/protocol.js';
import type { PbfQuirk } from '../types.js';
import { bigIntegerText } from './extra-fields.js';
import type { FieldRef, FieldSet } from './fields.js';
import { WGS84 } from './metadata.js';
import { toWebMercator, WEB_MERCATOR_SR } from './projection.js';
import type { QueryRequest } from './query-params.js';
import { outputProjection } from './query-params.js';
import { requestGeometries } from './serialize-features.js';
import type { CellValue, Geometries, LayerData } from './store.js';

export const PBF_CONTENT_TYPE = 'application/x-protobuf';
/** FeatureCollectionPBuffer.version. */
export const PBF_VERSION = '1';

/** Scale of x/y in degrees (geographic output) and in metres (projected output), and of z/m. */
export const PBF_SCALE_GEOGRAPHIC = 1e-9;
export const PBF_SCALE_PROJECTED = 1e-4;
export const PBF_SCALE_ZM = 1e-4;
/** Translate of z and m (ArcGIS Online's). */
export const PBF_TRANSLATE_ZM = -100000;

/** esriPBuffer GeometryType by Esri JSON type. */
const GEOMETRY_TYPE = Object.fromEntries(
  Object.entries(PBF_GEOMETRY_TYPES).map(([code, type]) => [type, Number(code)]),
) as Readonly<Record<EsriGeometryType, number>>;

/** esriPBuffer FieldType by Esri JSON type (DateOnly, TimeOnly, TimestampOffset values are text). */
const FIELD_TYPE: Readonly<Record<string, number>> = Object.fromEntries(
  PBF_FIELD_TYPES.map((type, code) => [type, code]),
);
/** A field type outside the enum is written as String. */
const FIELD_TYPE_STRING = 4;

/** Raw z or m: absolute, quantized. A missing (non-finite) m is 0; a non-finite z is written as 0. */
function quantizeZ(z: number): number {
  return Math.round((finite(z) - PBF_TRANSLATE_ZM) / PBF_SCALE_ZM);
}
function quantizeM(m: number): number {
  return Number.isFinite(m) ? Math.round((m - PBF_TRANSLATE_ZM) / PBF_SCALE_ZM) : 0;
}

// Value oneof fields
const V_STRING = 1;
const V_FLOAT = 2;
const V_DOUBLE = 3;
const V_SINT = 4;
const V_UINT = 5;
const V_INT64 = 6;
const V_UINT64 = 7;
const V_SINT64 = 8;

/** How a field's numbers are written (strings are always string_value, null an empty Value). */
type NumberKind = 'oid' | 'int' | 'bigint' | 'single' | 'double' | 'date' | 'text' | 'int32';

function numberKind(type: string): NumberKind {
  switch (type) {
    case 'esriFieldTypeOID':
      return 'oid';
    case 'esriFieldTypeSmallInteger':
    case 'esriFieldTypeInteger':
      return 'int';
    case 'esriFieldTypeBigInteger':
      return 'bigint';
    case 'esriFieldTypeSingle':
      return 'single';
    case 'esriFieldTypeDouble':
      return 'double';
    case 'esriFieldTypeDate':
      return 'date';
    default:
      return 'text';
  }
}

const TWO_32 = 4294967296;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** Largest magnitude `ProtoWriter.svarint` takes. */
const ZIGZAG_MAX = 2 ** 52;

const ENCODER = new TextEncoder();

/** Bytes of a varint (non-negative integer). */
function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  let rest = Math.floor(v / 0x10000000);
  while (rest > 0) {
    n++;
    rest = Math.floor(rest / 128);
  }
  return n;
}

/** Bytes of a zigzag varint. */
function svarintSize(v: number): number {
  return varintSize(v >= 0 ? v * 2 : -v * 2 - 1);
}

/** Bytes of a two's-complement int64 varint. */
function int64Size(v: number): number {
  return v < 0 ? 10 : varintSize(v);
}

/** Non-finite coordinates (never stored by the loaders) are written as 0 rather than failing the page. */
function finite(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

/** A growable Float64Array of quantized values. */
class Scratch {
  data = new Float64Array(1024);
  ensure(n: number): Float64Array {
    if (n > this.data.length) this.data = new Float64Array(Math.max(n, this.data.length * 2));
    return this.data;
  }
}

interface GeometryPlan {
  /** The geometries answered (generalised for maxAllowableOffset). */
  g: Geometries;
  withZ: boolean;
  withM: boolean;
  /** x/y scale. */
  scale: number;
  project: ((x: number, y: number) => [number, number]) | undefined;
}

export class PbfWriter {
  readonly #page = new ProtoWriter(64 * 1024);
  readonly #feature = new ProtoWriter(1024);
  readonly #coords = new Scratch();
  #lengths = new Uint32Array(64);

  constructor(
    readonly data: LayerData,
    readonly fields: FieldSet,
    readonly geometryType: EsriGeometryType,
    /** `int32`: Integer, BigInteger and Date values cut to a sint32 (Koop's encoder), for tests. */
    readonly quirk?: PbfQuirk | undefined,
  ) {}

  /** The FeatureResult answer of a feature query. */
  features(rows: ArrayLike<number>, req: QueryRequest, exceeded: boolean): Uint8Array {
    const g = requestGeometries(this.data.geometry, req);
    const plan: GeometryPlan = {
      g,
      withZ: g.hasZ && req.returnZ,
      withM: g.hasM && req.returnM,
      scale: req.outWebMercator ? PBF_SCALE_PROJECTED : PBF_SCALE_GEOGRAPHIC,
      project: outputProjection(req.outWebMercator ? toWebMercator : undefined, req.geometryPrecision),
    };
    const w = this.#page;
    w.pos = 0;
    const oidField = this.fields.oidField;
    w.stringField(1, oidField);
    w.message(2, (u) => {
      u.stringField(1, oidField);
      u.boolField(2, true);
    });
    // 3 globalIdFieldName "" (default), 4 geohashFieldName, 5 geometryProperties, 6 serverGens: absent
    const geometryType = GEOMETRY_TYPE[this.geometryType];
    if (geometryType !== 0) w.uintField(7, geometryType);
    const sr = req.outWebMercator ? WEB_MERCATOR_SR : WGS84;
    w.message(8, (s) => {
      s.uintField(1, sr.wkid);
      s.uintField(2, sr.latestWkid); // "lastestWkid" in Esri's .proto
    });
    if (exceeded) w.boolField(9, true);
    if (plan.withZ) w.boolField(10, true);
    if (plan.withM) w.boolField(11, true);
    w.message(12, (t) => {
      // 1 quantizeOriginPostion: upperLeft (0, the default)
      t.message(2, (s) => {
        s.doubleField(1, plan.scale);
        s.doubleField(2, plan.scale);
        s.doubleField(3, PBF_SCALE_ZM);
        s.doubleField(4, PBF_SCALE_ZM);
      });
      t.message(3, (s) => {
        // x = y = 0 (defaults)
        s.doubleField(3, PBF_TRANSLATE_ZM);
        s.doubleField(4, PBF_TRANSLATE_ZM);
      });
    });
    const outFields = req.outFields;
    for (const ref of outFields) {
      w.message(13, (f) => {
        f.stringField(1, ref.field.name);
        const type = FIELD_TYPE[ref.field.type] ?? FIELD_TYPE_STRING;
        if (type !== 0) f.uintField(2, type);
        f.stringField(3, ref.field.alias ?? ref.field.name);
      });
    }
    const kinds = outFields.map((f) => {
      const kind = numberKind(f.field.type);
      return this.quirk === 'int32' && (kind === 'int' || kind === 'bigint' || kind === 'date')
        ? 'int32'
        : kind;
    });
    const feature = this.#feature;
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k]!;
      feature.pos = 0;
      this.#attributes(feature, row, outFields, kinds);
      if (req.returnGeometry) this.#geometry(feature, row, plan);
      w.bytesField(15, feature.finish());
    }
    return wrap(1, w.finish());
  }

  #attributes(
    w: ProtoWriter,
    row: number,
    outFields: readonly FieldRef[],
    kinds: readonly NumberKind[],
  ): void {
    for (let i = 0; i < outFields.length; i++) writeValue(w, kinds[i]!, outFields[i]!.get(row));
  }

  /** Feature.geometry (2): lengths (2) and coords (3); nothing for a null or empty geometry. */
  #geometry(w: ProtoWriter, row: number, plan: GeometryPlan): void {
    const g = plan.g;
    const c = g.coords;
    const dim = g.dim;
    const zAt = 2;
    const mAt = g.hasZ ? 3 : 2;
    const stride = 2 + (plan.withZ ? 1 : 0) + (plan.withM ? 1 : 0);
    const { scale, project, withZ, withM } = plan;
    let n = 0;
    let parts = 0;
    let q: Float64Array;
    if (g.kind === 'point') {
      const o = row * dim;
      let x = c[o]!;
      let y = c[o + 1]!;
      if (Number.isNaN(x)) return;
      if (project) [x, y] = project(x, y);
      q = this.#coords.ensure(stride);
      q[n++] = Math.round(finite(x) / scale);
      q[n++] = Math.round(-finite(y) / scale);
      if (withZ) q[n++] = quantizeZ(c[o + zAt]!);
      if (withM) q[n++] = quantizeM(c[o + mAt]!);
    } else {
      const first = g.featurePart[row]!;
      const last = g.featurePart[row + 1]!;
      if (first === last) return;
      const pp = g.partPos;
      q = this.#coords.ensure((pp[last]! - pp[first]!) * stride);
      // a multipoint is one part: all its points
      const single = g.kind === 'multipoint';
      const partCount = single ? 1 : last - first;
      if (this.#lengths.length < partCount)
        this.#lengths = new Uint32Array(Math.max(partCount, this.#lengths.length * 2));
      const lengths = this.#lengths;
      for (let k = 0; k < partCount; k++) {
        const start = single ? pp[first]! : pp[first + k]!;
        const end = single ? pp[last]! : pp[first + k + 1]!;
        lengths[parts++] = end - start;
        let px = 0;
        let py = 0;
        for (let p = start; p < end; p++) {
          const o = p * dim;
          let x = c[o]!;
          let y = c[o + 1]!;
          if (project) [x, y] = project(x, y);
          const qx = Math.round(finite(x) / scale);
          const qy = Math.round(-finite(y) / scale);
          q[n++] = qx - px;
          q[n++] = qy - py;
          px = qx;
          py = qy;
          // z and m: absolute
          if (withZ) q[n++] = quantizeZ(c[o + zAt]!);
          if (withM) q[n++] = quantizeM(c[o + mAt]!);
        }
      }
    }
    let coordBytes = 0;
    for (let i = 0; i < n; i++) coordBytes += svarintSize(q[i]!);
    let lengthBytes = 0;
    for (let i = 0; i < parts; i++) lengthBytes += varintSize(this.#lengths[i]!);
    const size =
      (parts > 0 ? 1 + varintSize(lengthBytes) + lengthBytes : 0) + 1 + varintSize(coordBytes) + coordBytes;
    w.tag(2, WIRE_BYTES);
    w.varint(size);
    if (parts > 0) {
      w.tag(2, WIRE_BYTES);
      w.varint(lengthBytes);
      for (let i = 0; i < parts; i++) w.varint(this.#lengths[i]!);
    }
    w.tag(3, WIRE_BYTES);
    w.varint(coordBytes);
    for (let i = 0; i < n; i++) w.svarint(q[i]!);
  }
}

/** Feature.attributes (1): one Value, its field chosen by the field type; null is an empty Value. */
function writeValue(w: ProtoWriter, kind: NumberKind, v: CellValue): void {
  w.tag(1, WIRE_BYTES);
  if (v === null || (typeof v === 'number' && !Number.isFinite(v))) {
    w.varint(0);
    return;
  }
  if (typeof v === 'string' && kind === 'bigint') {
    const exact = bigIntegerText(v);
    if (exact !== undefined) {
      // a BigInteger beyond 2^53, exact: sint64
      const big = BigInt(exact);
      const zigzag = big >= 0n ? big * 2n : -big * 2n - 1n;
      w.varint(1 + bigVarintSize(zigzag));
      w.tag(V_SINT64, WIRE_VARINT);
      w.bigVarint(zigzag);
      return;
    }
  }
  if (typeof v === 'string') {
    const bytes = ENCODER.encode(v);
    w.varint(1 + varintSize(bytes.length) + bytes.length);
    w.bytesField(V_STRING, bytes);
    return;
  }
  const integer = Number.isInteger(v);
  switch (kind) {
    case 'oid':
      if (integer && v >= 0) {
        w.varint(1 + varintSize(v));
        w.uintField(v < TWO_32 ? V_UINT : V_UINT64, v);
        return;
      }
      break;
    case 'int':
      // sint_value is a sint32: an integer outside its range (never in a valid Integer column) is a sint64
      if (integer && Math.abs(v) <= ZIGZAG_MAX) {
        w.varint(1 + svarintSize(v));
        w.sintField(v >= INT32_MIN && v <= INT32_MAX ? V_SINT : V_SINT64, v);
        return;
      }
      break;
    case 'bigint':
      if (integer && Math.abs(v) <= ZIGZAG_MAX) {
        w.varint(1 + svarintSize(v));
        w.sintField(V_SINT64, v);
        return;
      }
      if (integer) {
        w.varint(1 + int64Size(v));
        w.int64Field(V_INT64, v);
        return;
      }
      break;
    case 'int32':
      // the int32 quirk: cut to 32 bits (ToInt32), as Koop writes its Integer fields
      if (integer) {
        const cut = v | 0;
        w.varint(1 + svarintSize(cut));
        w.sintField(V_SINT, cut);
        return;
      }
      break;
    case 'date':
      if (integer) {
        w.varint(1 + int64Size(v));
        w.int64Field(V_INT64, v);
        return;
      }
      break;
    case 'single':
      w.varint(5);
      w.floatField(V_FLOAT, v);
      return;
    default:
      break;
  }
  w.varint(9);
  w.doubleField(V_DOUBLE, v);
}

/**
 * FeatureCollectionPBuffer { version, queryResult { <result field>: content } } as one buffer of
 * the exact size (`content` is copied once).
 */
function wrap(resultField: number, content: Uint8Array): Uint8Array {
  const inner = 1 + varintSize(content.length) + content.length;
  const version = 1 + 1 + PBF_VERSION.length;
  // + 10: the writer keeps room for a whole varint before writing one
  const out = new ProtoWriter(version + 1 + varintSize(inner) + inner + 10);
  out.stringField(1, PBF_VERSION);
  out.tag(2, WIRE_BYTES);
  out.varint(inner);
  out.bytesField(resultField, content);
  return out.finish();
}

/** The CountResult answer (`returnCountOnly`). */
export function countPbf(count: number): Uint8Array {
  const w = new ProtoWriter(16);
  if (count !== 0) w.uintField(1, count);
  return wrap(2, w.finish());
}

/** The ObjectIdsResult answer (`returnIdsOnly`). */
export function idsPbf(oidField: string, oids: ArrayLike<number>): Uint8Array {
  let bytes = 0;
  for (let i = 0; i < oids.length; i++) bytes += varintSize(oids[i]!);
  const w = new ProtoWriter(oidField.length * 3 + 16 + bytes);
  w.stringField(1, oidField);
  if (oids.length > 0) {
    w.tag(3, WIRE_BYTES);
    w.varint(bytes);
    for (let i = 0; i < oids.length; i++) w.varint(oids[i]!);
  }
  return wrap(3, w.finish());
}
