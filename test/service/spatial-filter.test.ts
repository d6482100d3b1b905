/**
 * --bbox and --geometry with every strategy: the output holds exactly the emulator's features whose
 * geometry intersects the filter (checked here with @turf/boolean-intersects on the source), and a
 * simplified polygon is checked exactly on our side. --limit stops after N features.
 */
import booleanIntersects from '@turf/boolean-intersects';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import { createFeatureConverter } from '../../src/features/geometry/feature.js';
import { geometryFilter } from '../../src/features/geometry-filter.js';
import { bboxFilter, type SpatialFilter } from '../../src/features/spatial-filter.js';
import type { StrategyName } from '../../src/features/strategies/types.js';
import { expectSameAsSource, readSeq, rig, startSecured, tempDir } from '../extract/helpers.js';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  emu = await startSecured({
    layers: [
      { service: 'Pts', generate: { count: 300, geometry: 'point', seed: 3 }, maxRecordCount: 40 },
      { service: 'Polys', generate: { count: 200, geometry: 'polygon', seed: 5 }, maxRecordCount: 40 },
    ],
  });
  tmp = await tempDir('arcgis-etl-spatial-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

/** The source OIDs whose geometry intersects a GeoJSON polygon. */
function intersecting(service: string, polygon: object): number[] {
  const layer = emu.layer(service);
  const meta = layer.metadata();
  const convert = createFeatureConverter({
    oidField: layer.objectIdField,
    fields: meta.fields ?? [],
    geometryType: meta.geometryType,
    hasZ: meta.hasZ,
    hasM: meta.hasM,
  });
  return layer.objectIds().filter((oid) => {
    const g = convert(layer.feature(oid)!).geometry;
    return g !== null && booleanIntersects(g as never, polygon as never);
  });
}

/** A box around the middle of a layer's extent (a quarter of its area). */
function middleBox(service: string): [number, number, number, number] {
  const e = emu.layer(service).metadata().extent!;
  const [x0, y0, x1, y1] = [e.xmin, e.ymin, e.xmax, e.ymax];
  const w = x1 - x0;
  const h = y1 - y0;
  return [x0 + w / 4, y0 + h / 4, x0 + (3 * w) / 4, y0 + (3 * h) / 4];
}

function boxPolygon([a, b, c, d]: readonly number[]): object {
  return {
    type: 'Polygon',
    coordinates: [
      [
        [a, b],
        [c, b],
        [c, d],
        [a, d],
        [a, b],
      ],
    ],
  };
}

/** A star-like polygon (concave) of `n` vertices around the middle of a layer. */
function star(service: string, n: number): object {
  const [a, b, c, d] = middleBox(service);
  const cx = (a + c) / 2;
  const cy = (b + d) / 2;
  const r = (c - a) / 1.2;
  const ring: number[][] = [];
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * i) / n;
    const k = i % 2 === 0 ? r : r / 3;
    ring.push([cx + k * Math.cos(t), cy + k * Math.sin(t)]);
  }
  ring.push(ring[0]!);
  return { type: 'Polygon', coordinates: [ring] };
}

async function run(
  service: string,
  filter: SpatialFilter,
  strategy: StrategyName | 'auto',
  name: string,
  where?: string,
) {
  const r = rig(emu);
  const out = tmp.path(name);
  try {
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl(service),
      output: out,
      format: 'geojsonseq',
      filter,
      strategy,
      ...(where === undefined ? {} : { where }),
    });
    return { stats, features: await readSeq(out) };
  } finally {
    await r.close();
  }
}

const STRATEGIES: StrategyName[] = ['offset', 'ids', 'oid-range', 'server-order', 'envelope'];

describe('--bbox with every strategy', () => {
  for (const service of ['Pts', 'Polys']) {
    for (const strategy of STRATEGIES) {
      it(`${service} via ${strategy}: exactly the features intersecting the box`, async () => {
        const box = middleBox(service);
        const expected = intersecting(service, boxPolygon(box));
        expect(expected.length).toBeGreaterThan(10);
        expect(expected.length).toBeLessThan(emu.layer(service).objectIds().length);
        const { stats, features } = await run(
          service,
          bboxFilter(box),
          strategy,
          `${service}-${strategy}.geojsonl`,
        );
        expect(stats.strategy).toBe(strategy);
        expectSameAsSource(emu, service, features, { oids: expected });
      });
    }
  }
});

describe('--geometry and --where with every strategy', () => {
  for (const strategy of STRATEGIES) {
    for (const simplified of [false, true]) {
      it(`Polys via ${strategy}, a ${simplified ? 'simplified' : 'whole'} polygon and a where clause: exactly those features`, async () => {
        const polygon = star('Polys', simplified ? 400 : 24);
        const filter = geometryFilter(
          JSON.stringify(polygon),
          'star.geojson',
          simplified ? { maxVertices: 250 } : {},
        );
        expect(filter.exact === undefined).toBe(!simplified);
        const layer = emu.layer('Polys');
        const category = new Set(
          layer.objectIds().filter((oid) => (layer.feature(oid)!.attributes.category as number) < 6),
        );
        const expected = intersecting('Polys', polygon).filter((oid) => category.has(oid));
        expect(expected.length).toBeGreaterThan(5);
        const { stats, features } = await run(
          'Polys',
          filter,
          strategy,
          `star-where-${strategy}-${simplified}.geojsonl`,
          'category < 6',
        );
        expect(stats.strategy).toBe(strategy);
        expectSameAsSource(emu, 'Polys', features, { oids: expected });
      });
    }
  }
});

describe('--geometry', () => {
  for (const strategy of ['auto', 'envelope'] as const) {
    it(`a polygon sent whole (${strategy}): the server's exact intersects`, async () => {
      const polygon = star('Polys', 24);
      const filter = geometryFilter(JSON.stringify(polygon), 'star.geojson');
      expect(filter.exact).toBeUndefined();
      const { features } = await run('Polys', filter, strategy, `star-${strategy}.geojsonl`);
      expectSameAsSource(emu, 'Polys', features, { oids: intersecting('Polys', polygon) });
    });
  }

  for (const service of ['Pts', 'Polys']) {
    it(`${service}: a polygon too large for a query is simplified, then checked here (none outside written)`, async () => {
      const polygon = star(service, 400);
      const filter = geometryFilter(
        JSON.stringify({ type: 'Feature', properties: {}, geometry: polygon }),
        'big.geojson',
        { maxVertices: 250 },
      );
      expect(filter.exact).toBeDefined();
      expect(filter.describe).toMatch(/convex hull/);
      const { stats, features } = await run(service, filter, 'auto', `big-${service}.geojsonl`);
      const expected = intersecting(service, polygon);
      expectSameAsSource(emu, service, features, { oids: expected });
      expect(stats.outsideFilter).toBeGreaterThan(0);
      expect(stats.features).toBe(expected.length);
    });
  }

  it('bad input is one clear USAGE line', () => {
    const usage = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        expect(isEtlError(error, 'USAGE')).toBe(true);
        return (error as Error).message;
      }
      throw new Error('no error');
    };
    expect(usage(() => geometryFilter('{nope', 'x.json'))).toMatch(/not valid JSON/);
    expect(usage(() => geometryFilter('{"type":"Point","coordinates":[1,2]}', 'x.json'))).toMatch(
      /Polygon or MultiPolygon.*not Point/,
    );
    expect(usage(() => bboxFilter([1, 2, 0, 3]))).toMatch(/min ≤ max/);
    expect(usage(() => bboxFilter([1, 2, 3]))).toMatch(/four numbers/);
  });

  it('a simplified polygon needs the output in WGS84 and cannot be resumed', async () => {
    const filter = geometryFilter(JSON.stringify(star('Pts', 400)), 'big.geojson', { maxVertices: 100 });
    const r = rig(emu);
    await expect(
      exportLayer({
        client: r.client,
        layerUrl: emu.layerUrl('Pts'),
        output: tmp.path('x.geojsonl'),
        format: 'geojsonseq',
        filter,
        outSR: 3857,
      }),
    ).rejects.toThrow(/--out-sr 4326/);
    await expect(
      exportLayer({
        client: r.client,
        layerUrl: emu.layerUrl('Pts'),
        output: tmp.path('y.geojsonl'),
        format: 'geojsonseq',
        filter,
        resume: true,
      }),
    ).rejects.toThrow(/Cannot resume/);
    await r.close();
  });
});

describe('--limit', () => {
  it('stops after the first N features in OID order; the stats say so', async () => {
    const r = rig(emu);
    const out = tmp.path('limit.geojsonl');
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Pts'),
      output: out,
      format: 'geojsonseq',
      limit: 55,
      filter: bboxFilter(middleBox('Pts')),
    });
    await r.close();
    const expected = intersecting('Pts', boxPolygon(middleBox('Pts'))).slice(0, 55);
    expect((await readSeq(out)).map((f) => f.id)).toEqual(expected);
    expect(stats).toMatchObject({ features: 55, limitReached: true });
  });
});
