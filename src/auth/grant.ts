/** Validation of a token endpoint's JSON answer. */
import { EtlError } from '../core/errors.js';
import { redactUrl, registerSecret } from '../core/redact.js';
import { credentialError } from './credential-errors.js';
import type { TokenGrant } from './types.js';

/**
 * `{"token": "...", "expires": <epoch ms>, "ssl": bool}` → TokenGrant. Anything else (an error
 * envelope that slipped through, HTML, a missing or non-numeric `expires`) is refused.
 */
export function parseTokenGrant(body: unknown, tokenUrl: string, username?: string): TokenGrant {
  // Redacting is not free: only when there is an error to report.
  const invalid = (message: string) =>
    new EtlError('TOKEN_RESPONSE_INVALID', message, { url: redactUrl(tokenUrl) });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('The token endpoint did not answer a JSON object');
  }
  const o = body as Record<string, unknown>;
  const envelope = o.error;
  if (envelope !== null && typeof envelope === 'object') {
    const e = envelope as { code?: unknown; message?: unknown; details?: unknown };
    const arcgisCode = typeof e.code === 'number' ? e.code : undefined;
    const details = Array.isArray(e.details) ? e.details.map(String) : [];
    const message = typeof e.message === 'string' ? e.message : 'error';
    throw credentialError(
      new EtlError('ARCGIS_ERROR', message, {
        url: redactUrl(tokenUrl),
        details,
        ...(arcgisCode === undefined ? {} : { arcgisCode }),
      }),
      tokenUrl,
      username,
    );
  }
  if (typeof o.token === 'string') registerSecret(o.token, 'token');
  if (typeof o.token !== 'string' || o.token.length === 0) {
    throw invalid('The token endpoint answered no token');
  }
  if (typeof o.expires !== 'number' || !Number.isFinite(o.expires)) {
    throw invalid('The token endpoint answered no numeric "expires"');
  }
  return {
    token: o.token,
    expires: o.expires,
    ...(typeof o.ssl === 'boolean' ? { ssl: o.ssl } : {}),
  };
}
