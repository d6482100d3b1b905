/**
 * The one redaction helper. Every error message, log line and event goes through it.
 *
 * Two layers:
 * - patterns: `token=…`, `password=…`, `"token":"…"`, `Bearer …` and friends, wherever they appear;
 * - known secrets: values registered with `registerSecret` (passwords, client secrets, tokens as they
 *   are issued), however short, are removed in clear, URL-encoded and base64 forms: long ones
 *   wherever they appear, short ones where they stand alone, so unrelated words are left intact.
 */
export const REDACTED = '[REDACTED]';

const SECRET_KEYS =
  'token|access_token|refresh_token|auth_token|password|client_secret|code_verifier|api_key|apikey|x-esri-authorization|authorization';

const QUERY_PATTERN = new RegExp(`((?:^|[?&\\s;,"'(])(?:${SECRET_KEYS})=)[^&\\s"'<>)]+`, 'gi');
// A JSON string value, or one cut short by the end of the text (a truncated body).
const JSON_PATTERN = new RegExp(`("(?:${SECRET_KEYS})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*(?:"|$)`, 'gi');
const HEADER_PATTERN = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi;

/**
 * Credentials (passwords, client secrets, API keys, refresh tokens) are kept for the life of the
 * process. Issued access tokens churn at every refresh: only the most recent ones are kept, so a
 * long run keeps redaction cheap; older ones have expired by then, and the patterns below still
 * hide any `token=` value.
 */
export const MAX_KNOWN_TOKENS = 256;
export type SecretKind = 'credential' | 'token';
const credentials = new Map<string, string[]>();
const tokens = new Map<string, string[]>();
let knownPattern: RegExp | undefined;

/**
 * Secrets shorter than this are removed only where they stand alone (not inside a longer word:
 * a 3-character password `abc` is removed from `password abc rejected`, not from `abcdef`).
 * Longer ones are removed wherever they appear.
 */
export const SHORT_SECRET_LENGTH = 8;

/** Marks a value as secret: it will never appear in an error, log or event, however short. */
export function registerSecret(value: string | undefined | null, kind: SecretKind = 'credential'): void {
  if (!value || credentials.has(value)) return;
  if (kind === 'credential') {
    tokens.delete(value);
    credentials.set(value, secretForms(value));
    knownPattern = undefined;
    return;
  }
  const forms = tokens.get(value);
  tokens.delete(value);
  tokens.set(value, forms ?? secretForms(value));
  if (forms) return; // only its recency changed
  if (tokens.size > MAX_KNOWN_TOKENS) tokens.delete(tokens.keys().next().value as string);
  knownPattern = undefined;
}

function secretForms(value: string): string[] {
  const forms = new Set([value, encodeURIComponent(value), Buffer.from(value).toString('base64')]);
  forms.add(new URLSearchParams({ x: value }).toString().slice(2));
  forms.add(Buffer.from(value).toString('base64url'));
  return [...forms].filter((f) => f !== '');
}

// Not preceded or followed by a letter, digit or `_`: the secret stands alone.
const ALONE_BEFORE = '(?<![\\p{L}\\p{N}_])';
const ALONE_AFTER = '(?![\\p{L}\\p{N}_])';

/** One alternation: long forms anywhere, short ones only where they stand alone. */
function knownSecretsPattern(): RegExp {
  const forms = [...new Set([...credentials.values(), ...tokens.values()].flat())].sort(
    (a, b) => b.length - a.length,
  );
  return new RegExp(
    forms
      .map((f) =>
        f.length >= SHORT_SECRET_LENGTH ? escapeRegExp(f) : `${ALONE_BEFORE}${escapeRegExp(f)}${ALONE_AFTER}`,
      )
      .join('|'),
    'gu',
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function redact(text: string): string {
  let out = text;
  if (credentials.size + tokens.size > 0) {
    knownPattern ??= knownSecretsPattern();
    out = out.replace(knownPattern, REDACTED);
  }
  return out
    .replace(QUERY_PATTERN, `$1${REDACTED}`)
    .replace(JSON_PATTERN, `$1"${REDACTED}"`)
    .replace(HEADER_PATTERN, `$1 ${REDACTED}`);
}

/** A URL safe to print: secret query parameters are replaced, user info removed. */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(String(url));
    u.username = '';
    u.password = '';
    return redact(u.toString());
  } catch {
    return redact(String(url));
  }
}

/** Deep-redacts a value for logging: secret-named keys are replaced, strings are scrubbed. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[…]';
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value instanceof Error) {
    return { name: value.name, message: redact(value.message), code: (value as { code?: unknown }).code };
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = new RegExp(`^(?:${SECRET_KEYS}|secret|clientSecret|refreshToken|accessToken)$`, 'i').test(k)
        ? REDACTED
        : redactValue(v, depth + 1);
    }
    return out;
  }
  return value;
}
