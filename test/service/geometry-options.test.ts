/**
 * --precision (geometryPrecision, honoured by the emulator in f=json and f=pbf alike),
 * --no-geometry (returnGeometry=false: null geometries, same attributes) and the parameters of
 * --max-allowable-offset.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import { geometryParams, parseDatumTransformation } from '../../src/features/geometry-options.js';
import { readSeq, rig, startSecured, tempDir } from '../extract/helpers.js';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  emu = await startSecured({
    layers: [{ service: 'Polys', generate: { count: 60, geometry: 'polygon', seed: 9 }, maxRecordCount: 20 }],
  });
  tmp = await tempDir('arcgis-etl-geometry-options-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

function coordinates(f: GeoJSONFeature): number[] {
  if (f.geometry === null) throw new Error(`feature ${f.id} has no geometry`);
  return (JSON.stringify(f.geometry).match(/-?\d+(\.\d+)?(e-?\d+)?/g) ?? []).map(Number);
}

type XY = readonly number[];

/** The rings of a (Multi)Polygon feature, in order. */
function rings(f: GeoJSONFeature): XY[][] {
  const g = f.geometry as { type: string; coordinates: unknown } | null;
  if (g?.type === 'Polygon') return g.coordinates as XY[][];
  if (g?.type === 'MultiPolygon') return (g.coordinates as XY[][][]).flat();
  throw new Error(`feature ${f.id} is not a polygon`);
}

function sameXY(a: XY, b: XY): boolean {
  return Math.abs(a[0]! - b[0]!) < 1e-7 && Math.abs(a[1]! - b[1]!) < 1e-7;
}

/** Whether `part` is `whole` with vertices left out (same order). */
function subsequence(part: readonly XY[], whole: readonly XY[]): boolean {
  let k = 0;
  for (const v of part) {
    while (k < whole.length && !sameXY(whole[k]!, v)) k++;
    if (k === whole.length) return false;
  }
  return true;
}

function distanceToRing(p: XY, ring: readonly XY[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i + 1 < ring.length; i++) {
    const [ax, ay] = ring[i]!;
    const [bx, by] = ring[i + 1]!;
    const dx = bx! - ax!;
    const dy = by! - ay!;
    const len2 = dx * dx + dy * dy;
    const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0]! - ax!) * dx + (p[1]! - ay!) * dy) / len2));
    best = Math.min(best, Math.hypot(p[0]! - (ax! + t * dx), p[1]! - (ay! + t * dy)));
  }
  return best;
}

async function run(name: string, options: Partial<Parameters<typeof exportLayer>[0]>) {
  const r = rig(emu);
  const warnings: string[] = [];
  r.client.emit = (e) => {
    if (e.type === 'warning') warnings.push(e.message);
  };
  const out = tmp.path(name);
  try {
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Polys'),
      output: out,
      format: 'geojsonseq',
      ...options,
    });
    return { stats, features: await readSeq(out), warnings };
  } finally {
    await r.close();
  }
}

describe('geometry options', () => {
  for (const queryFormat of ['json', 'pbf', 'auto'] as const) {
    it(`--precision 4 (f=${queryFormat}): every coordinate is the source's, rounded to 4 decimals`, async () => {
      const full = await run(`full-${queryFormat}.geojsonl`, { queryFormat });
      const rounded = await run(`p4-${queryFormat}.geojsonl`, { queryFormat, geometry: { precision: 4 } });
      expect(rounded.warnings).toEqual([]);
      expect(rounded.features.map((f) => f.id)).toEqual(full.features.map((f) => f.id));
      let changed = 0;
      rounded.features.forEach((f, i) => {
        const source = coordinates(full.features[i]!);
        const ours = coordinates(f);
        expect(ours.length).toBe(source.length);
        ours.forEach((v, k) => {
          expect(Math.abs(v - source[k]!)).toBeLessThanOrEqual(0.5e-4 + 1e-9);
          expect(Math.abs(v * 1e4 - Math.round(v * 1e4))).toBeLessThan(1e-6);
          if (v !== source[k]) changed++;
        });
        expect(f.properties).toEqual(full.features[i]!.properties);
      });
      expect(changed).toBeGreaterThan(0);
    });
  }

  it('--no-geometry: null geometries, the same attributes', async () => {
    const full = await run('full.geojsonl', {});
    const none = await run('none.geojsonl', { geometry: { returnGeometry: false } });
    expect(none.features.length).toBe(60);
    expect(none.features.every((f) => f.geometry === null)).toBe(true);
    expect(none.features.map((f) => f.properties)).toEqual(full.features.map((f) => f.properties));
  });

  for (const queryFormat of ['json', 'pbf'] as const) {
    it(`--max-allowable-offset (f=${queryFormat}): the emulator generalises (Douglas–Peucker) within the offset`, async () => {
      // the generated rings have radii of 0.001 to 0.01 degrees
      const offset = 0.001;
      const full = await run(`mao-full-${queryFormat}.geojsonl`, { queryFormat });
      const simple = await run(`mao-${queryFormat}.geojsonl`, {
        queryFormat,
        geometry: { maxAllowableOffset: offset },
      });
      expect(simple.warnings).toEqual([]);
      expect(simple.features.map((f) => f.id)).toEqual(full.features.map((f) => f.id));
      let before = 0;
      let after = 0;
      simple.features.forEach((f, i) => {
        const source = rings(full.features[i]!);
        const ours = rings(f);
        expect(ours.length).toBe(source.length);
        ours.forEach((ring, r) => {
          const original = source[r]!;
          before += original.length;
          after += ring.length;
          // closed, at least three corners, every kept vertex one of the source's, in order
          expect(ring.length).toBeGreaterThanOrEqual(4);
          expect(ring[0]).toEqual(ring[ring.length - 1]);
          // (a ring may come out rewound the other way: a hole left outside its generalised outer
          // ring is an outer ring of its own, as on a server)
          expect(
            subsequence(ring, original) || subsequence([...ring].reverse(), original),
            'a vertex not in the source ring (or out of order)',
          ).toBe(true);
          // every dropped vertex lies within the offset of the generalised ring
          for (const v of original) expect(distanceToRing(v, ring)).toBeLessThanOrEqual(offset + 1e-9);
        });
        expect(f.properties).toEqual(full.features[i]!.properties);
      });
      expect(after).toBeLessThan(before);
    });
  }

  it('--datum-transformation is sent as datumTransformation with every feature query', async () => {
    const r = rig(emu);
    const seen: unknown[] = [];
    const request = r.client.request.bind(r.client);
    r.client.request = ((url: string, params: Record<string, unknown> = {}, options = {}) => {
      // the feature queries (probes without geometry carry no geometry options)
      if (url.endsWith('/query') && params.returnGeometry === true) seen.push(params.datumTransformation);
      return request(url, params as never, options);
    }) as typeof r.client.request;
    try {
      await exportLayer({
        client: r.client,
        layerUrl: emu.layerUrl('Polys'),
        output: tmp.path('datum.geojsonl'),
        format: 'geojsonseq',
        outSR: 3857,
        geometry: { datumTransformation: '{"wkid":1241}' },
      });
    } finally {
      await r.close();
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set(['{"wkid":1241}']));
    expect(geometryParams({ datumTransformation: 108190 })).toMatchObject({ datumTransformation: 108190 });
    expect(parseDatumTransformation(' 1241 ')).toBe(1241);
    expect(parseDatumTransformation('{"geoTransforms":[{"wkid":1241,"transformForward":true}]}')).toBe(
      '{"geoTransforms":[{"wkid":1241,"transformForward":true}]}',
    );
    expect(() => parseDatumTransformation('NAD27')).toThrow(/--datum-transformation must be/);
  });

  it('--max-allowable-offset and --precision are query parameters; bad values are USAGE', async () => {
    expect(geometryParams({ precision: 3, maxAllowableOffset: 0.5 })).toEqual({
      returnGeometry: true,
      geometryPrecision: 3,
      maxAllowableOffset: 0.5,
    });
    expect(geometryParams({ returnGeometry: false, precision: 3 })).toEqual({ returnGeometry: false });
    await expect(run('bad.geojsonl', { geometry: { precision: 40 } })).rejects.toThrow(/--precision must be/);
    await expect(run('bad2.geojsonl', { geometry: { maxAllowableOffset: -1 } })).rejects.toThrow(
      /--max-allowable-offset must be/,
    );
  });
});
