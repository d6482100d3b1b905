/**
 * The GeoPackage R-tree built in bulk at the end (packed nodes written into the rtree module's
 * shadow tables): SQLite's own rtreecheck() finds it sound, a window query through it finds exactly
 * the features a scan finds (also through GDAL's spatial filter), later edits keep it right (the
 * triggers), and the fallback through the virtual table builds the same index.
 */
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GeoJSONFeature } from '../../src/features/geometry/types.js';
import type { WriterSchema } from '../../src/features/writers/types.js';
import { createWriter } from '../../src/features/writers/writer.js';
import { GpkgGeometryEncoder } from '../../src/outputs/gpkg/binary.js';
import { BoxList, blobBox, floatDown, floatUp, loadRtree } from '../../src/outputs/gpkg/rtree-bulk.js';
import { openDatabase, type SqlDatabase } from '../../src/outputs/gpkg/sqlite.js';
import { tempDir } from '../writers/fixtures.js';
import { hasGdal, ogrinfo } from './gdal.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await tmp.cleanup();
});

const schema: WriterSchema = {
  oidField: 'OBJECTID',
  fields: [{ name: 'OBJECTID', type: 'esriFieldTypeOID' }],
  geometryType: 'esriGeometryPolygon',
};

/** Squares on a grid, every 7th without geometry (so ids and rows differ), 3 levels of nodes. */
function squares(count: number): GeoJSONFeature[] {
  return Array.from({ length: count }, (_, i) => {
    const x = (i % 97) * 1.1 - 50.123456789;
    const y = Math.floor(i / 97) * 0.7 - 40.987654321;
    const r = 0.05 + (i % 5) * 0.1;
    return {
      type: 'Feature',
      id: i + 1,
      properties: { OBJECTID: i + 1 },
      geometry:
        i % 7 === 6
          ? null
          : {
              type: 'Polygon',
              coordinates: [
                [
                  [x - r, y - r],
                  [x - r, y + r],
                  [x + r, y + r],
                  [x + r, y - r],
                  [x - r, y - r],
                ],
              ],
            },
    };
  });
}

function one(db: SqlDatabase, sql: string): unknown {
  const row = db.prepare(sql).get();
  return row === undefined ? undefined : Object.values(row)[0];
}

/** Ids of the features whose box meets the window, by the index and by a scan of the boxes. */
function windowIds(db: SqlDatabase, table: string, w: [number, number, number, number]) {
  const [minX, minY, maxX, maxY] = w;
  const byIndex = db
    .prepare(`SELECT id FROM rtree_${table}_geom WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?`)
    .all(minX, maxX, minY, maxY)
    .map((r) => Number(r.id))
    .sort((a, b) => a - b);
  return byIndex;
}

function expectedIds(features: GeoJSONFeature[], w: [number, number, number, number]): number[] {
  const ids: number[] = [];
  for (const [i, f] of features.entries()) {
    if (f.geometry === null || f.geometry.type !== 'Polygon') continue;
    const ring = f.geometry.coordinates[0]!;
    const xs = ring.map((p) => p[0]!);
    const ys = ring.map((p) => p[1]!);
    if (
      Math.max(...xs) >= w[0] &&
      Math.min(...xs) <= w[2] &&
      Math.max(...ys) >= w[1] &&
      Math.min(...ys) <= w[3]
    ) {
      ids.push(i + 1);
    }
  }
  return ids;
}

async function write(path: string, source: GeoJSONFeature[]): Promise<void> {
  const writer = await createWriter({ format: 'gpkg', path, schema, gpkg: { layerName: 'sq' } });
  for (let at = 0; at < source.length; at += 1000) await writer.writePage(source.slice(at, at + 1000));
  await writer.finish();
}

describe('GeoPackage R-tree built in bulk', () => {
  it('blobs: an envelope for all but points, none (and the empty flag) for an empty geometry; boxes read back', () => {
    const encoder = new GpkgGeometryEncoder(4326, false);
    const point = encoder.encode({ type: 'Point', coordinates: [1.5, -2.5] });
    expect(point.blob.length).toBe(8 + 21);
    expect(point.blob[3]).toBe(0x01);
    expect(blobBox(point.blob)).toEqual([1.5, -2.5, 1.5, -2.5]);
    const line = encoder.encode({
      type: 'LineString',
      coordinates: [
        [0, 1],
        [2, 3],
      ],
    });
    expect(line.blob[3]).toBe(0x03);
    expect(line.blob.length).toBe(8 + 32 + 9 + 9 + 32);
    expect(blobBox(line.blob)).toEqual([0, 1, 2, 3]);
    const empty = encoder.encode({ type: 'Polygon', coordinates: [] });
    expect(empty.envelope).toBeUndefined();
    expect(empty.blob[3]).toBe(0x11);
    expect([...empty.blob.subarray(8, 9)]).toEqual([1]); // the WKB right after the header
    expect(blobBox(empty.blob)).toBeUndefined();
  });

  it('float32 rounding goes outward', () => {
    for (const d of [0.1, -0.1, 1e-50, -1e-50, 123456.789, -123456.789, 0, 3]) {
      expect(floatDown(d)).toBeLessThanOrEqual(d);
      expect(floatUp(d)).toBeGreaterThanOrEqual(d);
      expect(Math.fround(floatDown(d))).toBe(floatDown(d));
      expect(Math.fround(floatUp(d))).toBe(floatUp(d));
    }
    expect(floatDown(3)).toBe(3);
    expect(floatUp(0.1)).toBe(Math.fround(0.1) >= 0.1 ? Math.fround(0.1) : floatUp(0.1));
  });

  it('is sound (rtreecheck), three levels deep, and finds what a scan finds', async () => {
    const source = squares(6000);
    const path = tmp.file('sq.gpkg');
    await write(path, source);
    const db = openDatabase(path);
    try {
      expect(one(db, "SELECT rtreecheck('rtree_sq_geom')")).toBe('ok');
      const root = db.prepare('SELECT data FROM rtree_sq_geom_node WHERE nodeno = 1').get()!
        .data as Uint8Array;
      expect((root[0]! << 8) | root[1]!).toBe(2); // 6000 > 51 × 51 boxes: leaves, one level, the root
      const boxes = source.filter((f) => f.geometry !== null).length;
      expect(Number(one(db, 'SELECT count(*) FROM rtree_sq_geom'))).toBe(boxes);
      // packed: every node full but the last of each level (51 cells of 24 bytes in a 1228-byte node)
      const leaves = Math.ceil(boxes / 51);
      expect(Number(one(db, 'SELECT count(*) FROM rtree_sq_geom_node'))).toBe(
        leaves + Math.ceil(leaves / 51) + 1,
      );
      for (const w of [
        [-10, -10, 10, 10],
        [-50.2, -41.1, -49.9, -40.8],
        [0, 0, 0, 0],
        [-1000, -1000, 1000, 1000],
        [200, 200, 300, 300],
      ] as [number, number, number, number][]) {
        expect(windowIds(db, 'sq', w)).toEqual(expectedIds(source, w));
      }
      // the extent of gpkg_contents holds every box
      const c = db.prepare("SELECT * FROM gpkg_contents WHERE table_name = 'sq'").get()!;
      expect(Number(c.min_x)).toBeLessThanOrEqual(-50.123456789 - 0.45);
      expect(Number(c.max_y)).toBeGreaterThanOrEqual(Math.floor(5999 / 97) * 0.7 - 40.987654321 + 0.05);
    } finally {
      db.close();
    }
  });

  it.skipIf(!hasGdal)('GDAL finds the spatial index and filters through it', async () => {
    const source = squares(3000);
    const path = tmp.file('sq.gpkg');
    await write(path, source);
    const w: [number, number, number, number] = [-20, -20, 5, 0];
    const info = await ogrinfo(['-ro', '-so', path, 'sq', '-spat', ...w.map(String)]);
    expect(info.stdout).toContain(`Feature Count: ${expectedIds(source, w).length}`);
    const has = await ogrinfo(['-ro', '-q', path, '-sql', "SELECT HasSpatialIndex('sq', 'geom')"]);
    expect(has.stdout).toMatch(/HasSpatialIndex \(Integer\) = 1/);
  });

  it('deletes through the table (its trigger) and inserts into the index keep it sound', async () => {
    const path = tmp.file('sq.gpkg');
    await write(path, squares(3000));
    const db = openDatabase(path);
    try {
      db.exec('DELETE FROM sq WHERE fid <= 100');
      db.exec('DELETE FROM rtree_sq_geom WHERE id BETWEEN 101 AND 200');
      expect(one(db, "SELECT rtreecheck('rtree_sq_geom')")).toBe('ok');
      db.exec('INSERT INTO rtree_sq_geom VALUES (100000, 1, 2, 3, 4)');
      expect(one(db, "SELECT rtreecheck('rtree_sq_geom')")).toBe('ok');
      expect(windowIds(db, 'sq', [1.5, 3.5, 1.5, 3.5])).toContain(100000);
    } finally {
      db.close();
    }
  });

  it('where shadow tables cannot be written, the same boxes go in through the virtual table', async () => {
    const list = new BoxList();
    const source = squares(700);
    for (const [i, f] of source.entries()) {
      if (f.geometry === null || f.geometry.type !== 'Polygon') continue;
      const ring = f.geometry.coordinates[0]!;
      const xs = ring.map((p) => p[0]!);
      const ys = ring.map((p) => p[1]!);
      list.add(i + 1, Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys));
    }
    const contents = (db: SqlDatabase) => db.prepare('SELECT * FROM r ORDER BY id').all();
    const build = (path: string, refuse: boolean) => {
      writeFileSync(path, '');
      const db = openDatabase(path);
      db.exec('CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx, miny, maxy)');
      const how = refuse ? { ...db, allowShadowWrites: () => false } : db;
      let result = '';
      db.transaction(() => {
        result = loadRtree(how, 'r', list, list.extent()!);
      });
      return { db, result };
    };
    const packed = build(tmp.file('a.db'), false);
    const inserted = build(tmp.file('b.db'), true);
    try {
      expect(packed.result).toBe('packed');
      expect(inserted.result).toBe('inserted');
      expect(contents(packed.db)).toEqual(contents(inserted.db));
      expect(one(inserted.db, "SELECT rtreecheck('r')")).toBe('ok');
      expect(one(packed.db, "SELECT rtreecheck('r')")).toBe('ok');
    } finally {
      packed.db.close();
      inserted.db.close();
    }
  });
});
