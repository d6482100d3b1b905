/**
 * Issued tokens: random opaque strings kept with their binding (client type, referer, ip), their
 * expiry (on the injected clock) and a revoked flag.
 */
import { randomBytes } from 'node:crypto';
import type { TokenClientType } from '../core/protocol.js';

/**
 * What issued a token, which decides where it is accepted: `server`/`legacy` (the server's token
 * service), `portal` (portal generateToken), `oauth` (a user's OAuth access token), `app`
 * (client_credentials), `federated` (a portal token exchanged for one server), `apiKey`.
 */
export type TokenKind = 'server' | 'legacy' | 'portal' | 'oauth' | 'app' | 'federated' | 'apiKey';

export interface IssuedToken {
  kind: TokenKind;
  username: string;
  client: TokenClientType;
  referer: string | undefined;
  ip: string | undefined;
  expiresAt: number;
  revoked: boolean;
  /** For `federated` tokens: the server root they were issued for (normalized). */
  serverUrl?: string;
  /** For OAuth tokens: the app. */
  clientId?: string;
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

  /** Registers a fixed token (an API key): no binding, no expiry. */
  addStatic(token: string, kind: TokenKind): void {
    this.#tokens.set(token, {
      kind,
      username: '',
      client: 'requestip',
      referer: undefined,
      ip: undefined,
      expiresAt: Number.POSITIVE_INFINITY,
      revoked: false,
    });
  }

  check(token: string, origin: RequestOrigin, now: number): TokenCheck {
    const entry = this.#tokens.get(token);
    return entry && isUsable(entry, origin, now) ? 'valid' : 'invalid';
  }

  /** The entry of a token that is valid for this request, else undefined. */
  usable(token: string, origin: RequestOrigin, now: number): IssuedToken | undefined {
    const entry = this.#tokens.get(token);
    return entry && isUsable(entry, origin, now) ? entry : undefined;
  }

  get(token: string): IssuedToken | undefined {
    return this.#tokens.get(token);
  }

  revoke(token: string): void {
    const entry = this.#tokens.get(token);
    if (entry) entry.revoked = true;
  }

  revokeAll(): void {
    for (const entry of this.#tokens.values()) entry.revoked = true;
  }

  get size(): number {
    return this.#tokens.size;
  }
}

function isUsable(entry: IssuedToken, origin: RequestOrigin, now: number): boolean {
  if (entry.revoked || now >= entry.expiresAt) return false;
  if (entry.client === 'referer') return refererMatches(entry.referer, origin.referer);
  return entry.ip === undefined || normalizeIp(origin.ip) === entry.ip;
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
