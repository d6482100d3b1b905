/**
 * `export … --state FILE -o postgresql://…` against the emulator and the real PostgreSQL + PostGIS:
 * the first run creates the table and writes the state; after edits (insert, update, delete) the
 * next run applies them in place (upserts, then DELETE of the deleted OIDs, in one transaction), and
 * the table then holds exactly the layer's rows; with change tracking and with edit tracking.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from '../cli/in-process.js';
import { rig, startSecured, USER } from '../extract/helpers.js';
import { createTestDatabase, postgisTestsRun, type TestDatabase } from '../postgis/helpers.js';

const run = await postgisTestsRun();

let emu: EmulatorHandle;
let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  if (!run) return;
  emu = await startSecured({
    layers: [
      { service: 'PgTracked', generate: { count: 40, geometry: 'point', seed: 3 }, maxRecordCount: 25 },
      {
        service: 'PgDated',
        generate: { count: 40, geometry: 'point', seed: 4 },
        maxRecordCount: 25,
        editing: { changeTracking: false },
      },
    ],
  });
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-sync-postgis-'));
});
afterAll(async () => {
  await emu?.stop();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cli = (args: string[]) =>
  runInProcess(['export', ...args], {
    env: { ...db.env(), ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password },
    cwd: dir,
    runtime: { sleep: async () => {} },
  });

describe.runIf(run).each([
  ['PgTracked', 'change tracking'],
  ['PgDated', 'edit tracking'],
])('sync of %s into PostGIS (%s)', (service, how) => {
  it('applies inserts, updates and deletes in place: the table then holds exactly the layer', async () => {
    const table = service.toLowerCase();
    const args = [emu.layerUrl(service), '-o', db.url(`public.${table}`), '--state', `${table}.state.json`];
    const first = await cli(args);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('full export for sync');

    const r = rig(emu);
    const added = await r.client.request<{ addResults: { objectId: number }[] }>(
      `${emu.layerUrl(service)}/applyEdits`,
      {
        adds: JSON.stringify([{ attributes: { name: 'new row' }, geometry: { x: 10, y: 20 } }]),
        updates: JSON.stringify([{ attributes: { OBJECTID: 3, name: 'changed' } }]),
        deletes: '4,5',
      },
    );
    await r.close();

    const second = await cli(args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`synced by ${how} · 2 inserted/updated · 2 deleted`);
    const rows = await db.query<{ OBJECTID: string; name: string | null }>(
      `SELECT "OBJECTID", name FROM public.${table} ORDER BY "OBJECTID"`,
    );
    const layer = emu.layer(service);
    expect(rows.map((row) => Number(row.OBJECTID))).toEqual([...layer.objectIds()]);
    for (const row of rows) expect(row.name).toBe(layer.feature(Number(row.OBJECTID))?.attributes.name);
    expect(rows.find((row) => Number(row.OBJECTID) === added.addResults[0]!.objectId)?.name).toBe('new row');
    expect(rows.find((row) => Number(row.OBJECTID) === 3)?.name).toBe('changed');

    // nothing changed: nothing written, the table as it was
    const third = await cli(args);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toContain('0 inserted/updated · 0 deleted');
    expect(await db.query(`SELECT count(*)::int AS n FROM public.${table}`)).toEqual([{ n: rows.length }]);
  });
});
