/**
 * The Parquet schema of a layer: one column per property field, then the WKB geometry and its
 * bbox covering struct (xmin, ymin, xmax, ymax; GeoParquet 1.1). Esri types map to:
 * OID and 64-bit integers → INT64 (exact: bigints), Integer/SmallInteger → INT32, Double/Single →
 * DOUBLE (the values as they came, never rounded to float32), Date → INT64 TIMESTAMP(MILLIS, UTC),
 * everything else → UTF-8 strings.
 */
import type { SchemaElement } from 'hyparquet';
import type { EsriField } from '../../core/protocol.js';
import { attributeFields, freeColumnName } from '../fields.js';

export type ValueKind = 'int32' | 'int64' | 'double' | 'timestamp' | 'string';

export interface ParquetColumn {
  name: string;
  kind: ValueKind;
}

const KINDS: Readonly<Record<string, ValueKind>> = {
  esriFieldTypeOID: 'int64',
  esriFieldTypeBigInteger: 'int64',
  esriFieldTypeInteger: 'int32',
  esriFieldTypeSmallInteger: 'int32',
  esriFieldTypeDouble: 'double',
  esriFieldTypeSingle: 'double',
  esriFieldTypeDate: 'timestamp',
};

function element(name: string, kind: ValueKind): SchemaElement {
  switch (kind) {
    case 'int32':
      return { name, type: 'INT32', repetition_type: 'OPTIONAL' };
    case 'int64':
      return { name, type: 'INT64', repetition_type: 'OPTIONAL' };
    case 'double':
      return { name, type: 'DOUBLE', repetition_type: 'OPTIONAL' };
    case 'timestamp':
      return {
        name,
        type: 'INT64',
        repetition_type: 'OPTIONAL',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      };
    case 'string':
      return {
        name,
        type: 'BYTE_ARRAY',
        repetition_type: 'OPTIONAL',
        converted_type: 'UTF8',
        logical_type: { type: 'STRING' },
      };
  }
}

export interface ParquetLayout {
  columns: ParquetColumn[];
  /** Undefined for a layer without geometry (written as plain Parquet, no `geo` metadata). */
  geometry: { column: string; bbox: string } | undefined;
  schema: SchemaElement[];
}

export function parquetLayout(fields: readonly EsriField[], withGeometry: boolean): ParquetLayout {
  const columns = attributeFields(fields).map((f) => ({ name: f.name, kind: KINDS[f.type] ?? 'string' }));
  const names = columns.map((c) => c.name);
  const geometryName = withGeometry ? freeColumnName('geometry', names) : undefined;
  const bboxName = withGeometry ? freeColumnName('bbox', [...names, geometryName!]) : undefined;
  const schema: SchemaElement[] = [
    { name: 'schema', num_children: columns.length + (withGeometry ? 2 : 0) },
    ...columns.map((c) => element(c.name, c.kind)),
  ];
  if (geometryName !== undefined && bboxName !== undefined) {
    schema.push(
      { name: geometryName, type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
      { name: bboxName, repetition_type: 'OPTIONAL', num_children: 4 },
      { name: 'xmin', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      { name: 'ymin', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      { name: 'xmax', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      { name: 'ymax', type: 'DOUBLE', repetition_type: 'REQUIRED' },
    );
  }
  return {
    columns,
    geometry:
      geometryName !== undefined && bboxName !== undefined
        ? { column: geometryName, bbox: bboxName }
        : undefined,
    schema,
  };
}

/** One value as the column wants it; anything that does not fit is an OUTPUT_ERROR of the caller. */
export function columnValue(kind: ValueKind, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'int32':
      return typeof value === 'number' ? value : Number(value);
    case 'int64':
      return typeof value === 'bigint' ? value : BigInt(value as number | string);
    case 'double':
      return typeof value === 'number' ? value : Number(value);
    case 'timestamp':
      return typeof value === 'number' ? BigInt(Math.trunc(value)) : BigInt(Date.parse(String(value)));
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}
