/**
 * Username/password → token through `generateToken`, for Portal / ArcGIS Online
 * (`{portal}/sharing/rest/generateToken`) and ArcGIS Server (`{server}/arcgis/tokens/generateToken`).
 * Credentials travel in the POST form body only, never in a URL, and never follow a redirect.
 */
import { EtlError } from '../core/errors.js';
import type { TokenClientType } from '../core/protocol.js';
import { registerSecret } from '../core/redact.js';
import type { Params, RetryPolicy, Transport } from '../http/types.js';

import { checkCredentialUrl } from './credential-errors.js';
import { parseTokenGrant } from './grant.js';
import { resolveSecret, type SecretSource } from './secret-source.js';
import { postTokenRequest } from './token-request.js';
import type { FetchTokenContext, TokenGrant, TokenIdentity, TokenProvider } from './types.js';

export interface GenerateTokenOptions {
  /** The generateToken endpoint (see `discoverTokenUrl`). */
  tokenUrl: string;
  username: string;
  password: SecretSource;
  transport: Transport;
  /** Default: `referer` when a referer is given, else `requestip`. */
  client?: TokenClientType;
  /** Required with client=referer: every request using the token must carry this Referer. */
  referer?: string;
  /** Required with client=ip. */
  ip?: string;
  /** Requested lifetime in minutes (default 60). The server may cap it: `expires` is what counts. */
  expirationMinutes?: number;
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
  readonly #password: SecretSource;
  readonly #transport: Transport;
  readonly #client: TokenClientType;
  readonly #referer: string | undefined;
  readonly #ip: string | undefined;
  readonly #expirationMinutes: number;
  readonly #retry: Partial<RetryPolicy> | false | undefined;

  constructor(options: GenerateTokenOptions) {
    this.tokenUrl = checkCredentialUrl(options.tokenUrl);
    if (!options.username) throw new EtlError('MISSING_CREDENTIALS', 'generateToken needs a username');
    if (typeof options.password === 'string') {
      if (options.password.length === 0) {
        throw new EtlError('MISSING_CREDENTIALS', `generateToken needs a password for ${options.username}`);
      }
      registerSecret(options.password);
    }
    this.#password = options.password;
    this.#transport = options.transport;
    this.#client = options.client ?? (options.referer ? 'referer' : 'requestip');
    this.#referer = options.referer;
    this.#ip = options.ip;
    if (this.#client === 'referer' && !this.#referer) {
      throw new EtlError('USAGE', 'client=referer needs a referer');
    }
    if (this.#client === 'ip' && !this.#ip) throw new EtlError('USAGE', 'client=ip needs an ip');
    const minutes = options.expirationMinutes ?? 60;
    if (!Number.isFinite(minutes) || minutes <= 0) {
      throw new EtlError('USAGE', `expirationMinutes must be a positive number of minutes, got ${minutes}`);
    }
    this.#expirationMinutes = Math.round(minutes);
    this.#retry = options.retry;
    this.identity = {
      username: options.username,
      client: this.#client,
      ...(this.#client === 'referer' && this.#referer ? { referer: this.#referer } : {}),
    };
  }

  async fetchToken(context: FetchTokenContext): Promise<TokenGrant> {
    const password = await resolveSecret(this.#password, `password for ${this.identity.username}`);
    const params: Params = {
      username: this.identity.username,
      password,
      client: this.#client,
      expiration: this.#expirationMinutes,
      f: 'json',
    };
    if (this.#client === 'referer') params.referer = this.#referer;
    if (this.#client === 'ip') params.ip = this.#ip;
    // Exactly one call: the transport retries transient faults; nothing here loops.
    const response = await postTokenRequest(this.#transport, this.tokenUrl, params, {
      who: this.identity.username,
      retry: this.#retry,
      signal: context.signal,
    });
    const grant = parseTokenGrant(response.body, this.tokenUrl, this.identity.username);
    registerSecret(grant.token, 'token');
    return response.serverDate === undefined ? grant : { ...grant, serverDate: response.serverDate };
  }
}
