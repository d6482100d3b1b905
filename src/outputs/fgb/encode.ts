/**
 * FlatGeobuf tables (header, column, CRS, feature, geometry) built with the flatbuffers Builder,
 * field slots as in FlatGeobuf's schema (header.fbs, feature.fbs).
 */
import { Buffer } from 'node:buffer';
import { Builder } from 'flatbuffers';
import { EtlError } from '../../core/errors.js';
import { isoUtc } from '../../core/iso-time.js';
import type { EsriField, EsriGeometryType } from '../../core/protocol.js';
import type { GeoJSONGeometry, Position } from '../../features/geometry/types.js';
import { GrowBuffer } from '../common/grow-buffer.js';

export const MAGIC = Buffer.from([0x66, 0x67, 0x62, 0x03, 0x66, 0x67, 0x62, 0x00]);

export const GeometryType = {
  Unknown: 0,
  Point: 1,
  LineString: 2,
  Polygon: 3,
  MultiPoint: 4,
  MultiLineString: 5,
  MultiPolygon: 6,
} as const;

const ColumnType = { Short: 3, Int: 5, Long: 7, Double: 10, String: 11, DateTime: 13 } as const;
type ColumnTypeCode = (typeof ColumnType)[keyof typeof ColumnType];

export interface FgbColumn {
  name: string;
  type: ColumnTypeCode;
  /** 'date': epoch ms written as ISO 8601 text. */
  date: boolean;
}

const NOT_PROPERTIES = new Set(['esriFieldTypeGeometry', 'esriFieldTypeBlob', 'esriFieldTypeRaster']);

export function columnsOf(fields: readonly EsriField[]): FgbColumn[] {
  const seen = new Set<string>();
  const out: FgbColumn[] = [];
  for (const field of fields) {
    if (NOT_PROPERTIES.has(field.type) || seen.has(field.name)) continue;
    seen.add(field.name);
    let type: ColumnTypeCode = ColumnType.String;
    switch (field.type) {
      case 'esriFieldTypeSmallInteger':
        type = ColumnType.Short;
        break;
      case 'esriFieldTypeInteger':
      case 'esriFieldTypeOID':
        type = ColumnType.Int;
        break;
      case 'esriFieldTypeBigInteger':
        type = ColumnType.Long;
        break;
      case 'esriFieldTypeSingle':
      case 'esriFieldTypeDouble':
        // Single too: the values came as doubles, and are kept exactly
        type = ColumnType.Double;
        break;
      case 'esriFieldTypeDate':
      case 'esriFieldTypeDateOnly':
        type = ColumnType.DateTime;
        break;
    }
    out.push({ name: field.name, type, date: field.type === 'esriFieldTypeDate' });
  }
  if (out.length > 65535) throw new EtlError('USAGE', 'FlatGeobuf holds at most 65535 columns');
  return out;
}

export function headerGeometryType(type: EsriGeometryType | undefined): number {
  switch (type) {
    case 'esriGeometryPoint':
      return GeometryType.Point;
    case 'esriGeometryMultipoint':
      return GeometryType.MultiPoint;
    case 'esriGeometryPolyline':
      return GeometryType.MultiLineString;
    case 'esriGeometryPolygon':
    case 'esriGeometryEnvelope':
      return GeometryType.MultiPolygon;
    default:
      return GeometryType.Unknown;
  }
}

export interface HeaderInput {
  name: string;
  geometryType: number;
  hasZ: boolean;
  columns: readonly FgbColumn[];
  features: number;
  indexNodeSize: number;
  envelope: readonly number[] | undefined;
  crs: { code: number; wkt: string | undefined };
}

/** Magic bytes + size-prefixed header. */
export function encodeHeader(h: HeaderInput): Buffer {
  const b = new Builder(1024);
  const name = b.createString(h.name);
  const columns = h.columns.map((c) => {
    const n = b.createString(c.name);
    b.startObject(11);
    b.addFieldOffset(0, n, 0);
    b.addFieldInt8(1, c.type, 0);
    return b.endObject();
  });
  b.startVector(4, columns.length, 4);
  for (let i = columns.length - 1; i >= 0; i--) b.addOffset(columns[i]!);
  const columnsVec = b.endVector();
  let envelope = 0;
  if (h.envelope !== undefined) {
    b.startVector(8, 4, 8);
    for (let i = 3; i >= 0; i--) b.addFloat64(h.envelope[i]!);
    envelope = b.endVector();
  }
  const org = b.createString('EPSG');
  const wkt = h.crs.wkt === undefined ? 0 : b.createString(h.crs.wkt);
  b.startObject(6);
  b.addFieldOffset(0, org, 0);
  b.addFieldInt32(1, h.crs.code, 0);
  if (wkt !== 0) b.addFieldOffset(4, wkt, 0);
  const crs = b.endObject();
  b.startObject(14);
  b.addFieldOffset(0, name, 0);
  if (envelope !== 0) b.addFieldOffset(1, envelope, 0);
  b.addFieldInt8(2, h.geometryType, 0);
  b.addFieldInt8(3, h.hasZ ? 1 : 0, 0);
  b.addFieldOffset(7, columnsVec, 0);
  b.addFieldInt64(8, BigInt(h.features), 0n);
  b.addFieldInt16(9, h.indexNodeSize, 16);
  b.addFieldOffset(10, crs, 0);
  b.finishSizePrefixed(b.endObject());
  return Buffer.concat([MAGIC, b.asUint8Array()]);
}

/** Encodes features (size-prefixed), reusing one builder and one properties buffer. */
export class FeatureEncoder {
  readonly #b = new Builder(4096);
  readonly #props = new GrowBuffer(1024);
  readonly #columns: readonly FgbColumn[];
  readonly #headerType: number;
  readonly #z: boolean;
  /** The box of the last feature encoded (NaN without geometry). */
  readonly box = new Float64Array(4);

  constructor(columns: readonly FgbColumn[], headerType: number, z: boolean) {
    this.#columns = columns;
    this.#headerType = headerType;
    this.#z = z;
  }

  /** The size-prefixed feature (a view into the builder: copy it before the next call). */
  encode(geometry: GeoJSONGeometry | null, properties: Record<string, unknown>): Uint8Array {
    const b = this.#b;
    b.clear();
    this.box.fill(Number.NaN);
    const geom = geometry === null ? 0 : this.#geometry(geometry);
    const props = this.#properties(properties);
    const propsVec = props.length === 0 ? 0 : b.createByteVector(props);
    b.startObject(3);
    if (geom !== 0) b.addFieldOffset(0, geom, 0);
    if (propsVec !== 0) b.addFieldOffset(1, propsVec, 0);
    b.finishSizePrefixed(b.endObject());
    return b.asUint8Array();
  }

  #properties(properties: Record<string, unknown>): Uint8Array {
    const out = this.#props;
    out.clear();
    for (let i = 0; i < this.#columns.length; i++) {
      const column = this.#columns[i]!;
      const value = properties[column.name];
      if (value === null || value === undefined) continue;
      const at = out.reserve(2);
      out.buf.writeUInt16LE(i, at);
      switch (column.type) {
        case ColumnType.Short:
          out.int16LE(Math.trunc(Number(value)));
          break;
        case ColumnType.Int:
          out.int32LE(Math.trunc(Number(value)));
          break;
        case ColumnType.Long:
          out.bigInt64LE(typeof value === 'bigint' ? value : BigInt(Math.trunc(Number(value))));
          break;
        case ColumnType.Double:
          out.doubleLE(Number(value));
          break;
        default: {
          let text: string;
          if (column.date && typeof value === 'number') text = isoUtc(value) ?? String(value);
          else
            text =
              typeof value === 'string'
                ? value
                : typeof value === 'object'
                  ? JSON.stringify(value)
                  : String(value);
          const length = Buffer.byteLength(text);
          out.uint32LE(length);
          const start = out.reserve(length);
          out.buf.write(text, start, 'utf8');
        }
      }
    }
    return out.view();
  }

  #grow(p: Position): void {
    const box = this.box;
    const x = p[0]!;
    const y = p[1]!;
    if (!(x >= box[0]!)) box[0] = x;
    if (!(y >= box[1]!)) box[1] = y;
    if (!(x <= box[2]!)) box[2] = x;
    if (!(y <= box[3]!)) box[3] = y;
  }

  /** One geometry table from positions and part ends (ends omitted for one part). */
  #simple(
    parts: readonly (readonly Position[])[],
    type: number,
    ends: 'none' | 'several' | 'always',
  ): number {
    const b = this.#b;
    let n = 0;
    for (const part of parts) n += part.length;
    let endsVec = 0;
    if (ends === 'always' || (ends === 'several' && parts.length > 1)) {
      b.startVector(4, parts.length, 4);
      let end = n;
      for (let i = parts.length - 1; i >= 0; i--) {
        b.addInt32(end);
        end -= parts[i]!.length;
      }
      endsVec = b.endVector();
    }
    b.startVector(8, 2 * n, 8);
    for (let i = parts.length - 1; i >= 0; i--) {
      const part = parts[i]!;
      for (let j = part.length - 1; j >= 0; j--) {
        const p = part[j]!;
        this.#grow(p);
        b.addFloat64(p[1]!);
        b.addFloat64(p[0]!);
      }
    }
    const xy = b.endVector();
    let z = 0;
    if (this.#z) {
      b.startVector(8, n, 8);
      for (let i = parts.length - 1; i >= 0; i--) {
        const part = parts[i]!;
        for (let j = part.length - 1; j >= 0; j--) b.addFloat64(part[j]![2] ?? 0);
      }
      z = b.endVector();
    }
    b.startObject(8);
    if (endsVec !== 0) b.addFieldOffset(0, endsVec, 0);
    b.addFieldOffset(1, xy, 0);
    if (z !== 0) b.addFieldOffset(2, z, 0);
    if (type !== 0) b.addFieldInt8(6, type, 0);
    return b.endObject();
  }

  #geometry(g: GeoJSONGeometry): number {
    const typed = this.#headerType === GeometryType.Unknown;
    switch (g.type) {
      case 'Point':
        return this.#simple([[g.coordinates]], typed ? GeometryType.Point : 0, 'none');
      case 'MultiPoint':
        return this.#simple([g.coordinates], typed ? GeometryType.MultiPoint : 0, 'none');
      case 'LineString':
        // in a MultiLineString layer: one part, whose end GDAL wants
        if (this.#headerType === GeometryType.MultiLineString)
          return this.#simple([g.coordinates], 0, 'always');
        return this.#simple([g.coordinates], typed ? GeometryType.LineString : 0, 'none');
      case 'MultiLineString':
        return this.#simple(g.coordinates, typed ? GeometryType.MultiLineString : 0, 'always');
      case 'Polygon':
        if (this.#headerType === GeometryType.MultiPolygon) return this.#multiPolygon([g.coordinates], 0);
        return this.#simple(g.coordinates, typed ? GeometryType.Polygon : 0, 'several');
      case 'MultiPolygon':
        return this.#multiPolygon(g.coordinates, typed ? GeometryType.MultiPolygon : 0);
    }
  }

  #multiPolygon(polygons: readonly Position[][][], type: number): number {
    const b = this.#b;
    const parts = polygons.map((rings) => this.#simple(rings, GeometryType.Polygon, 'several'));
    b.startVector(4, parts.length, 4);
    for (let i = parts.length - 1; i >= 0; i--) b.addOffset(parts[i]!);
    const vec = b.endVector();
    b.startObject(8);
    if (type !== 0) b.addFieldInt8(6, type, 0);
    b.addFieldOffset(7, vec, 0);
    return b.endObject();
  }
}
