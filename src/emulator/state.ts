/**
 * Everything a route handler may read or change, in one place.
 */
import type { CapacityGate } from './capacity.js';
import type { Catalog } from './catalog.js';
import type { FaultInjector } from './faults.js';
import type { JobRegistry } from './jobs/registry.js';
import type { LockoutTracker } from './lockout.js';
import type { OAuthGrants } from './oauth-grants.js';
import type { ResolvedOptions } from './options.js';
import type { StatsCounter } from './stats.js';
import type { TokenRegistry } from './tokens.js';

export interface EmulatorState {
  readonly options: ResolvedOptions;
  readonly tokens: TokenRegistry;
  readonly lockout: LockoutTracker;
  readonly stats: StatsCounter;
  readonly faults: FaultInjector;
  /** Service instances and the query load counters. */
  readonly capacity: CapacityGate;
  readonly catalog: Catalog;
  readonly grants: OAuthGrants;
  /** Export jobs: createReplica (async) and portal item exports. */
  readonly jobs: JobRegistry;
  /** `http(s)://host:port` as the server was started (set once listening). */
  origin: string;
  /** Server clock skew in ms (changeable at run time). */
  clockOffsetMs: number;
  /** True when users, apps, API keys or federation are configured: token-based security is on. */
  readonly securedServer: boolean;
}

/** The server's own clock: the injected clock plus the skew. */
export function serverNow(state: EmulatorState): number {
  return state.options.now() + state.clockOffsetMs;
}
