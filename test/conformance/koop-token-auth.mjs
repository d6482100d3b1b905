/**
 * A small token-security plugin for Koop 10, written to Koop's auth plugin interface (`type: 'auth'`,
 * registered with `koop.register(plugin)` before any provider):
 * - `authenticate(req)` backs Koop's `…/rest/generateToken` route: username + password → a random
 *   token with its `expires` (epoch ms), like ArcGIS Server's generateToken;
 * - `authorize(req)` runs before every data request: no token → error 499 (Koop answers
 *   "Token Required"), an unknown or expired token → 498 ("Invalid token.");
 * - `authenticationSpecification()` tells Koop's geoservices output to advertise the token URL as
 *   `http://` in `rest/info` (the test server is plain HTTP on loopback).
 * Tokens are read from the form body, the query string, `X-Esri-Authorization: Bearer` or
 * `Authorization: Bearer`, the places ArcGIS clients put them.
 * Plain JavaScript (typed by koop-token-auth.d.mts) so that bench/koop.mjs runs it too.
 */
import { randomBytes } from 'node:crypto';

class KoopAuthError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function param(req, name) {
  const value = req.body?.[name] ?? req.query?.[name];
  return typeof value === 'string' ? value : undefined;
}

function bearer(req) {
  for (const name of ['x-esri-authorization', 'authorization']) {
    const raw = req.headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    const match = value === undefined ? null : /^Bearer\s+(\S+)$/i.exec(value);
    if (match?.[1] !== undefined) return match[1];
  }
  return undefined;
}

export function createTokenAuth({ username, password, maxLifetimeMinutes = 60, now = () => Date.now() }) {
  const tokens = new Map();
  let issued = 0;
  const plugin = {
    type: 'auth',
    name: 'conformance-token-auth',
    version: '1.0.0',
    authenticationSpecification: () => ({ useHttp: true }),
    async authenticate(req) {
      if (param(req, 'username') !== username || param(req, 'password') !== password) {
        throw new KoopAuthError(401, 'Invalid username or password.');
      }
      const asked = Number(param(req, 'expiration'));
      const minutes =
        Number.isFinite(asked) && asked > 0 ? Math.min(asked, maxLifetimeMinutes) : maxLifetimeMinutes;
      const token = randomBytes(24).toString('base64url');
      const expires = now() + minutes * 60_000;
      tokens.set(token, expires);
      issued++;
      return { token, expires, ssl: false };
    },
    async authorize(req) {
      const token = bearer(req) ?? param(req, 'token');
      if (token === undefined || token === '') throw new KoopAuthError(499, 'Token Required');
      const expires = tokens.get(token);
      if (expires === undefined || expires <= now()) throw new KoopAuthError(498, 'Invalid token.');
    },
  };
  return { plugin, issued: () => issued, revokeAll: () => tokens.clear() };
}
