import type { IncomingHttpHeaders } from 'node:http';

/** The parts of Koop's (express) request the plugin reads. */
export interface KoopRequest {
  headers: IncomingHttpHeaders;
  query?: Record<string, unknown>;
  body?: Record<string, unknown>;
}

export interface KoopAuthPlugin {
  type: 'auth';
  name: string;
  version: string;
  authenticationSpecification(): { useHttp: boolean };
  authenticate(req: KoopRequest): Promise<{ token: string; expires: number; ssl: boolean }>;
  authorize(req: KoopRequest): Promise<void>;
}

export interface TokenAuth {
  plugin: KoopAuthPlugin;
  /** Tokens issued so far. */
  issued(): number;
  /** Forgets every token (the next request with one gets 498). */
  revokeAll(): void;
}

export function createTokenAuth(options: {
  username: string;
  password: string;
  /** Upper bound of a token's lifetime; the request's `expiration` (minutes) may ask for less. */
  maxLifetimeMinutes?: number;
  now?: () => number;
}): TokenAuth;
