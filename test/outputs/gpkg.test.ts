/**
 * GeoPackage writer: every geometry kind (with Z, null geometries, holes, multipart), unicode,
 * dates, nulls and 64-bit integers, read back by GDAL (ogrinfo, ogr2ogr); the core tables, the SR,
 * the R-tree index; --append-layer; resume by committed rows.
 */
import { readdir, readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import type { WriterCheckpoint } from '../../src/features/writers/types.js';
import { createWriter } from '../../src/features/writers/writer.js';
import { openDatabase } from '../../src/outputs/gpkg/sqlite.js';
import { tempDir } from '../writers/fixtures.js';
import { features, type Kind, layerSchema, promotedGeometry } from './fixtures.js';
import { hasGdal, integerText, ogrFeatures, ogrinfo, onCi } from './gdal.js';

/** Rows of a query (SQLite as the writer uses it: node:sqlite or better-sqlite3). */
function query(path: string, sql: string): Record<string, unknown>[] {
  const db = openDatabase(path);
  try {
    // 64-bit integers as bigints (node:sqlite: setReadBigInts; better-sqlite3: safeIntegers)
    const statement = db.prepare(sql) as ReturnType<typeof db.prepare> & {
      setReadBigInts?: (on: boolean) => void;
      safeIntegers?: (on: boolean) => void;
    };
    statement.setReadBigInts?.(true);
    statement.safeIntegers?.(true);
    return statement.all().map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

function rounded(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
    typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v,
  );
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await tmp.cleanup();
});

const KINDS: Kind[] = ['point', 'multipoint', 'polyline', 'polygon'];
const GDAL_TYPES: Record<Kind, string> = {
  point: 'Point',
  multipoint: 'Multi Point',
  polyline: 'Multi Line String',
  polygon: 'Multi Polygon',
};

async function writeLayer(path: string, kind: Kind, hasZ: boolean, count: number, extra = {}) {
  const source = features(kind, hasZ, count);
  const writer = await createWriter({ format: 'gpkg', path, schema: layerSchema(kind, hasZ), ...extra });
  for (let at = 0; at < count; at += 20) await writer.writePage(source.slice(at, at + 20));
  await writer.finish();
  return source;
}

describe('GDAL is available on CI', () => {
  it.runIf(onCi)('finds ogr2ogr', () => expect(hasGdal).toBe(true));
});

describe.skipIf(!hasGdal)('GeoPackage writer, read back by GDAL', () => {
  for (const kind of KINDS) {
    for (const hasZ of [false, true]) {
      it(`${kind}${hasZ ? ' Z' : ''}: every feature, field type, value and geometry`, async () => {
        const path = tmp.file(`${kind}.gpkg`);
        const source = await writeLayer(path, kind, hasZ, 45);
        expect(await readdir(tmp.dir)).toEqual([`${kind}.gpkg`]);

        const info = await ogrinfo(['-ro', '-so', '-al', path]);
        expect(info.stderr).toBe('');
        expect(info.stdout).toContain(`Layer name: ${kind}`);
        expect(info.stdout).toContain(`Geometry: ${hasZ ? '3D ' : ''}${GDAL_TYPES[kind]}`);
        expect(info.stdout).toContain('Feature Count: 45');
        expect(info.stdout).toContain('FID Column = fid');
        expect(info.stdout).toContain('Geometry Column = geom');
        expect(info.stdout).toMatch(/ID\["EPSG",4326\]\]/);
        for (const line of [
          'OBJECTID: Integer64 (0.0)',
          'name: String (64.0)',
          'small: Integer(Int16) (0.0)',
          'count: Integer (0.0)',
          'big: Integer64 (0.0)',
          'value: Real (0.0)',
          'created: DateTime (0.0)',
          'guid: String (38.0)',
        ]) {
          expect(info.stdout).toContain(line);
        }

        const { features: read, stderr } = await ogrFeatures(path, kind);
        expect(stderr).toBe('');
        expect(read).toHaveLength(source.length);
        for (const [i, f] of read.entries()) {
          const p = source[i]!.properties;
          expect(f.properties.OBJECTID).toBe(p.OBJECTID);
          expect(f.properties.name).toBe(p.name);
          expect(f.properties.small).toBe(p.small);
          expect(f.properties.count).toBe(p.count);
          expect(integerText(f.line, 'big')).toBe(p.big === null ? null : String(p.big));
          expect(f.properties.value).toBe(p.value);
          const created = f.properties.created;
          expect(created === null ? null : Date.parse(String(created).replace(/\//g, '-'))).toBe(p.created);
          expect(f.properties.guid).toBe(p.guid);
          // GDAL's GeoJSON text has 15 significant digits
          expect(rounded(f.geometry)).toEqual(rounded(promotedGeometry(source[i]!.geometry)));
        }

        // the R-tree index: GDAL sees it, and it holds every non-null geometry
        const rtree = await ogrinfo(['-ro', '-q', path, '-sql', `SELECT HasSpatialIndex('${kind}', 'geom')`]);
        expect(rtree.stdout).toMatch(/HasSpatialIndex \(Integer\) = 1/);
        const indexed = query(path, `SELECT count(*) AS n FROM rtree_${kind}_geom`)[0]!.n;
        expect(Number(indexed)).toBe(source.filter((f) => f.geometry !== null).length);
        const contents = query(path, 'SELECT * FROM gpkg_contents')[0]!;
        expect(contents).toMatchObject({ table_name: kind, data_type: 'features', srs_id: 4326n });
        expect(contents.min_x).toBeLessThan(contents.max_x as number);
        const triggers = query(path, "SELECT name FROM sqlite_master WHERE type = 'trigger'").map(
          (r) => r.name,
        );
        expect(triggers).toHaveLength(6);
        expect(query(path, 'PRAGMA application_id')[0]!.application_id).toBe(0x47504b47n);
      });
    }
  }

  it('EPSG:3857 is registered with its WKT; an unknown wkid gets an entry that says so', async () => {
    const mercator = tmp.file('m.gpkg');
    await writeLayer(mercator, 'point', false, 5, { gpkg: { wkid: 102100 } });
    expect((await ogrinfo(['-ro', '-so', '-al', mercator])).stdout).toMatch(/ID\["EPSG",3857\]\]/);
    const other = tmp.file('o.gpkg');
    await writeLayer(other, 'point', false, 5, { gpkg: { wkid: 2230 } });
    const row = query(other, 'SELECT * FROM gpkg_spatial_ref_sys WHERE srs_id = 2230')[0]!;
    expect(row).toMatchObject({
      organization: 'EPSG',
      organization_coordsys_id: 2230n,
      definition: 'undefined',
    });
    expect(row.description).toMatch(/no definition of it/);
    const info = await ogrinfo(['-ro', '-so', '-al', other]);
    expect(info.stdout).toContain('Feature Count: 5');
  });

  it('--append-layer adds a table to an existing GeoPackage; a table that exists is refused, the file untouched', async () => {
    const path = tmp.file('both.gpkg');
    await writeLayer(path, 'point', false, 10, { gpkg: { layerName: 'points' } });
    await writeLayer(path, 'polygon', true, 7, { gpkg: { layerName: 'parcels', appendLayer: true } });
    const info = await ogrinfo(['-ro', '-so', '-al', path]);
    expect(info.stdout).toContain('Layer name: points');
    expect(info.stdout).toContain('Layer name: parcels');
    expect((await ogrFeatures(path, 'points')).features).toHaveLength(10);
    expect((await ogrFeatures(path, 'parcels')).features).toHaveLength(7);

    const before = await readFile(path);
    const error = await createWriter({
      format: 'gpkg',
      path,
      schema: layerSchema('point', false),
      gpkg: { layerName: 'PARCELS', appendLayer: true },
    }).catch((e: unknown) => e);
    expect(isEtlError(error) && error.code).toBe('USAGE');
    expect((error as Error).message).toMatch(/already has a table named PARCELS/);
    expect(Buffer.compare(await readFile(path), before)).toBe(0);
    expect(await readdir(tmp.dir)).toEqual(['both.gpkg']);
  });

  it('resume: rows committed after the checkpoint are dropped, and the layer equals an uninterrupted one row for row', async () => {
    const schema = layerSchema('polygon', true);
    const source = features('polygon', true, 60);
    const pages = [source.slice(0, 20), source.slice(20, 40), source.slice(40)];
    const reference = tmp.file('reference.gpkg');
    const ref = await createWriter({ format: 'gpkg', path: reference, schema, gpkg: { layerName: 'l' } });
    for (const page of pages) await ref.writePage(page);
    await ref.finish();

    const path = tmp.file('resumed.gpkg');
    const first = await createWriter({ format: 'gpkg', path, schema, gpkg: { layerName: 'l' } });
    await first.writePage(pages[0]!);
    const checkpoint: WriterCheckpoint = { bytes: first.bytesWritten, features: first.featuresWritten };
    await first.writePage(pages[1]!); // committed, but the run died before its checkpoint
    await first.abort({ keep: true });

    const second = await createWriter({
      format: 'gpkg',
      path,
      schema,
      resume: checkpoint,
      tempPath: first.tempPath,
      gpkg: { layerName: 'l' },
    });
    expect(second.featuresWritten).toBe(20);
    await second.writePage(pages[1]!);
    await second.writePage(pages[2]!);
    await second.finish();
    const rows = (p: string) => query(p, 'SELECT * FROM l ORDER BY fid');
    expect(rows(path)).toEqual(rows(reference));
    const index = (p: string) => query(p, 'SELECT * FROM rtree_l_geom ORDER BY id');
    expect(index(path)).toEqual(index(reference));
    expect((await ogrFeatures(path, 'l')).features).toEqual((await ogrFeatures(reference, 'l')).features);

    // a checkpoint that claims more rows than the partial file holds is refused
    const third = await createWriter({
      format: 'gpkg',
      path: tmp.file('x.gpkg'),
      schema,
      gpkg: { layerName: 'l' },
    });
    await third.writePage(pages[0]!);
    await third.abort({ keep: true });
    const error = await createWriter({
      format: 'gpkg',
      path: tmp.file('x.gpkg'),
      schema,
      resume: { bytes: 1, features: 21 },
      tempPath: third.tempPath,
      gpkg: { layerName: 'l' },
    }).catch((e: unknown) => e);
    expect(isEtlError(error) && error.code).toBe('CHECKPOINT_INVALID');
  });
});
