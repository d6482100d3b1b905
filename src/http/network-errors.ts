/**
 * Turns what undici and Node throw (resets, refusals, timeouts, TLS failures, aborts) into an
 * attempt failure with a stable EtlError code.
 */
import { EtlError } from '../core/errors.js';
import type { AttemptFailure } from './retry.js';

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
]);

/** The connection was never established: the server cannot have processed anything. */
const NOT_CONNECTED_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN']);

/** Certificate and TLS setup failures and unknown hosts: retrying will not fix them. */
const PERMANENT_PATTERN =
  /^(?:CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH|ENOTFOUND$)/;

const FRIENDLY: Record<string, string> = {
  UND_ERR_SOCKET: 'socket closed',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_HEADERS_TIMEOUT: 'headers timeout',
  UND_ERR_BODY_TIMEOUT: 'body timeout',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'body shorter than Content-Length',
  Z_BUF_ERROR: 'compressed body cut short',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_DESTROYED: 'connection destroyed',
  ENOTFOUND: 'host not found',
};

/** Every error code in the error, its causes and (for AggregateError) its members. */
export function errorCodes(error: unknown, depth = 0): string[] {
  if (!error || typeof error !== 'object' || depth > 5) return [];
  const out: string[] = [];
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') out.push(code);
  const members = (error as { errors?: unknown }).errors;
  if (Array.isArray(members)) for (const m of members) out.push(...errorCodes(m, depth + 1));
  out.push(...errorCodes((error as { cause?: unknown }).cause, depth + 1));
  return out;
}

export interface NetworkErrorContext {
  url: string;
  signal?: AbortSignal | undefined;
}

/** A failure for anything thrown while sending the request or reading its body. */
export function networkFailure(error: unknown, context: NetworkErrorContext): AttemptFailure {
  if (error instanceof EtlError) {
    return { error, reason: error.code, permanent: !['NETWORK_ERROR', 'TIMEOUT'].includes(error.code) };
  }
  const { url } = context;
  if (context.signal?.aborted || (error instanceof Error && error.name === 'AbortError')) {
    return {
      error: new EtlError('ABORTED', `Request aborted: ${url}`, { cause: error, url }),
      reason: 'aborted',
      permanent: true,
    };
  }
  const codes = errorCodes(error);
  const main = codes.find((c) => c !== 'UND_ERR' && !c.startsWith('ERR_INVALID')) ?? codes[0] ?? 'unknown';
  const label = FRIENDLY[main] ?? main;
  const detail = error instanceof Error && error.message ? `: ${error.message}` : '';
  if (codes.some((c) => TIMEOUT_CODES.has(c))) {
    return {
      error: new EtlError('TIMEOUT', `Request timed out (${label}) for ${url}${detail}`, {
        cause: error,
        url,
      }),
      reason: label,
      notProcessed: codes.includes('UND_ERR_CONNECT_TIMEOUT'),
    };
  }
  if (codes.includes('Z_DATA_ERROR')) {
    return {
      error: new EtlError('INVALID_RESPONSE', `Response could not be decompressed for ${url}${detail}`, {
        cause: error,
        url,
      }),
      reason: 'bad compressed body',
    };
  }
  if (codes.includes('UND_ERR_RES_CONTENT_LENGTH_MISMATCH') || codes.includes('Z_BUF_ERROR')) {
    return {
      error: new EtlError('TRUNCATED_RESPONSE', `Response cut short (${label}) for ${url}${detail}`, {
        cause: error,
        url,
      }),
      reason: label,
    };
  }
  const permanent = codes.some((c) => PERMANENT_PATTERN.test(c));
  return {
    error: new EtlError('NETWORK_ERROR', `Network error (${label}) for ${url}${detail}`, {
      cause: error,
      url,
    }),
    reason: label,
    notProcessed: codes.some((c) => NOT_CONNECTED_CODES.has(c)),
    permanent,
  };
}
