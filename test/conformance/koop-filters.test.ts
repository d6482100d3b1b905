/**
 * --bbox and --limit against Koop, an independent GeoServices server, through the built CLI: the
 * output holds exactly the source features in the box, the same set `ogr2ogr -spat` selects from
 * the source file; --limit writes exactly the first N (exit 0, stats say the limit was reached).
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/core/time.js';
import { type TempDir, tempDir } from '../extract/helpers.js';
import { expectExactSet, exportLayer, type KoopHandle, koopOids, startKoop } from './helpers.js';
import { BASE_FIELDS, generateFeatures } from './koop-data.mjs';

const run = promisify(execFile);
const features = generateFeatures(seededRandom(31), 'point', 900);
const BOX = [-60, -20, 40, 35] as const;

let koop: KoopHandle;
let tmp: TempDir;
let oids: Map<number, number>;
beforeAll(async () => {
  koop = await startKoop({ layers: [{ name: 'pts', features, fields: BASE_FIELDS, maxRecordCount: 100 }] });
  tmp = await tempDir('arcgis-etl-koop-filters-');
  oids = await koopOids(koop, 'pts');
}, 60_000);
afterAll(async () => {
  await koop?.stop();
  await tmp?.remove();
});

function inBox(f: (typeof features)[number]): boolean {
  const c = (f.geometry?.coordinates ?? []) as number[];
  return c[0]! >= BOX[0] && c[0]! <= BOX[2] && c[1]! >= BOX[1] && c[1]! <= BOX[3];
}

describe('Koop: --bbox', () => {
  const inside = features.filter(inBox);
  it('the box holds some of the source, not all', () => {
    expect(inside.length).toBeGreaterThan(20);
    expect(inside.length).toBeLessThan(features.length);
  });

  for (const strategy of ['auto', 'ids', 'envelope'] as const) {
    it(`${strategy}: exactly the source features in the box`, async () => {
      const out = tmp.path(`bbox-${strategy}.geojsonl`);
      const r = await exportLayer(koop, 'pts', out, ['--bbox', BOX.join(','), '--strategy', strategy]);
      expect(r.code, r.stderr).toBe(0);
      await expectExactSet(out, 'geojsonseq', inside, oids);
    });
  }

  it('oid-range: the exact set, or a refusal of the outStatistics of Koop under a filter (never a wrong set)', async () => {
    const out = tmp.path('bbox-oid-range.geojsonl');
    const r = await exportLayer(koop, 'pts', out, ['--bbox', BOX.join(','), '--strategy', 'oid-range']);
    if (r.code === 0) await expectExactSet(out, 'geojsonseq', inside, oids);
    else expect(r.stderr).toMatch(/error \[NO_STRATEGY\]: outStatistics/);
  });

  it('the same set as ogr2ogr -spat on the source file', async () => {
    const src = tmp.path('source.geojson');
    await writeFile(src, JSON.stringify({ type: 'FeatureCollection', features }));
    const ogrOut = tmp.path('ogr.geojsonl');
    await run('ogr2ogr', ['-f', 'GeoJSONSeq', '-spat', ...BOX.map(String), ogrOut, src]);
    const ogrSids = (await readFile(ogrOut, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { properties: { sid: number } }).properties.sid)
      .sort((a, b) => a - b);
    const ours = (await readFile(tmp.path('bbox-auto.geojsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { properties: { sid: number } }).properties.sid)
      .sort((a, b) => a - b);
    expect(ours).toEqual(ogrSids);
  });
});

describe('Koop: --limit', () => {
  it('exit 0 with exactly the first N features, and the stats say the limit stopped it', async () => {
    const out = tmp.path('limit.geojsonl');
    const stats = tmp.path('limit-stats.json');
    const r = await exportLayer(koop, 'pts', out, ['--limit', '37', '--stats-json', stats]);
    expect(r.code, r.stderr).toBe(0);
    const ids = (await readFile(out, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { id: number }).id);
    const figures = JSON.parse(await readFile(stats, 'utf8')) as { strategy: string };
    expect(figures).toMatchObject({ features: 37, limitReached: true });
    // the first N in the order written: Koop ignores orderByFields, so auto pages in its own order
    // (koopOids lists Koop's answer in that order); an ordered strategy writes the lowest OIDs
    expect(figures.strategy).toBe('server-order');
    expect(ids).toEqual([...oids.values()].slice(0, 37));
    expect(r.stderr).toMatch(/stopped at --limit/);
  });
});
