/**
 * The table a layer becomes: each Esri field → a PostgreSQL column (name kept exactly, type from
 * the map below), and the geometry column `geometry(<type>[Z], <srid>)`. Each column knows how to
 * write a property value in binary COPY format; a value that does not fit its type is an error
 * naming the field, never a silent change.
 */
import { EtlError } from '../../core/errors.js';
import type { EsriField, EsriGeometryType } from '../../core/protocol.js';
import type { CopyBuffer } from './copy-buffer.js';
import type { PostgisGeometryType } from './ewkb.js';
import { MAX_IDENTIFIER_BYTES } from './target.js';

export type PgType =
  | 'smallint'
  | 'integer'
  | 'bigint'
  | 'real'
  | 'double precision'
  | 'text'
  | 'timestamp with time zone'
  | 'date'
  | 'time without time zone';

/**
 * Esri field type → PostgreSQL type. OIDs are bigint (ArcGIS has 64-bit object ids), 64-bit
 * integers are bigint exactly, dates are timestamptz (Esri dates are UTC instants). GUIDs stay
 * text as the server wrote them (braces and case kept).
 */
export const PG_TYPE_OF: Readonly<Record<string, PgType>> = {
  esriFieldTypeOID: 'bigint',
  esriFieldTypeSmallInteger: 'smallint',
  esriFieldTypeInteger: 'integer',
  esriFieldTypeBigInteger: 'bigint',
  esriFieldTypeSingle: 'real',
  esriFieldTypeDouble: 'double precision',
  esriFieldTypeString: 'text',
  esriFieldTypeDate: 'timestamp with time zone',
  esriFieldTypeDateOnly: 'date',
  esriFieldTypeTimeOnly: 'time without time zone',
  esriFieldTypeTimestampOffset: 'timestamp with time zone',
  esriFieldTypeGlobalID: 'text',
  esriFieldTypeGUID: 'text',
  esriFieldTypeXML: 'text',
};

/** Fields that hold no property value (as the GeoJSON converter leaves them out). */
const NOT_COLUMNS = new Set(['esriFieldTypeGeometry', 'esriFieldTypeBlob', 'esriFieldTypeRaster']);

export interface Column {
  /** Column name = the field name, exactly. */
  name: string;
  type: PgType;
  esriType: string;
  /** Writes one value (null/undefined → NULL). Throws a ValueError when it does not fit. */
  write(out: CopyBuffer, value: unknown): void;
}

export interface GeometryColumn {
  name: string;
  type: PostgisGeometryType;
  hasZ: boolean;
  srid: number;
  /** `geometry(MultiPolygonZ,4326)`. */
  sql: string;
}

export interface TablePlan {
  columns: Column[];
  geometry: GeometryColumn | undefined;
  /** The OID column when the layer's OID field is among the columns. */
  oidColumn: string | undefined;
}

/** A value that does not fit its column; the writer adds the field and the feature. */
export class ValueError extends Error {}

const GEOMETRY_TYPE_OF: Record<EsriGeometryType, PostgisGeometryType> = {
  esriGeometryPoint: 'Point',
  esriGeometryMultipoint: 'MultiPoint',
  esriGeometryPolyline: 'MultiLineString',
  esriGeometryPolygon: 'MultiPolygon',
  esriGeometryEnvelope: 'MultiPolygon',
};

export interface PlanInput {
  fields: readonly EsriField[];
  geometryType?: EsriGeometryType | undefined;
  hasZ?: boolean | undefined;
  oidField?: string | undefined;
  srid: number;
}

export function planTable(input: PlanInput): TablePlan {
  const columns: Column[] = [];
  const seen = new Set<string>();
  for (const field of input.fields) {
    if (NOT_COLUMNS.has(field.type) || seen.has(field.name)) continue;
    seen.add(field.name);
    const type = PG_TYPE_OF[field.type] ?? 'text';
    if (
      Buffer.byteLength(field.name) > MAX_IDENTIFIER_BYTES ||
      field.name === '' ||
      field.name.includes('\0')
    ) {
      throw new EtlError(
        'OUTPUT_ERROR',
        `The field "${field.name}" cannot be a PostgreSQL column name (empty, a NUL, or longer than ${MAX_IDENTIFIER_BYTES} bytes)`,
      );
    }
    columns.push({ name: field.name, type, esriType: field.type, write: writerFor(type) });
  }
  let geometry: GeometryColumn | undefined;
  if (input.geometryType !== undefined) {
    const type = GEOMETRY_TYPE_OF[input.geometryType];
    if (type === undefined) {
      throw new EtlError('UNSUPPORTED_GEOMETRY', `Cannot write ${input.geometryType} geometries to PostGIS`);
    }
    const hasZ = input.hasZ === true;
    let name = 'geom';
    for (let i = 1; seen.has(name); i++) name = `geom_${i}`;
    geometry = {
      name,
      type,
      hasZ,
      srid: input.srid,
      sql: `geometry(${type}${hasZ ? 'Z' : ''},${input.srid})`,
    };
  }
  const oidColumn = input.oidField !== undefined && seen.has(input.oidField) ? input.oidField : undefined;
  return { columns, geometry, oidColumn };
}

type Write = (out: CopyBuffer, value: unknown) => void;

function writerFor(type: PgType): Write {
  switch (type) {
    case 'smallint':
      return nullable((out, v) => out.fieldInt16(integer(v, -32768, 32767)));
    case 'integer':
      return nullable((out, v) => out.fieldInt32(integer(v, -2147483648, 2147483647)));
    case 'bigint':
      return nullable((out, v) => out.fieldInt64(int64(v)));
    case 'real':
      return nullable((out, v) => out.fieldFloat32(float(v)));
    case 'double precision':
      return nullable((out, v) => out.fieldFloat64(float(v)));
    case 'text':
      return nullable((out, v) => out.fieldText(text(v)));
    case 'timestamp with time zone':
      return nullable((out, v) => out.fieldInt64(timestampMicros(v)));
    case 'date':
      return nullable((out, v) => out.fieldInt32(dateDays(v)));
    case 'time without time zone':
      return nullable((out, v) => out.fieldInt64(timeMicros(v)));
  }
}

function nullable(write: Write): Write {
  return (out, v) => {
    if (v === null || v === undefined) out.null();
    else write(out, v);
  };
}

function describe(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function number(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  if (typeof v === 'bigint') return Number(v);
  throw new ValueError(`${describe(v)} is not a number`);
}

function integer(v: unknown, min: number, max: number): number {
  const n = number(v);
  if (!Number.isInteger(n)) throw new ValueError(`${describe(v)} is not an integer`);
  if (n < min || n > max) throw new ValueError(`${describe(v)} is out of range (${min} to ${max})`);
  return n;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function int64(v: unknown): number | bigint {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    if (!Number.isInteger(v)) throw new ValueError(`${describe(v)} is not an integer`);
    // an integer beyond 2^53 arrived as a double: its digits are written as they are
    return checked64(BigInt(v), v);
  }
  if (typeof v === 'bigint') return checked64(v, v);
  if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) return checked64(BigInt(v.trim()), v);
  throw new ValueError(`${describe(v)} is not an integer`);
}

function checked64(n: bigint, v: unknown): bigint {
  if (n < INT64_MIN || n > INT64_MAX) throw new ValueError(`${describe(v)} is out of the 64-bit range`);
  return n;
}

function float(v: unknown): number {
  const n = number(v);
  if (Number.isNaN(n) && typeof v !== 'number') throw new ValueError(`${describe(v)} is not a number`);
  return n;
}

function text(v: unknown): string {
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (s.includes('\0')) throw new ValueError('a NUL character, which PostgreSQL text cannot hold');
  return s;
}

/** Microseconds from 2000-01-01T00:00:00Z (PostgreSQL's epoch). */
const PG_EPOCH_MS = 946_684_800_000;
const DAY_MS = 86_400_000;

function epochMs(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new ValueError(`${describe(v)} is not a date`);
}

function timestampMicros(v: unknown): number | bigint {
  const ms = epochMs(v);
  const us = Math.round((ms - PG_EPOCH_MS) * 1000);
  return Number.isSafeInteger(us) ? us : BigInt(Math.round(ms - PG_EPOCH_MS)) * 1000n;
}

function dateDays(v: unknown): number {
  if (typeof v === 'string') {
    const m = /^\s*(-?\d{4,})-(\d{2})-(\d{2})\s*$/.exec(v);
    if (m) {
      const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      if (Number.isFinite(ms)) return Math.floor((ms - PG_EPOCH_MS) / DAY_MS);
    }
  }
  return Math.floor((epochMs(v) - PG_EPOCH_MS) / DAY_MS);
}

function timeMicros(v: unknown): number {
  if (typeof v === 'string') {
    const m = /^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*$/.exec(v);
    if (m) {
      const fraction = Number((m[4] ?? '').padEnd(6, '0'));
      const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0);
      if (seconds <= 86400) return seconds * 1_000_000 + fraction;
    }
    throw new ValueError(`${describe(v)} is not a time of day`);
  }
  // a number: milliseconds since midnight
  const ms = number(v);
  if (!(ms >= 0 && ms <= DAY_MS)) throw new ValueError(`${describe(v)} is not a time of day`);
  return Math.round(ms * 1000);
}
