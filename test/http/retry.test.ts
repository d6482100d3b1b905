import { describe, expect, it } from 'vitest';
import { EtlError } from '../../src/core/errors.js';
import {
  type AttemptFailure,
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  decideRetry,
  parseRetryAfter,
  resolveRetryPolicy,
  summarizeReasons,
} from '../../src/http/retry.js';

const policy = DEFAULT_RETRY_POLICY;

function failure(error: EtlError, extra: Partial<AttemptFailure> = {}): AttemptFailure {
  return { error, reason: error.code, ...extra };
}

const input = (f: AttemptFailure, extra: Partial<Parameters<typeof decideRetry>[0]> = {}) => ({
  policy,
  failure: f,
  attempt: 1,
  totalDelayMs: 0,
  idempotent: true,
  random: () => 0.5,
  ...extra,
});

describe('DEFAULT_RETRY_POLICY', () => {
  it('has the documented values', () => {
    expect(policy).toEqual({
      maxAttempts: 6,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
      maxTotalDelayMs: 120_000,
      statuses: [429, 502, 503, 504],
      errorCodes: ['NETWORK_ERROR', 'TIMEOUT', 'TRUNCATED_RESPONSE', 'INVALID_RESPONSE'],
      respectRetryAfter: true,
      maxTimeoutRetries: 2,
    });
  });

  it('merges overrides and disables retries with false', () => {
    expect(
      resolveRetryPolicy(policy, { maxAttempts: 3, baseDelayMs: undefined as unknown as number }),
    ).toMatchObject({
      maxAttempts: 3,
      baseDelayMs: 500,
    });
    expect(resolveRetryPolicy(policy, false).maxAttempts).toBe(1);
  });
});

describe('backoffDelay (full jitter)', () => {
  it('is 0 when random() is 0', () => {
    for (let attempt = 1; attempt <= 10; attempt++) expect(backoffDelay(policy, attempt, () => 0)).toBe(0);
  });

  it('approaches the exponential ceiling when random() is close to 1', () => {
    expect(backoffDelay(policy, 1, () => 0.999)).toBe(499);
    expect(backoffDelay(policy, 2, () => 0.999)).toBe(999);
    expect(backoffDelay(policy, 4, () => 0.999)).toBe(3996);
  });

  it('never passes maxDelayMs', () => {
    expect(backoffDelay(policy, 20, () => 0.999)).toBe(29_970);
    expect(backoffDelay(policy, 200, () => 0.999999)).toBeLessThanOrEqual(30_000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });
  it('reads an HTTP date relative to now', () => {
    expect(parseRetryAfter(new Date(now + 12_000).toUTCString(), now)).toBe(12_000);
    expect(parseRetryAfter(new Date(now - 5000).toUTCString(), now)).toBe(0);
  });
  it('ignores garbage and absence', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('-3', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('decideRetry', () => {
  const http503 = new EtlError('HTTP_ERROR', 'HTTP 503', { status: 503 });
  const http502 = new EtlError('HTTP_ERROR', 'HTTP 502', { status: 502 });
  const reset = new EtlError('NETWORK_ERROR', 'reset');

  it('retries policy statuses and error codes with a jittered delay', () => {
    expect(decideRetry(input(failure(http503)))).toEqual({ retry: true, delayMs: 250, reason: 'HTTP_ERROR' });
    expect(decideRetry(input(failure(reset))).retry).toBe(true);
    expect(decideRetry(input(failure(new EtlError('TIMEOUT', 't')))).retry).toBe(true);
  });

  it('retries an HTTP-200 envelope whose code is a retried status', () => {
    const envelope504 = new EtlError('ARCGIS_ERROR', 'gateway', { status: 200, arcgisCode: 504 });
    expect(decideRetry(input(failure(envelope504))).retry).toBe(true);
    const envelope500 = new EtlError('ARCGIS_ERROR', 'query failed', { status: 200, arcgisCode: 500 });
    expect(decideRetry(input(failure(envelope500)))).toMatchObject({ retry: false, why: 'not-retryable' });
  });

  it('never retries credentials or token errors', () => {
    for (const code of ['BAD_CREDENTIALS', 'TOKEN_INVALID', 'TOKEN_REQUIRED', 'ACCOUNT_LOCKED'] as const) {
      const error = new EtlError(code, 'x', { status: 200, arcgisCode: 400 });
      expect(decideRetry(input(failure(error)))).toMatchObject({ retry: false, why: 'not-retryable' });
    }
  });

  it('honours Retry-After, capped by maxDelayMs', () => {
    expect(decideRetry(input(failure(http503, { retryAfterMs: 7000 })))).toMatchObject({ delayMs: 7000 });
    expect(decideRetry(input(failure(http503, { retryAfterMs: 90_000 })))).toMatchObject({ delayMs: 30_000 });
    const ignoring = { ...policy, respectRetryAfter: false };
    expect(decideRetry(input(failure(http503, { retryAfterMs: 7000 }), { policy: ignoring }))).toMatchObject({
      delayMs: 250,
    });
  });

  it('gives up at maxAttempts and when the total delay would pass its budget', () => {
    expect(decideRetry(input(failure(http503), { attempt: 6 }))).toMatchObject({
      retry: false,
      why: 'max-attempts',
    });
    expect(
      decideRetry(input(failure(http503, { retryAfterMs: 20_000 }), { totalDelayMs: 110_000 })),
    ).toMatchObject({
      retry: false,
      why: 'max-total-delay',
    });
  });

  it('retries non-idempotent requests only when the server surely did not process them', () => {
    expect(decideRetry(input(failure(http502), { idempotent: false }))).toMatchObject({
      why: 'not-idempotent',
    });
    expect(decideRetry(input(failure(reset), { idempotent: false }))).toMatchObject({
      why: 'not-idempotent',
    });
    expect(decideRetry(input(failure(http503, { notProcessed: true }), { idempotent: false })).retry).toBe(
      true,
    );
  });

  it('never retries permanent failures', () => {
    expect(decideRetry(input(failure(reset, { permanent: true })))).toMatchObject({ why: 'not-retryable' });
  });
});

describe('summarizeReasons', () => {
  it('counts repeated reasons in order', () => {
    expect(summarizeReasons(['HTTP 503', 'HTTP 503', 'ECONNRESET', 'HTTP 503'])).toBe(
      'HTTP 503 x3, ECONNRESET',
    );
  });
});
