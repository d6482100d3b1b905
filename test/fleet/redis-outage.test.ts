/**
 * Issue 5, Redis outage: our own redis-server is killed in the middle of an export whose token
 * expires (and is refreshed) during the outage. The export completes with every feature; when
 * Redis is back, the pipeline's store goes back to it and a new connection shares its token there.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import type { EtlEvent } from '../../src/core/events.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import { RedisStore } from '../../src/stores/redis.js';
import { rawClient, requireOrSkip } from '../stores/redis-helpers.js';
import { freePort, RedisServer, redisServerInstalled } from '../stores/redis-server.js';
import { pointLayer, sleep, startSecured, tempDir, USER } from './helpers.js';

const run = requireOrSkip(redisServerInstalled(), 'Redis outage export test (redis-server is not installed)');

const COUNT = 2_400;
const PAGE = 50;

async function rawGet(url: string, key: string): Promise<string | null> {
  const client = await rawClient(url);
  try {
    return (await client.get(key)) as string | null;
  } finally {
    await client.close();
  }
}

describe.skipIf(!run)('Redis dies in the middle of an export', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  it('the export completes with every feature, and the cache is used again when Redis returns', async () => {
    const server = new RedisServer(await freePort());
    cleanups.push(() => server.kill());
    await server.start();
    // Tokens live 2 s (refreshed 0.5 s early) and pages are slow: refreshes happen during the outage.
    const emu: EmulatorHandle = await startSecured({
      tokenLifetimeSeconds: 2,
      layers: [pointLayer('Outage', COUNT, { maxRecordCount: PAGE })],
      faults: { latencyMs: 120 },
    });
    cleanups.push(() => emu.stop());
    const tmp = await tempDir();
    cleanups.push(() => tmp.remove());

    const events: EtlEvent[] = [];
    const options = {
      url: emu.layerUrl('Outage'),
      credentials: USER,
      tokenCache: server.url,
      safetyWindowMs: 500,
      emit: (e: EtlEvent) => events.push(e),
    };
    const connection = await connect(options);
    cleanups.push(() => connection.close());
    const store = connection.store;
    expect(store).toBeInstanceOf(RedisStore);
    if (!(store instanceof RedisStore)) return;

    const output = path.join(tmp.dir, 'outage.geojsonl');
    let killed: Promise<void> | undefined;
    let killedAtFeatures = 0;
    let tokensAtKill = 0;
    const stats = await exportLayer({
      client: connection.client,
      layerUrl: emu.layerUrl('Outage'),
      output,
      format: 'geojsonseq',
      concurrency: 2,
      onProgress: (p) => {
        if (killed === undefined && p.features >= COUNT / 5) {
          killedAtFeatures = p.features;
          tokensAtKill = emu.stats().tokens;
          killed = server.kill();
        }
      },
    });
    await killed;

    // Killed early on, and the export went on for a while (token refreshes included) without Redis.
    expect(killedAtFeatures).toBeGreaterThan(0);
    expect(killedAtFeatures).toBeLessThan(COUNT / 2);
    const lines = (await readFile(output, 'utf8')).trim().split('\n');
    const ids = lines.map((line) => (JSON.parse(line) as { id: number }).id);
    expect(ids).toEqual([...emu.layer('Outage').objectIds()]);
    expect(stats.features).toBe(COUNT);
    expect(store.stats.outages).toBeGreaterThanOrEqual(1);
    expect(store.stats.fallbackOps).toBeGreaterThan(0); // the local cache carried the refreshes
    expect(store.mode).toBe('local');
    expect(emu.stats().tokens).toBeGreaterThan(tokensAtKill); // refreshed while Redis was down
    expect(connection.auth?.stats.failed).toBe(0);
    const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    expect(warnings.some((w) => /unreachable/i.test(w))).toBe(true);
    expect(warnings.join('\n')).not.toContain(USER.password);

    // Redis comes back (same port, empty): the running pipeline's store reconnects and uses it again.
    await server.start();
    const deadline = Date.now() + 10_000;
    while (store.mode !== 'redis' && Date.now() < deadline) {
      await store.get('probe');
      await sleep(100);
    }
    expect(store.mode).toBe('redis');
    expect(store.stats.recoveries).toBeGreaterThanOrEqual(1);
    await connection.close();

    // A new connection stores its token in that Redis, and the next one takes it from there. On a
    // server with the default token lifetime: a 2 s token of the server above can be inside its
    // refresh window by the time the second connection reads it (seen on a loaded machine).
    const again = await startSecured({ layers: [pointLayer('Again', 10)] });
    cleanups.push(() => again.stop());
    const againOptions = { ...options, url: again.layerUrl('Again') };
    const first = await connect(againOptions);
    cleanups.push(() => first.close());
    const token = await first.auth?.getToken(again.layerUrl('Again'));
    expect(token).toBeTruthy();
    const firstStore = first.store as RedisStore;
    const raw = await rawGet(server.url, firstStore.tokenKey(first.auth?.storeKey ?? ''));
    expect(raw).not.toBeNull();
    expect((JSON.parse(raw ?? '{}') as { token?: string }).token).toBe(token);
    expect(firstStore.stats.fallbackOps).toBe(0);

    const tokensBefore = again.stats().tokens;
    const second = await connect(againOptions);
    cleanups.push(() => second.close());
    expect(await second.auth?.getToken(again.layerUrl('Again'))).toBe(token);
    expect(second.auth?.stats.sharedHits).toBe(1);
    expect(again.stats().tokens).toBe(tokensBefore);
  }, 30_000);
});
