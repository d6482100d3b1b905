/**
 * An `IAuthenticationManager` for `@esri/arcgis-rest-request` (structurally typed: no runtime or type
 * dependency on the Esri packages) backed by our Authenticator, so that
 * `request(url, { authentication: toArcGISRestAuthentication(manager) })` gets our single flight,
 * shared token cache, early refresh, backoff and federation.
 *
 * arcgis-rest-js calls `refreshCredentials()` after a 498/499 without saying which request or token
 * failed. The adapter therefore invalidates the tokens it handed out since the last refresh (so a
 * federated server's 498 renews that server's token, and the portal's only when the portal token was
 * in use too), then fetches fresh ones through the manager's single flight. Concurrent calls share
 * one refresh, and a call arriving within `graceMs` of a refresh keeps the tokens that refresh just
 * produced: N concurrent 498s make one token request. A failed refresh rejects (arcgis-rest-js then
 * reports the error) and is not remembered: the next request tries again.
 *
 * Referer-bound tokens (client=referer, and every federated server token): in Node, arcgis-rest-js
 * sends `Referer: @esri/arcgis-rest-js` unless the request's `headers.referer` says otherwise. For
 * a federated authenticator the adapter binds the server tokens to the Referer the request will
 * carry, with no set-up: the `referer` header of the request options when arcgis-rest-js passes
 * them to `getToken`, else the Referer configured on the connection, else `REST_JS_NODE_REFERER`.
 * (arcgis-rest-js 4.x calls `getToken(url)` without the request options: a Referer given only in
 * each request's `headers` must then be given to `connect({ referer })` as well.) For a plain
 * manager, build it with the Referer arcgis-rest-js sends.
 * (A server's 498 also renews the portal token when the portal token was in use since the last
 * refresh: the interface does not tell which of the two was refused.)
 */
import { type Clock, systemClock } from '../core/time.js';
import { portalEndpoints } from './oauth-endpoints.js';
import type { Authenticator } from './types.js';

/** The part of arcgis-rest-js's `IAuthenticationManager` the adapter implements. */
export interface ArcGISRestAuthentication {
  /** The portal's `…/sharing/rest` URL. */
  portal: string;
  getToken(url: string, requestOptions?: unknown): Promise<string>;
  readonly canRefresh: boolean;
  refreshCredentials(requestOptions?: unknown): Promise<ArcGISRestAuthentication>;
  /** arcgis-rest-js writes here after an anonymous retry to an unfederated server; unused by us. */
  federatedServers: Record<string, unknown>;
}

export interface RestJsAdapterOptions {
  /** The portal (default: the manager's `portalUrl`, else ArcGIS Online). */
  portal?: string;
  /** How long tokens obtained by a refresh are kept against later refresh calls (default 5 s). */
  graceMs?: number;
  clock?: Clock;
}

export const DEFAULT_REFRESH_GRACE_MS = 5_000;
/** The Referer arcgis-rest-js sends from Node by default. */
export const REST_JS_NODE_REFERER = '@esri/arcgis-rest-js';

interface Handed {
  /** A URL the token was asked for (to ask again after invalidating). */
  url: string;
  /** The authenticator that issued it (a Referer-bound sibling of a federated one). */
  auth: Authenticator;
}

/** An authenticator that can bind server tokens to a given Referer (FederatedAuthenticator). */
interface RefererBindable extends Authenticator {
  withReferer(referer: string): Authenticator;
  readonly configuredReferer: string | undefined;
}

function isRefererBindable(auth: Authenticator): auth is RefererBindable {
  return typeof (auth as Partial<RefererBindable>).withReferer === 'function';
}

/** The `referer` header of arcgis-rest-js request options (any case), if any. */
export function refererOf(requestOptions: unknown): string | undefined {
  const headers = (requestOptions as { headers?: unknown } | undefined)?.headers;
  if (headers === null || typeof headers !== 'object') return undefined;
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() === 'referer' && typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

export function toArcGISRestAuthentication(
  auth: Authenticator,
  options: RestJsAdapterOptions = {},
): ArcGISRestAuthentication {
  const clock = options.clock ?? systemClock;
  const graceMs = options.graceMs ?? DEFAULT_REFRESH_GRACE_MS;
  const portal = sharingRestOf(
    options.portal ?? (auth as { portalUrl?: string }).portalUrl ?? 'https://www.arcgis.com',
  );
  /** Tokens handed out since the last refresh, with a URL each was asked for. */
  const handed = new Map<string, Handed>();
  /** Tokens produced by a refresh, and when. */
  const fresh = new Map<string, number>();
  let flight: Promise<ArcGISRestAuthentication> | undefined;

  const adapter: ArcGISRestAuthentication = {
    portal,
    federatedServers: {},
    get canRefresh() {
      return auth.canRefresh;
    },
    async getToken(url: string, requestOptions?: unknown): Promise<string> {
      const issuer = authFor(requestOptions);
      const token = await issuer.getToken(url);
      if (token === undefined) return '';
      if (!handed.has(token)) handed.set(token, { url, auth: issuer });
      return token;
    },
    refreshCredentials(): Promise<ArcGISRestAuthentication> {
      if (flight !== undefined) return flight;
      const current = refresh().finally(() => {
        if (flight === current) flight = undefined;
      });
      flight = current;
      return current;
    },
  };

  /** The authenticator whose tokens fit the Referer arcgis-rest-js will send with this request. */
  function authFor(requestOptions: unknown): Authenticator {
    if (!isRefererBindable(auth)) return auth;
    return auth.withReferer(refererOf(requestOptions) ?? auth.configuredReferer ?? REST_JS_NODE_REFERER);
  }

  async function refresh(): Promise<ArcGISRestAuthentication> {
    const now = clock.now();
    for (const [token, at] of fresh) if (now - at >= graceMs) fresh.delete(token);
    const stale = [...handed].filter(([token]) => !fresh.has(token));
    if (stale.length === 0) return adapter;
    for (const [token] of stale) handed.delete(token);
    await Promise.all(
      stale.map(([token, h]) => h.auth.invalidate(token, 'rejected (arcgis-rest-js refresh)')),
    );
    // Renew now, through the manager's single flight; a failure rejects this refresh only.
    const renewed = await Promise.all(
      stale.map(([, h]) => h.auth.getToken(h.url).then((t) => [t, h] as const)),
    );
    const at = clock.now();
    for (const [token, h] of renewed) {
      if (token === undefined) continue;
      fresh.set(token, at);
      handed.set(token, h);
    }
    return adapter;
  }

  return adapter;
}

function sharingRestOf(portal: string): string {
  try {
    return portalEndpoints(portal).sharingRest;
  } catch {
    return portal;
  }
}
