/**
 * The retry policy as data, and the pure decisions built on it: backoff with full jitter,
 * `Retry-After` parsing, and whether a failed attempt is retried.
 */
import type { EtlError } from '../core/errors.js';
import type { Random } from '../core/time.js';
import type { RetryPolicy } from './types.js';

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxTotalDelayMs: 120_000,
  statuses: Object.freeze([429, 502, 503, 504]),
  errorCodes: Object.freeze(['NETWORK_ERROR', 'TIMEOUT', 'TRUNCATED_RESPONSE', 'INVALID_RESPONSE']),
  respectRetryAfter: true,
  maxTimeoutRetries: 2,
});

/** HTTP statuses that mean the server refused the request before doing anything with it. */
const NOT_PROCESSED_STATUSES: readonly number[] = [429, 503];

/** Merges overrides into a base policy (undefined fields keep the base value). */
export function resolveRetryPolicy(
  base: Readonly<RetryPolicy> = DEFAULT_RETRY_POLICY,
  override: Partial<RetryPolicy> | false | undefined = undefined,
): RetryPolicy {
  if (override === false) return { ...base, maxAttempts: 1 };
  const out: RetryPolicy = { ...base };
  if (override) {
    for (const [key, value] of Object.entries(override)) {
      if (value !== undefined) (out as unknown as Record<string, unknown>)[key] = value;
    }
  }
  out.maxAttempts = Math.max(1, Math.floor(out.maxAttempts));
  return out;
}

/**
 * Full jitter: after failed attempt `attempt` (1-based) wait random() * min(maxDelayMs, baseDelayMs * 2^(attempt-1)).
 */
export function backoffDelay(policy: Readonly<RetryPolicy>, attempt: number, random: Random): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.max(0, Math.floor(r * ceiling));
}

/** `Retry-After` as a delay in ms: delta-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(header: string | undefined | null, nowMs: number): number | undefined {
  if (header === undefined || header === null) return undefined;
  const value = header.trim();
  if (value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** What the transport knows about one failed attempt. */
export interface AttemptFailure {
  error: EtlError;
  /** Short reason for events and the final message: `HTTP 503`, `ECONNRESET`, `ArcGIS 504`, … */
  reason: string;
  /** From `Retry-After`, when the response had one. */
  retryAfterMs?: number | undefined;
  /** True when the server surely did not process the request (connection refused, 429, 503). */
  notProcessed?: boolean | undefined;
  /** True for failures that no retry can fix (e.g. TLS certificate errors). */
  permanent?: boolean | undefined;
}

export interface RetryInput {
  policy: Readonly<RetryPolicy>;
  failure: AttemptFailure;
  /** The attempt that just failed (1-based). */
  attempt: number;
  /** Sum of the delays already waited. */
  totalDelayMs: number;
  /** Failed attempts so far (this one included) that were timeouts. */
  timeouts?: number;
  idempotent: boolean;
  random: Random;
}

export type RetryDecision =
  | { retry: true; delayMs: number; reason: string }
  | {
      retry: false;
      /** `not-retryable` and `not-idempotent` rethrow the error as is; the others give up with RETRIES_EXHAUSTED. */
      why: 'not-retryable' | 'not-idempotent' | 'max-attempts' | 'max-total-delay' | 'max-timeouts';
      reason: string;
    };

/** Whether the error is transient according to the policy (its code, HTTP status or envelope code). */
export function isRetryable(policy: Readonly<RetryPolicy>, error: EtlError): boolean {
  if (policy.errorCodes.includes(error.code)) return true;
  if (error.code === 'HTTP_ERROR' || error.code === 'ARCGIS_ERROR') {
    if (error.status !== undefined && policy.statuses.includes(error.status)) return true;
    if (error.arcgisCode !== undefined && policy.statuses.includes(error.arcgisCode)) return true;
  }
  return false;
}

/** True when the response proves the server did not act on the request. */
export function statusMeansNotProcessed(status: number | undefined): boolean {
  return status !== undefined && NOT_PROCESSED_STATUSES.includes(status);
}

/** Retry or give up, and why. */
export function decideRetry(input: RetryInput): RetryDecision {
  const { policy, failure, attempt, totalDelayMs } = input;
  const reason = failure.reason;
  if (failure.permanent || !isRetryable(policy, failure.error)) {
    return { retry: false, why: 'not-retryable', reason };
  }
  if (!input.idempotent && !failure.notProcessed) {
    return { retry: false, why: 'not-idempotent', reason };
  }
  if (attempt >= policy.maxAttempts) return { retry: false, why: 'max-attempts', reason };
  const timeoutRetries = policy.maxTimeoutRetries ?? DEFAULT_RETRY_POLICY.maxTimeoutRetries ?? 2;
  if (failure.error.code === 'TIMEOUT' && (input.timeouts ?? 1) > timeoutRetries) {
    return { retry: false, why: 'max-timeouts', reason };
  }
  const delayMs =
    policy.respectRetryAfter && failure.retryAfterMs !== undefined
      ? Math.min(policy.maxDelayMs, Math.max(0, failure.retryAfterMs))
      : backoffDelay(policy, attempt, input.random);
  if (totalDelayMs + delayMs > policy.maxTotalDelayMs) {
    return { retry: false, why: 'max-total-delay', reason };
  }
  return { retry: true, delayMs, reason };
}

/** `HTTP 503 x3, ECONNRESET`: the reasons in order of first appearance, with counts. */
export function summarizeReasons(reasons: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => (n > 1 ? `${r} x${n}` : r)).join(', ');
}
