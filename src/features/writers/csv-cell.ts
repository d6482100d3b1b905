/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, a quote, CR or LF, quotes doubled. The
 * data is written as it came. With `excelSafe` (opt-in: `--csv-excel-safe`), strings that a
 * spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) get a leading
 * `'`, which changes the data (`+1 555 0100` becomes `'+1 555 0100`). Numbers are never touched.
 */
import { isoUtc } from '../../core/iso-time.js';

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvText(value: string, excelSafe = false): string {
  const safe = excelSafe && FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Epoch milliseconds → ISO 8601 UTC; values outside the Date range are written as numbers. */
export function csvDate(value: unknown, excelSafe = false): string {
  if (typeof value === 'number') return isoUtc(value) ?? csvValue(value);
  return csvValue(value, excelSafe);
}

export function csvValue(value: unknown, excelSafe = false): string {
  switch (typeof value) {
    case 'string':
      return csvText(value, excelSafe);
    case 'number':
      return Number.isFinite(value) ? String(value) : '';
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'undefined':
      return '';
    default:
      return value === null ? '' : csvText(JSON.stringify(value), excelSafe);
  }
}
