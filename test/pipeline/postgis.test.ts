/**
 * A pipeline into PostGIS: a whole service, one table per layer from the {service} and {layer}
 * templates of the URL's table, every row there once; a second run with `mode: replace` gives the
 * same tables. Real PostgreSQL + PostGIS (skips loudly off CI when none answers).
 */
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from '../cli/in-process.js';
import { startSecured, tempDir, USER } from '../extract/helpers.js';
import { createTestDatabase, postgisTestsRun, type TestDatabase } from '../postgis/helpers.js';

const run = await postgisTestsRun();
let emu: EmulatorHandle;
let db: TestDatabase;
let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  if (!run) return;
  emu = await startSecured({
    layers: [
      {
        service: 'Town',
        id: 0,
        name: 'Wells',
        generate: { count: 55, geometry: 'point', seed: 1 },
        maxRecordCount: 20,
      },
      {
        service: 'Town',
        id: 1,
        name: 'Lots',
        generate: { count: 35, geometry: 'polygon', seed: 2 },
        maxRecordCount: 20,
      },
    ],
  });
  db = await createTestDatabase();
  tmp = await tempDir('arcgis-etl-pipeline-pg-');
});
afterAll(async () => {
  if (!run) return;
  await emu.stop();
  await db.drop();
  await tmp.remove();
});

describe.skipIf(!run)('a pipeline into PostGIS', () => {
  it('writes one table per layer of a service, every row once; mode replace reruns it', async () => {
    const service = emu.layerUrl('Town', 0).replace(/\/0$/, '');
    const file = tmp.path('pg.yaml');
    await writeFile(
      file,
      `version: 1
credentials:
  main: { username: { env: ARCGIS_USERNAME }, password: { env: ARCGIS_PASSWORD } }
defaults: { credentials: main }
sources:
  - url: ${service}
    output: ${db.url('public.{service}_{layer}')}
    mode: replace
`,
    );
    const env = { ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password, ...db.env() };
    for (let i = 0; i < 2; i++) {
      const r = await runInProcess(['run', file], { env });
      expect(r.code, r.stderr).toBe(0);
      const tables = await db.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name ILIKE 'town%' ORDER BY 1",
      );
      // the service name keeps its case: a quoted identifier
      expect(tables.map((t) => t.table_name)).toEqual(['Town_0', 'Town_1']);
      for (const layer of [0, 1]) {
        const rows = await db.query<{ n: string; d: string }>(
          `SELECT count(*) AS n, count(DISTINCT "OBJECTID") AS d FROM public."Town_${layer}"`,
        );
        const expected = emu.layer('Town', layer).objectIds().length;
        expect(rows[0]).toEqual({ n: String(expected), d: String(expected) });
      }
    }
  });
});
