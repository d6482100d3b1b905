/**
 * Issue 17, fleet parts: the Redis host budget (a lease semaphore: never more than the limit at
 * once across clients, a dead holder's lease runs out), the OID ranges of shards, and the merge of
 * parts (GeoJSON, CSV, GeoJSONSeq) into what one file of the whole layer holds.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetJobData, FleetResult } from '../../src/fleet/job-data.js';
import type { FleetRedis } from '../../src/fleet/redis.js';
import { shardTotal } from '../../src/fleet/worker.js';
import { budgetFor, mergeParts, oidRanges, RedisHostBudget } from '../../src/index.js';
import { sharedRedisUp, type TestRedis, testRedis } from './redis.js';

const redisUp = await sharedRedisUp('fleet host budget tests');

describe('oidRanges', () => {
  it('cuts [min, max] into contiguous ranges of almost equal width, covering every OID once', () => {
    expect(oidRanges(1, 200, 4)).toEqual([
      [1, 50],
      [51, 100],
      [101, 150],
      [151, 200],
    ]);
    expect(oidRanges(5, 7, 10)).toEqual([
      [5, 5],
      [6, 6],
      [7, 7],
    ]);
    const ranges = oidRanges(3, 1_000_003, 7);
    expect(ranges[0]?.[0]).toBe(3);
    expect(ranges.at(-1)?.[1]).toBe(1_000_003);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]?.[0]).toBe((ranges[i - 1]?.[1] ?? 0) + 1);
  });
});

describe("budgetFor (the pipeline's hostBudget lookup)", () => {
  it('host:port, then the host name, then *', () => {
    const budgets = { 'gis.example.com:8443': 2, 'gis.example.com': 4, '*': 8 };
    expect(budgetFor(budgets, 'https://GIS.example.com:8443/arcgis/rest')).toBe(2);
    expect(budgetFor(budgets, 'https://gis.example.com/arcgis/rest')).toBe(4);
    expect(budgetFor(budgets, new URL('https://other.example.com/x'))).toBe(8);
    expect(budgetFor({ 'gis.example.com': 4 }, 'https://other.example.com/x')).toBeUndefined();
  });
});

describe('shardTotal (the merge count)', () => {
  const data = {
    run: 'r1',
    kind: 'merge',
    job: { id: 'Big-0' },
    parts: ['p0', 'p1', 'p2'],
  } as unknown as FleetJobData;
  const result = (features: number): FleetResult => ({ features, output: 'x', worker: 'w', published: true });

  it("is the sum of the shards' counts, each found by its job id", () => {
    const children = {
      'arcgis-etl:fleet:q:r1.Big-0.shard2': result(5),
      'arcgis-etl:fleet:q:r1.Big-0.shard0': result(10),
      'arcgis-etl:fleet:q:r1.Big-0.shard1': result(0),
    };
    expect(shardTotal(data, children)).toBe(15);
  });

  it('a shard with no result (skipped or failed) fails the merge, naming the shard', () => {
    const children = {
      'arcgis-etl:fleet:q:r1.Big-0.shard0': result(10),
      'arcgis-etl:fleet:q:r1.Big-0.shard2': result(5),
    };
    expect(() => shardTotal(data, children)).toThrow(
      /^Big-0: shard 2 of 3 \(job r1\.Big-0\.shard1, part p1\) has no result \(skipped or failed\)/,
    );
  });
});

describe('mergeParts', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-merge-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function merge(format: 'geojson' | 'csv' | 'geojsonseq', parts: string[]): Promise<string> {
    const paths = await Promise.all(
      parts.map(async (text, i) => {
        const path = join(dir, `${format}-${i}-${Math.random()}`);
        await writeFile(path, text);
        return path;
      }),
    );
    const target = join(dir, `${format}-merged-${Math.random()}`);
    await mergeParts(format, paths, target);
    return readFile(target, 'utf8');
  }

  const head = '{"type":"FeatureCollection","features":[';
  it('GeoJSON: one FeatureCollection, empty parts skipped', async () => {
    const merged = await merge('geojson', [
      `${head}\n{"a":1},\n{"a":2}\n]}\n`,
      `${head}]}\n`,
      `${head}\n{"a":3}\n]}\n`,
    ]);
    expect(merged).toBe(`${head}\n{"a":1},\n{"a":2},\n{"a":3}\n]}\n`);
    expect(await merge('geojson', [`${head}]}\n`, `${head}]}\n`])).toBe(`${head}]}\n`);
  });

  it('CSV: one header; GeoJSONSeq: the parts one after the other', async () => {
    expect(await merge('csv', ['id,name\r\n1,a\r\n', 'id,name\r\n', 'id,name\r\n2,"b\r\nc"\r\n'])).toBe(
      'id,name\r\n1,a\r\n2,"b\r\nc"\r\n',
    );
    expect(await merge('geojsonseq', ['{"a":1}\n', '', '{"a":2}\n'])).toBe('{"a":1}\n{"a":2}\n');
  });
});

describe.runIf(redisUp)('RedisHostBudget', () => {
  let test: TestRedis;
  let prefix: string;
  let redis: FleetRedis[];

  beforeAll(async () => {
    test = await testRedis('host-budget');
    prefix = test.prefix;
    redis = await test.clients(3);
  });
  afterAll(() => test?.close());

  it('never lets more than the limit in at once, across clients', async () => {
    const budgets = redis.map((r) => new RedisHostBudget(r.raw, { prefix, pollMaxMs: 10 }));
    let inside = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const release = await budgets[i % 3]!.acquire('https://gis.example.com/a', 3);
        inside++;
        peak = Math.max(peak, inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
        await release();
      }),
    );
    expect(peak).toBe(3);
    expect(budgets.reduce((n, b) => n + b.stats.acquired, 0)).toBe(24);
    for (const b of budgets) b.close();
  });

  it('a closed client: acquire fails at once (it does not wait for a reconnection that never comes)', async () => {
    const [client] = await test.clients(1);
    const budget = new RedisHostBudget(client!.raw, { prefix });
    await client!.close();
    await expect(budget.acquire('https://gis.example.com/a', 2)).rejects.toMatchObject({ code: 'ABORTED' });
    budget.close();
  });

  it('a holder that dies (its lease not renewed) loses its slot when the lease runs out', async () => {
    const dead = new RedisHostBudget(redis[0]!.raw, { prefix, leaseMs: 150 });
    await dead.acquire('https://other.example.com/x', 1);
    dead.close(); // stops renewing, as a killed process would
    const alive = new RedisHostBudget(redis[1]!.raw, { prefix, pollMaxMs: 20 });
    const started = Date.now();
    const release = await alive.acquire('https://other.example.com/y', 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    await release();
    alive.close();
  });
});
