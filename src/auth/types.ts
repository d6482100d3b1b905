/**
 * Auth contracts. Providers turn one kind of credential into a token; the TokenManager caches,
 * shares and refreshes; the client sees only `Authenticator`.
 */
import type { TokenClientType } from '../core/protocol.js';

/** What a provider answers. Times are as the server stated them; the manager corrects skew. */
export interface TokenGrant {
  token: string;
  /** Server-clock epoch ms at which the token expires. */
  expires: number;
  /** The server's Date header (epoch ms), when it sent one. */
  serverDate?: number;
  ssl?: boolean;
  refreshToken?: string;
  /** Server-clock epoch ms. */
  refreshTokenExpires?: number;
}

export interface TokenIdentity {
  username?: string;
  clientId?: string;
  client?: TokenClientType;
  referer?: string;
}

export interface FetchTokenContext {
  /** Why: `initial`, `expiring`, `invalidated`, … (for events). */
  reason: string;
  signal?: AbortSignal;
}

export interface TokenProvider {
  /** `generateToken`, `legacy`, `oauth-client-credentials`, `static`, `federated`, … */
  readonly kind: string;
  /** The token endpoint (no secrets in it). */
  readonly tokenUrl: string;
  readonly identity: TokenIdentity;
  /** Static tokens and API keys are never refreshed. */
  readonly refreshable: boolean;
  fetchToken(context: FetchTokenContext): Promise<TokenGrant>;
}

/** What the client needs from authentication. */
export interface Authenticator {
  /**
   * The token to send to `url`, or undefined when `url` is outside every origin the credentials
   * are for (then nothing is attached).
   */
  getToken(url: string, options?: { signal?: AbortSignal }): Promise<string | undefined>;
  /** After a 498/499 answered to `token`: the next getToken refreshes once, however many callers saw it. */
  invalidate(token: string, reason?: string): Promise<void>;
  /** The Referer that every request must carry (client=referer tokens). */
  readonly referer: string | undefined;
  /** Whether a new token can be obtained after a 498 (false for static tokens and API keys). */
  readonly canRefresh: boolean;
  readonly stats: AuthStats;
}

export interface AuthStats {
  /** Token requests made by this process (cold starts and refreshes). */
  generated: number;
  /** Of which refreshes (after expiry, inside the safety window, or after invalidation). */
  refreshed: number;
  invalidated: number;
  failed: number;
  /** Tokens taken from a shared store that another process generated. */
  sharedHits: number;
}
