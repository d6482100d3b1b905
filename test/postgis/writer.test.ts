/**
 * The PostGIS writer against a real PostgreSQL + PostGIS (a database of our own, dropped after):
 * every geometry kind (Z too, null geometries), every field type, unicode, nulls, 64-bit integers
 * and dates, read back exactly with SQL; the modes create, replace, append, upsert; and a failed
 * or aborted load leaving the target as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import type { FeatureWriter } from '../../src/features/writers/types.js';
import { createWriter } from '../../src/features/writers/writer.js';
import type { PostgisOptions } from '../../src/outputs/postgis/writer.js';
import { FIELDS, type Layer, layer, PG_TYPES, pagesOf } from './fixtures.js';
import { createTestDatabase, postgisTestsRun, type TestDatabase } from './helpers.js';
import { asStored, geometriesOf } from './readback.js';

const run = await postgisTestsRun();

let db: TestDatabase;
beforeAll(async () => {
  if (run) db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** `pageGapMs`: the time before each page (a layer's pace), the first one too. */
async function write(
  table: string,
  source: Layer,
  postgis: PostgisOptions = {},
  features: readonly GeoJSONFeature[] = source.features,
  pageGapMs = 0,
): Promise<FeatureWriter> {
  const writer = await createWriter({
    format: 'postgis',
    path: db.url(table),
    schema: source.schema,
    postgis,
  });
  for (const page of pagesOf(features, 7)) {
    if (pageGapMs > 0) await new Promise((resolve) => setTimeout(resolve, pageGapMs));
    await writer.writePage(page);
  }
  await writer.finish();
  return writer;
}

/** Every row of the table, values as exact text / numbers, by OBJECTID. */
async function rowsOf(table: string): Promise<Map<string, Record<string, unknown>>> {
  const rows = await db.query(
    `SELECT "OBJECTID"::text AS oid, name, small, count, big::text AS big, single::float8 AS single, value,
            (extract(epoch FROM "when") * 1000)::text AS when_ms, day::text AS day, time::text AS time, guid,
            "Mixed Case ""q""" AS mixed
     FROM ${table} ORDER BY "OBJECTID"`,
  );
  return new Map(rows.map((r) => [r.oid as string, r]));
}

function expectedRow(f: GeoJSONFeature): Record<string, unknown> {
  const p = f.properties;
  const num = (v: unknown) => (v === null ? null : Number(v));
  return {
    oid: String(p.OBJECTID),
    name: p.name,
    small: p.small,
    count: p.count,
    big: p.big === null ? null : String(p.big),
    single: p.single === null ? null : Math.fround(p.single as number),
    value: p.value,
    when_ms: p.when,
    day: p.day,
    time: p.time,
    guid: p.guid,
    mixed: p['Mixed Case "q"'],
    _num: num,
  };
}

async function expectExactly(table: string, features: readonly GeoJSONFeature[]): Promise<void> {
  const rows = await rowsOf(table);
  expect(rows.size).toBe(features.length);
  const geometries = await geometriesOf(db, table, 'OBJECTID');
  for (const f of features) {
    const { _num, ...want } = expectedRow(f);
    const got = { ...rows.get(String(f.properties.OBJECTID)) };
    got.when_ms = got.when_ms === null ? null : Number(got.when_ms);
    expect(got, `row ${f.properties.OBJECTID}`).toEqual(want);
    expect(geometries.get(String(f.properties.OBJECTID)), `geometry ${f.properties.OBJECTID}`).toEqual(
      asStored(f.geometry),
    );
  }
}

async function columnTypes(table: string): Promise<Record<string, string>> {
  const rows = await db.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
     WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [table],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.type]));
}

async function stagingTables(): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    "SELECT relname AS name FROM pg_class WHERE relname LIKE 'arcgis_etl_%' AND relkind = 'r'",
  );
  return rows.map((r) => r.name);
}

describe.skipIf(!run)('PostGIS writer: what is written is the source, exactly', () => {
  const kinds = [
    ['point', false, 'Point'],
    ['multipoint', false, 'MultiPoint'],
    ['line', false, 'MultiLineString'],
    ['polygon', false, 'MultiPolygon'],
    ['point', true, 'PointZ'],
    ['line', true, 'MultiLineStringZ'],
    ['polygon', true, 'MultiPolygonZ'],
  ] as const;

  for (const [kind, z, type] of kinds) {
    it(`${kind}${z ? ' Z' : ''}: every value and every coordinate, column types, key and GIST index`, async () => {
      const source = layer(kind, 23, z);
      const table = `public.${source.name}`;
      await write(table, source);
      await expectExactly(table, source.features);
      expect(await columnTypes(table)).toEqual({ ...PG_TYPES, geom: `geometry(${type},4326)` });
      const indexes = await db.query<{ def: string }>(
        'SELECT indexdef AS def FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname',
        ['public', source.name],
      );
      expect(indexes.map((i) => i.def)).toEqual([
        expect.stringMatching(
          new RegExp(`CREATE INDEX ${source.name}_geom_idx ON public.${source.name} USING gist \\(geom\\)`),
        ),
        expect.stringMatching(/CREATE UNIQUE INDEX \w+_pkey ON public\.\w+ USING btree \("OBJECTID"\)/),
      ]);
      // PostGIS itself says each geometry is the source's (topologically equal, valid type and SRID)
      const same = await db.query<{ n: string; equal: string }>(
        `SELECT count(*) AS n, count(*) FILTER (WHERE ST_Equals(t.geom, ST_SetSRID(ST_GeomFromGeoJSON(s.g), 4326))
                 AND ST_SRID(t.geom) = 4326) AS equal
         FROM ${table} t JOIN json_to_recordset($1::json) AS s(oid bigint, g text) ON s.oid = t."OBJECTID"`,
        [
          JSON.stringify(
            source.features
              .filter((f) => f.geometry !== null)
              .map((f) => ({ oid: f.properties.OBJECTID, g: JSON.stringify(f.geometry) })),
          ),
        ],
      );
      expect(same[0]).toEqual({ n: same[0]!.n, equal: same[0]!.n });
      expect(Number(same[0]!.n)).toBe(source.features.filter((f) => f.geometry !== null).length);
      // and ST_AsGeoJSON gives the source's coordinates back
      const json = await db.query<{ g: string | null }>(
        `SELECT ST_AsGeoJSON(geom, 15) AS g FROM ${table} ORDER BY "OBJECTID"`,
      );
      expect(json.map((r) => (r.g === null ? null : JSON.parse(r.g)))).toEqual(
        source.features.map((f) => asStored(f.geometry)),
      );
      expect(await stagingTables()).toEqual([]);
    });
  }

  it('full-precision doubles survive (no text round trip)', async () => {
    const source = layer('point', 3);
    const odd = [Math.PI, -Math.E, 1 / 3, 0.1 + 0.2, 5e-324, 1.7976931348623157e308];
    const features = source.features.map((f, i) => ({
      ...f,
      geometry: { type: 'Point' as const, coordinates: [odd[i]!, odd[i + 3]!] },
      properties: { ...f.properties, value: odd[5 - i]! },
    }));
    await write('public.precise', source, {}, features);
    const rows = await db.query<{ x: number; y: number; value: number }>(
      'SELECT ST_X(geom) AS x, ST_Y(geom) AS y, value FROM public.precise ORDER BY "OBJECTID"',
    );
    expect(rows).toEqual(
      features.map((f) => ({
        x: f.geometry.coordinates[0],
        y: f.geometry.coordinates[1],
        value: f.properties.value,
      })),
    );
  });

  it('Web Mercator (102100) is SRID 3857', async () => {
    const source = layer('point', 2);
    await write('public.mercator', source, { srid: 102100 });
    expect((await columnTypes('public.mercator')).geom).toBe('geometry(Point,3857)');
  });

  it('a layer without geometry is a table without a geometry column', async () => {
    const source = layer('point', 4);
    const schema = { ...source.schema, geometryType: undefined };
    const writer = await createWriter({ format: 'postgis', path: db.url('public.no_geometry'), schema });
    await writer.writePage(source.features);
    await writer.finish();
    expect(Object.keys(await columnTypes('public.no_geometry'))).toEqual(Object.keys(PG_TYPES));
  });

  it('schema, table and column names are kept exactly (quotes, capitals, spaces)', async () => {
    await db.query('CREATE SCHEMA "Odd Schema"');
    const source = layer('point', 3);
    await write('"Odd Schema"."My ""Table"""', source);
    await expectExactly('"Odd Schema"."My ""Table"""', source.features);
  });
});

describe.skipIf(!run)('PostGIS writer: modes', () => {
  it('create refuses an existing table (and leaves it)', async () => {
    const source = layer('point', 5);
    await write('public.exists_already', source);
    await expect(write('public.exists_already', layer('point', 2))).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/already exists: choose --mode replace .*append or upsert/),
    });
    await expectExactly('public.exists_already', source.features);
  });

  it('replace swaps the table in one step: the old one stays whole until the new one is complete', async () => {
    await db.query('CREATE TABLE public.swapped (old_column text, geom geometry(Point, 4326))');
    await db.query("INSERT INTO public.swapped VALUES ('before', NULL)");
    const source = layer('polygon', 12);
    const writer = await createWriter({
      format: 'postgis',
      path: db.url('public.swapped'),
      schema: source.schema,
      postgis: { mode: 'replace' },
    });
    await writer.writePage(source.features.slice(0, 6));
    // mid-load, another session sees the old table as it was
    expect(await db.query('SELECT old_column FROM public.swapped')).toEqual([{ old_column: 'before' }]);
    await writer.writePage(source.features.slice(6));
    await writer.finish();
    await expectExactly('public.swapped', source.features);
    expect(Object.keys(await columnTypes('public.swapped'))).not.toContain('old_column');
  });

  it('append adds the rows to the existing ones (a table of other column types that take them)', async () => {
    const all = layer('line', 20);
    await write('public.appended', all, {}, all.features.slice(0, 8));
    // a wider existing column still takes the values exactly
    await db.query(
      'ALTER TABLE public.appended ALTER COLUMN count TYPE bigint, ALTER COLUMN name TYPE varchar(200)',
    );
    const writer = await write('public.appended', all, { mode: 'append' }, all.features.slice(8));
    expect(writer.featuresWritten).toBe(12);
    const rows = await db.query<{ count: string }>(
      'SELECT count::text FROM public.appended ORDER BY "OBJECTID"',
    );
    expect(rows.map((r) => (r.count === null ? null : Number(r.count)))).toEqual(
      all.features.map((f) => f.properties.count),
    );
    expect((await geometriesOf(db, 'public.appended', 'OBJECTID')).size).toBe(20);
  });

  it('append into a missing table creates it', async () => {
    const source = layer('point', 6);
    await write('public.append_new', source, { mode: 'append' });
    await expectExactly('public.append_new', source.features);
  });

  it('upsert on the OID: rows there are updated, new ones inserted, others left', async () => {
    const source = layer('polygon', 10);
    await write('public.upserted', source, {}, source.features.slice(0, 6));
    await db.query(
      `UPDATE public.upserted SET name = 'stale' WHERE "OBJECTID" IN (${source.features[4]!.properties.OBJECTID}, ${source.features[5]!.properties.OBJECTID})`,
    );
    await db.query(`INSERT INTO public.upserted ("OBJECTID", name) VALUES (1, 'not in the layer')`);
    const changed: GeoJSONFeature[] = source.features.slice(4).map((f) => ({
      ...f,
      properties: { ...f.properties, name: `${f.properties.name} v2`, big: '-9223372036854775808' },
    }));
    await write('public.upserted', source, { mode: 'upsert' }, changed);
    const rows = await db.query<{ oid: string; name: string; big: string }>(
      'SELECT "OBJECTID"::text AS oid, name, big::text AS big FROM public.upserted ORDER BY "OBJECTID"',
    );
    expect(rows).toEqual([
      { oid: '1', name: 'not in the layer', big: null },
      ...source.features.slice(0, 4).map((f) => ({
        oid: String(f.properties.OBJECTID),
        name: f.properties.name,
        big: f.properties.big === null ? null : String(f.properties.big),
      })),
      ...changed.map((f) => ({
        oid: String(f.properties.OBJECTID),
        name: f.properties.name,
        big: '-9223372036854775808',
      })),
    ]);
    const geometries = await geometriesOf(db, 'public.upserted', 'OBJECTID');
    for (const f of changed)
      expect(geometries.get(String(f.properties.OBJECTID))).toEqual(asStored(f.geometry));
  });

  it('upsert on a --key field; a key that repeats fails and leaves the table', async () => {
    const source = layer('point', 6);
    const keyed = (name: string) =>
      source.features.map((f, i) => ({
        ...f,
        properties: { ...f.properties, name: `${name}${i}`, guid: `k${i}` },
      }));
    await write('public.by_key', source, {}, keyed('a'));
    await write('public.by_key', source, { mode: 'upsert', key: 'guid' }, keyed('b'));
    expect((await db.query('SELECT name FROM public.by_key ORDER BY guid')).map((r) => r.name)).toEqual(
      source.features.map((_, i) => `b${i}`),
    );
    const twice = keyed('c').map((f) => ({ ...f, properties: { ...f.properties, guid: 'same' } }));
    await expect(
      write('public.by_key', source, { mode: 'upsert', key: 'guid' }, twice),
    ).rejects.toMatchObject({
      code: 'OUTPUT_ERROR',
      message: expect.stringContaining('The key field "guid" is not unique'),
    });
    expect((await db.query('SELECT name FROM public.by_key ORDER BY guid')).map((r) => r.name)).toEqual(
      source.features.map((_, i) => `b${i}`),
    );
  });

  it('a table whose columns clash is refused in one line, before anything is loaded', async () => {
    await db.query(
      'CREATE TABLE public.clash ("OBJECTID" integer, name integer, geom geometry(Polygon, 3857), extra text NOT NULL)',
    );
    const source = layer('point', 3);
    const error = await write('public.clash', source, { mode: 'append' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'USAGE' });
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('The table public.clash does not fit the layer');
    expect(message).toContain('column "OBJECTID" is integer, the layer\'s esriFieldTypeOID needs bigint');
    expect(message).toContain('column "name" is integer');
    expect(message).toContain('no column "small"');
    expect(message).toContain(
      'geometry column "geom" is geometry(Polygon,3857), the layer needs geometry(Point,4326)',
    );
    expect(message).toContain('column "extra" is NOT NULL without a default');
    expect(await db.query('SELECT count(*)::int AS n FROM public.clash')).toEqual([{ n: 0 }]);
    expect(await stagingTables()).toEqual([]);
  });
});

describe.skipIf(!run)('PostGIS writer: failures leave the target as it was', () => {
  async function existingTarget(table: string): Promise<Layer> {
    const before = layer('point', 9);
    await write(table, before);
    return before;
  }

  it('abort mid-load (one transaction): nothing is published, no staging table stays', async () => {
    const before = await existingTarget('public.aborted');
    const source = layer('polygon', 30);
    const writer = await createWriter({
      format: 'postgis',
      path: db.url('public.aborted'),
      schema: source.schema,
      postgis: { mode: 'replace' },
    });
    await writer.writePage(source.features.slice(0, 10));
    await writer.abort();
    await expectExactly('public.aborted', before.features);
    expect(await stagingTables()).toEqual([]);
  });

  it('a value that does not fit its column fails the run with the field and the feature', async () => {
    const before = await existingTarget('public.bad_value');
    const source = layer('point', 5);
    const bad = source.features.map((f, i) =>
      i === 3 ? { ...f, properties: { ...f.properties, count: 2.5 } } : f,
    );
    const writer = await createWriter({
      format: 'postgis',
      path: db.url('public.bad_value'),
      schema: source.schema,
      postgis: { mode: 'append' },
    });
    await expect(writer.writePage(bad)).rejects.toMatchObject({
      code: 'OUTPUT_ERROR',
      message: `Feature ${bad[3]!.id}: the value of "count" does not fit its integer column: 2.5 is not an integer`,
    });
    await writer.abort();
    await expectExactly('public.bad_value', before.features);
  });

  it('committed pages: aborted with keep, the staging table stays for a resume; without, it goes', async () => {
    const before = await existingTarget('public.kept');
    const source = layer('point', 14);
    const open = () =>
      createWriter({
        format: 'postgis',
        path: db.url('public.kept'),
        schema: source.schema,
        postgis: { mode: 'replace', commitEachPage: true },
      });
    const kept = await open();
    await kept.writePage(source.features.slice(0, 7));
    await kept.abort({ keep: true });
    expect(await stagingTables()).toEqual([kept.tempPath]);
    expect(await db.query(`SELECT count(*)::int AS n FROM public."${kept.tempPath}"`)).toEqual([{ n: 7 }]);
    await expectExactly('public.kept', before.features);
    // a new run (not resuming) drops the killed run's staging table, and its own on abort
    const dropped = await open();
    expect(await stagingTables()).toEqual([dropped.tempPath]);
    await dropped.writePage(source.features.slice(0, 7));
    await dropped.abort();
    expect(await stagingTables()).toEqual([]);
    await expectExactly('public.kept', before.features);
  });

  it('resumed from a checkpoint: the rows past it are dropped, the table is an uninterrupted run', async () => {
    const source = layer('polygon', 40);
    const pages = pagesOf(source.features, 6);
    await write('public.uninterrupted', source);
    const first = await createWriter({
      format: 'postgis',
      path: db.url('public.resumed'),
      schema: source.schema,
      postgis: { commitEachPage: true },
    });
    let checkpoint = { bytes: 0, features: 0 };
    for (let i = 0; i < 4; i++) {
      await first.writePage(pages[i]!);
      // the checkpoint of the 4th page never made it to disk
      if (i < 3) checkpoint = { bytes: first.bytesWritten, features: first.featuresWritten };
    }
    await first.abort({ keep: true });
    expect(checkpoint.features).toBe(18);
    const second = await createWriter({
      format: 'postgis',
      path: db.url('public.resumed'),
      schema: source.schema,
      postgis: { commitEachPage: true },
      resume: checkpoint,
      tempPath: first.tempPath,
    });
    expect(second.featuresWritten).toBe(18);
    for (const page of pages.slice(3)) await second.writePage(page);
    await second.finish();
    await expectExactly('public.resumed', source.features);
    const difference = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         (SELECT *, ST_AsEWKB(geom) AS g FROM public.resumed EXCEPT SELECT *, ST_AsEWKB(geom) FROM public.uninterrupted)
         UNION ALL
         (SELECT *, ST_AsEWKB(geom) AS g FROM public.uninterrupted EXCEPT SELECT *, ST_AsEWKB(geom) FROM public.resumed)
       ) d`,
    );
    expect(difference).toEqual([{ n: 0 }]);
    expect(await columnTypes('public.resumed')).toEqual(await columnTypes('public.uninterrupted'));
    expect(await stagingTables()).toEqual([]);
  });

  it('a checkpoint whose staging table is gone or short is CHECKPOINT_INVALID', async () => {
    const source = layer('point', 10);
    const writer = await createWriter({
      format: 'postgis',
      path: db.url('public.gone'),
      schema: source.schema,
      postgis: { commitEachPage: true },
    });
    await writer.writePage(source.features.slice(0, 5));
    await writer.abort({ keep: true });
    const resume = (features: number) =>
      createWriter({
        format: 'postgis',
        path: db.url('public.gone'),
        schema: source.schema,
        postgis: { commitEachPage: true },
        resume: { bytes: 1, features },
        tempPath: writer.tempPath,
      });
    await expect(resume(8)).rejects.toMatchObject({
      code: 'CHECKPOINT_INVALID',
      message: expect.stringContaining('holds 5 rows where the checkpoint says 8'),
    });
    await db.query(`DROP TABLE public."${writer.tempPath}"`);
    await expect(resume(5)).rejects.toMatchObject({
      code: 'CHECKPOINT_INVALID',
      message: expect.stringContaining('is gone'),
    });
  });

  it('one export per table at a time: a second one is OUTPUT_BUSY', async () => {
    const source = layer('point', 4);
    const first = await createWriter({
      format: 'postgis',
      path: db.url('public.busy'),
      schema: source.schema,
    });
    await expect(
      createWriter({ format: 'postgis', path: db.url('public.busy'), schema: source.schema }),
    ).rejects.toMatchObject({ code: 'OUTPUT_BUSY' });
    await first.writePage(source.features);
    await first.finish();
    // the lock went with the first run
    await write('public.busy', source, { mode: 'replace' });
  });

  it("a role's or database's statement and idle timeouts do not cut the load (one COPY for the run)", async () => {
    // New sessions of this database get a 200 ms statement timeout, and the pages come 400 ms apart
    // (a layer's pace): the writer's COPY lasts longer. (Not 1 ms: the writer's own SET runs under
    // it too, and took more than 1 ms on a loaded machine.) And 1 ms idle in a transaction: more
    // than the writer's gaps between its statements (not under the statement timeout).
    await db.query(`ALTER DATABASE ${db.name} SET statement_timeout = '200ms'`);
    await db.query(`ALTER DATABASE ${db.name} SET idle_in_transaction_session_timeout = '1ms'`);
    try {
      const source = layer('polygon', 20);
      // the first page too comes later than the session's set-up (an export's first round trip)
      await write('public.no_timeout', source, {}, source.features, 400);
      await expectExactly('public.no_timeout', source.features);
    } finally {
      await db.query(`ALTER DATABASE ${db.name} RESET statement_timeout`);
      await db.query(`ALTER DATABASE ${db.name} RESET idle_in_transaction_session_timeout`);
    }
  });

  it('the field list of the table follows the layer (fields, no blob or geometry field)', () => {
    expect(FIELDS.filter((f) => f.type !== 'esriFieldTypeGeometry').map((f) => f.name)).toEqual(
      Object.keys(PG_TYPES),
    );
  });
});
