/**
 * Chaos soak helpers: the size knob, the fault mix of issue 7, a secured emulator and the token-count
 * bound (outputs are compared with the source by test/extract/helpers.ts).
 */
import { SHORT_LIFETIME_FRACTION } from '../../src/auth/validity.js';
import { FaultInjector } from '../../src/emulator/faults.js';
import { startEmulator } from '../../src/emulator/index.js';
import type {
  EmulatorHandle,
  EmulatorOptions,
  FaultOptions,
  GeneratedGeometry,
  LayerSpec,
} from '../../src/emulator/types.js';

export const USER = { username: 'chaos-user', password: 'Ch4os-Passw0rd!' };

/** Default size for CI: the whole chaos suite stays well under a minute on 2 cores. */
export const CI_FEATURES = 6_000;

/** `CHAOS_FEATURES=200000 npx vitest run test/chaos` runs the long local mode. */
export function chaosFeatures(): number {
  const raw = process.env.CHAOS_FEATURES;
  if (raw === undefined || raw.trim() === '') return CI_FEATURES;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 2_000 || n > 1_000_000) {
    throw new Error(`CHAOS_FEATURES must be an integer between 2000 and 1000000 (got "${raw}")`);
  }
  return n;
}

/** Long mode: the 60-second tokens of the issue; CI mode: tokens short enough to refresh during the run. */
export function isLongMode(features = chaosFeatures()): boolean {
  return features > 50_000;
}

export function tokenLifetimeSeconds(features = chaosFeatures()): number {
  return isLongMode(features) ? 60 : 4;
}

/** Retry-After the emulator sends with its 429s and 503s. */
export const RETRY_AFTER_SECONDS = 1;

/** Every fault of issue 7 at once (on the query route, where the pages are). */
export const CHAOS_FAULTS: FaultOptions = {
  rates: { http503: 0.05, http429: 0.02, reset: 0.01, truncate: 0.01, html: 0.01 },
  retryAfterSeconds: RETRY_AFTER_SECONDS,
};

/** ±5 minutes of server clock skew. */
export const SKEW_MS = 5 * 60_000;

export function layerSpec(
  service: string,
  count: number,
  geometry: GeneratedGeometry,
  maxRecordCount: number,
  seed = 7,
): LayerSpec {
  return { service, generate: { count, geometry, seed }, maxRecordCount };
}

export function startChaosEmulator(options: Partial<EmulatorOptions>): Promise<EmulatorHandle> {
  return startEmulator({
    users: [USER],
    tokenLifetimeSeconds: tokenLifetimeSeconds(),
    faults: CHAOS_FAULTS,
    ...options,
  });
}

/**
 * The most tokens a run of `durationMs` may generate, and why.
 *
 * - Scheduled refreshes: a token whose lifetime L is under twice the safety window is refreshed
 *   after SHORT_LIFETIME_FRACTION × L (3 s for 4-second tokens, 45 s for 60-second ones). The
 *   client reads L through the server's Date header, whose one-second resolution can only make L
 *   look longer, never shorter; so refreshes are at least R = 0.75 × L apart, and a run of D ms
 *   generates at most 1 + ceil(D / R) tokens on schedule.
 * - The revoke-all adds one: the reactive refresh after the 498s (every request that saw the 498
 *   shares it).
 * - 498 races: the transport retries a request with the token it was sent with, so a page waiting
 *   on Retry-After can outlive its token and get a 498. Its reactive refresh comes after the token
 *   expired, i.e. later than the scheduled one would have: it replaces a scheduled refresh rather
 *   than adding one. `raceAllowance` (default 2) covers what a token invalidated just before its
 *   successor's schedule point could add.
 */
export function tokenBound(
  durationMs: number,
  lifetimeSeconds: number,
  options: { revokes?: number; raceAllowance?: number } = {},
): { bound: number; refreshIntervalMs: number } {
  const refreshIntervalMs = SHORT_LIFETIME_FRACTION * lifetimeSeconds * 1000;
  const bound =
    1 + Math.ceil(durationMs / refreshIntervalMs) + (options.revokes ?? 1) + (options.raceAllowance ?? 2);
  return { bound, refreshIntervalMs };
}

/**
 * The first seed from `base` whose fault sequence draws every configured fault kind within the first
 * `draws` requests (the emulator draws once per query request, plus once more for an HTML page's
 * status): a run making at least that many query requests is then certain to meet every fault.
 */
export function coveringSeed(faults: FaultOptions, draws: number, base: number): number {
  const kinds = Object.entries(faults.rates ?? {})
    .filter(([, rate]) => (rate ?? 0) > 0)
    .map(([kind]) => kind);
  for (let seed = base; seed < base + 10_000; seed++) {
    const injector = new FaultInjector(faults, seed);
    const seen = new Set<string>();
    for (let i = 0; i < draws && seen.size < kinds.length; i++) {
      const kind = injector.draw();
      if (kind === undefined) continue;
      injector.replacement(kind);
      seen.add(kind);
    }
    if (seen.size === kinds.length) return seed;
  }
  throw new Error(`no seed near ${base} draws every fault within ${draws} requests`);
}

/** The server quirks of issue 11 (servers we did not write). */
export type Quirk = 'ignoreOrderBy' | 'pageCap' | 'emptyStatistics' | 'offsetDepth' | 'nullGeometries';
export const QUIRKS: readonly Quirk[] = [
  'ignoreOrderBy',
  'pageCap',
  'emptyStatistics',
  'offsetDepth',
  'nullGeometries',
];

/** The emulator faults of a set of quirks (null geometries are a property of the layer). */
export function quirkFaults(quirks: readonly Quirk[]): FaultOptions {
  return {
    ...(quirks.includes('ignoreOrderBy') ? { ignoreOrderBy: true } : {}),
    ...(quirks.includes('pageCap') ? { pageCap: 45 } : {}),
    ...(quirks.includes('emptyStatistics') ? { emptyStatistics: true } : {}),
    ...(quirks.includes('offsetDepth') ? { offsetDepth: 400 } : {}),
  };
}
