/**
 * Faithful values end to end against the emulator: BigInteger beyond 2^53 exact in every wire
 * format (json, pbf) and in GeoJSON, CSV, GeoPackage and PostGIS; DateOnly, TimeOnly and
 * TimestampOffset kept as the server gives them; --dates epoch|iso; the layer's
 * dateFieldsTimeReference honoured in ISO text; --aliases as CSV headers.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle, LayerSpec } from '../../src/emulator/types.js';
import { bigIntegerJsonParser } from '../../src/features/big-integers.js';
import { isoDateFormatter, layerTimeReference } from '../../src/features/dates.js';
import { type ExportOptions, exportLayer } from '../../src/features/export.js';
import { featureJson } from '../../src/features/writers/exact-json.js';
import { openDatabase } from '../../src/outputs/gpkg/sqlite.js';
import { rig, startSecured, tempDir } from '../extract/helpers.js';
import { BIG, bigTexts } from '../fixtures/big-integers.js';
import { hasGdal, integerText, ogrFeatures, onCi } from '../outputs/gdal.js';
import { readParquet } from '../outputs/parquet-read.js';
import { createTestDatabase, postgisTestsRun, type TestDatabase } from '../postgis/helpers.js';
import { parseCsv } from '../writers/parse-csv.js';

const DAY = ['2024-03-01', null, '1999-12-31'];
const CLOCK = ['13:45:00', '00:00:01.5'];
const STAMP = ['2024-03-01T13:45:00-05:00', '2023-07-04T09:00:00.123+02:00'];
const COUNT = 40;

function spec(service: string, extra: Partial<LayerSpec> = {}): LayerSpec {
  return {
    service,
    generate: { count: COUNT, geometry: 'point', seed: 5 },
    maxRecordCount: 15,
    extraFields: [
      { name: 'big', type: 'esriFieldTypeBigInteger', alias: 'Big number', values: BIG },
      { name: 'day', type: 'esriFieldTypeDateOnly', values: DAY },
      { name: 'clock', type: 'esriFieldTypeTimeOnly', values: CLOCK },
      { name: 'stamp', type: 'esriFieldTypeTimestampOffset', values: STAMP },
    ],
    ...extra,
  };
}

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  emu = await startSecured({
    layers: [
      spec('Values', { aliases: { name: 'Full name', value: 'Value (USD)' } }),
      spec('Pacific', {
        dateFieldsTimeReference: { timeZone: 'Pacific Standard Time', respectsDaylightSaving: true },
      }),
    ],
  });
  tmp = await tempDir('arcgis-etl-values-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

async function run(service: string, name: string, options: Partial<ExportOptions>) {
  const r = rig(emu);
  const warnings: string[] = [];
  r.client.emit = (e) => {
    if (e.type === 'warning') warnings.push(e.message);
  };
  const output = tmp.path(name);
  try {
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl(service),
      output,
      format: 'geojsonseq',
      ...options,
    });
    return { stats, output, warnings };
  } finally {
    await r.close();
  }
}

const at = (values: readonly (string | null)[], row: number) => values[row % values.length] ?? null;

describe('BigInteger beyond 2^53', () => {
  it('the lossless parser keeps only BigInteger fields exact', () => {
    const parse = bigIntegerJsonParser(new Set(['big']));
    const value = parse(
      '{"a":{"big":9007199254740993,"other":9007199254740993,"x":0.12345678901234566}}',
    ) as {
      a: Record<string, unknown>;
    };
    expect(value.a.big).toBe(9007199254740993n);
    expect(value.a.other).toBe(9007199254740992);
    expect(value.a.x).toBe(0.12345678901234566);
    expect(parse('{"big":12}')).toEqual({ big: 12 });
    expect(() => parse('{"big":90071992547409931,')).toThrow(SyntaxError);
    expect(featureJson({ properties: { big: 9007199254740993n, s: 'x' }, skip: undefined })).toBe(
      '{"properties":{"big":9007199254740993,"s":"x"}}',
    );
  });

  for (const queryFormat of ['json', 'pbf', 'auto'] as const) {
    it(`GeoJSONSeq (f=${queryFormat}): the exact digits, other types as the server gives them`, async () => {
      const { output, warnings } = await run('Values', `big-${queryFormat}.geojsonl`, { queryFormat });
      expect(warnings).toEqual([]);
      const text = await readFile(output, 'utf8');
      const expected = Array.from({ length: COUNT }, (_, row) => at(BIG, row) ?? 'null');
      expect(bigTexts(text)).toEqual(expected);
      const features = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { properties: Record<string, unknown> });
      features.forEach((f, row) => {
        expect(f.properties.day).toBe(at(DAY, row));
        expect(f.properties.clock).toBe(at(CLOCK, row));
        expect(f.properties.stamp).toBe(at(STAMP, row));
        expect(typeof f.properties.created).toBe('number');
      });
    });
  }

  it('GeoJSON FeatureCollection and CSV keep the digits', async () => {
    const geojson = await run('Values', 'big.geojson', { format: 'geojson', queryFormat: 'json' });
    const text = await readFile(geojson.output, 'utf8');
    expect(bigTexts(text)).toEqual(Array.from({ length: COUNT }, (_, row) => at(BIG, row) ?? 'null'));
    expect(JSON.parse(text).features).toHaveLength(COUNT); // still valid JSON
    const csv = await run('Values', 'big.csv', { format: 'csv', queryFormat: 'pbf' });
    const [header, ...rows] = parseCsv(await readFile(csv.output, 'utf8'));
    const col = (name: string) => header!.indexOf(name);
    expect(rows.map((r) => r[col('big')])).toEqual(
      Array.from({ length: COUNT }, (_, row) => at(BIG, row) ?? ''),
    );
    expect(rows.map((r) => r[col('day')])).toEqual(
      Array.from({ length: COUNT }, (_, row) => at(DAY, row) ?? ''),
    );
    expect(rows.map((r) => r[col('stamp')])).toEqual(
      Array.from({ length: COUNT }, (_, row) => at(STAMP, row)),
    );
    // Date (epoch ms) is ISO 8601 UTC in CSV, as before
    expect(rows[0]![col('created')]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('GeoPackage: INTEGER with the exact 64-bit value', async () => {
    const { output } = await run('Values', 'big.gpkg', { format: 'gpkg', queryFormat: 'pbf' });
    const db = openDatabase(output);
    try {
      // 64-bit integers as bigints (node:sqlite: setReadBigInts; better-sqlite3: safeIntegers)
      const statement = db.prepare('SELECT big, day, clock, stamp FROM big ORDER BY fid') as ReturnType<
        typeof db.prepare
      > & { setReadBigInts?: (on: boolean) => void; safeIntegers?: (on: boolean) => void };
      statement.setReadBigInts?.(true);
      statement.safeIntegers?.(true);
      const rows = statement.all() as {
        big: bigint | null;
        day: string | null;
        clock: string;
        stamp: string;
      }[];
      expect(rows.map((r) => (r.big === null ? null : r.big.toString()))).toEqual(
        Array.from({ length: COUNT }, (_, row) => at(BIG, row)),
      );
      expect(rows.map((r) => r.day)).toEqual(Array.from({ length: COUNT }, (_, row) => at(DAY, row)));
      expect(rows.map((r) => r.clock)).toEqual(Array.from({ length: COUNT }, (_, row) => at(CLOCK, row)));
      expect(rows.map((r) => r.stamp)).toEqual(Array.from({ length: COUNT }, (_, row) => at(STAMP, row)));
    } finally {
      db.close();
    }
  });

  it('GeoParquet: INT64 with the exact value, the new types as text (read by hyparquet)', async () => {
    const { output } = await run('Values', 'big.parquet', { format: 'parquet', queryFormat: 'pbf' });
    const { rows } = await readParquet(output);
    const text = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v);
    expect(rows.map((r) => (r.big === null || r.big === undefined ? null : String(r.big)))).toEqual(
      Array.from({ length: COUNT }, (_, row) => at(BIG, row)),
    );
    expect(rows.map((r) => text(r.day) ?? null)).toEqual(
      Array.from({ length: COUNT }, (_, row) => at(DAY, row)),
    );
    expect(rows.map((r) => text(r.stamp))).toEqual(Array.from({ length: COUNT }, (_, row) => at(STAMP, row)));
  });

  it('Shapefile: the exact digits in the DBF (N 20: GDAL reads such a width as Real)', async () => {
    const { output } = await run('Values', 'big.shp', { format: 'shapefile', queryFormat: 'json' });
    const dbf = (await readFile(output.replace(/\.shp$/, '.dbf'))).toString('latin1');
    for (const digits of BIG.filter((v): v is string => v !== null && v.length > 15)) {
      const cells = dbf.match(new RegExp(`(?<![-\\d])${digits}`, 'g'))?.length ?? 0;
      expect(cells, digits).toBe(
        Array.from({ length: COUNT }, (_, row) => at(BIG, row)).filter((v) => v === digits).length,
      );
    }
    for (const text of [...CLOCK, ...STAMP]) expect(dbf).toContain(text);
  });

  for (const [format, file] of [['flatgeobuf', 'big.fgb']] as const) {
    it.runIf(hasGdal || onCi)(`${format}: the exact 64-bit digits as GDAL reads them`, async () => {
      const { output } = await run('Values', file, { format, queryFormat: 'json' });
      const { features } = await ogrFeatures(output, 'big');
      expect(features).toHaveLength(COUNT);
      // by OBJECTID (dense from 1): FlatGeobuf's spatial index orders the features its own way
      for (const f of features) {
        const row = (f.properties.OBJECTID as number) - 1;
        expect(integerText(f.line, 'big')).toBe(at(BIG, row));
        expect(f.properties.clock).toBe(at(CLOCK, row));
        expect(f.properties.stamp).toBe(at(STAMP, row));
      }
    });
  }

  describe('PostGIS', async () => {
    const runs = await postgisTestsRun();
    let pg: TestDatabase;
    beforeAll(async () => {
      if (runs) pg = await createTestDatabase();
    });
    afterAll(async () => {
      await pg?.drop();
    });
    it.runIf(runs)('bigint exact; date, time and timestamptz from the new types', async () => {
      await run('Values', 'unused', {
        output: pg.url('public.vals'),
        format: 'postgis',
        queryFormat: 'json',
        postgis: { mode: 'create' },
      });
      const rows = await pg.query<{ big: string | null; day: string | null; clock: string; stamp: string }>(
        `SELECT big::text AS big, to_char(day, 'YYYY-MM-DD') AS day, clock::text AS clock,
                to_char(stamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS stamp
           FROM public.vals ORDER BY "OBJECTID"`,
      );
      expect(rows.map((r) => r.big)).toEqual(Array.from({ length: COUNT }, (_, row) => at(BIG, row)));
      expect(rows.map((r) => r.day)).toEqual(Array.from({ length: COUNT }, (_, row) => at(DAY, row)));
      expect(rows.map((r) => r.clock)).toEqual(
        Array.from({ length: COUNT }, (_, row) => (row % 2 === 0 ? '13:45:00' : '00:00:01.5')),
      );
      expect(rows.map((r) => r.stamp)).toEqual(
        Array.from({ length: COUNT }, (_, row) => new Date(at(STAMP, row)!).toISOString().slice(0, -1)),
      );
    });
  });
});

describe('--dates and the layer time zone', () => {
  it('GeoJSON: epoch by default, ISO 8601 with --dates iso (UTC: Z), the same instants', async () => {
    const epoch = await run('Values', 'dates-epoch.geojsonl', {});
    const iso = await run('Values', 'dates-iso.geojsonl', { dates: 'iso' });
    const read = async (p: string) =>
      (await readFile(p, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { properties: Record<string, unknown> }).properties);
    const a = await read(epoch.output);
    const b = await read(iso.output);
    expect(b).toHaveLength(COUNT);
    b.forEach((p, i) => {
      expect(p.created).toBe(new Date(a[i]!.created as number).toISOString());
      expect(p.day).toBe(a[i]!.day); // DateOnly is never converted
    });
  });

  it('a Pacific layer: ISO text in its wall time with the offset of the day (DST), same instant', async () => {
    const epoch = await run('Pacific', 'pacific-epoch.geojsonl', {});
    const iso = await run('Pacific', 'pacific-iso.geojsonl', { dates: 'iso' });
    const csv = await run('Pacific', 'pacific.csv', { format: 'csv' });
    const instants = (await readFile(epoch.output, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { properties: { created: number } }).properties.created);
    const texts = (await readFile(iso.output, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { properties: { created: string } }).properties.created);
    const [header, ...rows] = parseCsv(await readFile(csv.output, 'utf8'));
    const csvTexts = rows.map((r) => r[header!.indexOf('created')]);
    const offsets = new Set<string>();
    texts.forEach((t, i) => {
      expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-0[78]:00$/);
      expect(Date.parse(t)).toBe(instants[i]);
      offsets.add(t.slice(-6));
      expect(csvTexts[i]).toBe(t);
    });
    expect([...offsets].sort()).toEqual(['-07:00', '-08:00']);
  });

  it('respectsDaylightSaving false: the standard offset all year; unknown zone: no offset', () => {
    const summer = Date.UTC(2024, 6, 1, 12, 0, 0);
    const winter = Date.UTC(2024, 0, 15, 12, 0, 0);
    const dst = isoDateFormatter(
      layerTimeReference({
        dateFieldsTimeReference: { timeZone: 'Pacific Standard Time', respectsDaylightSaving: true },
      }),
    );
    const standard = isoDateFormatter(
      layerTimeReference({
        dateFieldsTimeReference: { timeZone: 'Pacific Standard Time', respectsDaylightSaving: false },
      }),
    );
    expect(dst(summer)).toBe('2024-07-01T05:00:00.000-07:00');
    expect(dst(winter)).toBe('2024-01-15T04:00:00.000-08:00');
    expect(standard(summer)).toBe('2024-07-01T04:00:00.000-08:00');
    // the southern hemisphere: daylight saving in January
    const sydney = isoDateFormatter(
      layerTimeReference({
        dateFieldsTimeReference: { timeZoneIANA: 'Australia/Sydney', respectsDaylightSaving: false },
      }),
    );
    expect(sydney(winter)).toBe('2024-01-15T22:00:00.000+10:00');
    const unknown = isoDateFormatter(layerTimeReference({ datesInUnknownTimezone: true }));
    expect(unknown(summer)).toBe('2024-07-01T12:00:00.000');
    const utc = isoDateFormatter(layerTimeReference({ dateFieldsTimeReference: { timeZone: 'UTC' } }));
    expect(utc(summer)).toBe('2024-07-01T12:00:00.000Z');
    const warnings: string[] = [];
    const odd = layerTimeReference({ dateFieldsTimeReference: { timeZone: 'Mars Standard Time' } }, (m) =>
      warnings.push(m),
    );
    expect(odd).toEqual({ kind: 'utc' });
    expect(warnings[0]).toMatch(/Mars Standard Time/);
  });

  it('--dates with another format than GeoJSON is USAGE', async () => {
    await expect(run('Values', 'x.csv', { format: 'csv', dates: 'iso' })).rejects.toMatchObject({
      code: 'USAGE',
    });
  });
});

describe('--aliases', () => {
  it('CSV headers are the field aliases (a field without one keeps its name)', async () => {
    const { output } = await run('Values', 'aliases.csv', { format: 'csv', aliases: true });
    const [header] = parseCsv(await readFile(output, 'utf8'));
    expect(header).toEqual([
      'OBJECTID',
      'Full name',
      'category',
      'Value (USD)',
      'created',
      'note',
      'Big number',
      'day',
      'clock',
      'stamp',
      // the emulator's layers track edits by default (editFieldsInfo): no aliases, their names
      'CreationDate',
      'Creator',
      'EditDate',
      'Editor',
      'geometry',
    ]);
    await expect(run('Values', 'aliases.geojsonl', { aliases: true })).rejects.toMatchObject({
      code: 'USAGE',
    });
  });
});
