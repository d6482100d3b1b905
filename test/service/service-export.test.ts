/**
 * A whole service: `export <…/FeatureServer|MapServer> -o dir/` writes every layer and table
 * (`<id>-<name>.<ext>`), skips group/raster/annotation layers and says so, shares one token and one
 * concurrency budget, writes a summary line and a stats row per layer, and lets the other layers
 * finish when one fails (the exit code and the last line name it). `info` lists the service.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { layerFileStem } from '../../src/features/service.js';
import { runInProcess } from '../cli/in-process.js';
import { expectSameAsSource, readSeq, startSecured, tempDir, USER } from '../extract/helpers.js';
import { hasGdal, ogrFeatures, ogrinfo } from '../outputs/gdal.js';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
const env = { ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };
const S = 'City';

beforeAll(async () => {
  emu = await startSecured({
    layers: [
      {
        service: S,
        id: 0,
        name: 'Hydrants',
        generate: { count: 120, geometry: 'point', seed: 1 },
        maxRecordCount: 25,
      },
      {
        service: S,
        id: 1,
        name: 'Parcels/Lots: 2024',
        generate: { count: 90, geometry: 'polygon', seed: 2 },
        maxRecordCount: 25,
      },
      {
        service: S,
        id: 2,
        name: 'Roads',
        generate: { count: 70, geometry: 'polyline', seed: 3 },
        maxRecordCount: 25,
        capabilities: { pagination: false },
      },
      {
        service: S,
        id: 3,
        name: 'Owners',
        type: 'Table',
        generate: { count: 40, geometry: 'point', seed: 4 },
        maxRecordCount: 25,
      },
      {
        service: S,
        id: 4,
        name: 'Groups',
        type: 'Group Layer',
        generate: { count: 1, geometry: 'point', seed: 5 },
      },
      {
        service: S,
        id: 5,
        name: 'Imagery',
        type: 'Raster Layer',
        generate: { count: 1, geometry: 'point', seed: 6 },
      },
      {
        service: S,
        id: 6,
        name: 'Labels',
        type: 'Annotation Layer',
        generate: { count: 1, geometry: 'point', seed: 7 },
      },
    ],
    faults: { latencyMs: 3 },
  });
  tmp = await tempDir('arcgis-etl-service-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

const serviceUrl = (kind = 'FeatureServer') => emu.layerUrl(S, 0).replace(/\/FeatureServer\/0$/, `/${kind}`);

describe('export of a whole service', () => {
  it('writes every layer and table into the folder, skips the others and says so; one token, one budget', async () => {
    emu.resetStats();
    const dir = tmp.path('all');
    const stats = tmp.path('all-stats.json');
    const r = await runInProcess(
      [
        'export',
        serviceUrl(),
        '-o',
        `${dir}/`,
        '-f',
        'geojsonseq',
        '--stats-json',
        stats,
        '--concurrency',
        '2',
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(dir)).sort()).toEqual([
      '0-Hydrants.geojsonl',
      '1-Parcels_Lots_2024.geojsonl',
      '2-Roads.geojsonl',
      '3-Owners.geojsonl',
    ]);
    for (const [id, name] of [
      [0, 'Hydrants'],
      [1, 'Parcels/Lots: 2024'],
      [2, 'Roads'],
    ] as const) {
      const features = await readSeq(`${dir}/${layerFileStem({ id, name })}.geojsonl`);
      const one = { layer: () => emu.layer(S, id) } as unknown as EmulatorHandle;
      expectSameAsSource(one, S, features, { oids: emu.layer(S, id).objectIds() });
    }
    // the table: every row, no geometry
    const rows = await readSeq(`${dir}/3-Owners.geojsonl`);
    expect(rows.map((f) => f.id)).toEqual([...emu.layer(S, 3).objectIds()]);
    expect(rows.every((f) => f.geometry === null)).toBe(true);
    // one summary line per layer, and the skipped ones said
    for (const name of ['Hydrants', 'Parcels/Lots: 2024', 'Roads', 'Owners']) {
      expect(r.stderr).toMatch(new RegExp(`layer \\d "${name.replace('/', '\\/')}": exported \\d+ features`));
    }
    expect(r.stderr).toMatch(/skipping layer 4 "Groups": a group layer/);
    expect(r.stderr).toMatch(/skipping layer 5 "Imagery": a raster layer/);
    expect(r.stderr).toMatch(/skipping layer 6 "Labels": an annotation layer/);
    const json = JSON.parse(await readFile(stats, 'utf8')) as {
      layers: { id: number; status: string; features: number; concurrency?: { mode: string; max: number } }[];
      skipped: { id: number }[];
    };
    expect(json.layers.map((l) => [l.id, l.status, l.features])).toEqual([
      [0, 'ok', 120],
      [1, 'ok', 90],
      [2, 'ok', 70],
      [3, 'ok', 40],
    ]);
    expect(json.skipped.map((s) => s.id)).toEqual([4, 5, 6]);
    // one token for the whole service, and one pinned controller shared by every layer
    expect(emu.stats().tokens).toBe(1);
    for (const l of json.layers) expect(l.concurrency).toMatchObject({ mode: 'pinned', max: 2 });
    // page queries share 2 slots; counts and id lists (one at a time per layer) take none
    expect(emu.stats().load.peakConcurrency).toBeLessThanOrEqual(2 + 4);
  });

  it('--layers picks by id or name; a name not in the service lists the names', async () => {
    const dir = tmp.path('some');
    const r = await runInProcess(['export', serviceUrl('MapServer'), '-o', dir, '--layers', '2,hydrants'], {
      env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['0-Hydrants.geojson', '2-Roads.geojson']);
    const bad = await runInProcess(['export', serviceUrl(), '-o', tmp.path('bad'), '--layers', 'Nope'], {
      env,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n').at(-1)).toMatch(
      /"Nope" is not a layer of .*\/FeatureServer \(it has: 0 Hydrants, 1 Parcels\/Lots: 2024, 2 Roads, 4 Groups, .*3 Owners\)/,
    );
    const group = await runInProcess(['export', serviceUrl(), '-o', tmp.path('bad'), '--layers', '4'], {
      env,
    });
    expect(group.code).toBe(2);
    expect(group.stderr).toMatch(/layer 4 "Groups" is a group layer/);
  });

  it('a failing layer does not stop the others: exit code and last line name it, its file is not written', async () => {
    const dir = tmp.path('partial');
    const stats = tmp.path('partial-stats.json');
    // Roads does not page: the forced offset strategy fails there only
    const r = await runInProcess(
      ['export', serviceUrl(), '-o', dir, '--strategy', 'offset', '--stats-json', stats, '-f', 'csv'],
      { env },
    );
    expect(r.code).not.toBe(0);
    const last = r.stderr.trim().split('\n').at(-1) ?? '';
    expect(last).toMatch(
      /^error \[NO_STRATEGY\]: 1 of 4 layers failed \(layer 2 "Roads"\); the others were exported$/,
    );
    expect(r.stderr).toMatch(/layer 2 "Roads": failed: \[NO_STRATEGY\]/);
    expect((await readdir(dir)).sort()).toEqual([
      '0-Hydrants.csv',
      '1-Parcels_Lots_2024.csv',
      '3-Owners.csv',
    ]);
    const json = JSON.parse(await readFile(stats, 'utf8')) as { layers: { id: number; status: string }[] };
    expect(json.layers.map((l) => [l.id, l.status])).toEqual([
      [0, 'ok'],
      [1, 'ok'],
      [2, 'failed'],
      [3, 'ok'],
    ]);
  });

  it('an existing layer output is refused for that layer only, and left as it was', async () => {
    const dir = tmp.path('existing');
    await runInProcess(['export', serviceUrl(), '-o', dir, '--layers', '0'], { env });
    await writeFile(`${dir}/0-Hydrants.geojson`, 'mine');
    const r = await runInProcess(['export', serviceUrl(), '-o', dir, '--layers', '0,1'], { env });
    expect(r.code).toBe(2);
    expect(await readFile(`${dir}/0-Hydrants.geojson`, 'utf8')).toBe('mine');
    expect(existsSync(`${dir}/1-Parcels_Lots_2024.geojson`)).toBe(true);
  });

  it('--bbox applies to every layer; tables are skipped (no geometry), and said', async () => {
    const dir = tmp.path('bbox');
    const e = emu.layer(S, 0).metadata().extent!;
    const box = [e.xmin, e.ymin, (e.xmin + e.xmax) / 2, (e.ymin + e.ymax) / 2].join(',');
    const r = await runInProcess(['export', serviceUrl(), '-o', dir, '--bbox', box, '--layers', '0,3'], {
      env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/skipping layer 3 "Owners": a table/);
    expect(await readdir(dir)).toEqual(['0-Hydrants.geojson']);
  });

  it('stdout and --resume are refused for a service with one clear line', async () => {
    const out = await runInProcess(['export', serviceUrl(), '-o', '-'], { env });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/into a folder/);
    const resume = await runInProcess(['export', serviceUrl(), '-o', tmp.path('r'), '--resume'], { env });
    expect(resume.code).toBe(2);
  });
});

describe.skipIf(!hasGdal)('export of a whole service into one GeoPackage', () => {
  it('-o x.gpkg: one table per layer (named after it), every feature, read back by GDAL; nothing beside it', async () => {
    const dir = tmp.path('gpkg-one');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    const out = `${dir}/city.gpkg`;
    const stats = tmp.path('gpkg-stats.json');
    const r = await runInProcess(['export', serviceUrl(), '-o', out, '--stats-json', stats], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(dir)).toEqual(['city.gpkg']);
    const info = await ogrinfo(['-ro', '-so', out]);
    expect(info.stdout).toMatch(/1: Hydrants \(Point\)/);
    expect(info.stdout).toMatch(/2: Parcels\/Lots: 2024 \(Multi Polygon\)/);
    expect(info.stdout).toMatch(/3: Roads \(Multi Line String\)/);
    expect(info.stdout).toMatch(/4: Owners( \(None\))?$/m);
    for (const [id, table] of [
      [0, 'Hydrants'],
      [1, 'Parcels/Lots: 2024'],
      [2, 'Roads'],
      [3, 'Owners'],
    ] as const) {
      const { features, stderr } = await ogrFeatures(out, table);
      expect(stderr).toBe('');
      expect(features.map((f) => f.properties.OBJECTID)).toEqual([...emu.layer(S, id).objectIds()]);
      if (id !== 3) expect(features.every((f) => f.geometry !== null)).toBe(true);
    }
    const json = JSON.parse(await readFile(stats, 'utf8')) as {
      layers: { id: number; status: string; output: string }[];
    };
    expect(json.layers.map((l) => [l.id, l.status, l.output])).toEqual([
      [0, 'ok', out],
      [1, 'ok', out],
      [2, 'ok', out],
      [3, 'ok', out],
    ]);
    // an existing file is refused (and left as it was) unless --overwrite
    const before = await readFile(out);
    const again = await runInProcess(['export', serviceUrl(), '-o', out, '--layers', '0'], { env });
    expect(again.code).toBe(2);
    expect(Buffer.compare(await readFile(out), before)).toBe(0);
    const replaced = await runInProcess(['export', serviceUrl(), '-o', out, '--layers', '0', '--overwrite'], {
      env,
    });
    expect(replaced.code, replaced.stderr).toBe(0);
    expect((await ogrinfo(['-ro', '-so', out])).stdout).not.toMatch(/Roads/);
    expect(await readdir(dir)).toEqual(['city.gpkg']);
  });

  it('a failed layer stops the rest and no file is published (nor any staging file left)', async () => {
    const dir = tmp.path('gpkg-failed');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    const out = `${dir}/city.gpkg`;
    // Roads does not page: the forced offset strategy fails there only
    const r = await runInProcess(['export', serviceUrl(), '-o', out, '--strategy', 'offset'], { env });
    expect(r.code).not.toBe(0);
    const last = r.stderr.trim().split('\n').at(-1) ?? '';
    expect(last).toMatch(/^error \[NO_STRATEGY\]: layer 2 "Roads" failed, so .*city\.gpkg was not written/);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('info <service URL>', () => {
  it('lists layers, tables, counts and capabilities', async () => {
    const r = await runInProcess(['info', serviceUrl(), '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { capabilities: string; layers: Record<string, unknown>[] };
    // the emulator's services are editable, change-tracked and sync-enabled by default
    expect(info.capabilities).toBe('Query,Create,Update,Delete,Editing,ChangeTracking,Sync');
    expect(info.layers.map((l) => [l.id, l.type, l.count ?? l.skipped !== undefined])).toEqual([
      [0, 'Feature Layer', 120],
      [1, 'Feature Layer', 90],
      [2, 'Feature Layer', 70],
      [4, 'Group Layer', true],
      [5, 'Raster Layer', true],
      [6, 'Annotation Layer', true],
      [3, 'Table', 40],
    ]);
    const text = await runInProcess(['info', serviceUrl()], { env });
    expect(text.stdout).toMatch(/table 3 {2}Owners {2}\(Table\) {2}40 features/);
    expect(text.stdout).toMatch(/layer 4 {2}Groups {2}\(Group Layer\) {2}skipped: a group layer/);
  });
});
