/**
 * Object IDs: safe integers only. Some servers send them as floats (`6.4579816E7`) or strings.
 */
import { EtlError } from '../core/errors.js';

/** The OID as a safe integer, or undefined when it is not one (12.0 and "12" are accepted). */
export function toOid(value: unknown): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Like toOid, but throws a clear error naming what was received. */
export function requireOid(value: unknown, what = 'object id'): number {
  const oid = toOid(value);
  if (oid === undefined) {
    throw new EtlError(
      'INVALID_RESPONSE',
      `Invalid ${what}: ${JSON.stringify(value)?.slice(0, 50)} (not a safe integer)`,
    );
  }
  return oid;
}

/** The OID of a feature (attribute lookup, exact name first, then case-insensitive). */
export function featureOid(attributes: Record<string, unknown>, oidField: string): number {
  let value = attributes[oidField];
  if (value === undefined) {
    const lower = oidField.toLowerCase();
    for (const key of Object.keys(attributes)) {
      if (key.toLowerCase() === lower) {
        value = attributes[key];
        break;
      }
    }
  }
  return requireOid(value, `${oidField} value`);
}

/** Sorted, de-duplicated OIDs in a Float64Array (8 bytes each, no per-item objects). */
export function sortedUniqueOids(values: readonly unknown[]): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = requireOid(values[i]);
  out.sort();
  let n = 0;
  for (let i = 0; i < out.length; i++) {
    const v = out[i]!;
    if (n === 0 || out[n - 1] !== v) out[n++] = v;
  }
  return n === out.length ? out : out.slice(0, n);
}
