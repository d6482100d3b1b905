/**
 * A token or API key given as is (ARCGIS_TOKEN / ARCGIS_API_KEY). It is never refreshed: after a
 * 498 the TokenManager reports STATIC_TOKEN_INVALID. It is sent only to the origins it is for.
 */
import { EtlError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import { originOf } from '../core/url.js';
import type { TokenGrant, TokenIdentity, TokenProvider } from './types.js';

export interface StaticTokenOptions {
  token: string;
  /** Origins (or any URLs on them) the token may be sent to. At least one. */
  scope: readonly string[];
  /** `static` for a token, `api-key` for an API key (events and errors only). */
  kind?: 'static' | 'api-key';
  /** Epoch ms at which the token is known to expire, if known (default: never). */
  expires?: number;
}

/** "No known expiry": far in the future, but finite (stores compute TTLs from it). Never shown. */
export const NO_KNOWN_EXPIRY = 8_640_000_000_000_000;

export class StaticTokenProvider implements TokenProvider {
  readonly kind: 'static' | 'api-key';
  readonly tokenUrl: string;
  readonly identity: TokenIdentity = {};
  readonly refreshable = false;
  /** The origins the token may go to (the TokenManager's default scope). */
  readonly scope: readonly string[];
  readonly #token: string;
  readonly #expires: number;

  constructor(options: StaticTokenOptions) {
    if (!options.token) throw new EtlError('MISSING_CREDENTIALS', 'An empty token or API key was given');
    registerSecret(options.token);
    const scope = [...new Set(options.scope.map((s) => originOf(s)))];
    const first = scope[0];
    if (first === undefined) {
      throw new EtlError('USAGE', 'A static token needs at least one origin it may be sent to');
    }
    this.#token = options.token;
    this.kind = options.kind ?? 'static';
    this.scope = scope;
    this.tokenUrl = first;
    this.#expires = options.expires ?? NO_KNOWN_EXPIRY;
  }

  async fetchToken(): Promise<TokenGrant> {
    return { token: this.#token, expires: this.#expires };
  }

  /**
   * From the environment: ARCGIS_TOKEN, else ARCGIS_API_KEY. Undefined when neither is set.
   */
  static fromEnv(
    env: Readonly<Record<string, string | undefined>>,
    scope: readonly string[],
  ): StaticTokenProvider | undefined {
    const token = env.ARCGIS_TOKEN?.trim();
    if (token) return new StaticTokenProvider({ token, scope, kind: 'static' });
    const apiKey = env.ARCGIS_API_KEY?.trim();
    if (apiKey) return new StaticTokenProvider({ token: apiKey, scope, kind: 'api-key' });
    return undefined;
  }
}
