/**
 * What the server does to the geometry it returns: `--no-geometry` (returnGeometry=false),
 * `--precision N` (geometryPrecision) and `--max-allowable-offset` (generalisation), sent with every
 * feature query.
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
}

/** The parameters of feature queries for these options (returnGeometry included). */
export function geometryParams(options: GeometryOptions | undefined): Params {
  if (options?.returnGeometry === false) return { returnGeometry: false };
  return {
    returnGeometry: true,
    ...(options?.precision === undefined ? {} : { geometryPrecision: options.precision }),
    ...(options?.maxAllowableOffset === undefined ? {} : { maxAllowableOffset: options.maxAllowableOffset }),
  };
}

/** USAGE for a precision that is not an integer 0..17 or an offset that is not a positive number. */
export function validateGeometryOptions(options: GeometryOptions | undefined): void {
  const p = options?.precision;
  if (p !== undefined && !(Number.isInteger(p) && p >= 0 && p <= 17)) {
    throw new EtlError('USAGE', `--precision must be an integer from 0 to 17 (got ${p})`);
  }
  const m = options?.maxAllowableOffset;
  if (m !== undefined && !(Number.isFinite(m) && m > 0)) {
    throw new EtlError('USAGE', `--max-allowable-offset must be a positive number (got ${m})`);
  }
}
