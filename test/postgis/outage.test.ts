/**
 * The database server stops mid-load (its postmaster stopped by PID: an immediate shutdown, as a
 * crash): the export fails with one line, and after the restart the target is as it was; with
 * --resume, the next run completes from the committed staging rows, and the table is the one an
 * uninterrupted run writes. Our own cluster (initdb + postgres on a free port), never the shared one.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runBin, startBin } from '../cli/run-bin.js';
import { requireOrSkip } from '../stores/redis-helpers.js';
import { createTestDatabase, openTestDatabase, type TestDatabase } from './helpers.js';
import { OwnCluster, ownClusterPossible } from './own-cluster.js';

const run = requireOrSkip(
  ownClusterPossible(),
  'PostgreSQL outage tests (PostgreSQL 15 server binaries are not installed)',
);

let emu: EmulatorHandle;
let cluster: OwnCluster;
let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  if (!run) return;
  emu = await startEmulator({
    layers: [
      { service: 'sites', generate: { count: 1500, geometry: 'polygon', seed: 12 }, maxRecordCount: 50 },
    ],
  });
  cluster = await OwnCluster.create();
  await cluster.start();
  db = await createTestDatabase(cluster.address);
  dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-pg-outage-'));
}, 120_000);
afterAll(async () => {
  await emu?.stop();
  await db?.drop().catch(() => {});
  await cluster?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A digest of every row (values and EWKB), to compare tables across a restart. */
async function digest(table: string): Promise<string> {
  const rows = await db.query<{ d: string }>(
    `SELECT md5(string_agg(t::text || coalesce(encode(ST_AsEWKB(t.geom), 'hex'), ''), '|' ORDER BY t."OBJECTID")) AS d
     FROM ${table} t`,
  );
  return rows[0]!.d;
}

async function reconnect(): Promise<void> {
  await cluster.start();
  db = await openTestDatabase(cluster.address, db.name);
}

async function stagingTables(): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    "SELECT relname AS name FROM pg_class WHERE relname LIKE 'arcgis\\_etl\\_%' AND relkind = 'r'",
  );
  return rows.map((r) => r.name);
}

describe.skipIf(!run)('the server stops mid-load (own cluster, stopped by PID)', () => {
  it('without --resume: one line; after the restart the table is as it was, no staging table', async () => {
    const url = db.url('public.target');
    const first = await runBin(
      ['export', emu.layerUrl('sites'), '-o', url, '-q', '--where', 'OBJECTID <= 200'],
      {
        env: db.env(),
      },
    );
    expect(first.code, first.stderr).toBe(0);
    const before = await digest('public.target');
    emu.resetStats();
    emu.setFaults({ latencyMs: 40 });
    const r = startBin(
      ['export', emu.layerUrl('sites'), '-o', url, '--mode', 'replace', '--concurrency', '1'],
      {
        env: db.env(),
        cwd: dir,
      },
    );
    await until(() => (emu.stats().requests.query ?? 0) >= 8, 'a few pages');
    await cluster.stopByPid();
    const result = await r.done;
    expect(result.code).toBe(1);
    const errors = result.stderr.split('\n').filter((l) => l.startsWith('error'));
    expect(errors).toEqual([expect.stringMatching(/^error \[OUTPUT_ERROR\]: .*(connection|terminat)/i)]);
    emu.setFaults({});
    await reconnect();
    expect(await digest('public.target')).toBe(before);
    expect(await db.query('SELECT count(*)::int AS n FROM public.target')).toEqual([{ n: 200 }]);
    expect(await stagingTables()).toEqual([]);
  }, 90_000);

  it('with --resume: the committed pages survive, and the next run completes the table exactly', async () => {
    const layer = emu.layerUrl('sites');
    const whole = await runBin(['export', layer, '-o', db.url('public.whole'), '-q'], { env: db.env() });
    expect(whole.code, whole.stderr).toBe(0);
    const here = await mkdtemp(join(dir, 'resume-'));
    const args = ['export', layer, '-o', db.url('public.resumed'), '--resume', '--concurrency', '1'];
    const checkpoint = join(here, `${db.name}.public.resumed.postgis.checkpoint.json`);
    emu.setFaults({ latencyMs: 40 });
    const r = startBin(args, { env: db.env(), cwd: here });
    await until(
      async () =>
        existsSync(checkpoint) &&
        (JSON.parse(await readFile(checkpoint, 'utf8')) as { features: number }).features >= 400,
      'a checkpoint of a few pages',
    );
    await cluster.stopByPid();
    const result = await r.done;
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error'))).toHaveLength(1);
    emu.setFaults({});
    await reconnect();
    const saved = JSON.parse(await readFile(checkpoint, 'utf8')) as { partial: string };
    expect(await stagingTables()).toEqual([saved.partial]);
    const again = await runBin([...args, '-q'], { env: db.env(), cwd: here });
    expect(again.code, again.stderr).toBe(0);
    expect(await digest('public.resumed')).toBe(await digest('public.whole'));
    expect(await db.query('SELECT count(*)::int AS n FROM public.resumed')).toEqual([{ n: 1500 }]);
    expect(await stagingTables()).toEqual([]);
    expect(existsSync(checkpoint)).toBe(false);
  }, 120_000);
});
