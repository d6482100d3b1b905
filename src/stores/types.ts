import type { TokenClientType } from '../core/protocol.js';

/**
 * What a token cache holds. Never the password, client secret or API key's source credential.
 */
export interface TokenRecord {
  token: string;
  /** Local-clock epoch ms at which the token expires (already corrected for server clock skew). */
  expiresAt: number;
  /** Local-clock epoch ms at which it was issued (for the short-lifetime refresh rule). */
  issuedAt: number;
  /** The token endpoint that issued it. */
  tokenUrl: string;
  /** The origin (or origins, comma-separated) the token may be sent to. */
  scope: string;
  /** Who it is for. */
  username?: string;
  clientId?: string;
  client?: TokenClientType;
  referer?: string;
  /** Provider kind, e.g. `generateToken`, `oauth-client-credentials`. */
  kind: string;
  /** OAuth refresh token, when the provider has one (encrypted at rest when a key is set). */
  refreshToken?: string;
  refreshTokenExpiresAt?: number;
}

export interface LockOptions {
  /** How long the lock is held at most before it expires by itself (a crashed holder). */
  ttlMs?: number;
  /** How long to wait for the lock before giving up. */
  waitMs?: number;
  signal?: AbortSignal;
}

export interface TokenStore {
  /** `memory`, `file`, `redis`. */
  readonly name: string;
  get(key: string): Promise<TokenRecord | undefined>;
  /** Writes with a TTL (the token's remaining life). */
  set(key: string, record: TokenRecord, ttlMs: number): Promise<void>;
  /** Deletes; with `ifToken`, only when the stored token is that one (so a stale 498 never deletes a fresh token). */
  delete(key: string, ifToken?: string): Promise<void>;
  /**
   * Runs `fn` while holding the lock for `key`, across every process sharing the store. Exactly one
   * holder at a time; the others wait (without hammering the backend) and then run `fn` themselves,
   * where they will normally find the holder's fresh record with `get`.
   */
  withLock<T>(key: string, fn: () => Promise<T>, options?: LockOptions): Promise<T>;
  close(): Promise<void>;
}
