/**
 * PKCE (RFC 7636) with S256: a random verifier (43 characters of base64url, 256 bits) and its
 * challenge, BASE64URL(SHA-256(verifier)). Also the random `state` of an authorization request.
 */
import { createHash, randomBytes } from 'node:crypto';
import { registerSecret } from '../core/redact.js';

export interface PkcePair {
  verifier: string;
  challenge: string;
  method: 'S256';
}

/** The S256 challenge of a verifier. */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** `bytes` of randomness (32..96, default 32) as the verifier; registered as a secret. */
export function createPkce(bytes = 32): PkcePair {
  if (!Number.isInteger(bytes) || bytes < 32 || bytes > 96) {
    throw new RangeError(`PKCE verifier entropy must be 32..96 bytes, got ${bytes}`);
  }
  const verifier = randomBytes(bytes).toString('base64url');
  registerSecret(verifier);
  return { verifier, challenge: pkceChallenge(verifier), method: 'S256' };
}

/** An unguessable `state` for an authorization request (CSRF protection). */
export function createState(): string {
  return randomBytes(16).toString('base64url');
}
