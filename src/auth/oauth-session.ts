/**
 * The saved sign-in of the OAuth user flow: the refresh token, kept in the token cache under its
 * own key (so it outlives the short access-token entries, and is encrypted at rest when the store
 * has a key). The record's `token` is the refresh token; `expiresAt` is the refresh token's end.
 */
import { createHash } from 'node:crypto';
import { registerSecret } from '../core/redact.js';
import type { TokenRecord, TokenStore } from '../stores/types.js';
import { STORE_KEY_PREFIX } from './store-key.js';

export const OAUTH_SESSION_KIND = 'oauth-session';
/** When the portal does not say how long a refresh token lives: ArcGIS's default, 2 weeks. */
export const DEFAULT_REFRESH_TOKEN_LIFETIME_MS = 14 * 24 * 3_600_000;

export interface OAuthSession {
  /** The oauth2/token endpoint. */
  tokenUrl: string;
  clientId: string;
  refreshToken: string;
  /** Local-clock epoch ms. */
  refreshTokenExpiresAt: number;
  /** Local-clock epoch ms at which the refresh token was issued. */
  issuedAt: number;
  username?: string;
  /** The redirect URI the sign-in used (exchange_refresh_token wants a registered one). */
  redirectUri?: string;
}

function digest(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 40);
}

/** Where the saved sign-in of (token URL, client id) lives. */
export function oauthSessionKey(tokenUrl: string, clientId: string): string {
  return `${STORE_KEY_PREFIX}oauth-session:${digest([tokenUrl, clientId])}`;
}

/** Where the access token of the user flow lives (distinct from an app's client-credentials token). */
export function oauthUserTokenKey(tokenUrl: string, clientId: string): string {
  return `${STORE_KEY_PREFIX}oauth-user:${digest([tokenUrl, clientId])}`;
}

export function sessionToRecord(session: OAuthSession): TokenRecord {
  const record: TokenRecord = {
    token: session.refreshToken,
    refreshToken: session.refreshToken,
    expiresAt: session.refreshTokenExpiresAt,
    refreshTokenExpiresAt: session.refreshTokenExpiresAt,
    issuedAt: session.issuedAt,
    tokenUrl: session.tokenUrl,
    scope: new URL(session.tokenUrl).origin,
    kind: OAUTH_SESSION_KIND,
    clientId: session.clientId,
  };
  if (session.username !== undefined) record.username = session.username;
  // The redirect URI is not a secret; the record has no dedicated field for it.
  if (session.redirectUri !== undefined) record.referer = session.redirectUri;
  return record;
}

export function recordToSession(record: TokenRecord): OAuthSession | undefined {
  if (record.kind !== OAUTH_SESSION_KIND || record.clientId === undefined) return undefined;
  const refreshToken = record.refreshToken ?? record.token;
  registerSecret(refreshToken);
  const session: OAuthSession = {
    tokenUrl: record.tokenUrl,
    clientId: record.clientId,
    refreshToken,
    refreshTokenExpiresAt: record.refreshTokenExpiresAt ?? record.expiresAt,
    issuedAt: record.issuedAt,
  };
  if (record.username !== undefined) session.username = record.username;
  if (record.referer !== undefined) session.redirectUri = record.referer;
  return session;
}

export async function readSession(
  store: TokenStore,
  tokenUrl: string,
  clientId: string,
): Promise<OAuthSession | undefined> {
  const record = await store.get(oauthSessionKey(tokenUrl, clientId));
  return record === undefined ? undefined : recordToSession(record);
}

/** Saves the sign-in until its refresh token ends (`now`: the local clock). */
export async function writeSession(store: TokenStore, session: OAuthSession, now: number): Promise<void> {
  registerSecret(session.refreshToken);
  const ttl = session.refreshTokenExpiresAt - now;
  await store.set(oauthSessionKey(session.tokenUrl, session.clientId), sessionToRecord(session), ttl);
}

/** Forgets the sign-in; with `ifRefreshToken`, only when that is still the saved one. */
export async function deleteSession(
  store: TokenStore,
  tokenUrl: string,
  clientId: string,
  ifRefreshToken?: string,
): Promise<void> {
  await store.delete(oauthSessionKey(tokenUrl, clientId), ifRefreshToken);
}
