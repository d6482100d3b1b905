/**
 * Issue 5, fleet: separate OS processes share one token through Redis.
 * - 8 processes × 50 concurrent requests against one emulator → exactly 1 token; after it expires → 2.
 * - A process dies holding the refresh lock → another refreshes once the lock expires; nothing fails.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import {
  deleteByPrefix,
  REDIS_URL,
  rawClient,
  redisReachable,
  requireOrSkip,
  uniquePrefix,
} from '../stores/redis-helpers.js';
import {
  assertBuilt,
  fixture,
  go,
  pointLayer,
  type RoundResult,
  startFleet,
  startSecured,
  USER,
  Worker,
} from './helpers.js';

const run = requireOrSkip(await redisReachable(), `fleet tests (Redis at ${REDIS_URL})`);

const FLEET_SIZE = 8;
const CONCURRENCY = 50;
const COUNT = 120;

function sum(results: readonly RoundResult[], pick: (r: RoundResult) => number): number {
  return results.reduce((total, r) => total + pick(r), 0);
}

function expectAllAnswered(results: readonly RoundResult[], processes: number): void {
  expect(results).toHaveLength(processes);
  for (const r of results) {
    expect(r.errors).toEqual([]);
    expect(r.failed).toBe(0);
    expect(r.ok).toBe(CONCURRENCY);
    expect(r.counts).toEqual([COUNT]);
  }
}

/** What the workers saw, for a failure message. */
function diagnose(emu: EmulatorHandle, workers: readonly Worker[], results: readonly RoundResult[]): string {
  const seen = workers.map((w) =>
    w.messages.flatMap((m) =>
      m.type === 'warning' && !/plain http/.test(m.message)
        ? [m.message]
        : m.type === 'token-event'
          ? [`${m.at} ${m.event.type} ${m.event.reason ?? ''} ${m.event.expiresAt ?? ''}`]
          : [],
    ),
  );
  const stats = results.map((r) => ({ ...r.stats, lockWaits: r.lockWaits, doneAt: r.doneAt }));
  return JSON.stringify({ emulator: emu.stats(), seen, stats }, null, 1);
}

describe.skipIf(!run)('a fleet of OS processes on one Redis token cache', () => {
  const workers: Worker[] = [];
  const prefixes: string[] = [];
  let emu: EmulatorHandle | undefined;

  beforeAll(() => {
    assertBuilt();
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await emu?.stop();
    emu = undefined;
    const client = await rawClient();
    try {
      for (const prefix of prefixes.splice(0)) await deleteByPrefix(client, prefix);
    } finally {
      await client.close();
    }
  });

  afterAll(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
  });

  it(`${FLEET_SIZE} processes × ${CONCURRENCY} concurrent requests make exactly 1 token request; after expiry exactly 2`, async () => {
    // Short-lived tokens on one clock shared by the emulator and the fleet: real time plus an offset
    // this test moves past the token's expiry between the rounds (no real waiting, and a slow
    // machine cannot make round 1 outlive its token).
    const LIFETIME_S = 60;
    let clockOffsetMs = 0;
    emu = await startSecured({
      tokenLifetimeSeconds: LIFETIME_S,
      now: () => Date.now() + clockOffsetMs,
      layers: [pointLayer('Fleet', COUNT)],
    });
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const layerUrl = emu.layerUrl('Fleet');
    workers.push(
      ...(await startFleet(fixture('fleet-worker.mjs'), FLEET_SIZE, {
        layerUrl,
        username: USER.username,
        password: USER.password,
        redisUrl: REDIS_URL,
        prefix,
        safetyWindowMs: 5_000,
        concurrency: CONCURRENCY,
      })),
    );
    expect(new Set(workers.map((w) => w.child.pid)).size).toBe(FLEET_SIZE);
    expect(emu.stats().tokens).toBe(0);

    const first = await go(workers, 1, { clockOffsetMs });
    expectAllAnswered(first, FLEET_SIZE);
    expect(emu.stats().tokens, diagnose(emu, workers, first)).toBe(1);
    expect(sum(first, (r) => r.stats.generated)).toBe(1);
    expect(sum(first, (r) => r.stats.sharedHits)).toBe(FLEET_SIZE - 1);
    // Every process holds the same token, so the same expiry, LIFETIME_S from now.
    const expiresAt = new Set(first.map((r) => r.expiresAt));
    expect(expiresAt.size).toBe(1);
    const expiry = Math.max(...expiresAt);
    expect(expiry - Date.now()).toBeLessThanOrEqual(LIFETIME_S * 1000);

    // The token runs out, for the emulator and for every process of the fleet.
    clockOffsetMs = expiry + 1_000 - Date.now();
    const second = await go(workers, 2, { clockOffsetMs });
    expectAllAnswered(second, FLEET_SIZE);
    expect(emu.stats().tokens, diagnose(emu, workers, second)).toBe(2);
    expect(sum(second, (r) => r.stats.generated)).toBe(2); // cumulative: one in each round
    expect(sum(second, (r) => r.stats.refreshed)).toBe(1);
    expect(new Set(second.map((r) => r.expiresAt)).size).toBe(1);
    expect(Math.min(...second.map((r) => r.expiresAt))).toBeGreaterThan(expiry);
    // Refreshed before use in both rounds: no request was sent with an expired token.
    expect(emu.stats().rejected.invalidToken).toBe(0);
  }, 60_000);

  it('a process killed while holding the refresh lock: another refreshes once the lock expires, nothing fails', async () => {
    const LOCK_TTL_MS = 1_500;
    emu = await startSecured({ layers: [pointLayer('Crash', COUNT)] });
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const config = {
      layerUrl: emu.layerUrl('Crash'),
      username: USER.username,
      password: USER.password,
      redisUrl: REDIS_URL,
      prefix,
      lockTtlMs: LOCK_TTL_MS,
      concurrency: CONCURRENCY,
    };
    const holder = new Worker(fixture('lock-holder.mjs'), config);
    workers.push(holder);
    await holder.ready();
    const fleet = await startFleet(fixture('fleet-worker.mjs'), 2, config);
    workers.push(...fleet);

    holder.send({ type: 'go', round: 1 });
    const refreshing = await holder.next(
      (m): m is { type: 'refreshing'; storeKey: string; at: number } => m.type === 'refreshing',
    );
    const raw = await rawClient();
    let lockTtl: number;
    try {
      lockTtl = await raw.pTTL(`${prefix}lock:${refreshing.storeKey}`);
    } finally {
      await raw.close();
    }
    expect(lockTtl).toBeGreaterThan(0); // the dead-to-be holder really holds the Redis lock
    expect(lockTtl).toBeLessThanOrEqual(LOCK_TTL_MS);

    const rounds = go(fleet, 1);
    // Both survivors are parked on the lock before the holder dies.
    await Promise.all(fleet.map((w) => w.next((m): m is { type: 'lock-wait' } => m.type === 'lock-wait')));
    await holder.kill('SIGKILL');
    expect(holder.child.signalCode).toBe('SIGKILL');

    const results = await rounds;
    expectAllAnswered(results, 2);
    expect(emu.stats().tokens).toBe(1); // the dead holder never got one; the survivors made one
    expect(emu.stats().requests.generateToken).toBe(1);
    expect(sum(results, (r) => r.stats.generated)).toBe(1);
    expect(sum(results, (r) => r.stats.sharedHits)).toBe(1);
    // The survivor's token request came once the dead holder's lock expired (not before: the lock
    // was honoured, never broken), and promptly after.
    const generatedAt = fleet.flatMap((w) =>
      w.messages.flatMap((m) =>
        m.type === 'token-event' && m.event.type === 'token.generated' ? [m.at] : [],
      ),
    );
    expect(generatedAt).toHaveLength(1);
    const refreshedAfter = (generatedAt[0] ?? 0) - refreshing.at;
    expect(refreshedAfter).toBeGreaterThanOrEqual(LOCK_TTL_MS - 250);
    expect(refreshedAfter).toBeLessThan(LOCK_TTL_MS + 1_500);
  }, 30_000);
});
