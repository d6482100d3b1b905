/**
 * Shapefile (.shp, .shp.zip) and FlatGeobuf exported from the emulator, read back by GDAL and by
 * each format's own reader (`shapefile`, `flatgeobuf`), and compared with the source: count,
 * field names and types, every geometry (Z included), every value.
 */
import { readFile } from 'node:fs/promises';
import { geojson as fgb } from 'flatgeobuf';
import * as shapefile from 'shapefile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import { type Rig, rig } from '../extract/helpers.js';
import { LAYERS, sourceProperties, writeLayers } from './layers.js';
import { canonical, gdalFeatures, gdalInfo, type ReadFeature, signedArea, tempDir } from './read-back.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let emu: EmulatorHandle;
let r: Rig;

beforeAll(async () => {
  tmp = await tempDir();
  const specs = await writeLayers(tmp.path);
  // pages of 2 features: every output is written in several pages
  emu = await startEmulator({ layers: specs.map((s) => ({ ...s, maxRecordCount: 2 })) });
  r = rig(emu, { auth: false });
});

afterAll(async () => {
  await r?.close();
  await emu?.stop();
  await tmp?.cleanup();
});

/** The names each format gives the source properties. */
const SHP_NAMES: Record<string, string> = {
  OBJECTID: 'OBJECTID',
  name: 'name',
  count: 'count',
  ratio: 'ratio',
  a_very_long_field_name: 'a_very_lon',
  a_very_long_field_other: 'a_very_l_1',
};
const SHP_TYPES = {
  OBJECTID: 'Integer64',
  name: 'String',
  count: 'Integer64',
  ratio: 'Real',
  a_very_lon: 'String',
  a_very_l_1: 'String',
};
const FGB_TYPES = {
  OBJECTID: 'Integer',
  name: 'String',
  count: 'Integer',
  ratio: 'Real',
  a_very_long_field_name: 'String',
  a_very_long_field_other: 'String',
};

const CASES = [
  { format: 'shapefile', ext: 'shp' },
  { format: 'shapefile', ext: 'shp.zip' },
  { format: 'flatgeobuf', ext: 'fgb' },
] as const;

const GDAL_GEOMETRY: Record<string, Record<string, string>> = {
  shapefile: {
    points: 'Point',
    pointz: '3D Point',
    multipoints: 'Multi Point',
    lines: 'Line String',
    linez: '3D Line String',
    polygons: 'Polygon',
  },
  flatgeobuf: {
    points: 'Point',
    pointz: '3D Point',
    multipoints: 'Multi Point',
    lines: 'Multi Line String',
    linez: '3D Multi Line String',
    polygons: 'Multi Polygon',
  },
};

/** Compares features read back (any order) with the source layer. */
function expectSource(
  service: string,
  read: readonly ReadFeature[],
  names: Record<string, string>,
  z = true,
  without: readonly number[] = [],
): void {
  const geometries = LAYERS[service]!;
  const properties = sourceProperties(service);
  expect(read).toHaveLength(geometries.length - without.length);
  const byOid = new Map(read.map((f) => [Number(f.properties[names.OBJECTID!]), f]));
  geometries.forEach((geometry, i) => {
    if (without.includes(i + 1)) return;
    const f = byOid.get(i + 1);
    expect(f, `OBJECTID ${i + 1}`).toBeDefined();
    const want = z ? geometry : geometry && strip(geometry);
    expect(canonical(f!.geometry), `geometry of ${service} ${i + 1}`).toEqual(canonical(want));
    const expected: Record<string, unknown> = { [names.OBJECTID!]: i + 1 };
    for (const [key, value] of Object.entries(properties[i]!)) expected[names[key]!] = value;
    const got = Object.fromEntries(Object.keys(expected).map((k) => [k, f!.properties[k] ?? null]));
    expect(got, `properties of ${service} ${i + 1}`).toEqual(expected);
  });
}

function strip(g: { type: string; coordinates: unknown }): { type: string; coordinates: unknown } {
  const drop = (c: unknown): unknown =>
    Array.isArray(c) && typeof c[0] === 'number' ? c.slice(0, 2) : (c as unknown[]).map(drop);
  return { type: g.type, coordinates: drop(g.coordinates) };
}

describe.each(CASES)('$format (.$ext) read back by GDAL', ({ format, ext }) => {
  it.each(Object.keys(LAYERS))(
    '%s: count, field names and types, every geometry and value',
    async (service) => {
      const output = tmp.file(`${service}-${format}.${ext}`);
      const notices: string[] = [];
      const stats = await exportLayer({
        client: r.client,
        layerUrl: emu.layerUrl(service),
        output,
        format,
        shapefile: { onNotice: (m) => notices.push(m) },
      });
      expect(stats.features).toBe(LAYERS[service]!.length);
      const path = ext === 'shp.zip' ? `/vsizip/${output}` : output;
      const info = await gdalInfo(path);
      expect(info.count).toBe(LAYERS[service]!.length);
      expect(info.geometry).toBe(GDAL_GEOMETRY[format]![service]);
      expect(info.srs).toBe('4326');
      expect(info.fields).toEqual(format === 'shapefile' ? SHP_TYPES : FGB_TYPES);
      const names =
        format === 'shapefile' ? SHP_NAMES : Object.fromEntries(Object.keys(SHP_NAMES).map((k) => [k, k]));
      expectSource(service, await gdalFeatures(path), names);
      if (format === 'shapefile') {
        expect(notices[0]).toContain('a_very_long_field_name → a_very_lon');
        expect(notices[0]).toContain('a_very_long_field_other → a_very_l_1');
      }
    },
  );
});

describe('read back by the formats’ own readers', () => {
  it.each(Object.keys(LAYERS))(
    'shapefile package: %s (outer rings clockwise, holes counter-clockwise)',
    async (service) => {
      const output = tmp.file(`${service}-lib.shp`);
      await exportLayer({ client: r.client, layerUrl: emu.layerUrl(service), output, format: 'shapefile' });
      const base = output.slice(0, -4);
      const collection = await shapefile.read(`${base}.shp`, `${base}.dbf`, { encoding: 'utf-8' });
      // the shapefile package reads x and y only
      expectSource(service, collection.features, SHP_NAMES, false);
      // the sidecar holds the field-name mapping
      const mapping = JSON.parse(await readFile(`${base}.fields.json`, 'utf8')) as {
        field: string;
        name: string;
      }[];
      expect(Object.fromEntries(mapping.map((m) => [m.field, m.name]))).toMatchObject(SHP_NAMES);
      expect(await readFile(`${base}.cpg`, 'utf8')).toBe('UTF-8');
      expect(await readFile(`${base}.prj`, 'utf8')).toMatch(/^GEOGCS\["GCS_WGS_1984"/);
      if (service === 'polygons') {
        // the raw rings, in file order: outer clockwise (negative area), holes counter-clockwise
        const shp = await readFile(`${base}.shp`);
        const first = readRings(shp, 100);
        expect(first.map((ring) => Math.sign(signedArea(ring)))).toEqual([-1, 1]);
      }
    },
  );

  it.each(Object.keys(LAYERS))('flatgeobuf package: %s', async (service) => {
    const output = tmp.file(`${service}-lib.fgb`);
    // the flatgeobuf package cannot read a feature without geometry (GDAL can: see above)
    const nulls = LAYERS[service]!.flatMap((g, i) => (g === null ? [i + 1] : []));
    const where = nulls.map((oid) => `OBJECTID <> ${oid}`).join(' AND ') || '1=1';
    await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl(service),
      output,
      format: 'flatgeobuf',
      where,
    });
    const features: ReadFeature[] = [];
    for await (const f of fgb.deserialize(new Uint8Array(await readFile(output)))) {
      features.push(f as unknown as ReadFeature);
    }
    const names = Object.fromEntries(Object.keys(SHP_NAMES).map((k) => [k, k]));
    expectSource(service, features, names, true, nulls);
  });
});

/** The rings of the polygon record at `offset` of a .shp. */
function readRings(shp: Buffer, offset: number): number[][][] {
  const content = offset + 8;
  const parts = shp.readInt32LE(content + 36);
  const points = shp.readInt32LE(content + 40);
  const starts = Array.from({ length: parts }, (_, i) => shp.readInt32LE(content + 44 + 4 * i));
  const xy = content + 44 + 4 * parts;
  const rings: number[][][] = [];
  for (let p = 0; p < parts; p++) {
    const end = p + 1 < parts ? starts[p + 1]! : points;
    const ring: number[][] = [];
    for (let i = starts[p]!; i < end; i++)
      ring.push([shp.readDoubleLE(xy + 16 * i), shp.readDoubleLE(xy + 16 * i + 8)]);
    rings.push(ring);
  }
  return rings;
}
