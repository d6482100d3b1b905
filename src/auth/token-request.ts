/**
 * One POST to a token endpoint, shared by the OAuth, legacy and federation providers: form body
 * only, no redirect, transient faults retried by the transport, credential refusals never retried
 * and reported as BAD_CREDENTIALS / ACCOUNT_LOCKED without the secret.
 */
import { toEtlError } from '../core/errors.js';
import type { HttpResponse, Params, RetryPolicy, Transport } from '../http/types.js';
import { credentialError } from './credential-errors.js';

/** Transient statuses worth retrying a token request on. Never 400: bad credentials. */
export const TOKEN_RETRY_STATUSES: readonly number[] = [429, 502, 503, 504];
const NEVER_RETRY = new Set([400, 401, 403, 498, 499]);

/** A retry policy for token requests: whatever is asked, never on a credential refusal. */
export function tokenRetryPolicy(
  retry: Partial<RetryPolicy> | false | undefined,
): Partial<RetryPolicy> | false {
  if (retry === false) return false;
  const statuses = (retry?.statuses ?? TOKEN_RETRY_STATUSES).filter((s) => !NEVER_RETRY.has(s));
  const errorCodes = retry?.errorCodes?.filter((c) => c !== 'BAD_CREDENTIALS' && c !== 'ACCOUNT_LOCKED');
  return { ...retry, statuses, ...(errorCodes ? { errorCodes } : {}) };
}

export interface TokenPostOptions {
  /** Who, for error messages (a username or a client id; never a secret). */
  who?: string | undefined;
  retry?: Partial<RetryPolicy> | false | undefined;
  signal?: AbortSignal | undefined;
  responseType?: 'json' | 'text';
  /** Headers to send (e.g. the Referer of a referer-bound exchange). */
  headers?: Record<string, string>;
}

export async function postTokenRequest<T = unknown>(
  transport: Transport,
  url: string,
  params: Params,
  options: TokenPostOptions = {},
): Promise<HttpResponse<T>> {
  try {
    return await transport.request<T>(url, {
      method: 'POST',
      params,
      idempotent: true,
      redirect: 'error',
      purpose: 'token',
      retry: tokenRetryPolicy(options.retry),
      ...(options.responseType ? { responseType: options.responseType } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    throw credentialError(toEtlError(error), url, options.who);
  }
}
