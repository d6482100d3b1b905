/**
 * Portal token → server token: `POST {portal}/sharing/rest/generateToken` with `token` (the
 * portal's), `serverUrl` (the federated server's root), `client=referer` and `referer`. The portal
 * token comes from the portal's Authenticator, so one that is expiring is refreshed first; if the
 * exchange still calls it invalid (498/499), it is invalidated and the exchange is tried once more.
 */
import { EtlError, isEtlError } from '../core/errors.js';
import { redactUrl, registerSecret } from '../core/redact.js';
import type { RetryPolicy, Transport } from '../http/types.js';
import { checkCredentialUrl } from './credential-errors.js';
import { parseTokenGrant } from './grant.js';
import { postTokenRequest } from './token-request.js';
import type { Authenticator, FetchTokenContext, TokenGrant, TokenIdentity, TokenProvider } from './types.js';

export interface FederatedExchangeOptions {
  /** The portal's generateToken endpoint. */
  portalTokenUrl: string;
  /** A URL on the portal, to ask `portalAuth` for the portal token. */
  portalUrl: string;
  portalAuth: Authenticator;
  /** The federated server's root, e.g. `https://host/server` (what `serverUrl` carries). */
  serverUrl: string;
  transport: Transport;
  referer: string;
  /**
   * The Referer the portal token is bound to, if it is (client=referer): the exchange request must
   * carry it as its Referer header, or the portal refuses its own token (498).
   */
  portalReferer?: string;
  /** Who the portal token is for (events only). */
  identity?: Pick<TokenIdentity, 'username' | 'clientId'>;
  /** Requested server-token lifetime in minutes (default 60). */
  expirationMinutes?: number;
  retry?: Partial<RetryPolicy> | false;
}

export class FederatedExchangeProvider implements TokenProvider {
  readonly kind = 'federated';
  readonly tokenUrl: string;
  readonly identity: TokenIdentity;
  readonly refreshable = true;
  readonly serverUrl: string;
  readonly #options: FederatedExchangeOptions;

  constructor(options: FederatedExchangeOptions) {
    this.tokenUrl = checkCredentialUrl(options.portalTokenUrl);
    this.serverUrl = options.serverUrl.replace(/\/+$/, '');
    this.#options = options;
    this.identity = { ...options.identity, client: 'referer', referer: options.referer };
  }

  async fetchToken(context: FetchTokenContext): Promise<TokenGrant> {
    const first = await this.#portalToken(context);
    try {
      return await this.#exchange(first, context);
    } catch (error) {
      if (!isEtlError(error, 'TOKEN_INVALID') && !isEtlError(error, 'TOKEN_REQUIRED')) throw error;
      // The portal token itself was refused (revoked, or expired early): renew it once.
      await this.#options.portalAuth.invalidate(first, 'refused by the federation exchange');
      const second = await this.#portalToken(context);
      return this.#exchange(second, context);
    }
  }

  async #portalToken(context: FetchTokenContext): Promise<string> {
    const token = await this.#options.portalAuth.getToken(
      this.#options.portalUrl,
      context.signal ? { signal: context.signal } : {},
    );
    if (token === undefined) {
      throw new EtlError('MISSING_CREDENTIALS', `No portal token for ${redactUrl(this.#options.portalUrl)}`);
    }
    return token;
  }

  async #exchange(portalToken: string, context: FetchTokenContext): Promise<TokenGrant> {
    const o = this.#options;
    const response = await postTokenRequest(
      o.transport,
      this.tokenUrl,
      {
        token: portalToken,
        serverUrl: this.serverUrl,
        client: 'referer',
        referer: o.referer,
        expiration: o.expirationMinutes ?? 60,
        f: 'json',
      },
      {
        who: o.identity?.username ?? o.identity?.clientId,
        retry: o.retry,
        signal: context.signal,
        ...(o.portalReferer ? { headers: { referer: o.portalReferer } } : {}),
      },
    );
    const grant = parseTokenGrant(response.body, this.tokenUrl);
    registerSecret(grant.token, 'token');
    return response.serverDate === undefined ? grant : { ...grant, serverDate: response.serverDate };
  }
}
