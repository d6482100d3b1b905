/**
 * Issue 11's matrix against Koop, an independent GeoServices server: every strategy × output format ×
 * page size × concurrency, through the built CLI with no other flag. Each run gets the exact source
 * set (ids and content) or a clear refusal (non-zero exit, one `error [CODE]: …` line, no output
 * published); `auto` always gets the exact set. The runs rotate over the four small layers (points;
 * polygons with holes, multipart parts and null geometries; lines with null geometries; points with
 * a maxRecordCount of 40), so every strategy meets every layer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BinResult } from '../cli/run-bin.js';
import { type TempDir, tempDir } from '../extract/helpers.js';
import {
  expectExactSet,
  expectExactSetOrRefusal,
  exportLayer,
  FORMATS,
  type KoopHandle,
  koopOids,
  matrixLayers,
  STRATEGIES,
  startKoop,
} from './helpers.js';

const PAGE_SIZES = [100, 500, 2000] as const;
const CONCURRENCY = [1, 4] as const;
const layers = matrixLayers();

interface Case {
  strategy: (typeof STRATEGIES)[number];
  format: (typeof FORMATS)[number];
  pageSize: number;
  concurrency: number;
  layer: (typeof layers)[number];
}

const cases: Case[] = [];
for (const strategy of STRATEGIES)
  for (const format of FORMATS)
    for (const pageSize of PAGE_SIZES)
      for (const concurrency of CONCURRENCY) {
        const layer = layers[cases.length % layers.length]!;
        cases.push({ strategy, format, pageSize, concurrency, layer });
      }

let koop: KoopHandle;
let tmp: TempDir;
const oids = new Map<string, Map<number, number>>();
/** What each strategy did (exact set or refusal, with the error code), printed after the run. */
const outcomes = new Map<string, string[]>();

beforeAll(async () => {
  koop = await startKoop({ layers });
  tmp = await tempDir('arcgis-etl-koop-matrix-');
  for (const layer of layers) oids.set(layer.name, await koopOids(koop, layer.name));
});
afterAll(async () => {
  await koop?.stop();
  await tmp?.remove();
  const lines = [...outcomes].map(([strategy, list]) => {
    const counts = new Map<string, number>();
    for (const o of list) counts.set(o, (counts.get(o) ?? 0) + 1);
    return `  ${strategy}: ${[...counts].map(([o, n]) => `${o} ×${n}`).join(', ')}`;
  });
  console.log(`Koop matrix outcomes:\n${lines.join('\n')}`);
});

function record(strategy: string, r: BinResult, outcome: string): void {
  const code = r.code === 0 ? '' : ` ${/^error \[([A-Z0-9_]+)\]/m.exec(r.stderr)?.[1] ?? `exit ${r.code}`}`;
  outcomes.set(strategy, [...(outcomes.get(strategy) ?? []), `${outcome}${code}`]);
}

describe.concurrent('every strategy × format × page size × concurrency against Koop', () => {
  it.each(cases)(
    '$strategy · $format · page $pageSize · c$concurrency · $layer.name',
    async ({ strategy, format, pageSize, concurrency, layer }) => {
      const output = tmp.path(`${layer.name}-${strategy}-${pageSize}-c${concurrency}.${format}`);
      const r = await exportLayer(koop, layer.name, output, [
        '--strategy',
        strategy,
        '--format',
        format,
        '--page-size',
        String(pageSize),
        '--concurrency',
        String(concurrency),
        '--quiet',
      ]);
      const layerOids = oids.get(layer.name)!;
      record(strategy, r, r.code === 0 ? 'exit 0' : 'refused');
      if (strategy === 'auto') {
        expect(r.code, r.stderr.slice(-2000)).toBe(0);
        await expectExactSet(output, format, layer.features, layerOids);
      } else {
        await expectExactSetOrRefusal(r, output, format, layer.features, layerOids);
      }
    },
    120_000,
  );
});
