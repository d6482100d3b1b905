/**
 * `connect()`: the one call that turns a URL and credentials into a ready ArcGISClient — transport,
 * token endpoint discovery, provider, token cache and TokenManager composed with safe defaults.
 */
import { discoverTokenUrl, findRestRoot, type TokenDiscovery } from '../auth/discover.js';
import { FederatedAuthenticator } from '../auth/federation.js';
import { GenerateTokenProvider } from '../auth/generate-token.js';
import { legacyTokenUrlOf } from '../auth/legacy-detect.js';
import { LegacyTokenProvider } from '../auth/legacy-token.js';
import { ClientCredentialsProvider } from '../auth/oauth-client-credentials.js';
import { portalEndpoints } from '../auth/oauth-endpoints.js';
import { RefreshTokenProvider } from '../auth/oauth-refresh-token.js';
import type { SecretSource } from '../auth/secret-source.js';
import { StaticTokenProvider } from '../auth/static-token.js';
import { TokenManager } from '../auth/token-manager.js';
import { checkServerNamedUrl } from '../auth/token-url-policy.js';
import type { Authenticator, TokenProvider } from '../auth/types.js';
import { EtlError } from '../core/errors.js';
import type { Emit, Logger } from '../core/events.js';
import type { TokenClientType } from '../core/protocol.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import { originOf, parseHttpUrl } from '../core/url.js';
import { createTransport, type TransportOptions } from '../http/transport.js';
import type { Transport } from '../http/types.js';
import { type CreateTokenStoreOptions, createTokenStore } from '../stores/index.js';
import type { TokenStore } from '../stores/types.js';
import { ArcGISClient } from './arcgis-client.js';
import type { TokenPlacement } from './types.js';

export type Credentials =
  | { username: string; password: SecretSource }
  | { token: string }
  | { apiKey: string }
  /** OAuth: app credentials with a secret; without one, the sign-in saved by `login` (needs `portal`). */
  | { clientId: string; clientSecret?: SecretSource | undefined };

export interface ConnectOptions {
  /** Any URL of the server, service or layer you will query. */
  url: string;
  /** None: public services only. */
  credentials?: Credentials | undefined;
  /** A portal URL (`https://www.arcgis.com`, `https://host/portal`): use its generateToken. */
  portal?: string | undefined;
  /** An explicit token endpoint (skips discovery). */
  tokenUrl?: string | undefined;
  /** generateToken `client` (default `referer` when a referer is given, else `requestip`). */
  client?: TokenClientType | undefined;
  referer?: string | undefined;
  ip?: string | undefined;
  /** Requested token lifetime in minutes (default 60; the server's answer wins). */
  expirationMinutes?: number | undefined;
  /** Where the token goes: POST body (default), `header`, or `query`. */
  tokenPlacement?: TokenPlacement | undefined;
  /** A TokenStore, or a spec: `memory` (default), `file[:PATH]`, `redis://…`. */
  tokenCache?: TokenStore | string | undefined;
  /** For a `tokenCache` spec: Redis key prefix, lock TTL and wait, cache key (default ARCGIS_ETL_CACHE_KEY). */
  tokenCacheOptions?:
    | Pick<CreateTokenStoreOptions, 'prefix' | 'lockTtlMs' | 'lockWaitMs' | 'key'>
    | undefined;
  /** Refresh when less than this remains (default 120 s). */
  safetyWindowMs?: number | undefined;
  runtime?: Partial<Runtime> | undefined;
  emit?: Emit | undefined;
  logger?: Logger | undefined;
  /** Federated servers accepted although their owningSystemUrl names another portal. */
  trustedServers?: readonly string[] | undefined;
  /** Use this transport instead of a new one (it is then not closed by `close()`). */
  transport?: Transport | undefined;
  transportOptions?: Omit<TransportOptions, 'runtime' | 'emit'> | undefined;
}

export interface Connection {
  client: ArcGISClient;
  /** Undefined for public services. */
  auth: TokenManager | undefined;
  /** The token endpoint in use, if any. */
  tokenUrl: string | undefined;
  /** Set when the server is federated with the portal: the client's authenticator (server tokens by exchange). */
  federated?: FederatedAuthenticator | undefined;
  store: TokenStore | undefined;
  /** Closes the transport (pooled connections) and the token store. */
  close(): Promise<void>;
}

function portalTokenUrl(portal: string): string {
  const url = parseHttpUrl(portal);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = /\/sharing\/rest$/i.test(path)
    ? `${path}/generateToken`
    : `${path}/sharing/rest/generateToken`;
  url.search = '';
  return url.toString();
}

export async function connect(options: ConnectOptions): Promise<Connection> {
  parseHttpUrl(options.url);
  const ownTransport = options.transport === undefined;
  const transport =
    options.transport ??
    createTransport({
      ...options.transportOptions,
      ...(options.runtime ? { runtime: options.runtime } : {}),
      ...(options.emit ? { emit: options.emit } : {}),
    });
  const closeTransport = async () => {
    if (ownTransport) await transport.close();
  };
  let store: TokenStore | undefined;
  const getStore = (): TokenStore => {
    store ??=
      typeof options.tokenCache === 'object'
        ? options.tokenCache
        : createTokenStore(options.tokenCache, {
            ...options.tokenCacheOptions,
            ...(options.runtime ? { runtime: options.runtime } : {}),
            ...(options.emit ? { emit: options.emit } : {}),
            ...(options.logger ? { logger: options.logger } : {}),
          });
    return store;
  };
  try {
    const { provider, tokenUrl, federatedPortal } = await buildProvider(options, transport, getStore);
    if (!provider) {
      const client = new ArcGISClient({
        transport,
        tokenPlacement: options.tokenPlacement,
        emit: options.emit,
      });
      return { client, auth: undefined, tokenUrl: undefined, store: undefined, close: closeTransport };
    }
    const tokenStore = getStore();
    const scope = [...new Set([originOf(options.url), ...(tokenUrl ? [originOf(tokenUrl)] : [])])];
    const auth = new TokenManager({
      provider,
      store: tokenStore,
      scope,
      ...(provider instanceof RefreshTokenProvider ? { storeKey: provider.storeKey } : {}),
      ...(options.safetyWindowMs === undefined ? {} : { safetyWindowMs: options.safetyWindowMs }),
      ...(options.runtime ? { runtime: options.runtime } : {}),
      ...(options.emit ? { emit: options.emit } : {}),
    });
    const federated =
      federatedPortal === undefined
        ? undefined
        : new FederatedAuthenticator({
            portal: federatedPortal,
            portalAuth: auth,
            transport,
            store: tokenStore,
            ...(options.trustedServers ? { trustedServers: options.trustedServers } : {}),
            ...(options.referer ? { referer: options.referer } : {}),
            identity: {
              ...(provider.identity.username ? { username: provider.identity.username } : {}),
              ...(provider.identity.clientId ? { clientId: provider.identity.clientId } : {}),
            },
            ...(options.expirationMinutes === undefined
              ? {}
              : { expirationMinutes: options.expirationMinutes }),
            ...(options.safetyWindowMs === undefined ? {} : { safetyWindowMs: options.safetyWindowMs }),
            ...(options.runtime ? { runtime: options.runtime } : {}),
            ...(options.emit ? { emit: options.emit } : {}),
          });
    const client = new ArcGISClient({
      transport,
      auth: (federated ?? auth) as Authenticator,
      tokenPlacement: options.tokenPlacement,
      emit: options.emit,
    });
    return {
      client,
      auth,
      tokenUrl,
      store: tokenStore,
      federated,
      close: async () => {
        await Promise.allSettled([tokenStore.close(), closeTransport()]);
      },
    };
  } catch (error) {
    await Promise.allSettled([store?.close(), closeTransport()]);
    throw error;
  }
}

interface Built {
  provider: TokenProvider | undefined;
  tokenUrl: string | undefined;
  /** The portal a federated server's tokens are exchanged at, when the URL is on such a server. */
  federatedPortal?: string | undefined;
}

async function buildProvider(
  options: ConnectOptions,
  transport: Transport,
  getStore: () => TokenStore,
): Promise<Built> {
  const credentials = options.credentials;
  if (!credentials) return { provider: undefined, tokenUrl: undefined };
  if ('token' in credentials || 'apiKey' in credentials) {
    const scope = [options.url, ...(options.portal ? [options.portal] : [])];
    const provider =
      'token' in credentials
        ? new StaticTokenProvider({ token: credentials.token, scope, kind: 'static' })
        : new StaticTokenProvider({ token: credentials.apiKey, scope, kind: 'api-key' });
    return { provider, tokenUrl: undefined };
  }
  const discovery = await serverDiscovery(options, transport);
  const federatedPortal = federationPortal(options, discovery);
  if ('clientId' in credentials) {
    const portal =
      options.portal ??
      (discovery?.kind === 'portal'
        ? discovery.restRoot.replace(/\/sharing\/rest$/i, '')
        : discovery?.owningSystemUrl);
    if (portal === undefined) {
      throw new EtlError('USAGE', 'OAuth credentials (ARCGIS_CLIENT_ID) need the portal: give --portal URL');
    }
    if (options.portal === undefined) checkServerNamedUrl(options.url, portal, 'rest/info owningSystemUrl');
    const tokenUrl = portalEndpoints(portal).token;
    const clock = resolveRuntime(options.runtime).clock;
    const provider = credentials.clientSecret
      ? new ClientCredentialsProvider({
          tokenUrl,
          clientId: credentials.clientId,
          clientSecret: credentials.clientSecret,
          transport,
          clock,
          ...(options.expirationMinutes === undefined
            ? {}
            : { expirationMinutes: options.expirationMinutes }),
        })
      : new RefreshTokenProvider({
          tokenUrl,
          clientId: credentials.clientId,
          transport,
          store: getStore(),
          clock,
        });
    return { provider, tokenUrl, federatedPortal };
  }
  let tokenUrl = options.tokenUrl ?? (options.portal ? portalTokenUrl(options.portal) : undefined);
  if (tokenUrl === undefined) {
    if (!discovery?.tokenRequired || discovery.tokenUrl === undefined) {
      return { provider: undefined, tokenUrl: undefined };
    }
    tokenUrl = discovery.tokenUrl;
    // named by the server, not by the user: sent credentials only if it is trusted
    checkServerNamedUrl(options.url, tokenUrl, 'rest/info tokenServicesUrl');
  }
  if (!credentials.username) throw new EtlError('MISSING_CREDENTIALS', 'a username is required');
  const legacyUrl = options.tokenUrl || options.portal ? undefined : discovery && legacyTokenUrlOf(discovery);
  const common = {
    username: credentials.username,
    password: credentials.password,
    transport,
    ...(options.client ? { client: options.client } : {}),
    ...(options.referer ? { referer: options.referer } : {}),
    ...(options.ip ? { ip: options.ip } : {}),
    ...(options.expirationMinutes === undefined ? {} : { expirationMinutes: options.expirationMinutes }),
  };
  const provider =
    legacyUrl === undefined
      ? new GenerateTokenProvider({ tokenUrl, ...common })
      : new LegacyTokenProvider({
          tokenUrl: legacyUrl,
          ...common,
          clock: resolveRuntime(options.runtime).clock,
        });
  return { provider, tokenUrl: provider.tokenUrl, federatedPortal };
}

/** The server's rest/info, when the URL is on a server and it matters (no explicit token URL). */
async function serverDiscovery(
  options: ConnectOptions,
  transport: Transport,
): Promise<TokenDiscovery | undefined> {
  if (options.tokenUrl !== undefined) return undefined;
  // a portal URL names its own generateToken (no request)
  if (options.portal === undefined || findRestRoot(options.url).kind === 'portal') {
    return discoverTokenUrl(options.url, transport);
  }
  // With a portal, rest/info only tells whether the server is federated: a failure is not fatal.
  return discoverTokenUrl(options.url, transport).catch(() => undefined);
}

/**
 * A server whose rest/info names an owningSystemUrl is reached with server tokens exchanged at the
 * portal (`portal` if given, else the owning system). ArcGIS Online's hosted servers take the
 * portal token as is.
 */
function federationPortal(
  options: ConnectOptions,
  discovery: TokenDiscovery | undefined,
): string | undefined {
  const owner = discovery?.owningSystemUrl;
  if (owner === undefined || !discovery?.tokenRequired) return undefined;
  const portal = options.portal ?? owner;
  const online = (u: string) => /(^|\.)arcgis\.com$/i.test(parseHttpUrl(u).hostname);
  if (online(portal) && online(options.url)) return undefined;
  // the portal token goes to the owning system named by the server: only if it is trusted
  if (options.portal === undefined) checkServerNamedUrl(options.url, owner, 'rest/info owningSystemUrl');
  return portal;
}
