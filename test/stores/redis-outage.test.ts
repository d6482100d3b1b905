import { afterEach, describe, expect, it, vi } from 'vitest';
import { RedisStore } from '../../src/stores/redis.js';
import { eventLog, makeRecord } from './helpers.js';
import { rawClient, requireOrSkip, uniquePrefix } from './redis-helpers.js';
import { freePort, RedisServer, redisServerInstalled } from './redis-server.js';

const run = requireOrSkip(redisServerInstalled(), 'Redis outage tests (redis-server is not installed)');

async function rawGet(url: string, key: string): Promise<string | null> {
  const client = await rawClient(url);
  try {
    return (await client.get(key)) as string | null;
  } finally {
    await client.close();
  }
}

describe.skipIf(!run)('RedisStore outages (own redis-server child process)', () => {
  const servers: RedisServer[] = [];
  const stores: RedisStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(servers.splice(0).map((s) => s.kill()));
  });

  function setup(port: number) {
    const server = new RedisServer(port);
    servers.push(server);
    const log = eventLog();
    const info = vi.fn();
    const prefix = uniquePrefix();
    const store = new RedisStore({
      url: server.url,
      prefix,
      key: null,
      emit: log.emit,
      logger: { info, debug() {}, warn() {}, error() {} },
      reconnectMaxDelayMs: 100,
      commandTimeoutMs: 1_000,
    });
    stores.push(store);
    return { server, log, info, prefix, store };
  }

  it('unreachable at start: works locally with one warning, then uses Redis once it is up', async () => {
    const { server, log, prefix, store } = setup(await freePort());
    const started = Date.now();
    await store.set('k', makeRecord('tok-local', Date.now()), 60_000);
    expect((await store.get('k'))?.token).toBe('tok-local');
    expect(await store.withLock('k', async () => 'locked locally')).toBe('locked locally');
    await store.delete('k', 'tok-local');
    expect(await store.get('k')).toBeUndefined();
    await store.set('kept', makeRecord('tok-kept', Date.now()), 60_000);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(store.mode).toBe('local');
    expect(log.warnings()).toHaveLength(1);
    expect(log.warnings()[0]).toMatch(/unreachable.*local in-process cache/);
    expect(log.events).toContainEqual(expect.objectContaining({ type: 'token.cache', outcome: 'error' }));

    await server.start();
    await vi.waitFor(() => expect(store.mode).toBe('redis'), { timeout: 5_000, interval: 20 });
    await store.set('after', makeRecord('tok-after', Date.now()), 60_000);
    expect(JSON.parse(String(await rawGet(server.url, `${prefix}token:after`))).token).toBe('tok-after');
    // What was kept locally during the outage was copied to Redis.
    expect(JSON.parse(String(await rawGet(server.url, `${prefix}token:kept`))).token).toBe('tok-kept');
    expect(log.warnings()).toHaveLength(1);
  });

  it('killed mid-run: keeps working locally with ONE warning, then back on Redis after a restart', async () => {
    const { server, log, info, prefix, store } = setup(await freePort());
    await server.start();
    await store.set('a', makeRecord('tok-a', Date.now()), 60_000);
    expect(await rawGet(server.url, `${prefix}token:a`)).toContain('tok-a');
    expect(store.mode).toBe('redis');

    await server.kill();
    const started = Date.now();
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.withLock('b', async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          if (!(await store.get('b'))) await store.set('b', makeRecord(`tok-b${i}`, Date.now()), 60_000);
          await new Promise((resolve) => setImmediate(resolve));
          inside--;
        }),
      ),
    );
    expect(maxInside).toBe(1); // the in-process mutex still holds
    expect((await store.get('b'))?.token).toBe('tok-b0');
    for (let i = 0; i < 20; i++) await store.get(`x${i}`);
    expect(Date.now() - started).toBeLessThan(2_000); // fail fast, never hang
    expect(store.mode).toBe('local');
    expect(log.warnings()).toHaveLength(1);
    expect(store.stats.outages).toBe(1);
    expect(store.stats.fallbackOps).toBeGreaterThan(20);

    await server.start(); // same port
    await vi.waitFor(() => expect(store.mode).toBe('redis'), { timeout: 5_000, interval: 20 });
    expect(info).toHaveBeenCalledWith(expect.anything(), expect.stringMatching(/reachable again/));
    await store.set('c', makeRecord('tok-c', Date.now()), 60_000);
    expect(await rawGet(server.url, `${prefix}token:c`)).toContain('tok-c');
    expect((await store.get('c'))?.token).toBe('tok-c');
    expect(await store.withLock('c', async () => 'redis lock again')).toBe('redis lock again');
    expect(store.stats.recoveries).toBe(1);

    // A second outage is a second warning (one per outage).
    await server.kill();
    await store.get('c');
    expect(log.warnings()).toHaveLength(2);
  });
});
