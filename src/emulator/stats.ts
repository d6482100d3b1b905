/**
 * Exact counters of what the emulator served: tokens issued, requests by route, faults by kind,
 * bad logins and rejected (498/499) requests.
 */
import type { EmulatorStats } from './types.js';

export type TokenEndpoint = 'server' | 'portal' | 'legacy' | 'oauth' | 'oauthRefresh' | 'federated';

const BASE_ENDPOINTS: readonly TokenEndpoint[] = ['server', 'portal', 'legacy'];

export class StatsCounter {
  #tokensIssued: Record<string, number> = {};
  #requests: Record<string, number> = {};
  #faults: Record<string, number> = {};
  #badLogins = 0;
  #invalidToken = 0;
  #tokenRequired = 0;

  readonly #endpoints: readonly TokenEndpoint[];

  /** `extraEndpoints` start at 0 too (others appear once counted). */
  constructor(extraEndpoints: readonly TokenEndpoint[] = []) {
    this.#endpoints = [...BASE_ENDPOINTS, ...extraEndpoints];
    this.reset();
  }

  reset(): void {
    this.#tokensIssued = Object.fromEntries(this.#endpoints.map((e) => [e, 0]));
    this.#requests = {};
    this.#faults = {};
    this.#badLogins = 0;
    this.#invalidToken = 0;
    this.#tokenRequired = 0;
  }

  tokenIssued(endpoint: TokenEndpoint): void {
    this.#tokensIssued[endpoint] = (this.#tokensIssued[endpoint] ?? 0) + 1;
  }

  request(route: string): void {
    this.#requests[route] = (this.#requests[route] ?? 0) + 1;
  }

  fault(kind: string): void {
    this.#faults[kind] = (this.#faults[kind] ?? 0) + 1;
  }

  badLogin(): void {
    this.#badLogins += 1;
  }

  invalidToken(): void {
    this.#invalidToken += 1;
  }

  tokenRequired(): void {
    this.#tokenRequired += 1;
  }

  /** Everything but the query load (the capacity gate counts that). */
  snapshot(): Omit<EmulatorStats, 'load'> {
    const tokensIssued = { ...this.#tokensIssued };
    return {
      tokensIssued,
      tokens: Object.values(tokensIssued).reduce((a, b) => a + b, 0),
      requests: { ...this.#requests },
      faults: { ...this.#faults },
      badLogins: this.#badLogins,
      rejected: { invalidToken: this.#invalidToken, tokenRequired: this.#tokenRequired },
    };
  }
}
