/**
 * FederatedAuthenticator: one Authenticator for a portal and the ArcGIS Servers federated with it.
 *
 * - URLs on the portal (`{portal}/sharing/rest/…`) get the portal token (the wrapped manager).
 * - For a server URL, the server's `rest/info` is read once (cached): when its `owningSystemUrl` is
 *   the configured portal (or the server is listed in `trustedServers`), the portal token is
 *   exchanged for a server token (`FederatedExchangeProvider`), cached per server in its own
 *   TokenManager, so single flight, the shared store and early refresh apply per server.
 * - A server owned by another portal, or by none, is refused with NOT_FEDERATED (unless trusted).
 *   `trustedServers` entries match the server's root URL, its origin, or its owningSystemUrl (for
 *   a portal known under another name, e.g. an internal host name).
 * - `invalidate(token)` reaches only the manager that issued that token: a server's 498 renews that
 *   server's token, never the portal's.
 * - A server that does not use token security gets no token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { EtlError, isEtlError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import { redactUrl } from '../core/redact.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import { originOf } from '../core/url.js';
import type { RetryPolicy, Transport } from '../http/types.js';
import { MemoryStore } from '../stores/memory.js';
import type { LockOptions, TokenStore } from '../stores/types.js';
import { findRestRoot, readRestInfo } from './discover.js';
import { FederatedExchangeProvider } from './federated-exchange.js';
import { portalEndpoints, samePortal } from './oauth-endpoints.js';
import { STORE_KEY_PREFIX } from './store-key.js';
import { TokenManager } from './token-manager.js';
import type { Authenticator, AuthStats, TokenIdentity } from './types.js';

export interface FederatedAuthenticatorOptions {
  /** The portal URL (`https://host/portal`, `https://www.arcgis.com`). */
  portal: string;
  /** The portal's token manager (generateToken, OAuth, …). */
  portalAuth: Authenticator;
  transport: Transport;
  /** Store for the server tokens (default: a new MemoryStore). Share it to share server tokens. */
  store?: TokenStore;
  /** Servers (root URL or origin) or owning systems accepted as federated with this portal. */
  trustedServers?: readonly string[];
  /** The Referer server tokens are bound to (default: the portal manager's, else the portal URL). */
  referer?: string;
  /** Who the portal token is for (events, and the server tokens' cache key). */
  identity?: Pick<TokenIdentity, 'username' | 'clientId'>;
  /** Distinguishes the portal credential in the shared store (default: the portal manager's storeKey). */
  portalStoreKey?: string;
  expirationMinutes?: number;
  safetyWindowMs?: number;
  runtime?: Partial<Runtime>;
  emit?: Emit;
  lock?: LockOptions;
  retry?: Partial<RetryPolicy> | false;
}

type ServerRoute =
  | { kind: 'federated'; manager: TokenManager }
  | { kind: 'public' }
  | { kind: 'refused'; error: EtlError };

export class FederatedAuthenticator implements Authenticator {
  readonly portalUrl: string;
  readonly referer: string;
  readonly canRefresh = true;
  /** rest/info requests made (one per server, unless they failed). */
  serverInfoRequests = 0;
  readonly #o: FederatedAuthenticatorOptions;
  readonly #endpoints: ReturnType<typeof portalEndpoints>;
  readonly #store: TokenStore;
  readonly #runtime: Runtime;
  readonly #routes = new Map<string, Promise<ServerRoute>>();
  readonly #servers = new Map<string, TokenManager>();
  readonly #portalKey: string;
  /** Siblings bound to other Referers (see `withReferer`), by Referer. */
  readonly #siblings = new Map<string, FederatedAuthenticator>();
  #lastUrl: string | undefined;
  #lastPlace: string | undefined;

  constructor(options: FederatedAuthenticatorOptions) {
    this.#o = options;
    this.#endpoints = portalEndpoints(options.portal);
    this.portalUrl = this.#endpoints.portalUrl;
    this.#runtime = resolveRuntime(options.runtime);
    this.#store =
      options.store ?? new MemoryStore({ clock: this.#runtime.clock, sleep: this.#runtime.sleep });
    this.referer = options.referer ?? options.portalAuth.referer ?? this.portalUrl;
    this.#portalKey =
      options.portalStoreKey ??
      (options.portalAuth as { storeKey?: string }).storeKey ??
      randomBytes(12).toString('hex');
  }

  /** The Referer the user asked for (option or portal manager), if any; undefined when defaulted. */
  get configuredReferer(): string | undefined {
    return this.#o.referer ?? this.#o.portalAuth.referer;
  }

  /**
   * The same portal credential, with server tokens bound to `referer` (the Referer another client,
   * such as arcgis-rest-js, will send). Shares the portal manager, store and settings; cached.
   */
  withReferer(referer: string): FederatedAuthenticator {
    if (referer === this.referer) return this;
    let sibling = this.#siblings.get(referer);
    if (sibling === undefined) {
      sibling = new FederatedAuthenticator({
        ...this.#o,
        store: this.#store,
        runtime: this.#runtime,
        portalStoreKey: this.#portalKey,
        referer,
      });
      this.#siblings.set(referer, sibling);
    }
    return sibling;
  }

  get stats(): AuthStats {
    const all = [this.#o.portalAuth.stats, ...[...this.#servers.values()].map((m) => m.stats)];
    const sum = (k: keyof AuthStats) => all.reduce((n, s) => n + s[k], 0);
    return {
      generated: sum('generated'),
      refreshed: sum('refreshed'),
      invalidated: sum('invalidated'),
      failed: sum('failed'),
      sharedHits: sum('sharedHits'),
    };
  }

  /** The portal's own token manager. */
  get portalAuth(): Authenticator {
    return this.#o.portalAuth;
  }

  /** The token manager of a federated server (any URL on it), once it has been used. */
  serverAuth(url: string): TokenManager | undefined {
    const place = this.#place(url);
    return place === undefined || place === 'portal' ? undefined : this.#servers.get(place.toLowerCase());
  }

  async getToken(url: string, options?: { signal?: AbortSignal }): Promise<string | undefined> {
    const place = this.#place(url);
    if (place === undefined) return undefined;
    if (place === 'portal') return this.#o.portalAuth.getToken(url, options);
    const route = await this.#route(place);
    if (route.kind === 'public') return undefined;
    if (route.kind === 'refused') throw route.error;
    return route.manager.getToken(url, options);
  }

  async invalidate(token: string, reason?: string): Promise<void> {
    await Promise.all([
      this.#o.portalAuth.invalidate(token, reason),
      ...[...this.#servers.values()].map((m) => m.invalidate(token, reason)),
    ]);
  }

  /** `portal`, a server root (`https://host/server`), or undefined for another portal. */
  #place(url: string): 'portal' | string | undefined {
    // pipelines ask about the same URL again and again: remember the last answer
    if (url === this.#lastUrl) return this.#lastPlace;
    const place = this.#findPlace(url);
    this.#lastUrl = url;
    this.#lastPlace = place;
    return place;
  }

  #findPlace(url: string): 'portal' | string | undefined {
    let found: ReturnType<typeof findRestRoot>;
    try {
      found = findRestRoot(url);
    } catch {
      return undefined;
    }
    if (found.kind === 'portal') {
      return found.root.toLowerCase() === this.#endpoints.sharingRest.toLowerCase() ? 'portal' : undefined;
    }
    return found.root.replace(/\/rest$/i, '');
  }

  #route(serverUrl: string): Promise<ServerRoute> {
    const key = serverUrl.toLowerCase();
    let route = this.#routes.get(key);
    if (route === undefined) {
      route = this.#resolve(serverUrl);
      this.#routes.set(key, route);
      // A failure to read rest/info (network, 5xx) is not remembered: the next call asks again.
      route.catch(() => this.#routes.delete(key));
    }
    return route;
  }

  async #resolve(serverUrl: string): Promise<ServerRoute> {
    const restRoot = `${serverUrl}/rest`;
    this.serverInfoRequests++;
    const response = await this.#o.transport.request(`${restRoot}/info`, {
      method: 'GET',
      params: { f: 'json' },
    });
    let info: ReturnType<typeof readRestInfo>;
    try {
      info = readRestInfo(response.body, restRoot);
    } catch (error) {
      if (isEtlError(error, 'TOKEN_ENDPOINT_NOT_FOUND')) return { kind: 'refused', error };
      throw error;
    }
    if (!info.tokenRequired) return { kind: 'public' };
    const owner = info.owningSystemUrl;
    const trusted = this.#trusted(serverUrl, owner);
    if (!trusted && (owner === undefined || !samePortal(owner, this.portalUrl))) {
      const who =
        owner === undefined ? 'is not federated with any portal' : `is federated with ${redactUrl(owner)}`;
      return {
        kind: 'refused',
        error: new EtlError(
          'NOT_FEDERATED',
          `The server ${redactUrl(serverUrl)} ${who}, not with ${redactUrl(this.portalUrl)}: the portal token cannot be exchanged for it (list it in trustedServers if the portal does vouch for it)`,
          { url: redactUrl(restRoot) },
        ),
      };
    }
    const provider = new FederatedExchangeProvider({
      portalTokenUrl: this.#endpoints.generateToken,
      portalUrl: this.#endpoints.sharingRest,
      portalAuth: this.#o.portalAuth,
      serverUrl,
      transport: this.#o.transport,
      referer: this.referer,
      ...(this.#o.portalAuth.referer ? { portalReferer: this.#o.portalAuth.referer } : {}),
      ...(this.#o.identity ? { identity: this.#o.identity } : {}),
      ...(this.#o.expirationMinutes === undefined ? {} : { expirationMinutes: this.#o.expirationMinutes }),
      ...(this.#o.retry === undefined ? {} : { retry: this.#o.retry }),
    });
    const manager = new TokenManager({
      provider,
      store: this.#store,
      scope: [originOf(serverUrl)],
      storeKey: this.#serverStoreKey(serverUrl),
      runtime: this.#runtime,
      ...(this.#o.safetyWindowMs === undefined ? {} : { safetyWindowMs: this.#o.safetyWindowMs }),
      ...(this.#o.emit ? { emit: this.#o.emit } : {}),
      ...(this.#o.lock ? { lock: this.#o.lock } : {}),
    });
    this.#servers.set(serverUrl.toLowerCase(), manager);
    return { kind: 'federated', manager };
  }

  #trusted(serverUrl: string, owner: string | undefined): boolean {
    const list = this.#o.trustedServers ?? [];
    return list.some((entry) => {
      if (samePortal(entry, serverUrl) || (owner !== undefined && samePortal(entry, owner))) return true;
      try {
        return !new URL(entry).pathname.replace(/\/+$/, '') && originOf(entry) === originOf(serverUrl);
      } catch {
        return false;
      }
    });
  }

  /** Per (portal credential, server, referer): never shared between two portal users. */
  #serverStoreKey(serverUrl: string): string {
    const digest = createHash('sha256')
      .update(JSON.stringify([this.#portalKey, serverUrl.toLowerCase(), this.referer]))
      .digest('hex')
      .slice(0, 40);
    return `${STORE_KEY_PREFIX}federated:${digest}`;
  }
}
