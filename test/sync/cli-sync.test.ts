/**
 * `arcgis-etl export … --state/--merge/--attachments` in process against the emulator: a nightly
 * pair of runs; a layer without tracking refused with one line and nothing written; usage errors.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from '../cli/in-process.js';
import { pointLayer, readSeq, rig, startSecured, type TempDir, tempDir, USER } from '../extract/helpers.js';

let emu: EmulatorHandle;
let tmp: TempDir;
const env = { ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };

beforeAll(async () => {
  emu = await startSecured({
    layers: [pointLayer('Nightly', 40, { editing: {} }), pointLayer('Static', 10, { editing: false })],
  });
  tmp = await tempDir('arcgis-etl-cli-sync-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

// job polls wait on an injected sleep: the test never sleeps
const run = (args: string[]) =>
  runInProcess(['export', ...args], { env, cwd: tmp.dir, runtime: { sleep: async () => {} } });

describe('export --state', () => {
  it('a full run, edits, then a merged run and attachments', async () => {
    const url = emu.layerUrl('Nightly');
    const first = await run([url, '-o', 'nightly.geojsonl', '--state', 'nightly.state.json']);
    expect(first.stderr).toContain('full export for sync');
    expect(first.code).toBe(0);
    const r = rig(emu);
    await r.client.request(`${url}/applyEdits`, {
      updates: JSON.stringify([{ attributes: { OBJECTID: 3, name: 'changed' } }]),
      deletes: '4,5',
    });
    await r.close();
    const second = await run([
      url,
      '-o',
      'nightly.geojsonl',
      '--state',
      'nightly.state.json',
      '--merge',
      'nightly.geojsonl',
      '--attachments',
      'files',
    ]);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(
      /synced by change tracking · 1 inserted\/updated · 2 deleted · 38 features after merge/,
    );
    expect(second.stderr).toMatch(/attachments: 0 \(0 downloaded/);
    const features = await readSeq(tmp.path('nightly.geojsonl'));
    expect(features).toHaveLength(38);
    expect(features.find((f) => f.id === 3)?.properties.name).toBe('changed');
    expect(await readFile(tmp.path('nightly.geojsonl.deletes.csv'), 'utf8')).toBe('OBJECTID\n4\n5\n');
    expect(existsSync(tmp.path('files/manifest.json'))).toBe(true);
  });

  it('--deletes inline: the deleted OIDs are _op=delete rows of the GeoJSONSeq output, no CSV', async () => {
    const url = emu.layerUrl('Nightly');
    const first = await run([url, '-o', 'inline-1.geojsonl', '--state', 'inline.state.json']);
    expect(first.code).toBe(0);
    const r = rig(emu);
    await r.client.request(`${url}/applyEdits`, {
      updates: JSON.stringify([{ attributes: { OBJECTID: 10, name: 'inline' } }]),
      deletes: '11',
    });
    await r.close();
    const args = [url, '-o', 'inline-2.geojsonl', '--state', 'inline.state.json', '--deletes', 'inline'];
    const second = await run(args);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('(deletes inline, _op=delete)');
    const rows = await readSeq(tmp.path('inline-2.geojsonl'));
    expect(rows.map((f) => [f.id, f.properties._op])).toEqual([
      [10, undefined],
      [11, 'delete'],
    ]);
    expect(rows[1]).toEqual({
      type: 'Feature',
      id: 11,
      geometry: null,
      properties: { OBJECTID: 11, _op: 'delete' },
    });
    expect(existsSync(tmp.path('inline-2.geojsonl.deletes.csv'))).toBe(false);
    // other formats, and --merge, refuse it with one line, writing nothing
    for (const [out, extra] of [
      ['inline-3.csv', []],
      ['inline-3.geojsonl', ['--merge', 'inline-1.geojsonl']],
    ] as const) {
      const refused = await run([
        url,
        '-o',
        out,
        '--state',
        'inline.state.json',
        '--deletes',
        'inline',
        ...extra,
      ]);
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim().split('\n').at(-1)).toMatch(/--deletes inline/);
      expect(existsSync(tmp.path(out))).toBe(false);
    }
  });

  it('a layer without edit or change tracking: one clear line, nothing written', async () => {
    const before = await readdir(tmp.dir);
    const refused = await run([
      emu.layerUrl('Static'),
      '-o',
      'static.geojsonl',
      '--state',
      'static.state.json',
    ]);
    expect(refused.code).not.toBe(0);
    const lines = refused.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^error \[SYNC_UNSUPPORTED\]: .*edit tracking.*change tracking/);
    expect(await readdir(tmp.dir)).toEqual(before);
    const since = await run([
      emu.layerUrl('Static'),
      '-o',
      'static.geojsonl',
      '--since',
      '2026-01-01T00:00:00Z',
    ]);
    expect(since.stderr.trim().split('\n').at(-1)).toMatch(
      /^error \[SYNC_UNSUPPORTED\]: --since needs edit tracking/,
    );
    expect(await readdir(tmp.dir)).toEqual(before);
  });

  it('refuses --merge without --state and a bad --since', async () => {
    const merge = await run([emu.layerUrl('Nightly'), '-o', 'x.geojsonl', '--merge', 'nightly.geojsonl']);
    expect(merge.stderr).toMatch(/error \[USAGE\]: --merge and --deletes need --state or --since/);
    const since = await run([emu.layerUrl('Nightly'), '-o', 'x.geojsonl', '--since', 'yesterday']);
    expect(since.stderr).toMatch(/error \[USAGE\]: --since must be an ISO 8601/);
    expect(existsSync(tmp.path('x.geojsonl'))).toBe(false);
  });
});
