/**
 * A shapefile writer for the emulator's export jobs: .shp, .shx, .dbf (UTF-8, with a .cpg) and a
 * WGS 84 .prj, from Esri JSON features. 2D only (Z and M are dropped, as many exports do); dates
 * become dBASE `D` fields (day precision), text longer than 254 bytes is cut, field names are cut
 * to 10 characters, as real shapefile exports do.
 */
import type { EsriField, EsriGeometryType } from '../../core/protocol.js';

export interface EsriFeatureJson {
  attributes: Record<string, unknown>;
  geometry: unknown;
}

export interface ShapefileParts {
  shp: Uint8Array;
  shx: Uint8Array;
  dbf: Uint8Array;
  prj: Uint8Array;
  cpg: Uint8Array;
}

export const WGS84_PRJ =
  'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';

const SHAPE_TYPES: Record<EsriGeometryType, number> = {
  esriGeometryPoint: 1,
  esriGeometryMultipoint: 8,
  esriGeometryPolyline: 3,
  esriGeometryPolygon: 5,
  esriGeometryEnvelope: 5,
};

type Coord = readonly number[];

interface ShapeRecord {
  /** Content bytes (shape type included). */
  content: Buffer;
  bbox: [number, number, number, number] | undefined;
}

export function writeShapefile(
  fields: readonly EsriField[],
  geometryType: EsriGeometryType,
  features: readonly EsriFeatureJson[],
): ShapefileParts {
  const shapeType = SHAPE_TYPES[geometryType];
  const records = features.map((f) => shapeRecord(shapeType, f.geometry));
  let bbox: [number, number, number, number] | undefined;
  for (const r of records) {
    if (!r.bbox) continue;
    bbox = bbox
      ? [
          Math.min(bbox[0], r.bbox[0]),
          Math.min(bbox[1], r.bbox[1]),
          Math.max(bbox[2], r.bbox[2]),
          Math.max(bbox[3], r.bbox[3]),
        ]
      : [...r.bbox];
  }
  const shpLength = 100 + records.reduce((sum, r) => sum + 8 + r.content.length, 0);
  const shp = Buffer.alloc(shpLength);
  const shx = Buffer.alloc(100 + 8 * records.length);
  header(shp, shpLength, shapeType, bbox);
  header(shx, shx.length, shapeType, bbox);
  let at = 100;
  records.forEach((r, i) => {
    shx.writeInt32BE(at / 2, 100 + 8 * i);
    shx.writeInt32BE(r.content.length / 2, 104 + 8 * i);
    shp.writeInt32BE(i + 1, at);
    shp.writeInt32BE(r.content.length / 2, at + 4);
    r.content.copy(shp, at + 8);
    at += 8 + r.content.length;
  });
  return {
    shp,
    shx,
    dbf: writeDbf(fields, features),
    prj: Buffer.from(WGS84_PRJ),
    cpg: Buffer.from('UTF-8'),
  };
}

function header(
  buf: Buffer,
  length: number,
  shapeType: number,
  bbox: [number, number, number, number] | undefined,
): void {
  buf.writeInt32BE(9994, 0);
  buf.writeInt32BE(length / 2, 24);
  buf.writeInt32LE(1000, 28);
  buf.writeInt32LE(shapeType, 32);
  const [xmin, ymin, xmax, ymax] = bbox ?? [0, 0, 0, 0];
  buf.writeDoubleLE(xmin, 36);
  buf.writeDoubleLE(ymin, 44);
  buf.writeDoubleLE(xmax, 52);
  buf.writeDoubleLE(ymax, 60);
}

function shapeRecord(shapeType: number, geometry: unknown): ShapeRecord {
  const g = (geometry ?? undefined) as Record<string, unknown> | undefined;
  if (shapeType === 1) {
    const x = g?.x;
    const y = g?.y;
    if (typeof x !== 'number' || typeof y !== 'number') return nullShape();
    const content = Buffer.alloc(20);
    content.writeInt32LE(1, 0);
    content.writeDoubleLE(x, 4);
    content.writeDoubleLE(y, 12);
    return { content, bbox: [x, y, x, y] };
  }
  if (shapeType === 8) {
    const points = (g?.points as Coord[] | undefined) ?? [];
    if (points.length === 0) return nullShape();
    const bbox = boundsOf(points);
    const content = Buffer.alloc(40 + 16 * points.length);
    content.writeInt32LE(8, 0);
    writeBox(content, 4, bbox);
    content.writeInt32LE(points.length, 36);
    points.forEach((p, i) => {
      content.writeDoubleLE(p[0] ?? 0, 40 + 16 * i);
      content.writeDoubleLE(p[1] ?? 0, 48 + 16 * i);
    });
    return { content, bbox };
  }
  const parts = ((shapeType === 5 ? g?.rings : g?.paths) as Coord[][] | undefined) ?? [];
  const points = parts.flat();
  if (points.length === 0) return nullShape();
  const bbox = boundsOf(points);
  const content = Buffer.alloc(44 + 4 * parts.length + 16 * points.length);
  content.writeInt32LE(shapeType, 0);
  writeBox(content, 4, bbox);
  content.writeInt32LE(parts.length, 36);
  content.writeInt32LE(points.length, 40);
  let start = 0;
  parts.forEach((part, i) => {
    content.writeInt32LE(start, 44 + 4 * i);
    start += part.length;
  });
  const base = 44 + 4 * parts.length;
  points.forEach((p, i) => {
    content.writeDoubleLE(p[0] ?? 0, base + 16 * i);
    content.writeDoubleLE(p[1] ?? 0, base + 8 + 16 * i);
  });
  return { content, bbox };
}

function nullShape(): ShapeRecord {
  return { content: Buffer.alloc(4), bbox: undefined };
}

function boundsOf(points: readonly Coord[]): [number, number, number, number] {
  let xmin = Number.POSITIVE_INFINITY;
  let ymin = Number.POSITIVE_INFINITY;
  let xmax = Number.NEGATIVE_INFINITY;
  let ymax = Number.NEGATIVE_INFINITY;
  for (const p of points) {
    const x = p[0] ?? 0;
    const y = p[1] ?? 0;
    if (x < xmin) xmin = x;
    if (y < ymin) ymin = y;
    if (x > xmax) xmax = x;
    if (y > ymax) ymax = y;
  }
  return [xmin, ymin, xmax, ymax];
}

function writeBox(buf: Buffer, at: number, box: [number, number, number, number]): void {
  box.forEach((v, i) => {
    buf.writeDoubleLE(v, at + 8 * i);
  });
}

interface DbfField {
  source: string;
  name: string;
  type: 'C' | 'N' | 'D';
  length: number;
  decimals: number;
  format(value: unknown): string;
}

const INTEGER_TYPES = new Set([
  'esriFieldTypeOID',
  'esriFieldTypeInteger',
  'esriFieldTypeSmallInteger',
  'esriFieldTypeBigInteger',
]);
const SKIPPED = new Set(['esriFieldTypeGeometry', 'esriFieldTypeBlob', 'esriFieldTypeRaster']);

function dbfFields(fields: readonly EsriField[], features: readonly EsriFeatureJson[]): DbfField[] {
  const used = new Set<string>();
  const out: DbfField[] = [];
  for (const field of fields) {
    if (SKIPPED.has(field.type)) continue;
    let name = field.name.slice(0, 10);
    for (let n = 1; used.has(name.toUpperCase()); n++)
      name = `${field.name.slice(0, 10 - String(n).length)}${n}`;
    used.add(name.toUpperCase());
    const source = field.name;
    if (INTEGER_TYPES.has(field.type)) {
      out.push({ source, name, type: 'N', length: 20, decimals: 0, format: numberText });
    } else if (field.type === 'esriFieldTypeDouble' || field.type === 'esriFieldTypeSingle') {
      out.push({ source, name, type: 'N', length: 24, decimals: 15, format: numberText });
    } else if (field.type === 'esriFieldTypeDate') {
      out.push({ source, name, type: 'D', length: 8, decimals: 0, format: dateText });
    } else {
      let longest = 1;
      for (const f of features) {
        const v = f.attributes[source];
        if (v !== null && v !== undefined) longest = Math.max(longest, Buffer.byteLength(String(v)));
      }
      out.push({ source, name, type: 'C', length: Math.min(254, longest), decimals: 0, format: textOf });
    }
  }
  return out;
}

function numberText(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : '';
}

function dateText(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '';
  return new Date(value).toISOString().slice(0, 10).replaceAll('-', '');
}

function textOf(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

function writeDbf(fields: readonly EsriField[], features: readonly EsriFeatureJson[]): Uint8Array {
  const columns = dbfFields(fields, features);
  const headerLength = 32 + 32 * columns.length + 1;
  const recordLength = 1 + columns.reduce((sum, c) => sum + c.length, 0);
  const buf = Buffer.alloc(headerLength + recordLength * features.length + 1, 0x20);
  buf.fill(0, 0, headerLength);
  buf.writeUInt8(3, 0);
  buf.writeUInt8(126, 1); // 2026
  buf.writeUInt8(1, 2);
  buf.writeUInt8(1, 3);
  buf.writeUInt32LE(features.length, 4);
  buf.writeUInt16LE(headerLength, 8);
  buf.writeUInt16LE(recordLength, 10);
  buf.writeUInt8(0x57, 29); // language driver: ANSI (the .cpg says UTF-8)
  columns.forEach((c, i) => {
    const at = 32 + 32 * i;
    buf.write(c.name, at, 10, 'latin1');
    buf.write(c.type, at + 11, 1, 'latin1');
    buf.writeUInt8(c.length, at + 16);
    buf.writeUInt8(c.decimals, at + 17);
  });
  buf.writeUInt8(0x0d, headerLength - 1);
  let at = headerLength;
  for (const feature of features) {
    at += 1; // not deleted (a space)
    for (const c of columns) {
      const text = cut(c.format(feature.attributes[c.source]), c.length);
      if (c.type === 'C') buf.write(text, at, c.length, 'utf8');
      else buf.write(text.padStart(c.length, ' '), at, c.length, 'latin1');
      at += c.length;
    }
  }
  buf.writeUInt8(0x1a, at);
  return buf;
}

/** Cuts text to `bytes` UTF-8 bytes without splitting a character. */
function cut(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (used + n > bytes) break;
    out += ch;
    used += n;
  }
  return out;
}
