/**
 * What the server does to the geometry it returns: `--no-geometry` (returnGeometry=false),
 * `--precision N` (geometryPrecision), `--max-allowable-offset` (generalisation) and
 * `--datum-transformation` (datumTransformation, with outSR), sent with every feature query.
 */
import { EtlError } from '../core/errors.js';
import type { Params } from '../http/types.js';

export interface GeometryOptions {
  /** false: no geometry at all (returnGeometry=false); the output's geometry is null. Default true. */
  returnGeometry?: boolean | undefined;
  /** Decimals of x/y (`geometryPrecision`). */
  precision?: number | undefined;
  /** Generalisation tolerance in the output's units (`maxAllowableOffset`). */
  maxAllowableOffset?: number | undefined;
  /**
   * `datumTransformation` for projecting to outSR (10.8+): a transformation wkid, or its JSON
   * (`{"wkid":…}`, `{"wkt":…}`, or a composite `{"geoTransforms":[…]}`), sent as given.
   */
  datumTransformation?: number | string | undefined;
}

/** The parameters of feature queries for these options (returnGeometry included). */
export function geometryParams(options: GeometryOptions | undefined): Params {
  if (options?.returnGeometry === false) return { returnGeometry: false };
  return {
    returnGeometry: true,
    ...(options?.precision === undefined ? {} : { geometryPrecision: options.precision }),
    ...(options?.maxAllowableOffset === undefined ? {} : { maxAllowableOffset: options.maxAllowableOffset }),
    ...(options?.datumTransformation === undefined
      ? {}
      : { datumTransformation: options.datumTransformation }),
  };
}

/** A `--datum-transformation` value: a positive integer wkid, or a JSON object (USAGE otherwise). */
export function parseDatumTransformation(text: string): number | string {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed) && Number(trimmed) > 0) return Number(trimmed);
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object') {
    throw new EtlError(
      'USAGE',
      `--datum-transformation must be a transformation wkid or its JSON ({"wkid":…}, {"geoTransforms":[…]}), got "${text.slice(0, 60)}"`,
    );
  }
  return JSON.stringify(value);
}

/** USAGE for a precision that is not an integer 0..17 or an offset that is not a positive number. */
export function validateGeometryOptions(options: GeometryOptions | undefined): void {
  const p = options?.precision;
  if (p !== undefined && !(Number.isInteger(p) && p >= 0 && p <= 17)) {
    throw new EtlError('USAGE', `--precision must be an integer from 0 to 17 (got ${p})`);
  }
  const d = options?.datumTransformation;
  if (d !== undefined) parseDatumTransformation(String(d));
  const m = options?.maxAllowableOffset;
  if (m !== undefined && !(Number.isFinite(m) && m > 0)) {
    throw new EtlError('USAGE', `--max-allowable-offset must be a positive number (got ${m})`);
  }
}
