/**
 * Koop's OBJECTIDs are 31-bit hashes of the features, so two distinct features can share one (a
 * 50,000-feature layer has such a pair more often than not). Every feature exactly once still holds:
 * each strategy, `auto` included, gets the exact source set (both features of each pair) or refuses
 * clearly; never exit 0 with a feature dropped as a "repeat".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TempDir, tempDir } from '../extract/helpers.js';
import {
  COLLIDING_SIDS,
  collisionsLayer,
  expectExactSetOrRefusal,
  exportLayer,
  type KoopHandle,
  koopOids,
  STRATEGIES,
  startKoop,
} from './helpers.js';

const layer = collisionsLayer();
let koop: KoopHandle;
let tmp: TempDir;
let oids: Map<number, number>;

beforeAll(async () => {
  koop = await startKoop({ layers: [layer] });
  tmp = await tempDir('arcgis-etl-koop-collisions-');
  oids = await koopOids(koop, layer.name);
});
afterAll(async () => {
  await koop?.stop();
  await tmp?.remove();
});

describe.concurrent('two features, one OBJECTID (Koop)', () => {
  it('Koop gives each colliding pair one OBJECTID: 300 features, 298 distinct ids', () => {
    expect(oids.size).toBe(300);
    expect(new Set(oids.values()).size).toBe(298);
    const [a, b, c, d] = COLLIDING_SIDS;
    expect(oids.get(a)).toBe(oids.get(b));
    expect(oids.get(c)).toBe(oids.get(d));
  });

  it.each(STRATEGIES)(
    '%s: the exact set, or a clear refusal',
    async (strategy) => {
      const output = tmp.path(`collisions-${strategy}.geojsonseq`);
      const r = await exportLayer(koop, layer.name, output, [
        '--strategy',
        strategy,
        '--page-size',
        '100',
        '--quiet',
      ]);
      await expectExactSetOrRefusal(r, output, 'geojsonseq', layer.features, oids);
    },
    120_000,
  );
});
