/**
 * The 50,000-point Koop layer (hashed OBJECTIDs, file order, orderByFields ignored): `auto`, with no
 * flag, gets the exact source set. (bench/koop.mjs measures the same layer against ogr2ogr and
 * queryAllFeatures.)
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/core/time.js';
import { type TempDir, tempDir } from '../extract/helpers.js';
import { expectExactSet, exportLayer, type KoopHandle, koopOids, startKoop } from './helpers.js';
import { BASE_FIELDS, BIG_LAYER, generateFeatures } from './koop-data.mjs';

const BIG = {
  name: BIG_LAYER.name,
  features: generateFeatures(seededRandom(BIG_LAYER.seed), 'point', BIG_LAYER.count),
  fields: BASE_FIELDS,
};

let koop: KoopHandle;
let tmp: TempDir;
/** sid → OBJECTID as Koop serves them (one query, read once). */
let oids: Map<number, number> | undefined;

beforeAll(async () => {
  koop = await startKoop({ layers: [BIG] });
  tmp = await tempDir('arcgis-etl-koop-big-');
});
afterAll(async () => {
  await koop?.stop();
  await tmp?.remove();
});

describe('50,000 points on Koop', () => {
  it('Koop serves 50,000 distinct OBJECTIDs (the seed has no hash collision)', async () => {
    oids = await koopOids(koop, BIG.name);
    expect(oids.size).toBe(BIG_LAYER.count);
    expect(new Set(oids.values()).size).toBe(BIG_LAYER.count);
  }, 60_000);

  it('auto exports the exact set', async () => {
    const output = tmp.path('big.geojsonseq');
    const statsFile = tmp.path('big-stats.json');
    koop.resetStats();
    // Koop hashes and filters all 50,000 features on every request: allow a loaded machine time
    const r = await exportLayer(koop, BIG.name, output, ['--stats-json', statsFile, '--quiet'], {
      timeoutMs: 280_000,
    });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    // the probe sees the ignored order: the server's own order, no id list (Koop answers objectIds
    // queries slowly); the 25 pages of 2,000 and five more (service info, token, layer, count, probe)
    const stats = JSON.parse(await readFile(statsFile, 'utf8')) as Record<string, unknown>;
    expect(stats).toMatchObject({ strategy: 'server-order', features: BIG_LAYER.count });
    expect(koop.stats().requests).toBeLessThanOrEqual(30);
    await expectExactSet(output, 'geojsonseq', BIG.features, oids ?? (await koopOids(koop, BIG.name)));
  }, 300_000);
});
