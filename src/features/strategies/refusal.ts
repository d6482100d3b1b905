import { type EtlError, isEtlError } from '../../core/errors.js';
import { fallbackError } from '../strategy-errors.js';

/**
 * A server refusing a probe (an ArcGIS error, a 400, an unreadable answer) makes the strategy
 * unavailable; anything else (token, network, abort) is passed through unchanged.
 */
export function refusal(error: unknown, what: string): EtlError | unknown {
  if (
    isEtlError(error) &&
    (error.code === 'ARCGIS_ERROR' ||
      error.code === 'INVALID_RESPONSE' ||
      (error.code === 'HTTP_ERROR' &&
        error.status !== undefined &&
        error.status >= 400 &&
        error.status < 500) ||
      (error.code === 'RETRIES_EXHAUSTED' && error.status === 500))
  ) {
    return fallbackError('NO_STRATEGY', `${what} refused by the server: ${error.message}`, { cause: error });
  }
  return error;
}
