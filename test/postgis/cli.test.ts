/**
 * `arcgis-etl export … -o postgresql://…` (the built binary) against the emulator on port 0 and a
 * real PostgreSQL + PostGIS: the table holds exactly what the GeoJSON export of the same layer
 * holds (every geometry kind, Z, null geometries, unicode, dates, nulls), read back with SQL and
 * with GDAL; the server from the PG* variables or DATABASE_URL; bad input refused in one line
 * before any request; a SIGKILL mid-load leaves the table as it was; kill + --resume gives the
 * table an uninterrupted run gives.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import { runBin, startBin } from '../cli/run-bin.js';
import { createTestDatabase, postgisTestsRun, type TestDatabase } from './helpers.js';
import { asStored, geometriesOf } from './readback.js';

const run = await postgisTestsRun();
const exec = promisify(execFile);

let emu: EmulatorHandle;
let db: TestDatabase;
let dir: string;

const LAYERS = {
  mixed: { count: 240, geometry: 'mixed-polygon', seed: 5, hasZ: true, nullGeometries: 0.1 },
  points: { count: 300, geometry: 'point', seed: 6, nullGeometries: 0.05 },
  multipoints: { count: 120, geometry: 'multipoint', seed: 7 },
  lines: { count: 150, geometry: 'polyline', seed: 8, hasZ: true },
  slow: { count: 1200, geometry: 'point', seed: 9 },
} as const;

beforeAll(async () => {
  if (!run) return;
  emu = await startEmulator({
    layers: Object.entries(LAYERS).map(([service, generate]) => ({
      service,
      generate: { ...generate },
      maxRecordCount: 50,
      // the generator's fields only (generated layers are editable by default: + 4 edit fields)
      editing: false as const,
    })),
  });
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-postgis-cli-'));
});
afterAll(async () => {
  await emu?.stop();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  if (!run) return;
  emu.setFaults({});
  emu.resetStats();
});

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...db.env(), ...extra };
}

function totalRequests(): number {
  return Object.values(emu.stats().requests).reduce((a, b) => a + b, 0);
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The same layer exported to GeoJSON by the same binary: the source the table is compared with. */
async function geojsonOf(service: string): Promise<GeoJSONFeature[]> {
  const out = join(dir, `${service}-${Math.random().toString(36).slice(2)}.geojson`);
  const r = await runBin(['export', emu.layerUrl(service), '-o', out, '-q']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(await readFile(out, 'utf8')) as { features: GeoJSONFeature[] }).features;
}

/** Every row equals the GeoJSON feature of the same OBJECTID: properties and geometry, exactly. */
async function expectTableIs(table: string, features: readonly GeoJSONFeature[]): Promise<void> {
  const rows = await db.query(
    `SELECT "OBJECTID"::text AS oid, name, category, value, (extract(epoch FROM created) * 1000)::float8 AS created, note
     FROM ${table} ORDER BY "OBJECTID"`,
  );
  expect(rows.map((r) => r.oid)).toEqual(features.map((f) => String(f.id)));
  expect(rows).toEqual(
    features.map((f) => ({
      oid: String(f.id),
      name: f.properties.name,
      category: f.properties.category,
      value: f.properties.value,
      created: f.properties.created,
      note: f.properties.note,
    })),
  );
  const geometries = await geometriesOf(db, table, 'OBJECTID');
  for (const f of features)
    expect(geometries.get(String(f.id)), `OBJECTID ${f.id}`).toEqual(asStored(f.geometry));
}

async function stagingTables(): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    "SELECT relname AS name FROM pg_class WHERE relname LIKE 'arcgis\\_etl\\_%' AND relkind = 'r'",
  );
  return rows.map((r) => r.name);
}

describe.skipIf(!run)('export -o postgresql://…', () => {
  for (const service of ['mixed', 'points', 'multipoints', 'lines'] as const) {
    it(`${service}: the table holds exactly the layer's GeoJSON export`, async () => {
      const r = await runBin(['export', emu.layerUrl(service), '-o', db.url(`public.${service}`)], {
        env: env(),
      });
      expect(r.code, r.stderr).toBe(0);
      expect(lastLine(r.stderr)).toMatch(
        new RegExp(
          `^exported ${LAYERS[service].count} features .* → postgresql://.*/${db.name}\\?table=public\\.${service}$`,
        ),
      );
      await expectTableIs(`public.${service}`, await geojsonOf(service));
      expect(await readdir(dir)).not.toContainEqual(expect.stringContaining('checkpoint'));
    });
  }

  it('GDAL reads the table back: the FID, field types, values and every geometry', async () => {
    await runBin(['export', emu.layerUrl('mixed'), '-o', db.url('public.for_gdal')], { env: env() });
    const source = await geojsonOf('mixed');
    const { host, port, user } = db.server;
    const pg = `PG:host=${host} port=${port} user=${user} dbname=${db.name}`;
    const info = await exec('ogrinfo', ['-ro', '-so', pg, 'public.for_gdal'], {
      env: { ...process.env, ...env() },
    });
    expect(info.stdout).toContain('FID Column = OBJECTID');
    expect(info.stdout).toContain('Geometry Column = geom');
    expect(info.stdout).toMatch(/Geometry: 3D Multi Polygon/);
    expect(info.stdout).toMatch(/Feature Count: 240/);
    for (const line of [
      'name: String',
      'category: Integer',
      'value: Real',
      'created: DateTime',
      'note: String',
    ]) {
      expect(info.stdout).toContain(line);
    }
    const out = await exec(
      'ogr2ogr',
      ['-f', 'GeoJSON', '-preserve_fid', '/vsistdout/', pg, 'public.for_gdal'],
      {
        env: { ...process.env, ...env() },
        maxBuffer: 64 << 20,
      },
    );
    const read = (JSON.parse(out.stdout) as { features: GeoJSONFeature[] }).features;
    expect(read.map((f) => f.id)).toEqual(source.map((f) => f.id));
    for (const [i, f] of read.entries()) {
      const s = source[i]!;
      expect(f.geometry, `OBJECTID ${s.id}`).toEqual(asStored(s.geometry));
      const { created, ...rest } = f.properties;
      const { OBJECTID: _oid, created: sourceCreated, ...sourceRest } = s.properties;
      expect(rest).toEqual(sourceRest);
      expect(created === null ? null : Date.parse(created as string)).toEqual(sourceCreated);
    }
  });

  it('the server from PGHOST, PGPORT, PGUSER, PGDATABASE (-o postgresql:// --table), or DATABASE_URL', async () => {
    const { host, port, user } = db.server;
    const pgVars = { PGHOST: host, PGPORT: String(port), PGUSER: user, PGDATABASE: db.name };
    const a = await runBin(
      ['export', emu.layerUrl('points'), '-o', 'postgresql://', '--table', 'from_vars'],
      {
        env: env(pgVars),
      },
    );
    expect(a.code, a.stderr).toBe(0);
    const url = `postgresql://${user}@${host}:${port}/${db.name}`;
    const b = await runBin(['export', emu.layerUrl('points'), '-o', 'postgresql://', '--table', 'from_url'], {
      env: env({ DATABASE_URL: url }),
    });
    expect(b.code, b.stderr).toBe(0);
    const source = await geojsonOf('points');
    await expectTableIs('public.from_vars', source);
    await expectTableIs('public.from_url', source);
  });

  it('--mode replace, append and upsert from the command line (and --overwrite = replace)', async () => {
    const url = db.url('public.modes');
    const layer = emu.layerUrl('points');
    expect(
      (await runBin(['export', layer, '-o', url, '-q', '--where', 'OBJECTID <= 100'], { env: env() })).code,
    ).toBe(0);
    const append = await runBin(
      ['export', layer, '-o', url, '-q', '--mode', 'append', '--where', 'OBJECTID > 100'],
      {
        env: env(),
      },
    );
    expect(append.code, append.stderr).toBe(0);
    const source = await geojsonOf('points');
    await expectTableIs('public.modes', source);
    await db.query(`UPDATE public.modes SET name = 'changed', geom = NULL WHERE "OBJECTID" <= 10`);
    await db.query(`DELETE FROM public.modes WHERE "OBJECTID" > 290`);
    const upsert = await runBin(['export', layer, '-o', url, '-q', '--mode', 'upsert'], { env: env() });
    expect(upsert.code, upsert.stderr).toBe(0);
    await expectTableIs('public.modes', source);
    await db.query('ALTER TABLE public.modes ADD COLUMN extra text');
    const replace = await runBin(['export', layer, '-o', url, '-q', '--overwrite'], { env: env() });
    expect(replace.code, replace.stderr).toBe(0);
    await expectTableIs('public.modes', source);
    const columns = await db.query(
      "SELECT 1 FROM information_schema.columns WHERE table_name = 'modes' AND column_name = 'extra'",
    );
    expect(columns).toEqual([]);
  });
});

describe.skipIf(!run)('bad input: one clear line, before any request', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'a URL with no table',
      ['-o', 'postgresql://u@127.0.0.1:5432/db'],
      /^error \[USAGE\]: A PostGIS output needs a table: -o "postgresql:\/\/user@host:5432\/db\?table=schema\.name", or --table schema\.name$/,
    ],
    [
      'a password in the URL',
      ['-o', 'postgresql://u:S3cret-Pa55word@127.0.0.1:5432/db?table=t'],
      /^error \[USAGE\]: The output URL holds a password: the PostgreSQL password comes from PGPASSWORD or ~\/\.pgpass only, never from a URL or a flag; remove it \(postgresql:\/\/u@host:port\/db\?table=schema\.name\)$/,
    ],
    [
      'a password in DATABASE_URL',
      ['-o', 'postgresql://', '--table', 't'],
      /^error \[USAGE\]: DATABASE_URL holds a password: .*PGPASSWORD or ~\/\.pgpass only/,
    ],
    [
      'two different tables',
      ['-o', 'postgresql://u@h/db?table=a', '--table', 'b'],
      /^error \[USAGE\]: The output URL says table=a and --table says b: give the table once$/,
    ],
    [
      'an unknown mode',
      ['-o', 'postgresql://u@h/db?table=a', '--mode', 'merge'],
      /^error \[USAGE\]: --mode must be one of create, replace, append, upsert \(got "merge"\)$/,
    ],
    [
      '--key without upsert',
      ['-o', 'postgresql://u@h/db?table=a', '--key', 'name'],
      /^error \[USAGE\]: --key is for --mode upsert$/,
    ],
    [
      '--table with a file output',
      ['-o', 'out.geojson', '--table', 'a'],
      /^error \[USAGE\]: --table, --mode and --key are for PostGIS outputs/,
    ],
    [
      '--format postgis with a file',
      ['-o', 'out.geojson', '--format', 'postgis'],
      /^error \[USAGE\]: The postgis format writes to a database/,
    ],
    [
      'an unknown URL parameter',
      ['-o', 'postgresql://u@h/db?table=a&schema=b'],
      /^error \[USAGE\]: The output URL has an unknown parameter "schema"/,
    ],
    [
      'a table of three parts',
      ['-o', 'postgresql://u@h/db?table=a.b.c'],
      /^error \[USAGE\]: The table "a\.b\.c" is not schema\.name or name \(more than two parts\)$/,
    ],
  ];
  for (const [what, args, line] of cases) {
    it(what, async () => {
      const r = await runBin(['export', emu.layerUrl('points'), ...args], {
        env: env(
          what.includes('DATABASE_URL') ? { DATABASE_URL: 'postgresql://u:Other-S3cret@127.0.0.1/db' } : {},
        ),
        cwd: dir,
      });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(lastLine(r.stderr)).toMatch(line);
      expect(r.stderr).not.toContain('S3cret');
      expect(totalRequests()).toBe(0);
    });
  }

  it('create into an existing table, and a table whose columns clash', async () => {
    await db.query('CREATE TABLE public.taken ("OBJECTID" bigint, name integer, geom geometry(Point, 4326))');
    await db.query("INSERT INTO public.taken VALUES (7, 7, 'SRID=4326;POINT(1 2)')");
    const create = await runBin(['export', emu.layerUrl('points'), '-o', db.url('public.taken')], {
      env: env(),
    });
    expect(create.code).toBe(2);
    expect(lastLine(create.stderr)).toBe(
      'error [USAGE]: The table public.taken already exists: choose --mode replace (replace it), append or upsert, or another table',
    );
    expect(totalRequests()).toBe(0);
    const clash = await runBin(
      ['export', emu.layerUrl('points'), '-o', db.url('public.taken'), '--mode', 'append'],
      {
        env: env(),
      },
    );
    expect(clash.code).toBe(2);
    expect(clash.stderr.split('\n').filter((l) => l.startsWith('error'))).toEqual([
      expect.stringMatching(
        /^error \[USAGE\]: The table public\.taken does not fit the layer: column "name" is integer, the layer's esriFieldTypeString needs text; no column "category" .*; no column "note" \(the layer's esriFieldTypeString field\)$/,
      ),
    ]);
    expect(emu.stats().requests.query ?? 0).toBe(0);
    expect(await db.query('SELECT "OBJECTID"::int AS oid, name FROM public.taken')).toEqual([
      { oid: 7, name: 7 },
    ]);
    expect(await stagingTables()).toEqual([]);
  });

  it('a server that does not answer: one line, nothing else', async () => {
    const r = await runBin(
      ['export', emu.layerUrl('points'), '-o', 'postgresql://u@127.0.0.1:1/db?table=t'],
      {
        env: env(),
      },
    );
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toMatch(
      /^error \[OUTPUT_ERROR\]: Cannot connect to PostgreSQL at postgresql:\/\/u@127\.0\.0\.1:1\/db: .*ECONNREFUSED/,
    );
    expect(totalRequests()).toBe(0);
  });
});

describe.skipIf(!run)('killed mid-load', () => {
  it('SIGKILL without --resume: the table is as it was, nothing is left', async () => {
    const url = db.url('public.killed');
    expect((await runBin(['export', emu.layerUrl('points'), '-o', url, '-q'], { env: env() })).code).toBe(0);
    const before = await geojsonOf('points');
    emu.resetStats();
    emu.setFaults({ latencyMs: 60 });
    const r = startBin(
      ['export', emu.layerUrl('slow'), '-o', url, '--mode', 'replace', '--concurrency', '1'],
      {
        env: env(),
        cwd: dir,
      },
    );
    // loading: the transaction is open and pages are going in
    await until(() => (emu.stats().requests.query ?? 0) >= 6, 'a few pages');
    const loading = await db.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'arcgis-etl' AND datname = $1 AND xact_start IS NOT NULL",
      [db.name],
    );
    expect(loading).toEqual([{ n: 1 }]);
    r.child.kill('SIGKILL');
    await r.done;
    // the server rolls the transaction back when the connection goes
    await until(async () => {
      const rows = await db.query(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = 'arcgis-etl' AND datname = $1",
        [db.name],
      );
      return rows.length === 0;
    }, 'the killed connection to end');
    await expectTableIs('public.killed', before);
    expect(await stagingTables()).toEqual([]);
  });

  it('SIGKILL with --resume, then --resume: the table an uninterrupted run writes', async () => {
    const here = await mkdtemp(join(dir, 'resume-'));
    const layer = emu.layerUrl('slow');
    const uninterrupted = await runBin(['export', layer, '-o', db.url('public.whole'), '-q'], { env: env() });
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
    const wholeQueries = emu.stats().requests.query ?? 0;
    emu.setFaults({ latencyMs: 50 });
    const args = ['export', layer, '-o', db.url('public.resumed'), '--resume', '--concurrency', '1'];
    const checkpoint = join(here, `${db.name}.public.resumed.postgis.checkpoint.json`);
    const first = startBin(args, { env: env(), cwd: here });
    await until(
      async () =>
        existsSync(checkpoint) &&
        (JSON.parse(await readFile(checkpoint, 'utf8')) as { features: number }).features >= 600,
      'a checkpoint of half the pages',
    );
    first.child.kill('SIGKILL');
    await first.done;
    const saved = JSON.parse(await readFile(checkpoint, 'utf8')) as { partial: string; features: number };
    expect(saved.partial).toMatch(/^arcgis_etl_[0-9a-f]{12}$/);
    expect(await stagingTables()).toEqual([saved.partial]);
    expect(await db.query("SELECT to_regclass('public.resumed') AS t")).toEqual([{ t: null }]);

    emu.setFaults({});
    emu.resetStats();
    const second = await runBin([...args, '-q'], { env: env(), cwd: here });
    expect(second.code, second.stderr).toBe(0);
    // the resumed run fetched only what was missing (OIDs past the checkpoint): 12 pages fewer at
    // least, and a few counts more (the checkpoint's check)
    expect(emu.stats().requests.query ?? 0).toBeLessThanOrEqual(wholeQueries - 8);
    const difference = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         (SELECT *, ST_AsEWKB(geom) AS g FROM public.resumed EXCEPT SELECT *, ST_AsEWKB(geom) FROM public.whole)
         UNION ALL
         (SELECT *, ST_AsEWKB(geom) AS g FROM public.whole EXCEPT SELECT *, ST_AsEWKB(geom) FROM public.resumed)
       ) d`,
    );
    expect(difference).toEqual([{ n: 0 }]);
    expect(await db.query('SELECT count(*)::int AS n FROM public.resumed')).toEqual([{ n: 1200 }]);
    expect(await stagingTables()).toEqual([]);
    expect(await readdir(here)).toEqual([]);
  }, 90_000);
});
