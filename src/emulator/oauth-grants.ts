/**
 * OAuth state of the portal: authorization codes (single use, short-lived) and refresh tokens
 * (expiring, revocable), each remembering the access tokens issued from it.
 */
import { randomBytes } from 'node:crypto';
import type { ChallengeMethod } from './pkce.js';

/** How long an authorization code can be redeemed. */
export const CODE_LIFETIME_MS = 10 * 60_000;

export interface AuthCode {
  clientId: string;
  redirectUri: string;
  username: string;
  challenge: string | undefined;
  method: ChallengeMethod | undefined;
  expiresAt: number;
  used: boolean;
  refreshLifetimeSeconds: number;
  /** Access tokens and the refresh token issued from this code (revoked if the code is replayed). */
  accessTokens: string[];
  refreshToken: string | undefined;
}

export interface RefreshGrant {
  clientId: string;
  username: string;
  expiresAt: number;
  revoked: boolean;
  lifetimeSeconds: number;
  /** Access tokens issued with this refresh token. */
  accessTokens: string[];
}

export class OAuthGrants {
  readonly #codes = new Map<string, AuthCode>();
  readonly #refresh = new Map<string, RefreshGrant>();

  createCode(entry: Omit<AuthCode, 'used' | 'accessTokens' | 'refreshToken'>): string {
    const code = randomBytes(24).toString('base64url');
    this.#codes.set(code, { ...entry, used: false, accessTokens: [], refreshToken: undefined });
    return code;
  }

  code(code: string): AuthCode | undefined {
    return this.#codes.get(code);
  }

  createRefresh(entry: Omit<RefreshGrant, 'revoked' | 'accessTokens'>): string {
    const token = randomBytes(48).toString('base64url');
    this.#refresh.set(token, { ...entry, revoked: false, accessTokens: [] });
    return token;
  }

  refresh(token: string): RefreshGrant | undefined {
    return this.#refresh.get(token);
  }

  /** Refresh tokens that can still be used. */
  usableRefresh(token: string, clientId: string, now: number): RefreshGrant | undefined {
    const grant = this.#refresh.get(token);
    if (!grant || grant.revoked || now >= grant.expiresAt || grant.clientId !== clientId) return undefined;
    return grant;
  }

  revokeAll(): void {
    for (const grant of this.#refresh.values()) grant.revoked = true;
    for (const code of this.#codes.values()) code.used = true;
  }
}
