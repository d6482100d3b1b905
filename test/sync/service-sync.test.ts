/**
 * `arcgis-etl export <…/FeatureServer> -o dir/ --state FILE`: every layer synced with one state file
 * for the service (one entry per layer). Run, edit two layers (one change-tracked, one edit-tracked)
 * with applyEdits, run again: each output holds exactly the inserts and updates, each layer's
 * deletes are beside its output. A failed layer leaves the state file as it was; --merge and a
 * --deletes file are refused with one line.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from '../cli/in-process.js';
import { pointLayer, readSeq, rig, startSecured, type TempDir, tempDir, USER } from '../extract/helpers.js';

let emu: EmulatorHandle;
let tmp: TempDir;
const env = { ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };

beforeAll(async () => {
  emu = await startSecured({
    layers: [
      pointLayer('City', 40, { name: 'Parks' }),
      { ...pointLayer('City', 30, { editing: { changeTracking: false } }), id: 1, name: 'Trees' },
      pointLayer('Mixed', 20, { name: 'Tracked' }),
      { ...pointLayer('Mixed', 10, { editing: false }), id: 1, name: 'Untracked' },
    ],
  });
  tmp = await tempDir('arcgis-etl-service-sync-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

const run = (args: string[]) =>
  runInProcess(['export', ...args], { env, cwd: tmp.dir, runtime: { sleep: async () => {} } });

const serviceUrl = (name: string) => emu.layerUrl(name).replace(/\/\d+$/, '');

/** One insert, one update (OID 3), two deletes (OIDs 4 and 5) on a layer; the new OID. */
async function edit(layerUrl: string, name: string): Promise<number> {
  const r = rig(emu);
  try {
    const answer = await r.client.request<{ addResults: { objectId: number; success: boolean }[] }>(
      `${layerUrl}/applyEdits`,
      {
        adds: JSON.stringify([{ attributes: { name: `${name} new` }, geometry: { x: 1, y: 2 } }]),
        updates: JSON.stringify([{ attributes: { OBJECTID: 3, name: `${name} changed` } }]),
        deletes: '4,5',
      },
    );
    expect(answer.addResults[0]!.success).toBe(true);
    return answer.addResults[0]!.objectId;
  } finally {
    await r.close();
  }
}

async function state(): Promise<{ serviceUrl: string; layers: Record<string, { mode: string }> }> {
  return JSON.parse(await readFile(tmp.path('city.state.json'), 'utf8'));
}

describe('export <service> --state', () => {
  it('a full run, edits on two layers, then a run with exactly the changes', async () => {
    const url = serviceUrl('City');
    const args = [url, '-o', 'city/', '-f', 'geojsonseq', '--state', 'city.state.json'];
    const first = await run(args);
    expect(first.stderr).toMatch(/layer 0 "Parks": full export for sync \(state by change tracking\)/);
    expect(first.stderr).toMatch(/layer 1 "Trees": full export for sync \(state by edit tracking\)/);
    expect(first.code).toBe(0);
    expect((await readSeq(tmp.path('city/0-Parks.geojsonl'))).length).toBe(40);
    expect((await readSeq(tmp.path('city/1-Trees.geojsonl'))).length).toBe(30);
    const firstState = await state();
    expect(firstState.serviceUrl).toBe(url);
    expect(Object.entries(firstState.layers).map(([id, s]) => [id, s.mode])).toEqual([
      ['0', 'changes'],
      ['1', 'editDate'],
    ]);

    const parksNew = await edit(`${url}/0`, 'park');
    const treesNew = await edit(`${url}/1`, 'tree');
    const second = await run([...args, '--overwrite']);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(
      /layer 0 "Parks": synced by change tracking · 2 inserted\/updated · 2 deleted/,
    );
    expect(second.stderr).toMatch(
      /layer 1 "Trees": synced by edit tracking · 2 inserted\/updated · 2 deleted/,
    );
    for (const [file, added, name] of [
      ['city/0-Parks.geojsonl', parksNew, 'park'],
      ['city/1-Trees.geojsonl', treesNew, 'tree'],
    ] as const) {
      const rows = await readSeq(tmp.path(file));
      expect(rows.map((f) => [f.id, f.properties.name]).sort()).toEqual(
        [
          [3, `${name} changed`],
          [added, `${name} new`],
        ].sort(),
      );
      expect(await readFile(tmp.path(`${file}.deletes.csv`), 'utf8')).toBe('OBJECTID\n4\n5\n');
    }
    // the state moved on for both layers
    const secondState = await state();
    expect(secondState.layers).not.toEqual(firstState.layers);

    // nothing changed since: a third run gives nothing
    const third = await run([...args, '--overwrite']);
    expect(third.code).toBe(0);
    expect(third.stderr).toMatch(
      /layer 0 "Parks": synced by change tracking · 0 inserted\/updated · 0 deleted/,
    );
    expect(third.stderr).toMatch(
      /layer 1 "Trees": synced by edit tracking · 0 inserted\/updated · 0 deleted/,
    );
    expect(await readSeq(tmp.path('city/0-Parks.geojsonl'))).toEqual([]);
  });

  it('a layer that fails leaves the state file as it was, and the exit code says so', async () => {
    const url = serviceUrl('Mixed');
    const args = [url, '-o', 'mixed/', '-f', 'geojsonseq', '--state', 'mixed.state.json'];
    const failed = await run(args);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/layer 1 "Untracked": failed: \[SYNC_UNSUPPORTED\]/);
    expect(failed.stderr.trim().split('\n').at(-1)).toMatch(
      /1 of 2 layers failed .*the state file .*mixed\.state\.json was not changed/,
    );
    expect(existsSync(tmp.path('mixed.state.json'))).toBe(false);
    // the layer that succeeded is published all the same (its changes come again next run)
    expect((await readSeq(tmp.path('mixed/0-Tracked.geojsonl'))).length).toBe(20);
    // the tracked layer alone: its entry is written
    const one = await run([...args, '--layers', '0', '--overwrite']);
    expect(one.code).toBe(0);
    const written = JSON.parse(await readFile(tmp.path('mixed.state.json'), 'utf8'));
    expect(Object.keys(written.layers)).toEqual(['0']);
    // again with the failing layer: the file is untouched
    const before = await readFile(tmp.path('mixed.state.json'), 'utf8');
    await edit(`${url}/0`, 'mixed');
    expect((await run([...args, '--overwrite'])).code).not.toBe(0);
    expect(await readFile(tmp.path('mixed.state.json'), 'utf8')).toBe(before);
  });

  it('--merge and a --deletes file are refused for a service with one line, nothing written', async () => {
    const url = serviceUrl('City');
    for (const [extra, message] of [
      [['--merge', 'city/'], /--merge works on one layer/],
      [['--deletes', 'gone.csv'], /--deletes works on one layer/],
      [['-o', 'all.gpkg'], /--state syncs each layer into its own file/],
    ] as const) {
      const refused = await run([url, '-o', 'refused/', '--state', 'refused.state.json', ...extra]);
      expect(refused.code).toBe(2);
      const lines = refused.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(existsSync(tmp.path('refused'))).toBe(false);
      expect(existsSync(tmp.path('refused.state.json'))).toBe(false);
      expect(existsSync(tmp.path('all.gpkg'))).toBe(false);
    }
  });
});
