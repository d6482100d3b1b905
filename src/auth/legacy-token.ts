/**
 * ArcGIS Server 10.0 tokens: `POST {server}/arcgis/tokens?request=getToken` with `username`,
 * `password`, `expiration` (minutes) and `clientid` (`ref.<referer>` / `ip.<address>`; none binds the
 * token to the request IP). The answer is the token as PLAIN TEXT, with no expiry.
 *
 * Expiry: 10.0 does not say, so the token is taken to live for the requested `expiration`, counted
 * from the moment the request was SENT (local clock, so server clock skew plays no part), minus a
 * margin of 10% of that lifetime (at most 5 min). A server that caps the lifetime shorter answers
 * 498 earlier; the client's reactive refresh then gets a new token once.
 */
import { EtlError } from '../core/errors.js';
import type { TokenClientType } from '../core/protocol.js';
import { redactUrl, registerSecret } from '../core/redact.js';
import { type Clock, systemClock } from '../core/time.js';
import type { RetryPolicy, Transport } from '../http/types.js';
import { checkCredentialUrl } from './credential-errors.js';
import { resolveSecret, type SecretSource } from './secret-source.js';
import { postTokenRequest } from './token-request.js';
import type { FetchTokenContext, TokenGrant, TokenIdentity, TokenProvider } from './types.js';

export interface LegacyTokenOptions {
  /** `{server}/arcgis/tokens` (a trailing `/`, `/generateToken` or query string is dropped). */
  tokenUrl: string;
  username: string;
  password: SecretSource;
  transport: Transport;
  /** `referer` (needs `referer`), `ip` (needs `ip`), or `requestip` (default, or referer when one is given). */
  client?: TokenClientType;
  referer?: string;
  ip?: string;
  /** Requested lifetime in minutes (default 60). */
  expirationMinutes?: number;
  clock?: Clock;
  retry?: Partial<RetryPolicy> | false;
}

/** The margin subtracted from the assumed lifetime: 10% of it, at most 5 minutes. */
export function legacyMarginMs(lifetimeMs: number): number {
  return Math.min(5 * 60_000, Math.floor(lifetimeMs * 0.1));
}

/** `https://h/arcgis/tokens/generateToken`, `…/tokens/`, `…/tokens?request=getToken` → `https://h/arcgis/tokens`. */
export function legacyTokenUrl(url: string): string {
  const checked = new URL(checkCredentialUrl(url));
  checked.pathname = checked.pathname.replace(/\/+$/, '').replace(/\/generateToken$/i, '');
  return checked.toString().replace(/\/+$/, '');
}

export class LegacyTokenProvider implements TokenProvider {
  readonly kind = 'legacy';
  readonly tokenUrl: string;
  readonly identity: TokenIdentity;
  readonly refreshable = true;
  readonly #password: SecretSource;
  readonly #transport: Transport;
  readonly #client: TokenClientType;
  readonly #referer: string | undefined;
  readonly #ip: string | undefined;
  readonly #minutes: number;
  readonly #clock: Clock;
  readonly #retry: Partial<RetryPolicy> | false | undefined;

  constructor(options: LegacyTokenOptions) {
    this.tokenUrl = legacyTokenUrl(options.tokenUrl);
    if (!options.username) throw new EtlError('MISSING_CREDENTIALS', 'getToken needs a username');
    if (typeof options.password === 'string') {
      if (!options.password) {
        throw new EtlError('MISSING_CREDENTIALS', `getToken needs a password for ${options.username}`);
      }
      registerSecret(options.password);
    }
    this.#password = options.password;
    this.#transport = options.transport;
    this.#client = options.client ?? (options.referer ? 'referer' : 'requestip');
    this.#referer = options.referer;
    this.#ip = options.ip;
    if (this.#client === 'referer' && !this.#referer)
      throw new EtlError('USAGE', 'client=referer needs a referer');
    if (this.#client === 'ip' && !this.#ip) throw new EtlError('USAGE', 'client=ip needs an ip');
    const minutes = options.expirationMinutes ?? 60;
    if (!Number.isFinite(minutes) || minutes <= 0) {
      throw new EtlError('USAGE', `expirationMinutes must be a positive number of minutes, got ${minutes}`);
    }
    this.#minutes = Math.round(minutes);
    this.#clock = options.clock ?? systemClock;
    this.#retry = options.retry;
    this.identity = {
      username: options.username,
      client: this.#client,
      ...(this.#client === 'referer' && this.#referer ? { referer: this.#referer } : {}),
    };
  }

  async fetchToken(context: FetchTokenContext): Promise<TokenGrant> {
    const username = this.identity.username as string;
    const password = await resolveSecret(this.#password, `password for ${this.identity.username}`);
    const clientid =
      this.#client === 'referer'
        ? `ref.${this.#referer}`
        : this.#client === 'ip'
          ? `ip.${this.#ip}`
          : undefined;
    const sentAt = this.#clock.now();
    const response = await postTokenRequest<string>(
      this.#transport,
      `${this.tokenUrl}?request=getToken`,
      { request: 'getToken', username, password, expiration: this.#minutes, clientid, f: 'text' },
      { who: username, retry: this.#retry, signal: context.signal, responseType: 'text' },
    );
    const token = readLegacyToken(String(response.body ?? ''), this.tokenUrl);
    registerSecret(token, 'token');
    const lifetime = this.#minutes * 60_000;
    return { token, expires: sentAt + lifetime - legacyMarginMs(lifetime) };
  }
}

/** The plain-text answer: one token, nothing else (an HTML page or a sentence is refused). */
export function readLegacyToken(body: string, tokenUrl: string): string {
  const text = body.trim();
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { token?: unknown };
      if (typeof parsed.token === 'string' && parsed.token) return parsed.token;
    } catch {
      // not JSON after all: judged below
    }
  }
  const refusal = /invalid|unable|incorrect|denied|unauthori[sz]ed|failed|error/i.test(text);
  if (refusal || !/^[A-Za-z0-9._~+/=-]{8,}$/.test(text)) {
    const looksHtml = /^</.test(text);
    throw new EtlError(
      refusal && !looksHtml ? 'BAD_CREDENTIALS' : 'TOKEN_RESPONSE_INVALID',
      looksHtml
        ? 'The legacy token endpoint answered an HTML page instead of a token'
        : 'The legacy token endpoint did not answer a token',
      { url: redactUrl(tokenUrl) },
    );
  }
  return text;
}
