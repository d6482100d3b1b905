/**
 * Issue 5, secrets at rest: with ARCGIS_ETL_CACHE_KEY set, neither the cache file (written by the
 * CLI) nor the Redis value holds the token in clear; a wrong key is a miss (a new token request),
 * never a crash.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import type { EtlEvent } from '../../src/core/events.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { FileStore } from '../../src/stores/file.js';
import { RedisStore } from '../../src/stores/redis.js';
import {
  deleteByPrefix,
  REDIS_URL,
  rawClient,
  redisReachable,
  requireOrSkip,
  uniquePrefix,
} from '../stores/redis-helpers.js';
import { assertBuilt, pointLayer, runCli, startSecured, tempDir, USER } from './helpers.js';

const KEY = 'fleet-cache-passphrase-1';
const WRONG_KEY = 'another-passphrase-2';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  emu = await startSecured({ layers: [pointLayer('Sealed', 20)] });
  tmp = await tempDir();
});
afterAll(async () => {
  await emu?.stop();
  await tmp?.remove();
});

/** Proves a string is a live token: the secured layer answers a query made with it. */
async function acceptedByServer(token: string): Promise<boolean> {
  const body = new URLSearchParams({ f: 'json', where: '1=1', returnCountOnly: 'true', token });
  const response = await fetch(`${emu.layerUrl('Sealed')}/query`, { method: 'POST', body });
  const json = (await response.json()) as { count?: number };
  return json.count === 20;
}

function exportRun(cache: string, n: number, cacheKey: string | undefined) {
  return runCli(
    [
      'export',
      emu.layerUrl('Sealed'),
      '-o',
      path.join(tmp.dir, `sealed-${n}.geojson`),
      '--token-cache',
      `file:${cache}`,
    ],
    {
      HOME: tmp.dir,
      ARCGIS_USERNAME: USER.username,
      ARCGIS_PASSWORD: USER.password,
      ARCGIS_ETL_CACHE_KEY: cacheKey,
    },
  );
}

describe('encrypted file cache (CLI)', () => {
  beforeAll(() => {
    assertBuilt();
  });

  it('holds no token in clear; a wrong key or no key is a miss, never a crash', async () => {
    const cache = path.join(tmp.dir, 'sealed.json');
    const before = emu.stats().tokens;

    const first = await exportRun(cache, 1, KEY);
    expect(first.code, first.stderr).toBe(0);
    expect(emu.stats().tokens).toBe(before + 1);
    const raw = await readFile(cache, 'utf8');
    const file = JSON.parse(raw) as { entries: Record<string, { sealed?: string; record?: unknown }> };
    const [storeKey, entry] = Object.entries(file.entries)[0] ?? [];
    expect(entry?.sealed).toMatch(/^v1:/);
    expect(entry?.record).toBeUndefined();
    // The right key opens it, and what it holds is the live token that must not be in the file.
    const token = (await new FileStore({ path: cache, key: KEY }).get(storeKey ?? ''))?.token ?? '';
    expect(await acceptedByServer(token)).toBe(true);
    expect(raw).not.toContain(token);
    expect(raw).not.toContain(Buffer.from(token).toString('base64'));
    expect(raw).not.toContain(USER.password);
    expect(raw).not.toContain(KEY);

    // Same key: a hit.
    const second = await exportRun(cache, 2, KEY);
    expect(second.code, second.stderr).toBe(0);
    expect(emu.stats().tokens).toBe(before + 1);

    // Wrong key: a miss with a warning, a new token, and a file sealed with the new key.
    const wrong = await exportRun(cache, 3, WRONG_KEY);
    expect(wrong.code, wrong.stderr).toBe(0);
    expect(wrong.stderr).toMatch(/warning: token cache file .*could not be decrypted/);
    expect(wrong.stderr).not.toContain(WRONG_KEY);
    expect(emu.stats().tokens).toBe(before + 2);
    const resealed = await new FileStore({ path: cache, key: WRONG_KEY }).get(storeKey ?? '');
    expect(resealed?.token).toBeTruthy();
    expect(resealed?.token).not.toBe(token);

    // No key at all on an encrypted entry: a miss too.
    const none = await exportRun(cache, 4, undefined);
    expect(none.code, none.stderr).toBe(0);
    expect(emu.stats().tokens).toBe(before + 3);
  }, 30_000);
});

const redisUp = await redisReachable();
const runRedis = requireOrSkip(redisUp, `encrypted Redis cache test (Redis at ${REDIS_URL})`);

describe.skipIf(!runRedis)('encrypted Redis cache', () => {
  const prefix = uniquePrefix();
  afterAll(async () => {
    const client = await rawClient();
    try {
      await deleteByPrefix(client, prefix);
    } finally {
      await client.close();
    }
  });

  it('the raw Redis value holds no token in clear; a wrong key is a miss, never a crash', async () => {
    const layerUrl = emu.layerUrl('Sealed');
    const events: EtlEvent[] = [];
    const open = (key: string) =>
      connect({
        url: layerUrl,
        credentials: USER,
        tokenCache: new RedisStore({ url: REDIS_URL, prefix, key, emit: (e) => events.push(e) }),
      });
    const before = emu.stats().tokens;

    const sealed = await open(KEY);
    const token = (await sealed.auth?.getToken(layerUrl)) ?? '';
    expect(await acceptedByServer(token)).toBe(true);
    const redisKey = (sealed.store as RedisStore).tokenKey(sealed.auth?.storeKey ?? '');
    await sealed.close();
    const client = await rawClient();
    let raw: string | null;
    try {
      raw = (await client.get(redisKey)) as string | null;
    } finally {
      await client.close();
    }
    expect(raw).toMatch(/^v1:/);
    expect(raw).not.toContain(token);
    expect(raw).not.toContain(Buffer.from(token).toString('base64'));
    expect(raw).not.toContain(USER.username);

    // The right key in another connection: a shared hit.
    const same = await open(KEY);
    expect(await same.auth?.getToken(layerUrl)).toBe(token);
    expect(same.auth?.stats.sharedHits).toBe(1);
    await same.close();
    expect(emu.stats().tokens).toBe(before + 1);

    // A wrong key: a miss, a warning, a new token; nothing thrown.
    const wrong = await open(WRONG_KEY);
    const other = await wrong.auth?.getToken(layerUrl);
    await wrong.close();
    expect(other).toBeTruthy();
    expect(other).not.toBe(token);
    expect(emu.stats().tokens).toBe(before + 2);
    const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    expect(warnings.some((w) => /could not be decrypted/.test(w))).toBe(true);
    expect(warnings.join('\n')).not.toContain(WRONG_KEY);
  }, 20_000);
});
