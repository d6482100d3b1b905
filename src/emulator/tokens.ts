/**
 * Issued tokens: random opaque strings kept with their binding (client type, referer, ip), their
 * expiry (on the injected clock) and a revoked flag.
 */
import { randomBytes } from 'node:crypto';
import type { TokenClientType } from '../core/protocol.js';

export interface IssuedToken {
  username: string;
  client: TokenClientType;
  referer: string | undefined;
  ip: string | undefined;
  expiresAt: number;
  revoked: boolean;
}

/** Where a resource request came from, for binding checks. */
export interface RequestOrigin {
  referer: string | undefined;
  ip: string;
}

export type TokenCheck = 'valid' | 'invalid';

export class TokenRegistry {
  readonly #tokens = new Map<string, IssuedToken>();

  issue(entry: Omit<IssuedToken, 'revoked'>): string {
    const token = randomBytes(36).toString('base64url');
    this.#tokens.set(token, { ...entry, revoked: false });
    return token;
  }

  check(token: string, origin: RequestOrigin, now: number): TokenCheck {
    const entry = this.#tokens.get(token);
    if (!entry || entry.revoked || now >= entry.expiresAt) return 'invalid';
    if (entry.client === 'referer') {
      if (!refererMatches(entry.referer, origin.referer)) return 'invalid';
    } else if (entry.ip !== undefined && normalizeIp(origin.ip) !== entry.ip) {
      return 'invalid';
    }
    return 'valid';
  }

  get(token: string): IssuedToken | undefined {
    return this.#tokens.get(token);
  }

  revokeAll(): void {
    for (const entry of this.#tokens.values()) entry.revoked = true;
  }

  get size(): number {
    return this.#tokens.size;
  }
}

/** `::ffff:127.0.0.1` → `127.0.0.1`. */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** The same Referer, or a URL under it (`https://app.example` covers `https://app.example/page`). */
export function refererMatches(bound: string | undefined, sent: string | undefined): boolean {
  if (!bound || !sent) return false;
  if (sent === bound) return true;
  return sent.startsWith(bound) && (bound.endsWith('/') || sent[bound.length] === '/');
}
