/**
 * Registered OAuth apps: lookup and redirect-URI matching.
 */
import { isLoopbackHost } from '../core/url.js';
import type { EmulatorState } from './state.js';
import type { OAuthAppSpec } from './types.js';

export function findApp(state: EmulatorState, clientId: string | undefined): OAuthAppSpec | undefined {
  if (!clientId) return undefined;
  return state.options.apps.find((a) => a.clientId === clientId);
}

/** Exact match; loopback redirect URIs match on any port (RFC 8252 §7.3). */
export function redirectAllowed(app: OAuthAppSpec, redirectUri: string): boolean {
  if (app.redirectUris.includes(redirectUri)) return true;
  let sent: URL;
  try {
    sent = new URL(redirectUri);
  } catch {
    return false;
  }
  if (sent.protocol !== 'http:' || !isLoopbackHost(sent.hostname)) return false;
  return app.redirectUris.some((registered) => {
    const r = new URL(registered);
    return (
      r.protocol === sent.protocol &&
      r.hostname === sent.hostname &&
      r.pathname === sent.pathname &&
      r.search === sent.search
    );
  });
}

/** Access-token lifetime in ms of the app's user tokens (authorization code, refresh). */
export function userTokenLifetimeMs(state: EmulatorState, app: OAuthAppSpec): number {
  if (state.options.tokenLifetimeSeconds !== undefined) return state.options.tokenLifetimeSeconds * 1000;
  return (app.tokenMinutes ?? 30) * 60_000;
}

/** App-token cap: two weeks, in minutes. */
export const MAX_APP_TOKEN_MINUTES = 20_160;

/** client_credentials lifetime in ms: `expiration` minutes asked, else the app default (120), capped. */
export function appTokenLifetimeMs(
  state: EmulatorState,
  app: OAuthAppSpec,
  expiration: string | undefined,
): number {
  if (state.options.tokenLifetimeSeconds !== undefined) return state.options.tokenLifetimeSeconds * 1000;
  const asked = expiration === undefined ? Number.NaN : Number(expiration);
  const minutes = Number.isFinite(asked) && asked > 0 ? asked : (app.tokenMinutes ?? 120);
  return Math.min(minutes, MAX_APP_TOKEN_MINUTES) * 60_000;
}
