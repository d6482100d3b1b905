/**
 * `arcgis-etl run pipeline.yaml` against the emulator: points, polygons, a table and a whole
 * service, each output exact; one token per credential; never more queries at once to the host
 * than its budget; one line per layer and a total; a stats row per layer; a failed layer lets the
 * others finish and makes the exit code non-zero.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from '../cli/in-process.js';
import { expectSameAsSource, readSeq, startSecured, tempDir, USER } from '../extract/helpers.js';

const OTHER = { username: 'etl-other', password: 'An0ther-Passw0rd!' };
let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
const env = {
  ARCGIS_USERNAME: USER.username,
  ARCGIS_PASSWORD: USER.password,
  OTHER_USER: OTHER.username,
  OTHER_PASSWORD: OTHER.password,
};

beforeAll(async () => {
  emu = await startSecured({
    users: [USER, OTHER],
    layers: [
      { service: 'Hydrants', generate: { count: 140, geometry: 'point', seed: 1 }, maxRecordCount: 20 },
      { service: 'Parcels', generate: { count: 90, geometry: 'polygon', seed: 2 }, maxRecordCount: 20 },
      {
        service: 'Owners',
        name: 'Owners',
        type: 'Table',
        generate: { count: 60, geometry: 'point', seed: 3 },
        maxRecordCount: 20,
      },
      {
        service: 'City',
        id: 0,
        name: 'Trees',
        generate: { count: 70, geometry: 'point', seed: 4 },
        maxRecordCount: 20,
      },
      {
        service: 'City',
        id: 1,
        name: 'Roads',
        generate: { count: 50, geometry: 'polyline', seed: 5 },
        maxRecordCount: 20,
        capabilities: { pagination: false },
      },
      {
        service: 'City',
        id: 2,
        name: 'Blocks',
        generate: { count: 45, geometry: 'polygon', seed: 6 },
        maxRecordCount: 20,
      },
    ],
    faults: { latencyMs: 15 },
  });
  tmp = await tempDir('arcgis-etl-pipeline-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

const serviceUrl = (service: string) => emu.layerUrl(service, 0).replace(/\/0$/, '');

function pipelineYaml(extra = ''): string {
  return `version: 1
credentials:
  main: { username: { env: ARCGIS_USERNAME }, password: { env: ARCGIS_PASSWORD } }
  other:
    username: { env: OTHER_USER }
    password: { command: "printf %s \\"$OTHER_PASSWORD\\"" }
defaults: { credentials: main, format: geojsonseq }
hosts: { "*": { concurrency: 3 } }
sources:
  - url: ${emu.layerUrl('Hydrants')}
    output: out/{service}-{layer}.geojsonl
    where: "1=1"
  - url: ${emu.layerUrl('Parcels')}
    output: out/{service}-{name}.geojsonl
    credentials: other
  - url: ${emu.layerUrl('Owners')}
    output: out/owners.geojsonl
    fields: [OBJECTID, name]
  - url: ${serviceUrl('City')}
    output: out/city/{layer}-{name}.geojsonl
${extra}`;
}

describe('arcgis-etl run', () => {
  it('exports every layer exactly once: one token per credential, the host budget held, a line per layer and a total, a stats row per layer', async () => {
    const dir = tmp.path('ok');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(`${dir}/out/city`, { recursive: true });
    await writeFile(`${dir}/nightly.yaml`, pipelineYaml());
    emu.resetStats();
    const stats = `${dir}/stats.json`;
    const r = await runInProcess(
      ['run', `${dir}/nightly.yaml`, '--stats-json', stats, '--layers-at-once', '6'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);

    for (const [service, file] of [
      ['Hydrants', 'out/Hydrants-0.geojsonl'],
      ['Parcels', `out/Parcels-${emu.layer('Parcels').metadata().name}.geojsonl`],
    ] as const) {
      expectSameAsSource(emu, service, await readSeq(`${dir}/${file}`));
    }
    // the table: the fields asked for, every row, no geometry
    const owners = await readSeq(`${dir}/out/owners.geojsonl`);
    expect(owners.map((f) => f.id)).toEqual([...emu.layer('Owners').objectIds()]);
    expect(owners.every((f) => f.geometry === null)).toBe(true);
    // the whole service, one file per layer
    for (const [id, name] of [
      [0, 'Trees'],
      [1, 'Roads'],
      [2, 'Blocks'],
    ] as const) {
      const one = { layer: () => emu.layer('City', id) } as unknown as EmulatorHandle;
      expectSameAsSource(one, 'City', await readSeq(`${dir}/out/city/${id}-${name}.geojsonl`));
    }

    // one token per credential (main and other), for the whole pipeline
    expect(emu.stats().tokens).toBe(2);
    // never more than the host budget of queries at once (pages, counts and id lists alike)
    expect(emu.stats().load.peakConcurrency).toBeGreaterThan(1);
    expect(emu.stats().load.peakConcurrency).toBeLessThanOrEqual(3);

    // one line per layer, and the total
    const lines = r.stderr.trim().split('\n');
    for (const id of ['0-0', '1-0', '2-0', '3-0', '3-1', '3-2']) {
      expect(lines.filter((l) => l.startsWith(`${id} `) && /: exported \d+ features/.test(l))).toHaveLength(
        1,
      );
    }
    expect(lines.at(-1)).toMatch(/^pipeline nightly-[0-9a-f]{8}: 6 of 6 layers written · 455 features · /);

    const json = JSON.parse(await readFile(stats, 'utf8')) as {
      pipeline: string;
      ok: boolean;
      layers: { id: string; status: string; features: number; output: string }[];
      total: { layers: number; written: number; features: number };
    };
    expect(json.ok).toBe(true);
    expect(json.layers.map((l) => [l.id, l.status, l.features])).toEqual([
      ['0-0', 'ok', 140],
      ['1-0', 'ok', 90],
      ['2-0', 'ok', 60],
      ['3-0', 'ok', 70],
      ['3-1', 'ok', 50],
      ['3-2', 'ok', 45],
    ]);
    expect(json.total).toMatchObject({ layers: 6, written: 6, failed: 0, features: 455 });
  });

  it('a failing layer lets the others finish; the exit code and the last line say so, its output is not written', async () => {
    const dir = tmp.path('partial');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(`${dir}/out/city`, { recursive: true });
    // Roads does not page: the forced offset strategy fails there only
    await writeFile(
      `${dir}/p.yaml`,
      pipelineYaml().replace(
        'output: out/city/{layer}-{name}.geojsonl',
        'output: out/city/{layer}-{name}.geojsonl\n    strategy: offset',
      ),
    );
    const stats = `${dir}/stats.json`;
    const r = await runInProcess(['run', `${dir}/p.yaml`, '--stats-json', stats], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /^error \[NO_STRATEGY\]: 1 of 6 layers failed \(3-1\): .*the others were written$/,
    );
    expect(r.stderr).toMatch(/^3-1 City\/1 "Roads": failed: \[NO_STRATEGY\]/m);
    expect(existsSync(`${dir}/out/city/1-Roads.geojsonl`)).toBe(false);
    expect(existsSync(`${dir}/out/city/2-Blocks.geojsonl`)).toBe(true);
    const json = JSON.parse(await readFile(stats, 'utf8')) as {
      ok: boolean;
      layers: { id: string; status: string }[];
    };
    expect(json.ok).toBe(false);
    expect(json.layers.filter((l) => l.status === 'failed').map((l) => l.id)).toEqual(['3-1']);
  });

  it('a service that cannot be listed fails alone; the other sources are written', async () => {
    const dir = tmp.path('unlisted');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(`${dir}/out/city`, { recursive: true });
    const gone = serviceUrl('City').replace('/City/', '/Gone/');
    await writeFile(
      `${dir}/p.yaml`,
      pipelineYaml(`  - url: ${gone}\n    output: out/gone-{layer}.geojsonl\n`),
    );
    const stats = `${dir}/stats.json`;
    const r = await runInProcess(['run', `${dir}/p.yaml`, '--stats-json', stats], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /^error \[[A-Z_]+\]: 1 of 7 layers failed \(4-\*\): .*the others were written$/,
    );
    expect(r.stderr).toMatch(/^4-\* Gone\/-1 "all layers": failed: /m);
    const json = JSON.parse(await readFile(stats, 'utf8')) as { layers: { id: string; status: string }[] };
    expect(json.layers.map((l) => [l.id, l.status])).toEqual([
      ['0-0', 'ok'],
      ['1-0', 'ok'],
      ['2-0', 'ok'],
      ['3-0', 'ok'],
      ['3-1', 'ok'],
      ['3-2', 'ok'],
      ['4-*', 'failed'],
    ]);
  });
});
