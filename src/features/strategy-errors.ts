/**
 * Errors after which `auto` may try the next strategy: the strategy is not supported by the server,
 * or one of its guards (repeated page, wrong statistics, id list mismatch) failed.
 */
import { type ErrorCode, EtlError, type EtlErrorOptions } from '../core/errors.js';

const fallbacks = new WeakSet<EtlError>();

export function fallbackError(code: ErrorCode, message: string, options: EtlErrorOptions = {}): EtlError {
  const error = new EtlError(code, message, options);
  fallbacks.add(error);
  return error;
}

export function isFallbackError(error: unknown): error is EtlError {
  return error instanceof EtlError && fallbacks.has(error);
}
