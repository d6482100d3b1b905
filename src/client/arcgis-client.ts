/**
 * ArcGISClient: the transport with authentication composed in. It attaches the token (body,
 * header or query), the Referer of referer-bound tokens, refuses plain http to non-loopback hosts,
 * never follows a redirect to another origin, and refreshes once after a 498/499.
 */
import type { Authenticator } from '../auth/types.js';
import { EtlError, isEtlError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import { registerSecret } from '../core/redact.js';
import { isLoopbackHost, parseHttpUrl } from '../core/url.js';
import type { HttpResponse, Params, RequestOptions, Transport } from '../http/types.js';
import type { ArcGISClientOptions, ClientRequestOptions, ClientStats, TokenPlacement } from './types.js';

const TOKEN_HEADER = 'X-Esri-Authorization';
/** Fresh tokens tried after a token error (the second only when the first fresh one is rejected too). */
const MAX_REFRESHES = 2;

export class ArcGISClient {
  readonly transport: Transport;
  readonly auth: Authenticator | undefined;
  readonly tokenPlacement: TokenPlacement;
  readonly #emit: Emit | undefined;
  #reauths = 0;
  #lastToken: string | undefined;

  constructor(options: ArcGISClientOptions) {
    this.transport = options.transport;
    this.auth = options.auth;
    this.tokenPlacement = options.tokenPlacement ?? 'body';
    this.#emit = options.emit;
  }

  get stats(): ClientStats {
    const t = this.transport.stats;
    return { requests: t.requests, retries: t.retries, reauths: this.#reauths };
  }

  /** The parsed body of an ArcGIS request (`f=json` unless `params.f` says otherwise). */
  async request<T = unknown>(
    url: string,
    params: Params = {},
    options: ClientRequestOptions = {},
  ): Promise<T> {
    return (await this.send<T>(url, params, options)).body;
  }

  /** Like `request`, with the whole response (status, headers, server date, attempts). */
  async send<T = unknown>(
    url: string,
    params: Params = {},
    options: ClientRequestOptions = {},
  ): Promise<HttpResponse<T>> {
    assertSecureUrl(url);
    const signal = options.signal;
    const token = await this.auth?.getToken(url, signal ? { signal } : {});
    try {
      return await this.#attempt<T>(url, params, options, token);
    } catch (error) {
      if (!isTokenError(error)) throw error;
      if (token === undefined) throw noCredentialsError(error, this.auth !== undefined);
      const auth = this.auth!;
      if (!auth.canRefresh) {
        await auth.invalidate(token, `${error.code} for a static token`);
        throw new EtlError(
          'STATIC_TOKEN_INVALID',
          `The static token or API key was rejected (${error.code}); it cannot be refreshed: supply a valid one`,
          errorOptions(error),
        );
      }
      // A fresh token may come from a cache shared with other processes, where another one put a
      // token the server had just revoked too (revoked all at once): that one is replaced once more.
      let rejected: string | undefined = token;
      let why: EtlError = error;
      for (let refresh = 1; ; refresh++) {
        await auth.invalidate(rejected, `${why.code} from ${why.url ?? 'server'}`);
        const fresh = await auth.getToken(url, signal ? { signal } : {});
        this.#reauths++;
        try {
          return await this.#attempt<T>(url, params, options, fresh);
        } catch (again) {
          if (!isTokenError(again)) throw again;
          if (refresh >= MAX_REFRESHES || fresh === undefined) {
            throw new EtlError(
              'TOKEN_INVALID',
              `The token was rejected again after refresh (${again.code}); check the account's access to this service and the Referer/IP binding`,
              errorOptions(again),
            );
          }
          rejected = fresh;
          why = again;
        }
      }
    }
  }

  async #attempt<T>(
    url: string,
    params: Params,
    options: ClientRequestOptions,
    token: string | undefined,
  ): Promise<HttpResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const referer = this.auth?.referer;
    if (referer) headers.Referer = referer;
    const request: RequestOptions = { ...options, headers, params: { ...params }, redirect: 'same-origin' };
    if (token !== undefined) {
      if (token !== this.#lastToken) {
        registerSecret(token, 'token');
        this.#lastToken = token;
      }
      if (this.tokenPlacement === 'header') {
        headers[TOKEN_HEADER] = `Bearer ${token}`;
      } else {
        request.params = { ...request.params, token };
        if (this.tokenPlacement === 'query') request.method = 'GET';
      }
    }
    return this.transport.request<T>(url, request);
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  /** For components that want to report through the client's events. */
  emit(event: Parameters<Emit>[0]): void {
    this.#emit?.(event);
  }
}

function isTokenError(error: unknown): error is EtlError {
  return isEtlError(error, 'TOKEN_INVALID') || isEtlError(error, 'TOKEN_REQUIRED');
}

function errorOptions(error: EtlError) {
  return {
    cause: error,
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.arcgisCode === undefined ? {} : { arcgisCode: error.arcgisCode }),
    ...(error.url === undefined ? {} : { url: error.url }),
  };
}

function noCredentialsError(error: EtlError, hasAuth: boolean): EtlError {
  if (error.code !== 'TOKEN_REQUIRED') return error;
  const hint = hasAuth
    ? 'the configured credentials are not valid for this origin'
    : 'set ARCGIS_USERNAME/ARCGIS_PASSWORD, or a token (ARCGIS_TOKEN / ARCGIS_API_KEY)';
  return new EtlError('TOKEN_REQUIRED', `This service requires a token: ${hint}`, errorOptions(error));
}

/** Plain http is refused except on loopback hosts (the emulator, tests). Checked before any request. */
export function assertSecureUrl(url: string): URL {
  const parsed = parseHttpUrl(url);
  if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) {
    throw new EtlError('INSECURE_URL', `Refusing plain http:// for ${parsed.host}: use https://`, {
      url: `${parsed.origin}${parsed.pathname}`,
    });
  }
  return parsed;
}
