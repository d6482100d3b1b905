/**
 * Dates and 64-bit integers through both formats (written directly: the emulator's GeoJSON layers
 * infer no Date or BigInteger field), a generated emulator layer with a Date field end to end,
 * and bad input: mixed geometry, the 2 GB limit, a write error, --resume; nothing half-written
 * is published.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { geojson as fgb } from 'flatgeobuf';
import * as shapefile from 'shapefile';
import { describe, expect, it } from 'vitest';
import type { EsriField } from '../../src/core/protocol.js';
import { startEmulator } from '../../src/emulator/index.js';
import { exportLayer } from '../../src/features/export.js';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import type { CreateWriterOptions } from '../../src/features/writers/types.js';
import { createWriter } from '../../src/features/writers/writer.js';
import { rig } from '../extract/helpers.js';
import { assertBuilt } from '../fleet/helpers.js';
import { gdalFeatures, gdalInfo, tempDirEachTest } from './read-back.js';

const run = promisify(execFile);

const tmp = tempDirEachTest();

const FIELDS: EsriField[] = [
  { name: 'OBJECTID', type: 'esriFieldTypeOID', alias: 'OBJECTID' },
  { name: 'big', type: 'esriFieldTypeBigInteger', alias: 'big' },
  { name: 'when', type: 'esriFieldTypeDate', alias: 'when' },
];
const VALUES: [number | null, number | null][] = [
  [9007199254740991, 1700000000123],
  [-9007199254740991, 0],
  [3000000000, -86399999],
  [null, null],
  [-1, 951782400000], // 2000-02-29
];
const FEATURES: GeoJSONFeature[] = VALUES.map(([big, when], i) => ({
  type: 'Feature',
  id: i + 1,
  geometry: { type: 'Point', coordinates: [i, -i] },
  properties: { OBJECTID: i + 1, big, when },
}));

async function write(options: Partial<CreateWriterOptions> & Pick<CreateWriterOptions, 'format' | 'path'>) {
  const writer = await createWriter({
    schema: { fields: FIELDS, geometryType: 'esriGeometryPoint' },
    ...options,
  });
  await writer.writePage(FEATURES.slice(0, 2));
  await writer.writePage(FEATURES.slice(2));
  await writer.finish();
  return writer;
}

/** GDAL's Date / DateTime text → epoch ms. */
function gdalTime(date: unknown, time?: unknown): number | null {
  if (date === null || date === undefined) return null;
  const d = String(date).replaceAll('/', '-');
  if (time !== undefined) return Date.parse(`${d.slice(0, 10)}T${String(time)}Z`);
  return Date.parse(d.replace(' ', 'T').replace(/\+00$/, 'Z'));
}

describe('dates and 64-bit integers', () => {
  it('Shapefile: DBF dates with the time in <name>_t, 64-bit integers as exact N(20) digits', async () => {
    const path = tmp.file('values.shp');
    await write({ format: 'shapefile', path });
    const info = await gdalInfo(path);
    expect(info.fields).toEqual({ OBJECTID: 'Integer64', big: 'Real', when: 'Date', when_t: 'String' });
    const read = await gdalFeatures(path);
    expect(read.map((f) => gdalTime(f.properties.when, f.properties.when_t ?? undefined))).toEqual(
      VALUES.map(([, when]) => when),
    );
    // GDAL reads N(20) as a double; the shapefile package gives the digits as numbers: exact here
    const lib = await shapefile.read(path, tmp.file('values.dbf'), { encoding: 'utf-8' });
    expect(lib.features.map((f) => f.properties.big)).toEqual(VALUES.map(([big]) => big));
    expect(lib.features.map((f) => f.properties.when_t)).toEqual([
      '22:13:20.123',
      '00:00:00.000',
      '00:00:00.001',
      null,
      '00:00:00.000',
    ]);
    // the digits in the file are exact (no double rounding)
    const dbf = await readFile(tmp.file('values.dbf'), 'latin1');
    expect(dbf).toContain(' 9007199254740991');
    expect(dbf).toContain('-9007199254740991');
  });

  it('Shapefile with dates as text: one ISO 8601 field', async () => {
    const path = tmp.file('text.shp');
    await write({ format: 'shapefile', path, shapefile: { dates: 'text' } });
    expect((await gdalInfo(path)).fields).toEqual({ OBJECTID: 'Integer64', big: 'Real', when: 'String' });
    const read = await gdalFeatures(path);
    expect(read.map((f) => f.properties.when)).toEqual(
      VALUES.map(([, when]) => (when === null ? null : new Date(when).toISOString())),
    );
  });

  it('FlatGeobuf: DateTime and Long columns, read by GDAL and the flatgeobuf package', async () => {
    const path = tmp.file('values.fgb');
    await write({ format: 'flatgeobuf', path });
    expect((await gdalInfo(path)).fields).toEqual({
      OBJECTID: 'Integer',
      big: 'Integer64',
      when: 'DateTime',
    });
    const read = await gdalFeatures(path);
    read.sort((a, b) => Number(a.properties.OBJECTID) - Number(b.properties.OBJECTID));
    expect(read.map((f) => f.properties.big ?? null)).toEqual(VALUES.map(([big]) => big));
    expect(read.map((f) => gdalTime(f.properties.when))).toEqual(VALUES.map(([, when]) => when));
    const lib: Record<string, unknown>[] = [];
    for await (const f of fgb.deserialize(new Uint8Array(await readFile(path)))) {
      lib.push((f as unknown as { properties: Record<string, unknown> }).properties);
    }
    lib.sort((a, b) => Number(a.OBJECTID) - Number(b.OBJECTID));
    expect(lib.map((p) => (p.big === undefined ? null : Number(p.big)))).toEqual(VALUES.map(([big]) => big));
    expect(lib.map((p) => (p.when === undefined ? null : Date.parse(String(p.when))))).toEqual(
      VALUES.map(([, when]) => when),
    );
  });

  it('a generated emulator layer with a Date field, end to end: every date kept', async () => {
    const emu = await startEmulator({
      layers: [
        {
          service: 'gen',
          generate: { count: 40, geometry: 'polygon', seed: 3, nullGeometries: 0.1 },
          maxRecordCount: 15,
        },
      ],
    });
    const r = rig(emu, { auth: false });
    try {
      const reference = tmp.file('gen.geojson');
      await exportLayer({
        client: r.client,
        layerUrl: emu.layerUrl('gen'),
        output: reference,
        format: 'geojson',
      });
      const source = (JSON.parse(await readFile(reference, 'utf8')) as { features: GeoJSONFeature[] })
        .features;
      const created = new Map(source.map((f) => [Number(f.properties.OBJECTID), f.properties.created]));
      for (const [format, name] of [
        ['shapefile', 'gen.shp'],
        ['flatgeobuf', 'gen.fgb'],
      ] as const) {
        await exportLayer({
          client: r.client,
          layerUrl: emu.layerUrl('gen'),
          output: tmp.file(name),
          format,
        });
        const read = await gdalFeatures(tmp.file(name));
        expect(read).toHaveLength(40);
        for (const f of read) {
          const when =
            format === 'shapefile'
              ? gdalTime(f.properties.created, f.properties.created_t ?? undefined)
              : gdalTime(f.properties.created);
          expect(when, `${format} ${f.properties.OBJECTID}`).toBe(
            created.get(Number(f.properties.OBJECTID)) ?? null,
          );
        }
        expect(read.filter((f) => f.geometry === null).length).toBe(
          source.filter((f) => f.geometry === null).length,
        );
      }
    } finally {
      await r.close();
      await emu.stop();
    }
  });
});

const polygon: GeoJSONFeature = {
  type: 'Feature',
  id: 9,
  geometry: {
    type: 'Polygon',
    coordinates: [
      [
        [0, 0],
        [1, 0],
        [1, 1],
        [0, 0],
      ],
    ],
  },
  properties: { OBJECTID: 9, big: 1, when: null },
};

describe('bad input: one clear error, nothing half-written published', () => {
  it('a polygon in a point Shapefile is refused, naming the option that splits', async () => {
    const writer = await createWriter({
      format: 'shapefile',
      path: tmp.file('mixed.shp'),
      schema: { fields: FIELDS, geometryType: 'esriGeometryPoint' },
    });
    await writer.writePage(FEATURES.slice(0, 2));
    await expect(writer.writePage([polygon])).rejects.toMatchObject({
      code: 'UNSUPPORTED_GEOMETRY',
      message: expect.stringMatching(/polygon geometry in a point Shapefile.*--shp-split-geometry/),
    });
    await writer.abort();
    expect(await readdir(tmp.path)).toEqual([]);
  });

  it('with mixedGeometry: split, one file set per type, each read by GDAL', async () => {
    const writer = await createWriter({
      format: 'shapefile',
      path: tmp.file('mixed.shp'),
      schema: { fields: FIELDS, geometryType: 'esriGeometryPoint' },
      shapefile: { mixedGeometry: 'split' },
    });
    await writer.writePage([...FEATURES.slice(0, 2), polygon, FEATURES[2]!]);
    await writer.finish();
    expect((await gdalInfo(tmp.file('mixed.shp'))).count).toBe(3);
    const polygons = await gdalFeatures(tmp.file('mixed_polygon.shp'));
    expect(polygons.map((f) => f.properties.OBJECTID)).toEqual([9]);
    expect((await gdalInfo(tmp.file('mixed_polygon.shp'))).geometry).toBe('Polygon');
    expect((await readdir(tmp.path)).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it('a .shp or .dbf past the size limit: a clear error, or parts with overflow: split', async () => {
    // the .dbf is the larger here: a 161-byte header, 52 bytes a record, and an end byte
    const dbfBytes = (n: number) => 161 + 52 * n + 1;
    const limit = dbfBytes(3);
    const refused = await createWriter({
      format: 'shapefile',
      path: tmp.file('big.shp'),
      schema: { fields: FIELDS, geometryType: 'esriGeometryPoint' },
      shapefile: { maxFileBytes: limit },
    });
    await expect(refused.writePage(FEATURES)).rejects.toMatchObject({
      code: 'OUTPUT_ERROR',
      message: expect.stringMatching(/would pass .* at feature 4.*--shp-split-parts/),
    });
    await refused.abort();
    expect(await readdir(tmp.path)).toEqual([]);

    const split = await createWriter({
      format: 'shapefile',
      path: tmp.file('big.shp'),
      schema: { fields: FIELDS, geometryType: 'esriGeometryPoint' },
      shapefile: { maxFileBytes: dbfBytes(2), overflow: 'split' },
    });
    await split.writePage(FEATURES);
    await split.finish();
    const parts = await Promise.all(
      ['big.shp', 'big_2.shp', 'big_3.shp'].map((n) => gdalFeatures(tmp.file(n))),
    );
    expect(parts.map((p) => p.map((f) => f.properties.OBJECTID))).toEqual([[1, 2], [3, 4], [5]]);
  });

  it.each([
    ['shapefile', 'x.shp'],
    ['flatgeobuf', 'x.fgb'],
  ] as const)('%s refuses --resume and standard output', async (format, name) => {
    await expect(
      exportLayer({
        client: {} as never,
        layerUrl: 'http://127.0.0.1:1/arcgis/rest/services/x/FeatureServer/0',
        output: tmp.file(name),
        format,
        resume: true,
      }),
    ).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/cannot be resumed/) });
    await expect(createWriter({ format, path: '-', schema: { fields: FIELDS } })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/not to standard output/),
    });
  });

  it.each([
    ['shapefile', 'full.shp'],
    ['shapefile', 'full.shp.zip'],
    ['flatgeobuf', 'full.fgb'],
  ])(
    '%s (%s): a write error (file size limit, as a full disk) is one clear line, nothing published',
    async (format, name) => {
      assertBuilt();
      const dir = tmp.path;
      // a child whose files may not pass 64 KiB: its writes fail with EFBIG (SIGXFSZ ignored)
      const script = `
      import { createWriter } from ${JSON.stringify(join(process.cwd(), 'dist/features/writers/writer.js'))};
      const fields = [{ name: 'OBJECTID', type: 'esriFieldTypeOID' }, { name: 'text', type: 'esriFieldTypeString', length: 200 }];
      // text that does not deflate: a .shp.zip deflates as it writes
      const noise = (n) => Array.from({ length: n }, () => Math.random().toString(36).slice(2, 3)).join('');
      try {
        const w = await createWriter({ format: ${JSON.stringify(format)}, path: ${JSON.stringify(join(dir, name))}, schema: { fields, geometryType: 'esriGeometryPoint' } });
        for (let p = 0; p < 20; p++) {
          const page = Array.from({ length: 100 }, (_, i) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [i, p] }, properties: { OBJECTID: p * 100 + i, text: noise(200) } }));
          try { await w.writePage(page); } catch (e) { await w.abort(); throw e; }
        }
        try { await w.finish(); } catch (e) { await w.abort(); throw e; }
        console.log('finished');
      } catch (e) { console.log(e.code + ': ' + e.message); }
    `;
      const { stdout } = await run('bash', [
        '-c',
        `trap '' XFSZ; ulimit -f 64; exec node --input-type=module -e "$0"`,
        script,
      ]);
      expect(stdout.trim().split('\n')).toHaveLength(1);
      expect(stdout).toMatch(/^OUTPUT_ERROR: Cannot write .*(EFBIG|too large)/);
      expect(await readdir(dir)).toEqual([]);
    },
  );
});

describe('FlatGeobuf spatial index', () => {
  it('GDAL filtering 5,000 points (3 index levels) through the packed Hilbert R-tree finds exactly the points in the box', async () => {
    const points: GeoJSONFeature[] = Array.from({ length: 5000 }, (_, i) => ({
      type: 'Feature',
      geometry:
        i % 97 === 0 ? null : { type: 'Point', coordinates: [(i * 7919) % 1000, (i * 104729) % 1000] },
      properties: { OBJECTID: i + 1, big: null, when: null },
    }));
    const path = tmp.file('index.fgb');
    const writer = await createWriter({
      format: 'flatgeobuf',
      path,
      schema: { fields: FIELDS, geometryType: 'esriGeometryPoint' },
    });
    for (let i = 0; i < points.length; i += 700) await writer.writePage(points.slice(i, i + 700));
    await writer.finish();
    for (const [x0, y0, x1, y1] of [
      [100, 100, 200, 300],
      [0, 0, 1000, 1000],
      [990, 0, 1000, 10],
    ] as const) {
      const want = points
        .filter((f) => {
          const c = (f.geometry as { coordinates: number[] } | null)?.coordinates;
          return c !== undefined && c[0]! >= x0 && c[0]! <= x1 && c[1]! >= y0 && c[1]! <= y1;
        })
        .map((f) => f.properties.OBJECTID)
        .sort((a, b) => Number(a) - Number(b));
      const { stdout } = await run('ogr2ogr', [
        '-f',
        'GeoJSON',
        '/vsistdout/',
        path,
        '-spat',
        String(x0),
        String(y0),
        String(x1),
        String(y1),
      ]);
      const got = (JSON.parse(stdout) as { features: { properties: { OBJECTID: number } }[] }).features
        .map((f) => f.properties.OBJECTID)
        .sort((a, b) => a - b);
      expect(got).toEqual(want);
    }
    // every feature, nulls included, in a full read
    expect((await gdalInfo(path)).count).toBe(5000);
    expect(await gdalFeatures(path)).toHaveLength(5000);
  });
});

describe('temp folders of killed runs', () => {
  it('the next export to the same output removes them', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const emu = await startEmulator({
      layers: [{ service: 'few', generate: { count: 5, geometry: 'point', seed: 1 } }],
    });
    const r = rig(emu, { auth: false });
    try {
      for (const name of ['left.shp', 'left.fgb']) {
        const orphan = tmp.file(`${name}.0123456789ab.partial`);
        await mkdir(orphan);
        await writeFile(join(orphan, 'features'), 'x');
        await exportLayer({
          client: r.client,
          layerUrl: emu.layerUrl('few'),
          output: tmp.file(name),
          format: name.endsWith('.shp') ? 'shapefile' : 'flatgeobuf',
        });
        expect((await readdir(tmp.path)).filter((n) => n.includes('partial'))).toEqual([]);
      }
    } finally {
      await r.close();
      await emu.stop();
    }
  });
});

describe('.prj and CRS of the output SR', () => {
  it('3857 and a UTM zone are built in; an unknown wkid needs the .prj text', async () => {
    for (const [wkid, epsg] of [
      [102100, '3857'],
      [32632, '32632'],
    ] as const) {
      const path = tmp.file(`sr-${wkid}.shp`);
      await write({ format: 'shapefile', path, outSR: wkid });
      expect((await gdalInfo(path)).srs).toBe(epsg);
      const fgbPath = tmp.file(`sr-${wkid}.fgb`);
      await write({ format: 'flatgeobuf', path: fgbPath, outSR: wkid });
      expect((await gdalInfo(fgbPath)).srs).toBe(epsg);
    }
    await expect(
      write({ format: 'shapefile', path: tmp.file('swiss.shp'), outSR: 2056 }),
    ).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/No \.prj is known for wkid 2056/),
    });
    const prj =
      'PROJCS["CH1903+_LV95",GEOGCS["GCS_CH1903+",DATUM["D_CH1903+",SPHEROID["Bessel_1841",6377397.155,299.1528128]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Hotine_Oblique_Mercator_Azimuth_Center"],PARAMETER["False_Easting",2600000.0],PARAMETER["False_Northing",1200000.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Azimuth",90.0],PARAMETER["Longitude_Of_Center",7.439583333333333],PARAMETER["Latitude_Of_Center",46.95240555555556],UNIT["Meter",1.0]]';
    await write({ format: 'shapefile', path: tmp.file('swiss.shp'), outSR: 2056, shapefile: { prj } });
    expect(await readFile(tmp.file('swiss.prj'), 'utf8')).toBe(prj);
  });
});
