/**
 * OAuth 2.0 app credentials: `{portal}/sharing/rest/oauth2/token` with
 * `grant_type=client_credentials`, `client_id`, `client_secret` and `expiration` (minutes). The
 * answer's `expires_in` is in SECONDS. The secret is registered for redaction and never reaches the
 * store key, a URL, an event or an error; the token is refreshed like any other by the TokenManager.
 */
import { EtlError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import { type Clock, systemClock } from '../core/time.js';
import type { RetryPolicy, Transport } from '../http/types.js';
import { checkCredentialUrl } from './credential-errors.js';
import { portalEndpoints } from './oauth-endpoints.js';
import { parseOAuthGrant } from './oauth-grant.js';
import { resolveSecret, type SecretSource } from './secret-source.js';
import { postTokenRequest } from './token-request.js';
import type { FetchTokenContext, TokenGrant, TokenIdentity, TokenProvider } from './types.js';

export interface ClientCredentialsOptions {
  /** The portal (`https://www.arcgis.com`, `https://host/portal`); or give `tokenUrl`. */
  portal?: string;
  /** The oauth2/token endpoint, when not derived from `portal`. */
  tokenUrl?: string;
  clientId: string;
  clientSecret: SecretSource;
  transport: Transport;
  /** Requested lifetime in minutes (default 120; ArcGIS caps app tokens at 2 weeks). */
  expirationMinutes?: number;
  /** The local clock, to turn `expires_in` seconds into a time when no Date header came back. */
  clock?: Clock;
  retry?: Partial<RetryPolicy> | false;
}

export class ClientCredentialsProvider implements TokenProvider {
  readonly kind = 'oauth-client-credentials';
  readonly tokenUrl: string;
  readonly identity: TokenIdentity;
  readonly refreshable = true;
  readonly #secret: SecretSource;
  readonly #transport: Transport;
  readonly #expirationMinutes: number;
  readonly #clock: Clock;
  readonly #retry: Partial<RetryPolicy> | false | undefined;

  constructor(options: ClientCredentialsOptions) {
    const url = options.tokenUrl ?? (options.portal ? portalEndpoints(options.portal).token : undefined);
    if (url === undefined) throw new EtlError('USAGE', 'client credentials need a portal or a tokenUrl');
    this.tokenUrl = checkCredentialUrl(url);
    if (!options.clientId) throw new EtlError('MISSING_CREDENTIALS', 'client credentials need a client id');
    if (typeof options.clientSecret === 'string') {
      if (!options.clientSecret) {
        throw new EtlError('MISSING_CREDENTIALS', `no client secret for client id ${options.clientId}`);
      }
      registerSecret(options.clientSecret);
    }
    const minutes = options.expirationMinutes ?? 120;
    if (!Number.isFinite(minutes) || minutes <= 0) {
      throw new EtlError('USAGE', `expirationMinutes must be a positive number of minutes, got ${minutes}`);
    }
    this.#expirationMinutes = Math.round(minutes);
    this.#secret = options.clientSecret;
    this.#transport = options.transport;
    this.#clock = options.clock ?? systemClock;
    this.#retry = options.retry;
    this.identity = { clientId: options.clientId };
  }

  async fetchToken(context: FetchTokenContext): Promise<TokenGrant> {
    const clientId = this.identity.clientId as string;
    const secret = await resolveSecret(this.#secret, `client secret for ${this.identity.clientId}`);
    const response = await postTokenRequest(
      this.#transport,
      this.tokenUrl,
      {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: secret,
        expiration: this.#expirationMinutes,
        f: 'json',
      },
      { who: `client ${clientId}`, retry: this.#retry, signal: context.signal },
    );
    const grant = parseOAuthGrant(
      response.body,
      this.tokenUrl,
      this.#clock.now(),
      response.serverDate,
      `client ${clientId}`,
    );
    return {
      token: grant.token,
      expires: grant.expires,
      ...(grant.serverDate === undefined ? {} : { serverDate: grant.serverDate }),
    };
  }
}
