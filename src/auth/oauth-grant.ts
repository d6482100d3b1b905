/**
 * Validation of an OAuth 2.0 token answer: `{access_token, expires_in (SECONDS), refresh_token?,
 * refresh_token_expires_in? (SECONDS), username?}`. Seconds become server-clock epoch ms from the
 * response's Date header (else the local clock), so the TokenManager can correct skew as usual.
 */
import { EtlError } from '../core/errors.js';
import { redactUrl, registerSecret } from '../core/redact.js';
import { credentialError } from './credential-errors.js';
import type { TokenGrant } from './types.js';

export interface OAuthGrant extends TokenGrant {
  /** The signed-in user (authorization code and refresh grants). */
  username?: string;
}

/**
 * `receivedAt`: local epoch ms at receipt; `serverDate`: the Date header, when sent. `expires` is
 * on the server's clock when `serverDate` is known (the manager then subtracts the skew).
 */
export function parseOAuthGrant(
  body: unknown,
  tokenUrl: string,
  receivedAt: number,
  serverDate: number | undefined,
  who?: string,
): OAuthGrant {
  const url = redactUrl(tokenUrl);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new EtlError('TOKEN_RESPONSE_INVALID', 'The OAuth token endpoint did not answer a JSON object', {
      url,
    });
  }
  const o = body as Record<string, unknown>;
  if (typeof o.access_token === 'string') registerSecret(o.access_token, 'token');
  if (typeof o.refresh_token === 'string') registerSecret(o.refresh_token);
  const refusal = oauthRefusal(o, tokenUrl, who);
  if (refusal) throw refusal;
  if (typeof o.access_token !== 'string' || o.access_token.length === 0) {
    throw new EtlError('TOKEN_RESPONSE_INVALID', 'The OAuth token endpoint answered no access_token', {
      url,
    });
  }
  const seconds = toSeconds(o.expires_in);
  if (seconds === undefined) {
    throw new EtlError('TOKEN_RESPONSE_INVALID', 'The OAuth token endpoint answered no numeric expires_in', {
      url,
    });
  }
  const base = serverDate ?? receivedAt;
  const grant: OAuthGrant = { token: o.access_token, expires: base + seconds * 1000 };
  if (serverDate !== undefined) grant.serverDate = serverDate;
  if (typeof o.ssl === 'boolean') grant.ssl = o.ssl;
  if (typeof o.username === 'string' && o.username) grant.username = o.username;
  if (typeof o.refresh_token === 'string' && o.refresh_token) {
    grant.refreshToken = o.refresh_token;
    const refreshSeconds = toSeconds(o.refresh_token_expires_in);
    if (refreshSeconds !== undefined) grant.refreshTokenExpires = base + refreshSeconds * 1000;
  }
  return grant;
}

/**
 * The standard OAuth error shape `{"error": "invalid_grant", "error_description": "…"}` (the
 * ArcGIS `{"error": {…}}` envelope is turned into an EtlError by the transport already).
 */
export function oauthRefusal(
  body: Record<string, unknown>,
  tokenUrl: string,
  who?: string,
): EtlError | undefined {
  const error = body.error;
  if (error === undefined || error === null) return undefined;
  if (typeof error === 'object') {
    const e = error as Record<string, unknown>;
    const code = typeof e.code === 'number' ? e.code : undefined;
    const message = String(e.message ?? e.error_description ?? e.error ?? 'error');
    const details = Array.isArray(e.details) ? e.details.map(String) : [];
    return credentialError(
      new EtlError(code === 498 ? 'TOKEN_INVALID' : 'ARCGIS_ERROR', message, {
        url: redactUrl(tokenUrl),
        details,
        ...(code === undefined ? {} : { arcgisCode: code }),
      }),
      tokenUrl,
      who,
    );
  }
  const description = typeof body.error_description === 'string' ? body.error_description : String(error);
  return credentialError(
    new EtlError('ARCGIS_ERROR', `${String(error)}: ${description}`, {
      url: redactUrl(tokenUrl),
      arcgisCode: 400,
    }),
    tokenUrl,
    who,
  );
}

function toSeconds(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}
