/**
 * The export command writes Shapefile and FlatGeobuf by extension: field-name mapping printed,
 * the options reach the writer, --resume refused before any request. The built binary against
 * the emulator on port 0.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runBin } from '../cli/run-bin.js';
import { gdalFeatures, gdalInfo } from './read-back.js';

let emu: EmulatorHandle;
let dir: string;
let layerUrl: string;

beforeAll(async () => {
  emu = await startEmulator({
    layers: [
      { service: 'Parcels', generate: { count: 120, geometry: 'polygon', seed: 5 }, maxRecordCount: 50 },
    ],
  });
  layerUrl = emu.layerUrl('Parcels', 0);
  dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-cli-outputs-'));
});
afterAll(async () => {
  await emu.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('export to Shapefile and FlatGeobuf', () => {
  it('-o x.shp: the files GDAL reads, the time fields named on stderr', async () => {
    const r = await runBin(['export', layerUrl, '-o', 'parcels.shp'], { cwd: dir });
    expect(r.stderr).toMatch(/Shapefile field names .*created → created_t/);
    expect(r.code).toBe(0);
    expect((await gdalInfo(join(dir, 'parcels.shp'))).count).toBe(120);
    const names = (await readdir(dir)).filter((n) => n.startsWith('parcels')).sort();
    expect(names).toEqual([
      'parcels.cpg',
      'parcels.dbf',
      'parcels.fields.json',
      'parcels.prj',
      'parcels.shp',
      'parcels.shx',
    ]);
  });

  it('--shp-dates text, .shp.zip: one zip, dates as ISO 8601 text', async () => {
    const r = await runBin(['export', layerUrl, '-o', 'text.shp.zip', '--shp-dates', 'text', '-q'], {
      cwd: dir,
    });
    expect(r.code).toBe(0);
    const features = await gdalFeatures(`/vsizip/${join(dir, 'text.shp.zip')}`);
    expect(features).toHaveLength(120);
    expect(String(features[0]!.properties.created)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('-o x.fgb, and --no-fgb-index', async () => {
    for (const [name, args] of [
      ['indexed.fgb', []],
      ['flat.fgb', ['--no-fgb-index']],
    ] as const) {
      const r = await runBin(['export', layerUrl, '-o', name, '-q', ...args], { cwd: dir });
      expect(r.code).toBe(0);
      expect((await gdalInfo(join(dir, name))).count).toBe(120);
    }
    const indexed = await runBin(['export', '--help']);
    expect(indexed.stdout).toContain('--no-fgb-index');
  });

  it.each(['r.shp', 'r.fgb'])('--resume with %s: one usage line, no request', async (name) => {
    emu.resetStats();
    const r = await runBin(['export', layerUrl, '-o', name, '--resume'], { cwd: dir });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/USAGE.*--resume is not available for (shapefile|flatgeobuf)/);
    expect(Object.values(emu.stats().requests).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('--help lists the Shapefile options', async () => {
    const r = await runBin(['export', '--help']);
    for (const text of [
      '--shp-dates',
      '--shp-split-geometry',
      '--shp-split-parts',
      'shapefile | flatgeobuf',
    ]) {
      expect(r.stdout).toContain(text);
    }
  });
});
