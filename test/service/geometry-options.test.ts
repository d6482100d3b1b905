/**
 * --precision (geometryPrecision, honoured by the emulator in f=json and f=pbf alike),
 * --no-geometry (returnGeometry=false: null geometries, same attributes) and the parameters of
 * --max-allowable-offset.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import { geometryParams } from '../../src/features/geometry-options.js';
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
