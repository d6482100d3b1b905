/**
 * The datum warning of export, end to end through the CLI against the emulator: a layer that
 * declares a NAD83 spatial reference, projected to WGS84 (--out-sr 4326, the default) with no
 * --datum-transformation, gets one warning naming both datums; none with --datum-transformation,
 * with an --out-sr on the layer's datum, for a layer on the output's datum, or with --no-geometry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from '../cli/in-process.js';
import { readSeq, startSecured, tempDir, USER } from '../extract/helpers.js';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
const env = { ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };
beforeAll(async () => {
  emu = await startSecured({
    layers: [
      {
        service: 'Nad83',
        generate: { count: 45, geometry: 'point', seed: 4 },
        maxRecordCount: 20,
        spatialReference: { wkid: 4269, latestWkid: 4269 },
      },
      {
        service: 'Mercator',
        generate: { count: 10, geometry: 'point', seed: 4 },
        spatialReference: { wkid: 102100, latestWkid: 3857 },
      },
    ],
  });
  tmp = await tempDir('arcgis-etl-dw-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

let n = 0;
async function exportLines(service: string, args: string[] = []) {
  const output = tmp.path(`out-${++n}.geojsonl`);
  const r = await runInProcess(['export', emu.layerUrl(service), '-o', output, ...args], { env });
  expect(r.code, r.stderr).toBe(0);
  return {
    datumLines: r.stderr.split('\n').filter((l) => /datum transformation/.test(l)),
    features: (await readSeq(output)).length,
  };
}

describe('datum warning', () => {
  it('a NAD83 layer exported to WGS84 with no transformation: one warning, naming both datums', async () => {
    const { datumLines, features } = await exportLines('Nad83');
    expect(features).toBe(45); // three pages, one warning
    expect(datumLines).toHaveLength(1);
    expect(datumLines[0]).toContain(emu.layerUrl('Nad83'));
    expect(datumLines[0]).toMatch(/NAD83 datum \(wkid 4269\) and the output on WGS 84 \(--out-sr 4326\)/);
    expect(datumLines[0]).toMatch(
      /default datum transformation.*--datum-transformation <wkid\|json> chooses one/,
    );
  });

  it('none with --datum-transformation, an --out-sr on the same datum, a WGS84 layer, or --no-geometry', async () => {
    expect((await exportLines('Nad83', ['--datum-transformation', '1188'])).datumLines).toEqual([]);
    expect((await exportLines('Nad83', ['--out-sr', '4269'])).datumLines).toEqual([]);
    expect((await exportLines('Mercator')).datumLines).toEqual([]);
    expect((await exportLines('Mercator', ['--out-sr', '3857'])).datumLines).toEqual([]);
    expect((await exportLines('Nad83', ['--no-geometry'])).datumLines).toEqual([]);
  });

  it('the emulator declares the spatial reference in the layer and the service resources', async () => {
    const layer = emu.layer('Nad83', 0).metadata();
    expect(layer.sourceSpatialReference).toEqual({ wkid: 4269, latestWkid: 4269 });
    expect(layer.extent?.spatialReference).toEqual({ wkid: 4269, latestWkid: 4269 });
  });
});
