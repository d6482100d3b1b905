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
import { redactUrl, registerSecret } from '../core/redact.js';
import { type Clock, systemClock } from '../core/time.js';
import type { RetryPolicy, Transport } from '../http/types.js';
import { checkCredentialUrl } from './credential-errors.js';
import { resolveSecret } from './secret-source.js';
import { postTokenRequest } from './token-request.js';
import type { FetchTokenContext, TokenGrant, TokenIdentity, TokenProvider } from './types.js';
import { type UserTokenOptions, type UserTokenSettings, userTokenSettings } from './user-token-options.js';

export interface LegacyTokenOptions extends UserTokenOptions {
  /** `{server}/arcgis/tokens` (a trailing `/`, `/generateToken` or query string is dropped). */
  tokenUrl: string;
  transport: Transport;
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
  readonly #settings: UserTokenSettings;
  readonly #transport: Transport;
  readonly #clock: Clock;
  readonly #retry: Partial<RetryPolicy> | false | undefined;

  constructor(options: LegacyTokenOptions) {
    this.tokenUrl = legacyTokenUrl(options.tokenUrl);
    this.#settings = userTokenSettings(options, 'getToken');
    this.identity = this.#settings.identity;
    this.#transport = options.transport;
    this.#clock = options.clock ?? systemClock;
    this.#retry = options.retry;
  }

  async fetchToken(context: FetchTokenContext): Promise<TokenGrant> {
    const { identity, client, referer, ip, minutes } = this.#settings;
    const username = identity.username;
    const password = await resolveSecret(this.#settings.password, `password for ${username}`);
    const clientid = client === 'referer' ? `ref.${referer}` : client === 'ip' ? `ip.${ip}` : undefined;
    const sentAt = this.#clock.now();
    const response = await postTokenRequest<string>(
      this.#transport,
      `${this.tokenUrl}?request=getToken`,
      { request: 'getToken', username, password, expiration: minutes, clientid, f: 'text' },
      { who: username, retry: this.#retry, signal: context.signal, responseType: 'text' },
    );
    const token = readLegacyToken(String(response.body ?? ''), this.tokenUrl);
    registerSecret(token, 'token');
    const lifetime = minutes * 60_000;
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
