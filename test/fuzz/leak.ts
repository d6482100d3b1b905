/**
 * Leak checks shared by the fuzz suites: every form a secret can take in text, and its prefixes
 * (an excerpt cut in the middle of a secret still leaks most of it).
 */
import fc from 'fast-check';

/** Fixed for reproducible runs; FC_SEED / FC_RUNS explore more. */
export const SEED = Number(process.env.FC_SEED ?? 20260107);
export const RUNS = Number(process.env.FC_RUNS ?? 400);

/** Clear, URL-encoded, form-encoded, base64 and base64url forms. */
export function secretForms(secret: string): string[] {
  const forms = new Set([
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ x: secret }).toString().slice(2),
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
  ]);
  return [...forms];
}

/** The forms, plus the first and last 16 characters of each (partial leaks). */
export function leakProbes(secret: string): string[] {
  const out = new Set<string>();
  for (const form of secretForms(secret)) {
    out.add(form);
    if (form.length > 20) {
      out.add(form.slice(0, 16));
      out.add(form.slice(-16));
    }
  }
  return [...out];
}

/** The probes of `secret` found in `text` (empty when nothing leaked). */
export function leaksIn(text: string, secret: string): string[] {
  return leakProbes(secret).filter((probe) => text.includes(probe));
}

/** A token-like value: 24 to 64 characters of the alphabet ArcGIS tokens use. */
export const tokenArb = fc
  .array(fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'), {
    minLength: 24,
    maxLength: 64,
  })
  .map((chars) => `tk${chars.join('')}`);
