/**
 * Redirects are never followed blindly: only within the same origin (a token must never travel to
 * another host), at most MAX_REDIRECTS times, and never in a loop.
 */
import { EtlError } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';

export const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function isRedirectStatus(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

function safe(url: URL): string {
  const copy = new URL(url);
  copy.search = '';
  copy.hash = '';
  return redactUrl(copy);
}

export interface RedirectInput {
  /** The URL that answered the redirect. */
  from: URL;
  location: string;
  status: number;
  mode: 'same-origin' | 'error';
  /** The keys of every URL already requested in this attempt, the first included. */
  visited: Set<string>;
  /** The key of a URL as it would be requested (default: its href). */
  keyOf?: ((url: URL) => string) | undefined;
}

/**
 * The URL to follow, or REDIRECT_BLOCKED: redirect mode `error`, another origin, a loop, or more
 * than MAX_REDIRECTS hops. The caller re-sends the same request (method, params) to the result.
 */
export function nextRedirect(input: RedirectInput): URL {
  const { from, status, mode, visited } = input;
  let target: URL;
  try {
    target = new URL(input.location, from);
  } catch (cause) {
    throw new EtlError('REDIRECT_BLOCKED', `HTTP ${status} from ${safe(from)} with an unreadable Location`, {
      cause,
      status,
      url: safe(from),
    });
  }
  target.hash = '';
  const options = { status, url: safe(from) };
  if (mode === 'error') {
    throw new EtlError(
      'REDIRECT_BLOCKED',
      `HTTP ${status} redirect from ${safe(from)} to ${safe(target)} not followed (redirect: error)`,
      options,
    );
  }
  if (target.origin !== from.origin) {
    throw new EtlError(
      'REDIRECT_BLOCKED',
      `HTTP ${status} redirect from ${safe(from)} to another origin (${target.origin}) blocked: the request and its credentials are not sent there`,
      options,
    );
  }
  const key = input.keyOf ? input.keyOf(target) : target.href;
  if (visited.has(key)) {
    throw new EtlError('REDIRECT_BLOCKED', `Redirect loop at ${safe(target)} (HTTP ${status})`, options);
  }
  if (visited.size > MAX_REDIRECTS) {
    throw new EtlError(
      'REDIRECT_BLOCKED',
      `More than ${MAX_REDIRECTS} redirects from ${safe(from)} (HTTP ${status})`,
      options,
    );
  }
  visited.add(key);
  return target;
}
