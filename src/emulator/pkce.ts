/**
 * PKCE (RFC 7636): the challenge methods and the verifier check.
 */
import { createHash } from 'node:crypto';

export type ChallengeMethod = 'S256' | 'plain';

/** `plain` when absent (RFC 7636 §4.3); undefined for an unknown method. */
export function parseChallengeMethod(raw: string | undefined): ChallengeMethod | undefined {
  if (raw === undefined || raw === '') return 'plain';
  return raw === 'S256' || raw === 'plain' ? raw : undefined;
}

/** 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1). */
export function isWellFormedVerifier(value: string): boolean {
  return /^[A-Za-z0-9._~-]{43,128}$/.test(value);
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function verifyPkce(challenge: string, method: ChallengeMethod, verifier: string): boolean {
  if (!isWellFormedVerifier(verifier)) return false;
  return (method === 'S256' ? s256(verifier) : verifier) === challenge;
}
