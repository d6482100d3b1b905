/**
 * Issue 12 against Koop's own `f=pbf` encoder:
 * - its points carry `lengths: [2]` (values, not vertices): they decode, with no retry;
 * - it writes the Integer field `when` (1,700,000,001,000 and up) as sint32, so every decoder reads a
 *   wrong number; the pbf-vs-json check before an export commits to pbf catches it, the export
 *   stays on JSON, says why, and writes the right values.
 */
import { access, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TempDir, tempDir } from '../extract/helpers.js';
import {
  eventsLayer,
  expectExactSet,
  exportLayer,
  type KoopHandle,
  koopOids,
  matrixLayers,
  startKoop,
} from './helpers.js';
import { BIG_WHEN } from './koop-data.mjs';

const points = matrixLayers()[0]!;
const events = eventsLayer();

let koop: KoopHandle;
let tmp: TempDir;

beforeAll(async () => {
  koop = await startKoop({ layers: [points, events] });
  tmp = await tempDir('arcgis-etl-koop-pbf-');
});
afterAll(async () => {
  await koop?.stop();
  await tmp?.remove();
});

async function stats(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

describe("Koop's f=pbf", () => {
  it('points with lengths [2] decode: --query-format pbf gets the exact set on pbf, with no retry', async () => {
    const output = tmp.path('points.geojsonseq');
    const statsFile = tmp.path('points-stats.json');
    const r = await exportLayer(koop, points.name, output, [
      '--query-format',
      'pbf',
      '--page-size',
      '250',
      '--stats-json',
      statsFile,
      '--quiet',
    ]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    await expectExactSet(output, 'geojsonseq', points.features, await koopOids(koop, points.name));
    expect(await stats(statsFile)).toMatchObject({ queryFormat: 'pbf', retries: 0 });
  }, 120_000);

  it("auto on Koop (orderByFields ignored) pages in f=json from its probe's first page: the source's values, never the int32-truncated pbf", async () => {
    expect(events.features[0]!.properties.when).toBe(BIG_WHEN);
    const output = tmp.path('events.geojsonseq');
    const statsFile = tmp.path('events-stats.json');
    const r = await exportLayer(koop, events.name, output, ['--stats-json', statsFile]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    await expectExactSet(output, 'geojsonseq', events.features, await koopOids(koop, events.name));
    expect(await stats(statsFile)).toMatchObject({ queryFormat: 'json', retries: 0 });
  }, 120_000);

  it('forced pbf: the int32 truncation of `when` is caught before any pbf page is used, with one clear error', async () => {
    const output = tmp.path('events-pbf.geojsonseq');
    const r = await exportLayer(koop, events.name, output, ['--query-format', 'pbf', '--page-size', '100']);
    expect(r.code, r.stderr.slice(-2000)).not.toBe(0);
    // the error says why: the server's pbf disagrees with its JSON on field `when`
    const line = r.stderr.split('\n').find((l) => /pbf/i.test(l) && /\bwhen\b/.test(l));
    expect(line, r.stderr.slice(-2000)).toBeDefined();
    await expect(access(output)).rejects.toThrow();
  }, 120_000);
});
