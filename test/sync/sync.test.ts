/**
 * Incremental sync against the emulator: a full run writes the state; edits (insert, update,
 * delete, and an edit at the high-water instant) are picked up by the next run exactly once; the
 * merged output equals a fresh full export; the state follows the server's clock under skew; a
 * layer without tracking is refused with one line and nothing written; a failed run leaves the
 * state as it was.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import { readSyncState } from '../../src/features/sync/state.js';
import type { SyncOptions } from '../../src/features/sync/sync.js';
import { pointLayer, readSeq, rig, startSecured, type TempDir, tempDir } from '../extract/helpers.js';
import { syncInto } from './helpers.js';

const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);
let now = T0;
let emu: EmulatorHandle;
let tmp: TempDir;

beforeAll(async () => {
  emu = await startSecured({
    now: () => now,
    layers: [
      pointLayer('Tracked', 30, { editing: {} }),
      pointLayer('Dated', 30, { editing: { changeTracking: false } }),
      pointLayer('Skewed', 12, { editing: { changeTracking: false } }),
      pointLayer('Plain', 5, { editing: false }),
    ],
  });
  tmp = await tempDir('arcgis-etl-sync-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

async function applyEdits(
  service: string,
  edits: Record<string, string>,
): Promise<Record<string, { objectId: number }[]>> {
  const r = rig(emu);
  try {
    return await r.client.request(`${emu.layerUrl(service)}/applyEdits`, edits);
  } finally {
    await r.close();
  }
}

const update = (oid: number, name: string) => JSON.stringify([{ attributes: { OBJECTID: oid, name } }]);

const sync = (service: string, out: string, extra: Partial<SyncOptions> = {}) =>
  syncInto(emu, tmp, service, out, extra);

async function freshExport(service: string, out: string): Promise<GeoJSONFeature[]> {
  const r = rig(emu);
  await exportLayer({
    client: r.client,
    layerUrl: emu.layerUrl(service),
    output: tmp.path(out),
    format: 'geojsonseq',
  });
  await r.close();
  return byId(await readSeq(tmp.path(out)));
}

function byId(features: GeoJSONFeature[]): GeoJSONFeature[] {
  return [...features].sort((a, b) => (a.id as number) - (b.id as number));
}

describe.each([
  ['Tracked', 'changes'],
  ['Dated', 'editDate'],
] as const)('sync of %s (%s)', (service, mode) => {
  it('full run, edits (insert, update, delete, one at the boundary instant), a merged run equal to a fresh export', async () => {
    now = T0 + 60_000;
    await applyEdits(service, { updates: update(5, 'before the first run') });
    const first = await sync(service, `${service}-1.geojsonl`);
    expect(first.mode).toBe('full');
    expect(first.features).toBe(30);
    const state1 = await readSyncState(tmp.path(`${service}.state.json`));
    expect(state1?.mode).toBe(mode);
    if (mode === 'editDate') {
      expect(state1?.highWater).toBe(now);
      expect(state1?.boundaryOids).toEqual([5]);
    }

    // the same millisecond as the high-water mark, after the run
    await applyEdits(service, { updates: update(6, 'at the boundary') });
    now += 3_600_000;
    const added = await applyEdits(service, {
      adds: JSON.stringify([{ attributes: { name: 'inserted', category: 1 }, geometry: { x: -100, y: 40 } }]),
      updates: update(7, 'updated'),
      deletes: '8',
    });
    const inserted = added.addResults![0]!.objectId;

    const second = await sync(service, `${service}-2.geojsonl`, { merge: tmp.path(`${service}-1.geojsonl`) });
    expect(second.mode).toBe(mode);
    expect(second.upserts).toBe(3);
    expect(second.deletes).toBe(1);
    expect(second.merged).toBe(true);
    expect(await readFile(tmp.path(`${service}-2.geojsonl.deletes.csv`), 'utf8')).toBe('OBJECTID\n8\n');
    const merged = byId(await readSeq(tmp.path(`${service}-2.geojsonl`)));
    const fresh = await freshExport(service, `${service}-fresh.geojsonl`);
    expect(merged.map((f) => f.id)).toContain(inserted);
    expect(merged.map((f) => f.id)).not.toContain(8);
    expect(merged).toEqual(fresh);

    // nothing changed: nothing exported, the output holds no feature twice
    const third = await sync(service, `${service}-3.geojsonl`);
    expect(third.upserts).toBe(0);
    expect(third.deletes).toBe(0);
    expect(await readSeq(tmp.path(`${service}-3.geojsonl`))).toEqual([]);

    // changes only (no merge): the output holds the inserts and updates
    await applyEdits(service, { updates: update(9, 'again') });
    const fourth = await sync(service, `${service}-4.geojsonl`);
    expect((await readSeq(tmp.path(`${service}-4.geojsonl`))).map((f) => f.id)).toEqual([9]);
    expect(fourth.upserts).toBe(1);
  });
});

describe('sync under server clock skew', () => {
  it.each([-2 * 86_400_000, 5 * 86_400_000])(
    'keeps the high-water mark on the server clock (offset %i ms)',
    async (offset) => {
      emu.setClockOffset(offset);
      try {
        now = T0 + 10 * 86_400_000;
        const state = `Skewed${offset}.state.json`;
        await applyEdits('Skewed', { updates: update(2, `skew ${offset}`) });
        await sync('Skewed', `skew${offset}-1.geojsonl`, { statePath: tmp.path(state) });
        const s1 = await readSyncState(tmp.path(state));
        expect(s1?.highWater).toBe(now + offset);
        expect(s1?.highWater).toBe(emu.layer('Skewed').feature(2)?.attributes.EditDate);
        now += 1000;
        await applyEdits('Skewed', { updates: update(3, `later ${offset}`) });
        const run = await sync('Skewed', `skew${offset}-2.geojsonl`, { statePath: tmp.path(state) });
        expect(run.upserts).toBe(1);
        expect((await readSyncState(tmp.path(state)))?.highWater).toBe(now + offset);
        const again = await sync('Skewed', `skew${offset}-3.geojsonl`, { statePath: tmp.path(state) });
        expect(again.upserts).toBe(0);
      } finally {
        emu.setClockOffset(0);
      }
    },
  );
});

describe('sync refusals', () => {
  it('--since on a layer without edit or change tracking names the missing capability, writes nothing', async () => {
    const before = await readdir(tmp.dir);
    const since = sync('Plain', 'plain-since.geojsonl', { since: T0 });
    await expect(since).rejects.toSatisfy(
      (e) =>
        isEtlError(e, 'SYNC_UNSUPPORTED') &&
        /edit tracking \(editFieldsInfo\.editDateField\)/.test(e.message),
    );
    const state = sync('Plain', 'plain-state.geojsonl');
    await expect(state).rejects.toSatisfy(
      (e) =>
        isEtlError(e, 'SYNC_UNSUPPORTED') && /change tracking/.test(e.message) && !e.message.includes('\n'),
    );
    expect(await readdir(tmp.dir)).toEqual(before);
  });

  it('--since selects rows edited after the instant on the server clock', async () => {
    now = T0 + 20 * 86_400_000;
    await applyEdits('Dated', { updates: update(11, 'since') });
    const run = await sync('Dated', 'since.geojsonl', {
      since: now - 1,
      statePath: tmp.path('since.state.json'),
    });
    expect((await readSeq(tmp.path('since.geojsonl'))).map((f) => f.id)).toEqual([11]);
    expect(run.deletes).toBeUndefined();
  });

  it('a failed run leaves the state and the output as they were', async () => {
    now = T0 + 30 * 86_400_000;
    await applyEdits('Tracked', { updates: update(12, 'doomed') });
    const statePath = tmp.path('Tracked.state.json');
    const stateBefore = await readFile(statePath, 'utf8');
    emu.setFaults({ rates: { http500: 1 } });
    try {
      await expect(sync('Tracked', 'Tracked-4.geojsonl')).rejects.toThrow();
    } finally {
      emu.setFaults({});
    }
    expect(await readFile(statePath, 'utf8')).toBe(stateBefore);
    expect((await readSeq(tmp.path('Tracked-4.geojsonl'))).map((f) => f.id)).toEqual([9]);
    expect((await readdir(tmp.dir)).filter((n) => n.includes('.tmp') || n.startsWith('.sync-'))).toEqual([]);
    expect(existsSync(statePath)).toBe(true);
    const ok = await sync('Tracked', 'Tracked-4.geojsonl');
    expect(ok.upserts).toBe(1);
  });
});
