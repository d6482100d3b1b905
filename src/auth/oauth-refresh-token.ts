/**
 * OAuth 2.0 user tokens from a saved refresh token (after `arcgis-etl login`):
 * `grant_type=refresh_token` for each new access token, and `exchange_refresh_token` (a new refresh
 * token) when the saved one nears its end: less than `exchangeWithinMs` (24 h) or less than
 * `exchangeFraction` (10%) of its lifetime left. The new refresh token is saved at once. The
 * TokenManager's lock around `fetchToken` means one process at a time refreshes or exchanges.
 *
 * Build the TokenManager with `storeKey: provider.storeKey`, so the user's access token never
 * shares a cache entry with an app token of the same client id.
 */
import { EtlError, isEtlError } from '../core/errors.js';
import { redactUrl, registerSecret } from '../core/redact.js';
import { type Clock, systemClock } from '../core/time.js';
import type { RetryPolicy, Transport } from '../http/types.js';
import type { TokenStore } from '../stores/types.js';
import { checkCredentialUrl } from './credential-errors.js';
import { portalEndpoints } from './oauth-endpoints.js';
import { type OAuthGrant, parseOAuthGrant } from './oauth-grant.js';
import {
  DEFAULT_REFRESH_TOKEN_LIFETIME_MS,
  deleteSession,
  type OAuthSession,
  oauthUserTokenKey,
  readSession,
  writeSession,
} from './oauth-session.js';
import { postTokenRequest } from './token-request.js';
import type { FetchTokenContext, TokenGrant, TokenIdentity, TokenProvider } from './types.js';

export const DEFAULT_EXCHANGE_WITHIN_MS = 24 * 3_600_000;
export const DEFAULT_EXCHANGE_FRACTION = 0.1;

export interface RefreshTokenOptions {
  /** The portal; or give `tokenUrl` (its oauth2/token endpoint). */
  portal?: string;
  tokenUrl?: string;
  clientId: string;
  transport: Transport;
  /** Where the saved sign-in is read from and written to (the shared token cache). */
  store: TokenStore;
  /** A refresh token to start from instead of the saved one (it is then saved). */
  refreshToken?: string;
  /** Local-clock epoch ms at which `refreshToken` ends, when known (default: 2 weeks from now). */
  refreshTokenExpiresAt?: number;
  /** The redirect URI for `exchange_refresh_token` (default: the one the sign-in used). */
  redirectUri?: string;
  /** Exchange when less than this is left (default 24 h)… */
  exchangeWithinMs?: number;
  /** …or less than this share of the refresh token's lifetime (default 0.1). */
  exchangeFraction?: number;
  clock?: Clock;
  retry?: Partial<RetryPolicy> | false;
}

export class RefreshTokenProvider implements TokenProvider {
  readonly kind = 'oauth-refresh-token';
  readonly tokenUrl: string;
  readonly identity: TokenIdentity;
  readonly refreshable = true;
  /** The cache key for this flow's access token: pass it to the TokenManager. */
  readonly storeKey: string;
  /** How many exchange_refresh_token calls this provider made. */
  exchanges = 0;
  readonly #transport: Transport;
  readonly #store: TokenStore;
  readonly #clock: Clock;
  readonly #retry: Partial<RetryPolicy> | false | undefined;
  readonly #redirectUri: string | undefined;
  readonly #exchangeWithinMs: number;
  readonly #exchangeFraction: number;
  #initial: OAuthSession | undefined;

  constructor(options: RefreshTokenOptions) {
    const url = options.tokenUrl ?? (options.portal ? portalEndpoints(options.portal).token : undefined);
    if (url === undefined)
      throw new EtlError('USAGE', 'a refresh-token provider needs a portal or a tokenUrl');
    this.tokenUrl = checkCredentialUrl(url);
    if (!options.clientId) throw new EtlError('MISSING_CREDENTIALS', 'OAuth sign-in needs a client id');
    this.identity = { clientId: options.clientId };
    this.storeKey = oauthUserTokenKey(this.tokenUrl, options.clientId);
    this.#transport = options.transport;
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#retry = options.retry;
    this.#redirectUri = options.redirectUri;
    this.#exchangeWithinMs = options.exchangeWithinMs ?? DEFAULT_EXCHANGE_WITHIN_MS;
    this.#exchangeFraction = options.exchangeFraction ?? DEFAULT_EXCHANGE_FRACTION;
    if (options.refreshToken) {
      registerSecret(options.refreshToken);
      const now = this.#clock.now();
      this.#initial = {
        tokenUrl: this.tokenUrl,
        clientId: options.clientId,
        refreshToken: options.refreshToken,
        issuedAt: now,
        refreshTokenExpiresAt: options.refreshTokenExpiresAt ?? now + DEFAULT_REFRESH_TOKEN_LIFETIME_MS,
        ...(options.redirectUri ? { redirectUri: options.redirectUri } : {}),
      };
    }
  }

  get #clientId(): string {
    return this.identity.clientId as string;
  }

  async fetchToken(context: FetchTokenContext): Promise<TokenGrant> {
    const session = await this.#session();
    const now = this.#clock.now();
    if (now >= session.refreshTokenExpiresAt) {
      await this.#forget(session);
      throw new EtlError(
        'MISSING_CREDENTIALS',
        `The saved sign-in for client ${this.#clientId} expired on ${new Date(session.refreshTokenExpiresAt).toISOString()}: run \`arcgis-etl login\` again`,
        { url: redactUrl(this.tokenUrl) },
      );
    }
    if (this.#nearEnd(session, now)) {
      const exchanged = await this.#exchange(session, context);
      if (exchanged !== undefined) return exchanged;
    }
    const grant = await this.#grant(session, context, {
      grant_type: 'refresh_token',
      client_id: this.#clientId,
      refresh_token: session.refreshToken,
    });
    if (grant.refreshToken !== undefined && grant.refreshToken !== session.refreshToken) {
      // Some portals rotate the refresh token on every use: keep the new one.
      await this.#save(session, grant);
    }
    return toTokenGrant(grant);
  }

  /** True when the refresh token has less than 24 h or 10% of its life left. */
  #nearEnd(session: OAuthSession, now: number): boolean {
    const left = session.refreshTokenExpiresAt - now;
    const lifetime = session.refreshTokenExpiresAt - session.issuedAt;
    return left < this.#exchangeWithinMs || left < lifetime * this.#exchangeFraction;
  }

  /** A new refresh token (and an access token); undefined when the exchange failed but the old one still works. */
  async #exchange(session: OAuthSession, context: FetchTokenContext): Promise<TokenGrant | undefined> {
    const redirectUri = this.#redirectUri ?? session.redirectUri;
    let grant: OAuthGrant;
    try {
      grant = await this.#grant(
        session,
        context,
        {
          grant_type: 'exchange_refresh_token',
          client_id: this.#clientId,
          refresh_token: session.refreshToken,
          ...(redirectUri ? { redirect_uri: redirectUri } : {}),
        },
        false,
      );
    } catch (error) {
      if (isEtlError(error, 'ABORTED')) throw error;
      // A refused exchange (e.g. a redirect URI the portal does not accept) or a transient fault:
      // the refresh token still works until its end; the plain refresh below settles it.
      return undefined;
    }
    this.exchanges++;
    if (grant.refreshToken !== undefined) await this.#save(session, grant);
    return toTokenGrant(grant);
  }

  async #grant(
    session: OAuthSession,
    context: FetchTokenContext,
    params: Record<string, string>,
    forgetOnRefusal = true,
  ): Promise<OAuthGrant> {
    const who = `client ${this.#clientId}`;
    try {
      const response = await postTokenRequest(
        this.#transport,
        this.tokenUrl,
        { ...params, f: 'json' },
        { who, retry: this.#retry, signal: context.signal },
      );
      return parseOAuthGrant(response.body, this.tokenUrl, this.#clock.now(), response.serverDate, who);
    } catch (error) {
      if (forgetOnRefusal && isEtlError(error) && refused(error)) {
        await this.#forget(session);
        throw new EtlError(
          'BAD_CREDENTIALS',
          `The portal refused the saved sign-in for client ${this.#clientId} (${error.message}): run \`arcgis-etl login\` again`,
          {
            cause: error,
            url: redactUrl(this.tokenUrl),
            ...(error.arcgisCode === undefined ? {} : { arcgisCode: error.arcgisCode }),
          },
        );
      }
      throw error;
    }
  }

  async #session(): Promise<OAuthSession> {
    let saved: OAuthSession | undefined;
    try {
      saved = await readSession(this.#store, this.tokenUrl, this.#clientId);
    } catch (cause) {
      if (this.#initial === undefined) {
        throw new EtlError('CACHE_ERROR', 'Could not read the saved sign-in from the token cache', { cause });
      }
    }
    if (saved !== undefined) return saved;
    if (this.#initial !== undefined) {
      const initial = this.#initial;
      await writeSession(this.#store, initial, this.#clock.now()).catch(() => {});
      return initial;
    }
    throw new EtlError(
      'MISSING_CREDENTIALS',
      `No saved sign-in for client ${this.#clientId} at ${redactUrl(this.tokenUrl)}: run \`arcgis-etl login --portal URL --client-id ${this.#clientId}\` first (with the same --token-cache)`,
    );
  }

  async #save(previous: OAuthSession, grant: OAuthGrant): Promise<void> {
    const now = this.#clock.now();
    const skew = grant.serverDate === undefined ? 0 : grant.serverDate - now;
    const next: OAuthSession = {
      ...previous,
      refreshToken: grant.refreshToken as string,
      issuedAt: now,
      refreshTokenExpiresAt:
        grant.refreshTokenExpires === undefined
          ? now + DEFAULT_REFRESH_TOKEN_LIFETIME_MS
          : grant.refreshTokenExpires - skew,
      ...(grant.username ? { username: grant.username } : {}),
    };
    if (this.#initial !== undefined) this.#initial = next;
    await writeSession(this.#store, next, now);
  }

  async #forget(session: OAuthSession): Promise<void> {
    if (this.#initial?.refreshToken === session.refreshToken) this.#initial = undefined;
    await deleteSession(this.#store, this.tokenUrl, this.#clientId, session.refreshToken).catch(() => {});
  }
}

/** A refusal of the refresh token itself (expired, revoked, unknown, wrong client). */
function refused(error: EtlError): boolean {
  return (
    error.code === 'BAD_CREDENTIALS' || error.code === 'TOKEN_INVALID' || error.code === 'TOKEN_REQUIRED'
  );
}

function toTokenGrant(grant: OAuthGrant): TokenGrant {
  return {
    token: grant.token,
    expires: grant.expires,
    ...(grant.serverDate === undefined ? {} : { serverDate: grant.serverDate }),
    ...(grant.ssl === undefined ? {} : { ssl: grant.ssl }),
  };
}
