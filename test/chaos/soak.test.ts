/**
 * Issue 7, chaos soak: a secured layer exported with every fault on at once — 5% 503, 2% 429 with
 * Retry-After, 1% connection resets mid-body, 1% truncated JSON, 1% HTML error pages, short-lived
 * tokens, one revoke-all in the middle, and ±5 minutes of server clock skew — for every strategy
 * (auto, offset, ids, oid-range, envelope), then with 4 CLI processes sharing one Redis token cache.
 *
 * CI mode (default): 6000 polygons (holes, multipolygons) per strategy, 50 per page, 4-second tokens
 * so that scheduled refreshes happen during the bounded run.
 * Long local mode:  CHAOS_FEATURES=200000 npx vitest run test/chaos
 *   (points for size, 1000 per page, the 60-second tokens; expect several minutes).
 *
 * Real time throughout: the emulator expires tokens on the wall clock and the transport honours
 * Retry-After (1 s) as sent; only the client's own backoff is made small. Faults are seeded: each
 * run's seed is chosen (coveringSeed) so that its first requests meet every fault kind.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import type { EtlEvent } from '../../src/core/events.js';
import { realSleep, type Sleep } from '../../src/core/time.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { type ExportStats, exportLayer } from '../../src/features/export.js';
import type { StrategyChoice } from '../../src/features/extract.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import { expectSameAsSource, readSeq, type TempDir, tempDir } from '../extract/helpers.js';
import { assertBuilt, runCli } from '../fleet/helpers.js';
import { requireOrSkip } from '../stores/redis-helpers.js';
import { freePort, RedisServer, redisServerInstalled } from '../stores/redis-server.js';
import {
  CHAOS_FAULTS,
  chaosFeatures,
  coveringSeed,
  isLongMode,
  layerSpec,
  RETRY_AFTER_SECONDS,
  SKEW_MS,
  startChaosEmulator,
  tokenBound,
  tokenLifetimeSeconds,
  USER,
} from './helpers.js';

const FEATURES = chaosFeatures();
const LONG = isLongMode(FEATURES);
const LIFETIME = tokenLifetimeSeconds(FEATURES);
const GEOMETRY = LONG ? 'point' : 'mixed-polygon';
/** Small pages: many requests, so that every fault kind is met in every run. */
const PAGE = LONG ? 1000 : 50;
const PROCESSES = 4;
const TIMEOUT = LONG ? 3_600_000 : 120_000;
const FAULT_KINDS = Object.keys(CHAOS_FAULTS.rates ?? {});

const STRATEGY_RUNS: { strategy: StrategyChoice; skew: number; seedBase: number }[] = [
  { strategy: 'auto', skew: +SKEW_MS, seedBase: 11 },
  { strategy: 'offset', skew: -SKEW_MS, seedBase: 1_000 },
  { strategy: 'ids', skew: +SKEW_MS, seedBase: 2_000 },
  { strategy: 'oid-range', skew: -SKEW_MS, seedBase: 3_000 },
  { strategy: 'envelope', skew: +SKEW_MS, seedBase: 4_000 },
];

type RetryEvent = Extract<EtlEvent, { type: 'request.retry' }>;

interface RunResult {
  features: GeoJSONFeature[];
  stats: ExportStats;
  durationMs: number;
  events: EtlEvent[];
  sleeps: number[];
  revokedAtMs: number | undefined;
  auth: { generated: number; invalidated: number };
}

/**
 * The fewest tokens a run can have used: the first, and the one after the revoke-all, plus one
 * more on each side of the revoke that lasted longer than a token lives (3 s of slack: a request
 * sleeping on Retry-After when the revoke lands, the last answer, the final write).
 */
function minimumTokens(revokedAtMs: number, durationMs: number): number {
  const outlived = (ms: number) => (ms > LIFETIME * 1000 + 3_000 ? 1 : 0);
  return 2 + outlived(revokedAtMs) + outlived(durationMs - revokedAtMs);
}

/** One library export of the layer with every fault on; the revoke-all is sent from onProgress. */
async function chaosExport(emu: EmulatorHandle, strategy: StrategyChoice): Promise<RunResult> {
  const tmp = await tempDir('arcgis-etl-chaos-');
  const events: EtlEvent[] = [];
  const sleeps: number[] = [];
  const sleep: Sleep = (ms, signal) => {
    sleeps.push(ms);
    return realSleep(ms, signal);
  };
  const connection = await connect({
    url: emu.layerUrl('Chaos'),
    credentials: USER,
    runtime: { sleep },
    emit: (event) => events.push(event),
    // a small backoff keeps the suite fast; maxDelayMs stays above Retry-After, which is honoured as sent
    transportOptions: {
      retry: { baseDelayMs: 5, maxDelayMs: 5_000, maxAttempts: 12, maxTotalDelayMs: 120_000 },
    },
  });
  let revokedAtMs: number | undefined;
  const started = Date.now();
  try {
    const output = tmp.path(`${strategy}.geojsonseq`);
    const stats = await exportLayer({
      client: connection.client,
      layerUrl: emu.layerUrl('Chaos'),
      output,
      format: 'geojsonseq',
      strategy,
      onProgress: (p) => {
        if (revokedAtMs === undefined && p.features >= p.total / 2) {
          revokedAtMs = Date.now() - started;
          emu.revokeAll();
        }
      },
    });
    const durationMs = Date.now() - started;
    const { generated, invalidated } = connection.auth!.stats;
    return {
      features: await readSeq(output),
      stats,
      durationMs,
      events,
      sleeps,
      revokedAtMs,
      auth: { generated, invalidated },
    };
  } finally {
    await connection.close();
    await tmp.remove();
  }
}

const runRedis = requireOrSkip(
  redisServerInstalled(),
  'chaos soak with Redis (redis-server is not installed)',
);

/** The fleet: PROCESSES CLI exports of slices of one layer, sharing a token through one Redis. */
async function fleetRun(server: RedisServer, emu: EmulatorHandle, tmp: TempDir): Promise<void> {
  const oids = emu.layer('Points').objectIds();
  const count = oids.length;
  const size = Math.ceil(oids.length / PROCESSES);
  const slices = Array.from({ length: PROCESSES }, (_, i) =>
    oids.slice(i * size, Math.min(oids.length, (i + 1) * size)),
  );
  const strategies = ['auto', 'offset', 'ids', 'oid-range'] as const;
  const env = { HOME: tmp.dir, ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };
  const args = (i: number) => [
    'export',
    emu.layerUrl('Points'),
    '-o',
    tmp.path(`slice-${i}.geojsonseq`),
    '--where',
    `OBJECTID >= ${slices[i]![0]} AND OBJECTID <= ${slices[i]!.at(-1)}`,
    '--strategy',
    strategies[i % strategies.length]!,
    '--token-cache',
    server.url,
    '--stats-json',
    tmp.path(`slice-${i}.json`),
  ];

  // the revoke-all lands in the middle of the fleet's run (half of the pages served)
  const halfway = Math.ceil(count / PAGE) / 2;
  let revokedAtMs: number | undefined;
  const started = Date.now();
  const watcher = setInterval(() => {
    if (revokedAtMs === undefined && (emu.stats().requests.query ?? 0) >= halfway) {
      revokedAtMs = Date.now() - started;
      emu.revokeAll();
    }
  }, 20);
  let results: Awaited<ReturnType<typeof runCli>>[];
  try {
    results = await Promise.all(slices.map((_, i) => runCli(args(i), env, { timeoutMs: TIMEOUT })));
  } finally {
    clearInterval(watcher);
  }
  const durationMs = Date.now() - started;

  // all exit 0, each output complete (by OID and content), no duplicates
  for (const [i, result] of results.entries()) {
    expect(result.code, `process ${i}: ${result.stderr}`).toBe(0);
    expectSameAsSource(
      emu,
      'Points',
      await readSeq(tmp.path(`slice-${i}.geojsonseq`)),
      slices[i] ? { oids: slices[i] } : {},
    );
  }
  const perProcess = await Promise.all(
    slices.map(
      async (_, i) =>
        JSON.parse(await readFile(tmp.path(`slice-${i}.json`), 'utf8')) as {
          features: number;
          retries: number;
          tokensGenerated: number;
        },
    ),
  );
  expect(perProcess.reduce((n, s) => n + s.features, 0)).toBe(count);
  expect(perProcess.reduce((n, s) => n + s.retries, 0)).toBeGreaterThan(0);

  const served = emu.stats();
  for (const kind of FAULT_KINDS) expect(served.faults[kind] ?? 0, `${kind} served`).toBeGreaterThan(0);
  expect(revokedAtMs).toBeDefined();
  expect(served.rejected.invalidToken).toBeGreaterThan(0);

  // one token history for the whole fleet: the bound does not grow with the process count,
  // and stays under the 2 tokens per process (first + after the revoke) of unshared caches
  const { bound } = tokenBound(durationMs, LIFETIME);
  expect(served.tokens).toBe(perProcess.reduce((n, s) => n + s.tokensGenerated, 0));
  expect(served.tokens).toBeGreaterThanOrEqual(2);
  expect(served.tokens, `${durationMs} ms run`).toBeLessThanOrEqual(bound);
  if (bound < 2 * PROCESSES) expect(served.tokens).toBeLessThan(2 * PROCESSES);
}

describe.concurrent(`chaos soak: every fault at once (${FEATURES} features per run)`, () => {
  for (const { strategy, skew, seedBase } of STRATEGY_RUNS) {
    it(
      `${strategy}, server clock ${skew > 0 ? '+' : '-'}5 min: complete, no duplicates, bounded tokens`,
      async () => {
        const emu = await startChaosEmulator({
          layers: [layerSpec('Chaos', FEATURES, GEOMETRY, PAGE)],
          clockOffsetMs: skew,
          // the export makes at least FEATURES / PAGE query requests: they meet every fault kind
          seed: coveringSeed(CHAOS_FAULTS, Math.floor(FEATURES / PAGE), seedBase),
        });
        try {
          const run = await chaosExport(emu, strategy);
          const { stats } = run;

          // success, and the output set equals the source set by OID and content, without duplicates
          expect(stats.features).toBe(FEATURES);
          if (strategy !== 'auto') expect(stats.strategy).toBe(strategy);
          expectSameAsSource(emu, 'Chaos', run.features);

          // every fault kind was served, and survived
          const served = emu.stats();
          for (const kind of FAULT_KINDS)
            expect(served.faults[kind] ?? 0, `${kind} served`).toBeGreaterThan(0);
          expect(stats.retries).toBeGreaterThan(0);

          // Retry-After (sent with the 429s and 503s) was honoured as the server said
          const throttled = run.events.filter(
            (e): e is RetryEvent => e.type === 'request.retry' && /^HTTP (429|503)$/.test(e.reason),
          );
          expect(throttled.length).toBeGreaterThan(0);
          for (const e of throttled) expect(e.delayMs).toBe(RETRY_AFTER_SECONDS * 1000);
          const waitedRetryAfter = run.sleeps.filter((ms) => ms === RETRY_AFTER_SECONDS * 1000).length;
          expect(waitedRetryAfter).toBeGreaterThanOrEqual(throttled.length);

          // the revoke-all hit mid-run and was answered with one fresh token
          expect(run.revokedAtMs).toBeDefined();
          expect(served.rejected.invalidToken).toBeGreaterThan(0);
          expect(run.auth.invalidated).toBeGreaterThan(0);

          // token counters: client and server agree, within the bound derived in tokenBound()
          const { bound } = tokenBound(run.durationMs, LIFETIME);
          expect(served.tokens).toBe(run.auth.generated);
          expect(stats.tokensGenerated).toBe(run.auth.generated);
          expect(served.tokens, `${run.durationMs} ms run`).toBeLessThanOrEqual(bound);
          // scheduled refreshes really happened when a token outlived its refresh point
          // tokens were renewed during the run: a token lives LIFETIME s at the server, so a run
          // still fetching pages more than that after a token was issued must have used a newer one
          expect(served.tokens).toBeGreaterThanOrEqual(minimumTokens(run.revokedAtMs ?? 0, run.durationMs));
        } finally {
          await emu.stop();
        }
      },
      TIMEOUT,
    );
  }

  it.skipIf(!runRedis)(
    `${PROCESSES} CLI processes sharing one Redis cache: all exit 0, slices complete, 1 + refreshes tokens, not ${PROCESSES}×`,
    async () => {
      assertBuilt();
      const server = new RedisServer(await freePort());
      await server.start();
      const count = 2 * FEATURES;
      const emu = await startChaosEmulator({
        layers: [layerSpec('Points', count, 'point', PAGE)],
        clockOffsetMs: -SKEW_MS,
        seed: coveringSeed(CHAOS_FAULTS, Math.floor(count / PAGE), 5_000),
      });
      const tmp = await tempDir('arcgis-etl-chaos-');
      try {
        await fleetRun(server, emu, tmp);
      } finally {
        await emu.stop();
        await server.kill();
        await tmp.remove();
      }
    },
    TIMEOUT,
  );
});
