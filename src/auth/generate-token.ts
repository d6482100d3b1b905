/**
 * Username/password → token through `generateToken`, for Portal / ArcGIS Online
 * (`{portal}/sharing/rest/generateToken`) and ArcGIS Server (`{server}/arcgis/tokens/generateToken`).
 * Credentials travel in the POST form body only, never in a URL, and never follow a redirect.
 */
import { EtlError, isEtlError, toEtlError } from '../core/errors.js';
import type { TokenClientType } from '../core/protocol.js';
import { registerSecret } from '../core/redact.js';
import type { Params, RetryPolicy, Transport } from '../http/types.js';
import { checkCredentialUrl, credentialError } from './credential-errors.js';
import { parseTokenGrant } from './grant.js';
import type { FetchTokenContext, TokenGrant, TokenIdentity, TokenProvider } from './types.js';

/** A password, or a function that produces it (e.g. from `--password-command` or a vault). */
export type SecretSource = string | (() => string | Promise<string>);

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

/** Transient statuses worth retrying a token request on. Never 400: bad credentials. */
export const TOKEN_RETRY_STATUSES: readonly number[] = [429, 502, 503, 504];
const NEVER_RETRY = new Set([400, 401, 403, 498, 499]);

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
  readonly #retry: Partial<RetryPolicy> | false;

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
    this.#retry = safeRetry(options.retry);
    this.identity = {
      username: options.username,
      client: this.#client,
      ...(this.#client === 'referer' && this.#referer ? { referer: this.#referer } : {}),
    };
  }

  async fetchToken(context: FetchTokenContext): Promise<TokenGrant> {
    const password = await this.#resolvePassword();
    const params: Params = {
      username: this.identity.username,
      password,
      client: this.#client,
      expiration: this.#expirationMinutes,
      f: 'json',
    };
    if (this.#client === 'referer') params.referer = this.#referer;
    if (this.#client === 'ip') params.ip = this.#ip;
    let response: Awaited<ReturnType<Transport['request']>>;
    try {
      // Exactly one call: the transport retries transient faults; nothing here loops.
      response = await this.#transport.request(this.tokenUrl, {
        method: 'POST',
        params,
        idempotent: true,
        redirect: 'error',
        retry: this.#retry,
        ...(context.signal ? { signal: context.signal } : {}),
      });
    } catch (error) {
      throw credentialError(toEtlError(error), this.tokenUrl, this.identity.username);
    }
    const grant = parseTokenGrant(response.body, this.tokenUrl, this.identity.username);
    registerSecret(grant.token, 'token');
    return response.serverDate === undefined ? grant : { ...grant, serverDate: response.serverDate };
  }

  async #resolvePassword(): Promise<string> {
    if (typeof this.#password === 'string') return this.#password;
    let value: string;
    try {
      value = await this.#password();
    } catch (cause) {
      if (isEtlError(cause)) throw cause;
      throw new EtlError('MISSING_CREDENTIALS', `Could not read the password for ${this.identity.username}`, {
        cause,
      });
    }
    if (typeof value !== 'string' || value.length === 0) {
      throw new EtlError('MISSING_CREDENTIALS', `Empty password for ${this.identity.username}`);
    }
    registerSecret(value);
    return value;
  }
}

function safeRetry(retry: Partial<RetryPolicy> | false | undefined): Partial<RetryPolicy> | false {
  if (retry === false) return false;
  const statuses = (retry?.statuses ?? TOKEN_RETRY_STATUSES).filter((s) => !NEVER_RETRY.has(s));
  const errorCodes = retry?.errorCodes?.filter((c) => c !== 'BAD_CREDENTIALS' && c !== 'ACCOUNT_LOCKED');
  return { ...retry, statuses, ...(errorCodes ? { errorCodes } : {}) };
}
