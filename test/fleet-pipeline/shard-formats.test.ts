/**
 * Issue 17, shards of every format that merges: a layer above the shard size, exported by the
 * fleet (a worker in this process) in OID-range shards, to
 * - GeoParquet: published as a dataset folder `Points-0.parquet/part-0000N.parquet`, whose parts
 *   read back with hyparquet hold, in order, exactly the rows of a one-process export;
 * - GeoPackage: one file, read back with GDAL's ogr2ogr feature for feature as the one-process
 *   export (same fids 1…N), its R-tree holding every feature, its extent the layer's;
 * - FlatGeobuf (not merged): one job for the layer and a notice, its output exact.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { enqueuePipeline, formatRunStatus } from '../../src/index.js';
import { openDatabase } from '../../src/outputs/gpkg/sqlite.js';
import { hasGdal, ogrFeatures, ogrinfo } from '../outputs/gdal.js';
import { readParquet } from '../outputs/parquet-read.js';
import {
  CREDENTIAL_ENV,
  FLEET_USER,
  referenceRun,
  sourcesYaml,
  workInProcess,
  writePipeline,
} from './helpers.js';
import { sharedRedisUp, type TestRedis, testRedis } from './redis.js';

const run = (await sharedRedisUp('fleet shard format tests')) && hasGdal;

describe.runIf(run)('fleet: sharded GeoParquet, GeoPackage and FlatGeobuf outputs', () => {
  let emu: EmulatorHandle;
  let root: string;
  let redis: TestRedis;

  const yaml = () =>
    sourcesYaml(
      emu,
      [
        ['Points', 'out/{service}-{layer}.parquet'],
        ['Polygons', 'out/{service}-{layer}.gpkg'],
        ['Lines', 'out/{service}-{layer}.fgb'],
      ],
      2,
    );

  beforeAll(async () => {
    emu = await startEmulator({
      users: [FLEET_USER],
      seed: 1,
      layers: [
        { service: 'Points', generate: { count: 45, geometry: 'point', seed: 11 }, maxRecordCount: 10 },
        { service: 'Polygons', generate: { count: 35, geometry: 'polygon', seed: 12 }, maxRecordCount: 10 },
        { service: 'Lines', generate: { count: 25, geometry: 'polyline', seed: 13 }, maxRecordCount: 10 },
      ],
    });
    root = await mkdtemp(join(tmpdir(), 'arcgis-etl-fleet-formats-'));
    redis = await testRedis('fleet-formats');
  }, 30_000);

  afterAll(async () => {
    await redis?.close();
    await emu?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('each output holds exactly the source set', async () => {
    const { pipeline: reference } = await writePipeline(join(root, 'reference'), yaml());
    await referenceRun(reference);
    const { pipeline } = await writePipeline(join(root, 'fleet'), yaml());
    const fleet = await redis.fleet();
    const notices: string[] = [];
    const enqueued = await enqueuePipeline(fleet, pipeline, {
      url: redis.url,
      queueName: redis.queueName,
      shardSize: 10,
      backoffMs: 50,
      env: CREDENTIAL_ENV,
      onNotice: (message) => notices.push(message),
    });
    redis.runs.push(enqueued.run);
    const shards = enqueued.record.layers.map((l) => l.shardIds.length);
    expect(shards).toEqual([5, 4, 0]);
    expect(notices).toEqual([
      expect.stringMatching(/flatgeobuf outputs are not sharded \(one job for the layer\)/),
    ]);

    const status = await workInProcess(fleet, redis.url, redis.queueName, enqueued.run);
    expect(status.totals, formatRunStatus(status).join('\n')).toMatchObject({ done: 3, failed: 0 });
    expect(status.layers.map((l) => l.features)).toEqual([45, 35, 25]);
    const out = join(root, 'fleet', 'out');
    const ref = join(root, 'reference', 'out');
    expect((await readdir(out)).sort()).toEqual(['Lines-0.fgb', 'Points-0.parquet', 'Polygons-0.gpkg']);

    // GeoParquet: a folder of parts, in OID order
    const parts = (await readdir(join(out, 'Points-0.parquet'))).sort();
    expect(parts).toEqual([0, 1, 2, 3, 4].map((i) => `part-0000${i}.parquet`));
    const rows: Record<string, unknown>[] = [];
    for (const part of parts) {
      const read = await readParquet(join(out, 'Points-0.parquet', part));
      expect(read.geo).toMatchObject({ primary_column: expect.any(String) });
      rows.push(...read.rows);
    }
    expect(rows).toEqual((await readParquet(join(ref, 'Points-0.parquet'))).rows);

    // GeoPackage: one file, feature for feature what one export writes
    const merged = await ogrFeatures(join(out, 'Polygons-0.gpkg'), 'Polygons-0');
    const single = await ogrFeatures(join(ref, 'Polygons-0.gpkg'), 'Polygons-0');
    expect(merged.features).toHaveLength(35);
    expect(merged.features.map((f) => f.line)).toEqual(single.features.map((f) => f.line));
    const info = await ogrinfo(['-ro', '-so', join(out, 'Polygons-0.gpkg'), 'Polygons-0']);
    const singleInfo = await ogrinfo(['-ro', '-so', join(ref, 'Polygons-0.gpkg'), 'Polygons-0']);
    expect(info.stdout).toMatch(/Feature Count: 35/);
    expect(info.stdout.match(/Extent: .*/)?.[0]).toBe(singleInfo.stdout.match(/Extent: .*/)?.[0]);
    const db = openDatabase(join(out, 'Polygons-0.gpkg'));
    try {
      const column = db.prepare('SELECT column_name FROM gpkg_geometry_columns').get()?.column_name;
      const rtree = `"rtree_Polygons-0_${String(column)}"`;
      expect(db.prepare(`SELECT COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi FROM ${rtree}`).get()).toEqual({
        n: 35,
        lo: 1,
        hi: 35,
      });
      const triggers = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'trigger'").get();
      expect(triggers?.n).toBe(6);
    } finally {
      db.close();
    }

    // FlatGeobuf: one job, the exact file
    expect((await readFile(join(out, 'Lines-0.fgb'))).equals(await readFile(join(ref, 'Lines-0.fgb')))).toBe(
      true,
    );
  }, 60_000);
});
