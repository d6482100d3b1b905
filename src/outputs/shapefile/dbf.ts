/**
 * dBASE III records: a fixed-width row per feature (values as text, UTF-8, as the .cpg says),
 * and the header written once the record count is known.
 */
import { Buffer } from 'node:buffer';
import { EtlError } from '../../core/errors.js';
import { isoUtc } from '../../core/iso-time.js';
import type { GrowBuffer } from '../common/grow-buffer.js';
import { cutUtf8, type DbfColumn } from './dbf-fields.js';

const SPACE = 0x20;

export function recordLength(columns: readonly DbfColumn[]): number {
  return 1 + columns.reduce((n, c) => n + c.width, 0);
}

export function headerLength(columns: readonly DbfColumn[]): number {
  return 32 + 32 * columns.length + 1;
}

/** The header (field descriptors included) for `records` records. */
export function dbfHeader(columns: readonly DbfColumn[], records: number): Buffer {
  const header = Buffer.alloc(headerLength(columns));
  header[0] = 0x03; // dBASE III, no memo
  // last update YYMMDD: left at 1900-01-01 (the output must not depend on the clock)
  header[2] = 1;
  header[3] = 1;
  header.writeUInt32LE(records, 4);
  header.writeUInt16LE(header.length, 8);
  header.writeUInt16LE(recordLength(columns), 10);
  columns.forEach((column, i) => {
    const at = 32 + 32 * i;
    Buffer.from(column.name, 'utf8').copy(header, at, 0, 10);
    header[at + 11] = column.type.charCodeAt(0);
    header[at + 16] = column.width;
    header[at + 17] = column.decimals;
  });
  header[header.length - 1] = 0x0d;
  return header;
}

/** Counts what had to be changed to fit (reported once at the end). */
export interface DbfNotes {
  cutStrings: number;
}

function pad(out: GrowBuffer, bytes: Uint8Array, width: number, right: boolean): void {
  const at = out.reserve(width);
  out.buf.fill(SPACE, at, at + width);
  out.buf.set(bytes, right ? at + width - bytes.length : at);
}

/** `pad` for ASCII text (numbers, dates), written in place without a Buffer of its own. */
function padAscii(out: GrowBuffer, text: string, width: number, right: boolean): void {
  const at = out.reserve(width);
  out.buf.fill(SPACE, at, at + width);
  out.buf.write(text, right ? at + width - text.length : at, text.length, 'latin1');
}

function epochOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

function integerText(value: unknown): string | undefined {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isFinite(value)) {
    return Math.abs(value) < 1e21 ? Math.trunc(value).toFixed(0) : undefined;
  }
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return value.trim();
  if (typeof value === 'boolean') return value ? '1' : '0';
  return undefined;
}

/** Appends one record (deletion flag + every column) to `out`. */
export function encodeRecord(
  out: GrowBuffer,
  columns: readonly DbfColumn[],
  properties: Record<string, unknown>,
  notes: DbfNotes,
): void {
  out.fill(SPACE, 1);
  for (const column of columns) {
    const value = properties[column.source];
    if (value === null || value === undefined) {
      out.fill(SPACE, column.width);
      continue;
    }
    let text: string | undefined;
    switch (column.kind) {
      case 'integer':
        text = integerText(value);
        break;
      case 'number':
        text = typeof value === 'number' && Number.isFinite(value) ? String(value) : integerText(value);
        break;
      case 'date':
      case 'time':
      case 'iso': {
        const ms = epochOf(value);
        const iso = ms === undefined ? undefined : isoUtc(ms);
        if (iso === undefined) break;
        text =
          column.kind === 'iso'
            ? iso
            : column.kind === 'date'
              ? iso.slice(0, 10).replaceAll('-', '')
              : iso.slice(11, 23);
        break;
      }
      case 'dateonly':
        text = typeof value === 'string' ? value.slice(0, 10).replaceAll('-', '') : undefined;
        break;
      case 'string': {
        const full =
          typeof value === 'string'
            ? value
            : typeof value === 'object'
              ? JSON.stringify(value)
              : String(value);
        const bytes = cutUtf8(full, column.width);
        if (bytes.length < Buffer.byteLength(full)) notes.cutStrings++;
        pad(out, bytes, column.width, false);
        continue;
      }
    }
    if (text === undefined || text.length > column.width) {
      throw new EtlError(
        'OUTPUT_ERROR',
        `The value ${JSON.stringify(String(value)).slice(0, 60)} of field ${column.source} does not fit a DBF ${column.type}(${column.width}) field`,
      );
    }
    padAscii(out, text, column.width, column.type === 'N');
  }
}
