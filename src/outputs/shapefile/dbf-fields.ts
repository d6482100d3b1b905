/**
 * The DBF columns of a layer: Esri field types → dBASE types and widths, and field names cut to
 * 10 bytes without collisions (compared without case, as readers do). A Date field is a DBF date
 * (D) plus a text field with the time of day (`<name>_t`), or one ISO 8601 text field by option.
 */
import { Buffer } from 'node:buffer';
import { EtlError } from '../../core/errors.js';
import type { EsriField } from '../../core/protocol.js';

export type DbfValueKind = 'string' | 'integer' | 'number' | 'date' | 'time' | 'iso' | 'dateonly';

export interface DbfColumn {
  /** The property it comes from. */
  source: string;
  /** The DBF field name (≤ 10 bytes of UTF-8). */
  name: string;
  type: 'C' | 'N' | 'D';
  width: number;
  decimals: number;
  kind: DbfValueKind;
}

const MAX_NAME = 10;
const MAX_CHAR = 254;

/** `text` cut to at most `max` UTF-8 bytes, never inside a character. */
export function cutUtf8(text: string, max: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return bytes;
  let end = max;
  // back up to the start of a character (continuation bytes are 10xxxxxx)
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function columnsOf(field: EsriField, dates: 'date' | 'text'): Omit<DbfColumn, 'name' | 'source'>[] {
  switch (field.type) {
    case 'esriFieldTypeSmallInteger':
      return [{ type: 'N', width: 6, decimals: 0, kind: 'integer' }];
    case 'esriFieldTypeInteger':
    case 'esriFieldTypeOID':
      return [{ type: 'N', width: 11, decimals: 0, kind: 'integer' }];
    case 'esriFieldTypeBigInteger':
      return [{ type: 'N', width: 20, decimals: 0, kind: 'integer' }];
    case 'esriFieldTypeSingle':
    case 'esriFieldTypeDouble':
      // the shortest text that reads back as the same double fits in 24 characters
      return [{ type: 'N', width: 24, decimals: 15, kind: 'number' }];
    case 'esriFieldTypeDate':
      return dates === 'text'
        ? [{ type: 'C', width: 24, decimals: 0, kind: 'iso' }]
        : [
            { type: 'D', width: 8, decimals: 0, kind: 'date' },
            { type: 'C', width: 12, decimals: 0, kind: 'time' },
          ];
    case 'esriFieldTypeDateOnly':
      return [{ type: 'D', width: 8, decimals: 0, kind: 'dateonly' }];
    case 'esriFieldTypeGUID':
    case 'esriFieldTypeGlobalID':
      return [{ type: 'C', width: 38, decimals: 0, kind: 'string' }];
    case 'esriFieldTypeTimeOnly':
    case 'esriFieldTypeTimestampOffset':
      return [{ type: 'C', width: 32, decimals: 0, kind: 'string' }];
    default: {
      const length = typeof field.length === 'number' && field.length > 0 ? field.length : MAX_CHAR;
      return [{ type: 'C', width: Math.min(MAX_CHAR, length), decimals: 0, kind: 'string' }];
    }
  }
}

/** The DBF columns for these property fields (schema order). */
export function planColumns(fields: readonly EsriField[], dates: 'date' | 'text'): DbfColumn[] {
  const taken = new Set<string>();
  const unique = (wanted: string): string => {
    let name = cutUtf8(wanted, MAX_NAME).toString('utf8');
    for (let i = 1; name === '' || taken.has(name.toLowerCase()); i++) {
      const suffix = `_${i}`;
      name = cutUtf8(wanted, MAX_NAME - suffix.length).toString('utf8') + suffix;
    }
    taken.add(name.toLowerCase());
    return name;
  };
  const out: DbfColumn[] = [];
  for (const field of fields) {
    for (const column of columnsOf(field, dates)) {
      const wanted =
        column.kind === 'time' ? `${cutUtf8(field.name, MAX_NAME - 2).toString('utf8')}_t` : field.name;
      out.push({ ...column, source: field.name, name: unique(wanted) });
    }
  }
  const recordLength = 1 + out.reduce((n, c) => n + c.width, 0);
  if (out.length > 2046 || recordLength > 65535) {
    throw new EtlError(
      'USAGE',
      `A Shapefile cannot hold ${out.length} fields of ${recordLength} bytes a record (DBF limits: 2046 fields, 65535 bytes): export fewer fields (--fields)`,
    );
  }
  return out;
}
