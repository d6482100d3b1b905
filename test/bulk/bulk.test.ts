/**
 * `bulkExport` against the emulator: createReplica and item export jobs that outlive their token,
 * status polls and downloads through 503s, the replica JSON, GeoJSON and shapefile files parsed to
 * the exact set, and bad input (unknown item, a layer without sync, a job failing on the server):
 * one clear error each, nothing published.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import type { EmulatorHandle, EmulatorOptions, LayerSpec } from '../../src/emulator/types.js';
import { bulkExport } from '../../src/features/bulk/bulk.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import {
  bulkRig,
  expectSameAsLayer,
  expectSameAsSource,
  filesIn,
  readSeq,
  startSecured,
  tempDir,
} from './helpers.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
const stops: (() => Promise<void>)[] = [];
beforeAll(async () => {
  tmp = await tempDir('arcgis-etl-bulk-');
});
afterEach(async () => {
  while (stops.length) await stops.pop()!();
});
afterAll(() => tmp.remove());

const points = (service: string, count: number, extra: Partial<LayerSpec> = {}): LayerSpec => ({
  service,
  generate: { count, geometry: 'point', seed: 7 },
  maxRecordCount: 100,
  ...extra,
});
const polygons = (service: string, count: number): LayerSpec => ({
  service,
  generate: { count, geometry: 'multipolygon', seed: 3 },
  maxRecordCount: 100,
});

async function emulator(options: Partial<EmulatorOptions>): Promise<EmulatorHandle> {
  const emu = await startSecured(options);
  stops.push(() => emu.stop());
  return emu;
}

let n = 0;
async function outDir(): Promise<string> {
  const dir = join(tmp.dir, `out-${++n}`);
  await mkdir(dir);
  return dir;
}

const serviceUrl = (emu: EmulatorHandle, service: string) =>
  `${emu.restUrl}/services/${service}/FeatureServer`;

async function readCollection(path: string): Promise<GeoJSONFeature[]> {
  return (JSON.parse(await readFile(path, 'utf8')) as { features: GeoJSONFeature[] }).features;
}

describe('createReplica jobs', () => {
  it('a job outliving its token completes with the token refreshed; status polls retried through 503s', async () => {
    const time = new FakeTime(Date.UTC(2026, 0, 1));
    const emu = await emulator({
      layers: [points('Parcels', 730)],
      tokenLifetimeSeconds: 300,
      now: () => time.now(),
      jobs: { durationMs: 20 * 60_000, statusFaults: ['http503', 'http503', 'http503'] },
    });
    const rig = bulkRig(emu, time.runtime());
    stops.push(rig.close);
    const dir = await outDir();
    const stats = await bulkExport({
      client: rig.client,
      serviceUrl: serviceUrl(emu, 'Parcels'),
      output: `${dir}/`,
      format: 'geojsonseq',
      runtime: time.instantRuntime(),
      poll: { initialDelayMs: 5000, maxDelayMs: 60_000 },
    });
    expectSameAsSource(emu, 'Parcels', await readSeq(join(dir, 'Parcels.geojsonl')), { ordered: true });
    expect(stats.features).toBe(730);
    // 20 minutes of polling with 5-minute tokens: refreshed on the way, never rejected
    expect(emu.stats().tokens).toBeGreaterThanOrEqual(4);
    expect(stats.tokenRefreshes).toBeGreaterThanOrEqual(3);
    expect(emu.stats().rejected.invalidToken).toBe(0);
    expect(emu.stats().faults.http503).toBe(3);
    expect(stats.polls).toBeGreaterThan(5);
    expect(emu.stats().requests.replicaStatus).toBeGreaterThan(stats.polls); // the 503s were retried
    expect(await filesIn(dir)).toEqual(['Parcels.geojsonl']);
  });

  it('a 498 during the job (every token revoked) is refreshed once and polling carries on', async () => {
    let now = Date.UTC(2026, 0, 1);
    const emu = await emulator({
      layers: [points('Parcels', 50)],
      now: () => now,
      jobs: { durationMs: 60_000 },
    });
    const rig = bulkRig(emu);
    stops.push(rig.close);
    const dir = await outDir();
    let revoked = false;
    const stats = await bulkExport({
      client: rig.client,
      serviceUrl: serviceUrl(emu, 'Parcels'),
      output: `${dir}/`,
      runtime: {
        sleep: async (ms) => {
          now += ms;
        },
        clock: { now: () => now },
      },
      onPoll: () => {
        if (!revoked) emu.revokeAll();
        revoked = true;
      },
    });
    expect(stats.features).toBe(50);
    expect(emu.stats().rejected.invalidToken).toBe(1);
    expect(emu.stats().tokens).toBe(2);
    expectSameAsSource(emu, 'Parcels', await readCollection(join(dir, 'Parcels.geojson')), { ordered: true });
  });

  it('shapefile zips (points, polygons) are parsed to the exact set; .prj and .cpg honoured', async () => {
    const emu = await emulator({
      layers: [points('Sites', 240), { ...polygons('Sites', 60), id: 1, name: 'Zones' }],
    });
    const rig = bulkRig(emu);
    stops.push(rig.close);
    const dir = await outDir();
    const stats = await bulkExport({
      client: rig.client,
      serviceUrl: serviceUrl(emu, 'Sites'),
      output: `${dir}/`,
      format: 'geojsonseq',
      serverFormat: 'shapefile',
      keepDownload: true,
    });
    expect(stats.layers.map((l) => [l.id, l.features])).toEqual([
      [0, 240],
      [1, 60],
    ]);
    for (const [id, file] of [
      [0, 'Sites.geojsonl'],
      [1, 'Zones.geojsonl'],
    ] as const) {
      const features = await readSeq(join(dir, file));
      expectSameAsLayer(emu, 'Sites', features, { layer: id, days: true });
    }
    expect(stats.kept).toMatch(/\.zip$/);
  });

  it('GeoJSON zips are parsed to the exact set, with a where clause', async () => {
    const emu = await emulator({ layers: [polygons('Zones', 150)] });
    const rig = bulkRig(emu);
    stops.push(rig.close);
    const dir = await outDir();
    const out = join(dir, 'zones.geojson');
    const stats = await bulkExport({
      client: rig.client,
      serviceUrl: serviceUrl(emu, 'Zones'),
      output: out,
      serverFormat: 'geojson',
      where: 'OBJECTID <= 100',
    });
    expect(stats.features).toBe(100);
    expectSameAsLayer(emu, 'Zones', await readCollection(out), {
      oids: emu
        .layer('Zones')
        .objectIds()
        .filter((oid) => oid <= 100),
    });
  });
});

describe('item export jobs', () => {
  it('a GeoJSON item export outliving its token: downloaded through a 503, parsed to the exact set, the temporary item deleted', async () => {
    const time = new FakeTime(Date.UTC(2026, 0, 1));
    const emu = await emulator({
      layers: [polygons('Zones', 120)],
      tokenLifetimeSeconds: 300,
      now: () => time.now(),
      jobs: { durationMs: 15 * 60_000, statusFaults: ['http502'], downloadFaults: ['http503'] },
    });
    const rig = bulkRig(emu, time.runtime());
    stops.push(rig.close);
    const dir = await outDir();
    const stats = await bulkExport({
      client: rig.client,
      serviceUrl: serviceUrl(emu, 'Zones'),
      output: join(dir, 'zones.geojsonl'),
      via: 'item',
      portalUrl: emu.portalUrl,
      runtime: time.instantRuntime(),
      poll: { initialDelayMs: 10_000, maxDelayMs: 60_000 },
    });
    expect(stats.features).toBe(120);
    expectSameAsLayer(emu, 'Zones', await readSeq(join(dir, 'zones.geojsonl')));
    expect(emu.stats().tokens).toBeGreaterThanOrEqual(3);
    expect(emu.stats().rejected.invalidToken).toBe(0);
    expect(emu.stats().faults).toMatchObject({ http502: 1, http503: 1 });
    expect(emu.stats().requests.itemDelete).toBe(1);
    expect(await filesIn(dir)).toEqual(['zones.geojsonl']);
  });

  it('a Shapefile item export is parsed to the exact set', async () => {
    const emu = await emulator({ layers: [points('Sites', 333)], jobs: { durationMs: 0 } });
    const rig = bulkRig(emu);
    stops.push(rig.close);
    const dir = await outDir();
    const stats = await bulkExport({
      client: rig.client,
      serviceUrl: serviceUrl(emu, 'Sites'),
      output: join(dir, 'sites.csv'),
      via: 'item',
      portalUrl: emu.portalUrl,
      serverFormat: 'shapefile',
      keepDownload: true,
    });
    expect(stats.features).toBe(333);
    const csv = await readFile(join(dir, 'sites.csv'), 'utf8');
    expect(csv.startsWith('OBJECTID,')).toBe(true);
    expect(await filesIn(dir)).toEqual([expect.stringMatching(/^[0-9a-f]{32}\.zip$/), 'sites.csv'].sort());
  });
});

describe('bad input: one clear error, nothing published', () => {
  async function failing(options: Partial<EmulatorOptions>, run: Partial<Parameters<typeof bulkExport>[0]>) {
    const emu = await emulator({ layers: [points('Parcels', 40)], ...options });
    const rig = bulkRig(emu);
    stops.push(rig.close);
    const dir = await outDir();
    const error = await bulkExport({
      client: rig.client,
      serviceUrl: serviceUrl(emu, 'Parcels'),
      output: `${dir}/`,
      portalUrl: emu.portalUrl,
      poll: { initialDelayMs: 1, maxDelayMs: 2 },
      ...run,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).message).not.toMatch(/\n/);
    expect(await filesIn(dir)).toEqual([]);
    return { error: error as EtlError, emu };
  }

  it('an unknown item', async () => {
    const { error } = await failing({}, { via: 'item', itemId: 'f'.repeat(32) });
    expect(error.code).toBe('ITEM_NOT_FOUND');
    expect(error.message).toBe(`The item ${'f'.repeat(32)} does not exist or is not accessible to etl-user`);
  });

  it('a layer without sync (createReplica)', async () => {
    const { error, emu } = await failing(
      { layers: [points('Parcels', 40, { capabilities: { sync: false } })] },
      {},
    );
    expect(error.code).toBe('SYNC_NOT_ENABLED');
    expect(error.message).toMatch(/not sync-enabled .*use --via item/);
    expect(emu.stats().requests.createReplica ?? 0).toBe(0);
  });

  it('the emulator itself refuses createReplica on a layer without sync', async () => {
    const emu = await emulator({ layers: [points('Parcels', 40, { capabilities: { sync: false } })] });
    const rig = bulkRig(emu);
    stops.push(rig.close);
    const error = await rig.client
      .request(`${serviceUrl(emu, 'Parcels')}/createReplica`, { layers: '0', async: true, syncModel: 'none' })
      .catch((e: unknown) => e);
    expect((error as EtlError).code).toBe('ARCGIS_ERROR');
    expect((error as EtlError).message).toMatch(/not supported/);
  });

  it('a replica job that fails on the server', async () => {
    const { error } = await failing({ jobs: { durationMs: 10, fail: true } }, {});
    expect(error.code).toBe('JOB_FAILED');
    expect(error.message).toMatch(
      /^The createReplica job of .*FeatureServer failed on the server: its status is Failed$/,
    );
  });

  it('an item export job that fails on the server (its temporary item is deleted)', async () => {
    const { error, emu } = await failing({ jobs: { durationMs: 10, fail: true } }, { via: 'item' });
    expect(error.code).toBe('JOB_FAILED');
    expect(error.message).toMatch(/^The export job of item [0-9a-f]{32} failed on the server: Export failed/);
    expect(emu.stats().requests.itemDelete).toBe(1);
  });
});
