/**
 * The 50,000-point Koop layer (hashed OBJECTIDs, file order, orderByFields ignored): `auto`, with no
 * flag, gets the exact source set. (bench/koop.mjs measures the same layer against ogr2ogr and
 * queryAllFeatures.)
 */
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
    const oids = await koopOids(koop, BIG.name);
    expect(oids.size).toBe(BIG_LAYER.count);
    expect(new Set(oids.values()).size).toBe(BIG_LAYER.count);
  }, 60_000);

  it('auto exports the exact set', async () => {
    const output = tmp.path('big.geojsonseq');
    // Koop hashes and filters all 50,000 features on every request: allow a loaded machine time
    const r = await exportLayer(koop, BIG.name, output, ['--quiet'], { timeoutMs: 280_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    await expectExactSet(output, 'geojsonseq', BIG.features, await koopOids(koop, BIG.name));
  }, 300_000);
});
