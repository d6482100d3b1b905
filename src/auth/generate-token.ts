/**
 * Username/password → token through `generateToken`, for Portal / ArcGIS Online
 * (`{portal}/sharing/rest/generateToken`) and ArcGIS Server (`{server}/arcgis/tokens/generateToken`).
 * Credentials travel in the POST form body only, never in a URL, and never follow a redirect.
 */
import { registerSecret } from '../core/redact.js';
import type { Params, RetryPolicy, Transport } from '../http/types.js';
import { checkCredentialUrl } from './credential-errors.js';
import { parseTokenGrant } from './grant.js';
import { resolveSecret } from './secret-source.js';
import { postTokenRequest } from './token-request.js';
import type { FetchTokenContext, TokenGrant, TokenIdentity, TokenProvider } from './types.js';
import { type UserTokenOptions, type UserTokenSettings, userTokenSettings } from './user-token-options.js';

export interface GenerateTokenOptions extends UserTokenOptions {
  /** The generateToken endpoint (see `discoverTokenUrl`). */
  tokenUrl: string;
  transport: Transport;
  /**
   * Overrides for the transport's retry policy. Whatever is given, HTTP 400/401/403 and the token
   * codes are never retried (a retried bad password locks the account).
   */
  retry?: Partial<RetryPolicy> | false;
}

export class GenerateTokenProvider implements TokenProvider {
  readonly kind = 'generateToken';
  readonly tokenUrl: string;
  readonly identity: TokenIdentity;
  readonly refreshable = true;
  readonly #settings: UserTokenSettings;
  readonly #transport: Transport;
  readonly #retry: Partial<RetryPolicy> | false | undefined;

  constructor(options: GenerateTokenOptions) {
    this.tokenUrl = checkCredentialUrl(options.tokenUrl);
    this.#settings = userTokenSettings(options, 'generateToken');
    this.identity = this.#settings.identity;
    this.#transport = options.transport;
    this.#retry = options.retry;
  }

  async fetchToken(context: FetchTokenContext): Promise<TokenGrant> {
    const { identity, client, referer, ip, minutes } = this.#settings;
    const password = await resolveSecret(this.#settings.password, `password for ${identity.username}`);
    const params: Params = { username: identity.username, password, client, expiration: minutes, f: 'json' };
    if (client === 'referer') params.referer = referer;
    if (client === 'ip') params.ip = ip;
    // Exactly one call: the transport retries transient faults; nothing here loops.
    const response = await postTokenRequest(this.#transport, this.tokenUrl, params, {
      who: identity.username,
      retry: this.#retry,
      signal: context.signal,
    });
    const grant = parseTokenGrant(response.body, this.tokenUrl, identity.username);
    registerSecret(grant.token, 'token');
    return response.serverDate === undefined ? grant : { ...grant, serverDate: response.serverDate };
  }
}
