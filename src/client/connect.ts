/**
 * `connect()`: the one call that turns a URL and credentials into a ready ArcGISClient — transport,
 * token endpoint discovery, provider, token cache and TokenManager composed with safe defaults.
 */
import { discoverTokenUrl } from '../auth/discover.js';
import { GenerateTokenProvider, type SecretSource } from '../auth/generate-token.js';
import { StaticTokenProvider } from '../auth/static-token.js';
import { TokenManager } from '../auth/token-manager.js';
import type { TokenProvider } from '../auth/types.js';
import { EtlError } from '../core/errors.js';
import type { Emit, Logger } from '../core/events.js';
import type { TokenClientType } from '../core/protocol.js';
import type { Runtime } from '../core/time.js';
import { originOf, parseHttpUrl } from '../core/url.js';
import { createTransport, type TransportOptions } from '../http/transport.js';
import type { Transport } from '../http/types.js';
import { createTokenStore } from '../stores/index.js';
import type { TokenStore } from '../stores/types.js';
import { ArcGISClient } from './arcgis-client.js';
import type { TokenPlacement } from './types.js';

export type Credentials =
  | { username: string; password: SecretSource }
  | { token: string }
  | { apiKey: string };

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
  /** Refresh when less than this remains (default 120 s). */
  safetyWindowMs?: number | undefined;
  runtime?: Partial<Runtime> | undefined;
  emit?: Emit | undefined;
  logger?: Logger | undefined;
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
  try {
    const { provider, tokenUrl } = await buildProvider(options, transport);
    if (!provider) {
      const client = new ArcGISClient({
        transport,
        tokenPlacement: options.tokenPlacement,
        emit: options.emit,
      });
      return { client, auth: undefined, tokenUrl: undefined, store: undefined, close: closeTransport };
    }
    const store =
      typeof options.tokenCache === 'object'
        ? options.tokenCache
        : createTokenStore(options.tokenCache, {
            ...(options.runtime ? { runtime: options.runtime } : {}),
            ...(options.emit ? { emit: options.emit } : {}),
            ...(options.logger ? { logger: options.logger } : {}),
          });
    const scope = [...new Set([originOf(options.url), ...(tokenUrl ? [originOf(tokenUrl)] : [])])];
    const auth = new TokenManager({
      provider,
      store,
      scope,
      ...(options.safetyWindowMs === undefined ? {} : { safetyWindowMs: options.safetyWindowMs }),
      ...(options.runtime ? { runtime: options.runtime } : {}),
      ...(options.emit ? { emit: options.emit } : {}),
    });
    const client = new ArcGISClient({
      transport,
      auth,
      tokenPlacement: options.tokenPlacement,
      emit: options.emit,
    });
    return {
      client,
      auth,
      tokenUrl,
      store,
      close: async () => {
        await Promise.allSettled([store.close(), closeTransport()]);
      },
    };
  } catch (error) {
    await closeTransport();
    throw error;
  }
}

async function buildProvider(
  options: ConnectOptions,
  transport: Transport,
): Promise<{ provider: TokenProvider | undefined; tokenUrl: string | undefined }> {
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
  let tokenUrl = options.tokenUrl ?? (options.portal ? portalTokenUrl(options.portal) : undefined);
  if (tokenUrl === undefined) {
    const discovery = await discoverTokenUrl(options.url, transport);
    if (!discovery.tokenRequired || discovery.tokenUrl === undefined) {
      return { provider: undefined, tokenUrl: undefined };
    }
    tokenUrl = discovery.tokenUrl;
  }
  if (!credentials.username) throw new EtlError('MISSING_CREDENTIALS', 'a username is required');
  const provider = new GenerateTokenProvider({
    tokenUrl,
    username: credentials.username,
    password: credentials.password,
    transport,
    ...(options.client ? { client: options.client } : {}),
    ...(options.referer ? { referer: options.referer } : {}),
    ...(options.ip ? { ip: options.ip } : {}),
    ...(options.expirationMinutes === undefined ? {} : { expirationMinutes: options.expirationMinutes }),
  });
  return { provider, tokenUrl };
}
