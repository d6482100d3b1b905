import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis.js';
import { eventLog, makeRecord } from './helpers.js';
import {
  deleteByPrefix,
  type RawClient,
  REDIS_URL,
  rawClient,
  redisReachable,
  requireOrSkip,
  uniquePrefix,
} from './redis-helpers.js';

const run = requireOrSkip(await redisReachable(), `Redis store tests against ${REDIS_URL}`);

describe.skipIf(!run)('RedisStore (real Redis)', () => {
  const prefix = uniquePrefix();
  const stores: RedisStore[] = [];
  let raw: RawClient;

  function store(options: Partial<RedisStoreOptions> = {}): RedisStore {
    const s = new RedisStore({ url: REDIS_URL, prefix, key: null, ...options });
    stores.push(s);
    return s;
  }

  beforeAll(async () => {
    raw = await rawClient();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await deleteByPrefix(raw, prefix);
    await raw.close();
  });

  it('get/set with PX TTL, delete, delete-if-token, shared across instances', async () => {
    const log = eventLog();
    const a = store({ emit: log.emit });
    const b = store();
    const now = Date.now();
    expect(await a.get('k1')).toBeUndefined();
    await a.set('k1', makeRecord('tok-1', now), 60_000);
    expect(await b.get('k1')).toEqual(makeRecord('tok-1', now));
    const pttl = await raw.pTTL(`${prefix}token:k1`);
    expect(pttl).toBeGreaterThan(55_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    expect(JSON.parse(String(await raw.get(`${prefix}token:k1`))).token).toBe('tok-1');

    await b.delete('k1', 'tok-other');
    expect((await a.get('k1'))?.token).toBe('tok-1');
    await b.delete('k1', 'tok-1');
    expect(await a.get('k1')).toBeUndefined();
    await a.set('k1', makeRecord('tok-2', now), 60_000);
    await a.delete('k1');
    expect(await raw.exists(`${prefix}token:k1`)).toBe(0);

    await a.set('short', makeRecord('tok-short', now), 30);
    expect((await a.get('short'))?.token).toBe('tok-short');
    await new Promise((resolve) => setTimeout(resolve, 80)); // Redis expires by its own clock
    expect(await a.get('short')).toBeUndefined();
    expect(log.warnings()).toEqual([]);
    expect(a.mode).toBe('redis');
  });

  it('20 concurrent withLock callers over 3 instances: never two inside, all complete, woken by pub/sub', async () => {
    // Fake sleeps that are never advanced: a waiter can only be woken by the release message.
    const time = new FakeTime();
    const instances = [0, 1, 2].map(() => store({ runtime: time.runtime() }));
    let inside = 0;
    let maxInside = 0;
    let done = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        instances[i % 3]!.withLock('shared', async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          const current = await instances[i % 3]!.get('shared');
          await instances[i % 3]!.set('shared', makeRecord(`tok-${i}`, Date.now()), 60_000);
          expect(current?.token).toBe(order.length === 0 ? undefined : `tok-${order.at(-1)}`);
          order.push(i);
          inside--;
          done++;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    expect(done).toBe(20);
    const stats = instances.map((s) => s.stats);
    expect(stats.reduce((n, s) => n + s.polls, 0)).toBe(0);
    expect(stats.reduce((n, s) => n + s.wakeups, 0)).toBeGreaterThan(0);
    expect(stats.reduce((n, s) => n + s.lockWaits, 0)).toBeGreaterThan(0);
    expect(await raw.exists(`${prefix}lock:shared`)).toBe(0);
  });

  it('a waiter on another instance wakes on release without polling through the hold', async () => {
    // The waiter's sleeps are fake and never advanced: only the release message can wake it, so
    // the test neither sleeps nor depends on how loaded the machine is.
    const time = new FakeTime();
    const holder = store();
    const waiter = store({ runtime: time.runtime() });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const first = holder.withLock('wake', async () => {
      entered();
      await held;
    });
    await inside;
    let acquired = false;
    const second = waiter.withLock('wake', async () => {
      acquired = true;
      return 'mine';
    });
    await vi.waitFor(() => expect(waiter.stats.lockWaits).toBe(1));
    expect(acquired).toBe(false); // it waits through the hold
    release();
    await first;
    expect(await second).toBe('mine');
    expect(waiter.stats.polls).toBe(0);
    expect(waiter.stats.wakeups).toBe(1);
  });

  it('a dead holder (lock set by hand, short PX) frees the lock by expiry and a waiter takes it', async () => {
    const s = store({ pollMaxMs: 100 });
    await raw.set(`${prefix}lock:dead`, 'crashed-process', { PX: 300 });
    const started = Date.now();
    const result = await s.withLock('dead', async () => 'mine');
    const elapsed = Date.now() - started;
    expect(result).toBe('mine');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    expect(s.stats.polls).toBeGreaterThanOrEqual(1);
    expect(s.stats.wakeups).toBe(0);
  });

  it('releases only its own lock (a lock taken over after expiry is left alone)', async () => {
    const s = store();
    await s.withLock(
      'steal',
      async () => {
        // Our lock expired and someone else took it.
        await raw.set(`${prefix}lock:steal`, 'someone-else', { PX: 5_000 });
      },
      { ttlMs: 5_000 },
    );
    expect(await raw.get(`${prefix}lock:steal`)).toBe('someone-else');
  });

  it('gives up after lockWaitMs with a warning and runs anyway (never throws into the pipeline)', async () => {
    const log = eventLog();
    const s = store({ emit: log.emit });
    await raw.set(`${prefix}lock:busy`, 'holder', { PX: 10_000 });
    expect(await s.withLock('busy', async () => 7, { waitMs: 200 })).toBe(7);
    expect(log.warnings().join('\n')).toMatch(/waited 200 ms for the lock/);
  });

  it('encryption at rest: raw value has no token; wrong key or moved value is a miss with a warning', async () => {
    const sealed = store({ key: 'redis-cache-key' });
    const record = makeRecord('TOKEN-IN-REDIS-123', Date.now(), { refreshToken: 'REFRESH-IN-REDIS-456' });
    await sealed.set('enc', record, 60_000);
    const value = String(await raw.get(`${prefix}token:enc`));
    expect(value).toMatch(/^v1:/);
    expect(value).not.toContain('TOKEN-IN-REDIS');
    expect(value).not.toContain('REFRESH-IN-REDIS');
    expect(await store({ key: 'redis-cache-key' }).get('enc')).toEqual(record);

    const wrong = eventLog();
    expect(await store({ key: 'not-the-key', emit: wrong.emit }).get('enc')).toBeUndefined();
    expect(wrong.warnings()[0]).toMatch(/wrong cache key or tampered/);
    const none = eventLog();
    expect(await store({ key: null, emit: none.emit }).get('enc')).toBeUndefined();
    expect(none.warnings()[0]).toMatch(/no cache key/);

    await raw.set(`${prefix}token:moved`, value, { PX: 60_000 });
    const moved = eventLog();
    expect(await store({ key: 'redis-cache-key', emit: moved.emit }).get('moved')).toBeUndefined();
    expect(moved.warnings()).toHaveLength(1);

    // delete-if-token works on sealed values too.
    await sealed.delete('enc', 'TOKEN-IN-REDIS-123');
    expect(await raw.exists(`${prefix}token:enc`)).toBe(0);
  });

  it('a foreign value under our key (wrong type) is a miss with a warning, not an outage', async () => {
    const log = eventLog();
    const s = store({ emit: log.emit });
    await raw.hSet(`${prefix}token:foreign`, 'a', 'b');
    expect(await s.get('foreign')).toBeUndefined();
    expect(await s.get('foreign')).toBeUndefined();
    expect(log.warnings()).toHaveLength(1);
    expect(log.warnings()[0]).toMatch(/WRONGTYPE/);
    expect(s.mode).toBe('redis');
    expect(s.stats.outages).toBe(0);
  });

  it('counts commands through the onCommand hook (a cached get is one GET)', async () => {
    const seen: string[] = [];
    const s = store({ onCommand: (args) => seen.push(String(args[0])) });
    await s.set('hook', makeRecord('tok-h', Date.now()), 60_000);
    seen.length = 0;
    await s.get('hook');
    expect(seen).toEqual(['GET']);
  });
});
