/**
 * Sync with a spatial filter (--bbox/--geometry): the output is the filtered set, kept up to date.
 * A feature moved into the area is an insert/update, one moved out of it a delete; the merged
 * output equals a fresh filtered export, with change tracking and with edit tracking. A state made
 * with another filter is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import { bboxFilter } from '../../src/features/spatial-filter.js';
import type { SyncOptions } from '../../src/features/sync/sync.js';
import { pointLayer, readSeq, rig, startSecured, type TempDir, tempDir } from '../extract/helpers.js';
import { syncInto } from './helpers.js';

const T0 = Date.UTC(2026, 4, 1, 8, 0, 0);
let now = T0;
let emu: EmulatorHandle;
let tmp: TempDir;

beforeAll(async () => {
  emu = await startSecured({
    now: () => now,
    layers: [pointLayer('Area', 60), pointLayer('AreaDated', 60, { editing: { changeTracking: false } })],
  });
  tmp = await tempDir('arcgis-etl-sync-filter-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

const byId = (features: GeoJSONFeature[]) =>
  [...features].sort((a, b) => (a.id as number) - (b.id as number));
const xOf = (f: GeoJSONFeature) => (f.geometry as { coordinates: number[] }).coordinates[0]!;

async function exportAll(service: string, out: string, filter?: ReturnType<typeof bboxFilter>) {
  const r = rig(emu);
  try {
    await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl(service),
      output: tmp.path(out),
      format: 'geojsonseq',
      overwrite: true,
      ...(filter ? { filter } : {}),
    });
  } finally {
    await r.close();
  }
  return byId(await readSeq(tmp.path(out)));
}

const sync = (service: string, out: string, extra: Partial<SyncOptions>) =>
  syncInto(emu, tmp, service, out, extra);

describe.each(['Area', 'AreaDated'])('sync of %s with a --bbox', (service) => {
  it('features moved out of the area are deletes, moved in are inserts; merged equals a fresh filtered export', async () => {
    const all = await exportAll(service, `${service}-all.geojsonl`);
    const xs = all.map(xOf).sort((a, b) => a - b);
    const split = (xs[29]! + xs[30]!) / 2;
    const filter = bboxFilter([-180, -90, split, 90]);
    const inside = all.filter((f) => xOf(f) < split);
    const outside = all.filter((f) => xOf(f) > split);
    now = T0 + 60_000;
    const first = await sync(service, `${service}-1.geojsonl`, { filter });
    expect(first.features).toBe(inside.length);

    now += 60_000;
    const [leaving, staying] = [inside[0]!.id as number, inside[1]!.id as number];
    const entering = outside[0]!.id as number;
    const far = (oid: number, x: number) => ({ attributes: { OBJECTID: oid }, geometry: { x, y: 0 } });
    const r = rig(emu);
    await r.client.request(`${emu.layerUrl(service)}/applyEdits`, {
      updates: JSON.stringify([
        far(leaving, split + 1),
        far(entering, split - 1),
        { attributes: { OBJECTID: staying, name: 'still inside' } },
      ]),
    });
    await r.close();

    const second = await sync(service, `${service}-2.geojsonl`, {
      filter,
      merge: tmp.path(`${service}-1.geojsonl`),
    });
    expect(second.deletes).toBe(1);
    const merged = byId(await readSeq(tmp.path(`${service}-2.geojsonl`)));
    const fresh = await exportAll(service, `${service}-fresh.geojsonl`, filter);
    expect(merged.map((f) => f.id)).toContain(entering);
    expect(merged.map((f) => f.id)).not.toContain(leaving);
    expect(merged).toEqual(fresh);

    // another area: the state is refused, nothing written
    const other = sync(service, `${service}-3.geojsonl`, { filter: bboxFilter([-180, -90, 0, 0]) });
    await expect(other).rejects.toSatisfy(
      (e) => isEtlError(e, 'SYNC_STATE_INVALID') && /spatial filter/.test(e.message),
    );
  });
});
