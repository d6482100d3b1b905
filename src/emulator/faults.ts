/**
 * Fault injection, deterministic from a seed: one draw per request in scope picks at most one
 * fault, walking the rates in a fixed order. Same seed and same requests → same faults.
 */
import { type Random, seededRandom } from '../core/time.js';
import { envelope } from './envelopes.js';
import { errorPage, gatewayPage } from './html.js';
import { htmlReply, type Reply, TEXT_TYPE } from './reply.js';
import type { FaultOptions, FaultRates, QueryFaults } from './types.js';

export type FaultKind = keyof FaultRates;

/** Fixed order of the draw. */
export const FAULT_KINDS: readonly FaultKind[] = [
  'http429',
  'http500',
  'http502',
  'http503',
  'http504',
  'reset',
  'truncate',
  'html',
];

/** Faults that wrap the real answer instead of replacing it. */
export type BodyFault = 'reset' | 'truncate';

export class FaultInjector {
  #options: FaultOptions = {};
  #random: Random;
  #hasRates = false;

  constructor(options: FaultOptions, seed: number) {
    this.#random = seededRandom(seed);
    this.set(options);
  }

  set(options: FaultOptions, seed?: number): void {
    this.#options = { ...options, ...(options.rates ? { rates: { ...options.rates } } : {}) };
    this.#hasRates = FAULT_KINDS.some((k) => (options.rates?.[k] ?? 0) > 0);
    if (seed !== undefined) this.#random = seededRandom(seed);
  }

  get options(): FaultOptions {
    return this.#options;
  }

  /** Whether faults apply to a route (`query` scope: only the query route). */
  appliesTo(route: string): boolean {
    return (this.#options.scope ?? 'query') === 'all' || route === 'query';
  }

  get latencyMs(): number {
    return Math.max(0, this.#options.latencyMs ?? 0);
  }

  get msPer1000Features(): number {
    return Math.max(0, this.#options.msPer1000Features ?? 0);
  }

  /** Picks at most one fault for this request. */
  draw(): FaultKind | undefined {
    if (!this.#hasRates) return undefined;
    const rates = this.#options.rates ?? {};
    const r = this.#random();
    let cumulative = 0;
    for (const kind of FAULT_KINDS) {
      cumulative += Math.max(0, rates[kind] ?? 0);
      if (r < cumulative) return kind;
    }
    return undefined;
  }

  /** The answer that replaces the real one, or undefined for body faults (reset, truncate). */
  replacement(kind: FaultKind): Reply | undefined {
    switch (kind) {
      case 'http429': {
        const retryAfter = String(Math.max(0, Math.round(this.#options.retryAfterSeconds ?? 1)));
        return {
          ...envelope(429, 'Too many requests. Try again later.', ['Rate limit exceeded.']),
          status: 429,
          headers: { 'Retry-After': retryAfter },
        };
      }
      case 'http500':
        return { ...envelope(500, 'Internal Server Error', []), status: 500 };
      case 'http502':
        return htmlReply(gatewayPage(502, 'Bad Gateway'), 502);
      case 'http503':
        return {
          status: 503,
          contentType: TEXT_TYPE,
          body: 'Service Unavailable',
          headers: { 'Retry-After': String(Math.max(0, Math.round(this.#options.retryAfterSeconds ?? 1))) },
        };
      case 'http504':
        return htmlReply(gatewayPage(504, 'Gateway Time-out'), 504);
      case 'html':
        // a second draw picks the status: some web tiers answer their error page with 200
        return htmlReply(errorPage(), this.#random() < 0.5 ? 200 : 500);
      default:
        return undefined;
    }
  }

  /** The query-level faults the data engine applies. */
  queryFaults(): QueryFaults {
    const o = this.#options;
    return {
      ...(o.ignoreResultOffset === undefined ? {} : { ignoreResultOffset: o.ignoreResultOffset }),
      ...(o.extraRow === undefined ? {} : { extraRow: o.extraRow }),
      ...(o.shortPageExceeded === undefined ? {} : { shortPageExceeded: o.shortPageExceeded }),
      ...(o.failAbove === undefined ? {} : { failAbove: o.failAbove }),
      ...(o.ignoreOrderBy === undefined ? {} : { ignoreOrderBy: o.ignoreOrderBy }),
      ...(o.ignoreOrderByAll === undefined ? {} : { ignoreOrderByAll: o.ignoreOrderByAll }),
      ...(o.pageCap === undefined ? {} : { pageCap: o.pageCap }),
      ...(o.emptyStatistics === undefined ? {} : { emptyStatistics: o.emptyStatistics }),
      ...(o.offsetDepth === undefined ? {} : { offsetDepth: o.offsetDepth }),
    };
  }
}
