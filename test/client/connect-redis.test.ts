/**
 * connect() with a Redis token cache: the token lands under the configured prefix, with a TTL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import {
  deleteByPrefix,
  REDIS_URL,
  rawClient,
  redisReachable,
  requireOrSkip,
  uniquePrefix,
} from '../stores/redis-helpers.js';

const run = requireOrSkip(await redisReachable(), `connect() with a Redis cache at ${REDIS_URL}`);

describe.skipIf(!run)('connect() with tokenCacheOptions', () => {
  let emu: EmulatorHandle;
  const prefix = uniquePrefix();
  beforeAll(async () => {
    emu = await startEmulator({
      users: [{ username: 'etl', password: 'pw-connect-1' }],
      layers: [{ service: 'P', generate: { count: 10, geometry: 'point', seed: 1 } }],
    });
  });
  afterAll(async () => {
    await emu.stop();
    const raw = await rawClient();
    await deleteByPrefix(raw, prefix);
    await raw.close();
  });

  it('stores the token under the given prefix, and a second connection reuses it', async () => {
    const open = () =>
      connect({
        url: emu.layerUrl('P'),
        credentials: { username: 'etl', password: 'pw-connect-1' },
        tokenCache: REDIS_URL,
        tokenCacheOptions: { prefix, key: null },
      });
    const first = await open();
    await first.client.request(`${emu.layerUrl('P')}/query`, { where: '1=1', returnCountOnly: true });
    await first.close();
    const raw = await rawClient();
    const keys: string[] = [];
    for await (const batch of raw.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) keys.push(...batch);
    const tokenKey = keys.find((k) => k.startsWith(`${prefix}token:`));
    expect(tokenKey).toBeDefined();
    expect(await raw.pTTL(tokenKey as string)).toBeGreaterThan(0);
    await raw.close();
    const second = await open();
    await second.client.request(`${emu.layerUrl('P')}/query`, { where: '1=1', returnCountOnly: true });
    expect(second.auth?.stats.generated).toBe(0);
    await second.close();
    expect(emu.stats().tokens).toBe(1);
  });
});
