import type { Authenticator, AuthStats } from '../../src/auth/types.js';
import { EtlError } from '../../src/core/errors.js';
import type { HttpResponse, RequestOptions, Transport, TransportStats } from '../../src/http/types.js';

export interface Call {
  url: string;
  options: RequestOptions;
}

/** A transport answering from a function; records every call. */
export function fakeTransport(answer: (call: Call, index: number) => unknown): Transport & { calls: Call[] } {
  const calls: Call[] = [];
  const stats: TransportStats = { requests: 0, retries: 0 };
  return {
    calls,
    stats,
    async request<T>(url: string, options: RequestOptions = {}): Promise<HttpResponse<T>> {
      const call = { url, options };
      calls.push(call);
      stats.requests++;
      const body = answer(call, calls.length - 1);
      if (body instanceof Error) throw body;
      return { status: 200, headers: {}, body: body as T, serverDate: undefined, attempts: 1, url };
    },
    async close() {},
  };
}

export const tokenInvalid = () =>
  new EtlError('TOKEN_INVALID', 'ArcGIS error 498: Invalid token.', { arcgisCode: 498 });
export const tokenRequired = () =>
  new EtlError('TOKEN_REQUIRED', 'ArcGIS error 499: Token Required', { arcgisCode: 499 });

/** An authenticator handing out tok-1, tok-2, … (a new one after each invalidate). */
export function fakeAuth(options: { canRefresh?: boolean; referer?: string; origin?: string } = {}) {
  let n = 1;
  const stats: AuthStats = { generated: 1, refreshed: 0, invalidated: 0, failed: 0, sharedHits: 0 };
  const invalidated: string[] = [];
  const auth: Authenticator & { invalidated: string[]; current(): string } = {
    invalidated,
    current: () => `tok-${n}`,
    referer: options.referer,
    canRefresh: options.canRefresh ?? true,
    stats,
    async getToken(url) {
      if (options.origin && new URL(url).origin !== options.origin) return undefined;
      return `tok-${n}`;
    },
    async invalidate(token) {
      invalidated.push(token);
      if (token === `tok-${n}`) {
        n++;
        stats.generated++;
        stats.refreshed++;
        stats.invalidated++;
      }
    },
  };
  return auth;
}
