/**
 * Issue 5 through the CLI with Redis: `--token-cache redis://HOST:PORT/DB` and `--token-cache redis`
 * (+ REDIS_URL) share one token across separate runs. Uses its own redis-server (the CLI has no
 * key-prefix flag, so it must not write into the shared Redis).
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { rawClient, requireOrSkip } from '../stores/redis-helpers.js';
import { freePort, RedisServer, redisServerInstalled } from '../stores/redis-server.js';
import { assertBuilt, pointLayer, runCli, startSecured, tempDir, USER } from './helpers.js';

const run = requireOrSkip(redisServerInstalled(), 'CLI Redis cache test (redis-server is not installed)');

describe.skipIf(!run)('CLI runs sharing a token through Redis', () => {
  let emu: EmulatorHandle;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: RedisServer;
  beforeAll(async () => {
    assertBuilt();
    server = new RedisServer(await freePort());
    await server.start();
    emu = await startSecured({ layers: [pointLayer('Shared', 20)] });
    tmp = await tempDir();
  });
  afterAll(async () => {
    await server?.kill();
    await emu?.stop();
    await tmp?.remove();
  });

  it('the second and third runs make 0 token requests; the value in Redis has a TTL', async () => {
    const env = { HOME: tmp.dir, ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };
    const exportArgs = (n: number, cache: string) => [
      'export',
      emu.layerUrl('Shared'),
      '-o',
      path.join(tmp.dir, `shared-${n}.geojson`),
      '--token-cache',
      cache,
    ];

    const first = await runCli(exportArgs(1, server.url), env);
    expect(first.code, first.stderr).toBe(0);
    expect(emu.stats().tokens).toBe(1);

    const second = await runCli(exportArgs(2, server.url), env);
    expect(second.code, second.stderr).toBe(0);
    const third = await runCli(exportArgs(3, 'redis'), { ...env, REDIS_URL: server.url });
    expect(third.code, third.stderr).toBe(0);
    expect(emu.stats().tokens).toBe(1);
    expect(first.stderr + second.stderr + third.stderr).not.toMatch(/warning: token cache/);

    const client = await rawClient(server.url);
    try {
      const keys = await client.keys('*');
      const tokenKeys = keys.filter((k) => k.includes(':token:'));
      expect(tokenKeys).toHaveLength(1);
      expect(keys.filter((k) => k.includes(':lock:'))).toEqual([]); // locks released
      const ttl = await client.pTTL(tokenKeys[0] ?? '');
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60 * 60_000);
      const value = (await client.get(tokenKeys[0] ?? '')) as string;
      expect(value).not.toContain(USER.password);
    } finally {
      await client.close();
    }
  }, 30_000);
});
