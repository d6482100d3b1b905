/**
 * --order-by against Koop, an independent GeoServices server, through the built CLI. Koop ignores
 * orderByFields on its computed OBJECTID, and sorts by its other fields: on those, exit 0 with every
 * source feature once in the field's order; on OBJECTID a clear ORDER_NOT_HONOURED with nothing
 * published. Never a wrong order.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/core/time.js';
import { type TempDir, tempDir } from '../extract/helpers.js';
import { errorLine, exportLayer, type KoopHandle, startKoop } from './helpers.js';
import { BASE_FIELDS, generateFeatures } from './koop-data.mjs';

const features = generateFeatures(seededRandom(41), 'point', 450);

let koop: KoopHandle;
let tmp: TempDir;
beforeAll(async () => {
  koop = await startKoop({ layers: [{ name: 'pts', features, fields: BASE_FIELDS, maxRecordCount: 100 }] });
  tmp = await tempDir('arcgis-etl-koop-order-');
}, 60_000);
afterAll(async () => {
  await koop?.stop();
  await tmp?.remove();
});

function lines(text: string): { properties: Record<string, unknown> }[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { properties: Record<string, unknown> });
}

describe('Koop: --order-by', () => {
  for (const [field, dir] of [
    ['value', 'DESC'],
    ['sid', 'ASC'],
    ['updated', 'ASC'],
  ] as const) {
    it(`${field} ${dir}: every feature once, in that order`, async () => {
      const out = tmp.path(`order-${field}.geojsonl`);
      const r = await exportLayer(koop, 'pts', out, ['--order-by', `${field} ${dir}`]);
      // Koop sorts by its own fields (koop-core 10): exit 0 is expected here
      expect(r.code, r.stderr).toBe(0);
      const written = lines(await readFile(out, 'utf8'));
      const sids = written.map((f) => f.properties.sid as number);
      expect(new Set(sids).size).toBe(features.length);
      expect([...sids].sort((a, b) => a - b)).toEqual(
        features.map((f) => f.properties.sid as number).sort((a, b) => a - b),
      );
      const values = written.map((f) => f.properties[field] as number);
      for (let i = 1; i < values.length; i++) {
        if (dir === 'DESC') expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!);
        else expect(values[i]!).toBeGreaterThanOrEqual(values[i - 1]!);
      }
    });
  }

  it('on OBJECTID, which Koop does not sort: refused, never a wrong order', async () => {
    const out = tmp.path('order-oid.geojsonl');
    const r = await exportLayer(koop, 'pts', out, ['--order-by', 'OBJECTID DESC']);
    expect(r.code, r.stderr).not.toBe(0);
    expect(errorLine(r.stderr), r.stderr).toMatch(
      /error \[ORDER_NOT_HONOURED\]: The server does not answer in the order of OBJECTID DESC/,
    );
    expect(existsSync(out)).toBe(false);
  });
});
