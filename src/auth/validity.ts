/**
 * When a cached token must be refreshed, and how a grant becomes a record in local time.
 * Pure functions: the TokenManager and its tests share them.
 */
import { EtlError } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';
import type { TokenRecord } from '../stores/types.js';
import type { TokenGrant, TokenProvider } from './types.js';

export const DEFAULT_SAFETY_WINDOW_MS = 120_000;
/** Share of a short token's lifetime after which it is refreshed. */
export const SHORT_LIFETIME_FRACTION = 0.75;
/**
 * An HTTP Date has a one-second resolution and is stamped before the network delay: differences
 * below this are noise, not skew, and are ignored (the safety window covers them).
 */
export const SKEW_TOLERANCE_MS = 2_000;

/** Server clock minus local clock, from the server's Date header at receipt (0 within tolerance). */
export function clockOffset(serverDate: number | undefined, receivedAt: number): number {
  if (serverDate === undefined || !Number.isFinite(serverDate)) return 0;
  const offset = serverDate - receivedAt;
  return Math.abs(offset) < SKEW_TOLERANCE_MS ? 0 : offset;
}

/**
 * Local-clock epoch ms from which the record must no longer be used without a refresh:
 * `expiresAt - window`, or, when the whole lifetime is under twice the window, `issuedAt +
 * 75% of the lifetime` (so a short token is neither refreshed on every call nor used expired).
 */
export function refreshAtOf(
  record: Pick<TokenRecord, 'issuedAt' | 'expiresAt'>,
  safetyWindowMs: number,
): number {
  const lifetime = record.expiresAt - record.issuedAt;
  if (lifetime < 2 * safetyWindowMs) return record.issuedAt + Math.floor(lifetime * SHORT_LIFETIME_FRACTION);
  return record.expiresAt - safetyWindowMs;
}

/**
 * A grant (server clock) → a record (local clock), shifted by `clockOffset`; without a Date header,
 * the clocks are assumed to agree. A token already expired on arrival is refused.
 */
export function recordFromGrant(
  grant: TokenGrant,
  provider: TokenProvider,
  receivedAt: number,
  scope: readonly string[],
): TokenRecord {
  const offset = clockOffset(grant.serverDate, receivedAt);
  const expiresAt = grant.expires - offset;
  if (!(expiresAt > receivedAt)) {
    throw new EtlError(
      'TOKEN_RESPONSE_INVALID',
      `The token endpoint issued a token that has already expired (expires ${new Date(grant.expires).toISOString()}, ` +
        `server clock offset ${Math.round(offset / 1000)} s)`,
      { url: redactUrl(provider.tokenUrl) },
    );
  }
  const { username, clientId, client, referer } = provider.identity;
  const record: TokenRecord = {
    token: grant.token,
    expiresAt,
    issuedAt: receivedAt,
    tokenUrl: provider.tokenUrl,
    scope: scope.join(','),
    kind: provider.kind,
  };
  if (username !== undefined) record.username = username;
  if (clientId !== undefined) record.clientId = clientId;
  if (client !== undefined) record.client = client;
  if (referer !== undefined) record.referer = referer;
  if (grant.refreshToken !== undefined) {
    record.refreshToken = grant.refreshToken;
    if (grant.refreshTokenExpires !== undefined)
      record.refreshTokenExpiresAt = grant.refreshTokenExpires - offset;
  }
  return record;
}
