/**
 * GeoPackage shards merged into one file: the first part copied, then each next part's rows
 * inserted into its layer table (attached, in OID order), their fids shifted so that they run
 * 1, 2, 3… across the whole layer as one export numbers them, their R-tree entries carried over
 * with the same shift, the layer's extent widened, and the R-tree triggers (which call ST_
 * functions plain SQLite does not have) dropped meanwhile and created again at the end.
 */
import { constants } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { EtlError } from '../core/errors.js';
import { quoteId, rtreeName, rtreeTriggers, TRIGGER_SUFFIXES } from '../outputs/gpkg/ddl.js';
import { openDatabase, type SqlDatabase } from '../outputs/gpkg/sqlite.js';

interface Extent {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export async function mergeGeoPackages(parts: readonly string[], target: string): Promise<void> {
  const [first, ...rest] = parts;
  if (first === undefined) throw new EtlError('OUTPUT_ERROR', `No GeoPackage part to merge into ${target}`);
  await copyFile(first, target, constants.COPYFILE_EXCL);
  const db = openDatabase(target);
  try {
    const table = layerTable(db, first);
    const geometry = db
      .prepare('SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?')
      .get(table)?.column_name;
    const columns = db.prepare(`PRAGMA table_info(${quoteId(table)})`).all();
    const pk = columns.find((c) => Number(c.pk) === 1)?.name;
    if (typeof pk !== 'string') throw partError(first, `its table ${table} has no primary key`);
    const names = columns.map((c) => String(c.name));
    const t = quoteId(table);
    let extent = extentOf(db, 'main', table);
    if (typeof geometry === 'string') {
      for (const suffix of TRIGGER_SUFFIXES) {
        db.exec(`DROP TRIGGER IF EXISTS ${quoteId(`${rtreeName(table, geometry)}_${suffix}`)}`);
      }
    }
    const list = names.map(quoteId).join(', ');
    const shifted = names.map((n) => (n === pk ? `${quoteId(n)} + ?` : quoteId(n))).join(', ');
    for (const part of rest) {
      db.prepare('ATTACH DATABASE ? AS part').run(part);
      try {
        db.transaction(() => {
          const offset = Number(
            db.prepare(`SELECT COALESCE(MAX(${quoteId(pk)}), 0) AS n FROM main.${t}`).get()?.n,
          );
          db.prepare(
            `INSERT INTO main.${t} (${list}) SELECT ${shifted} FROM part.${t} ORDER BY ${quoteId(pk)}`,
          ).run(offset);
          if (typeof geometry === 'string') {
            const r = quoteId(rtreeName(table, geometry));
            db.prepare(
              `INSERT INTO main.${r} (id, minx, maxx, miny, maxy) SELECT id + ?, minx, maxx, miny, maxy FROM part.${r}`,
            ).run(offset);
          }
        });
        extent = union(extent, extentOf(db, 'part', table));
      } finally {
        db.exec('DETACH DATABASE part');
      }
    }
    if (extent) {
      db.prepare(
        'UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? WHERE table_name = ?',
      ).run(extent.minX, extent.minY, extent.maxX, extent.maxY, table);
    }
    if (typeof geometry === 'string') db.exec(rtreeTriggers(table, geometry, pk));
  } catch (error) {
    throw error instanceof EtlError
      ? error
      : new EtlError(
          'OUTPUT_ERROR',
          `Could not merge the GeoPackage shards into ${target}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
  } finally {
    db.close();
  }
}

/** The one layer of a part (an export writes one table). */
function layerTable(db: SqlDatabase, part: string): string {
  const rows = db.prepare('SELECT table_name FROM gpkg_contents').all();
  if (rows.length !== 1 || typeof rows[0]?.table_name !== 'string') {
    throw partError(part, `holds ${rows.length} tables, not one layer`);
  }
  return rows[0].table_name;
}

function extentOf(db: SqlDatabase, schema: string, table: string): Extent | undefined {
  const row = db
    .prepare(`SELECT min_x, min_y, max_x, max_y FROM ${schema}.gpkg_contents WHERE table_name = ?`)
    .get(table);
  const [minX, minY, maxX, maxY] = [row?.min_x, row?.min_y, row?.max_x, row?.max_y];
  if (
    typeof minX !== 'number' ||
    typeof minY !== 'number' ||
    typeof maxX !== 'number' ||
    typeof maxY !== 'number'
  ) {
    return undefined;
  }
  return { minX, minY, maxX, maxY };
}

function union(a: Extent | undefined, b: Extent | undefined): Extent | undefined {
  if (!a || !b) return a ?? b;
  return {
    minX: Math.min(a.minX, b.minX),
    minY: Math.min(a.minY, b.minY),
    maxX: Math.max(a.maxX, b.maxX),
    maxY: Math.max(a.maxY, b.maxY),
  };
}

function partError(part: string, problem: string): EtlError {
  return new EtlError('OUTPUT_ERROR', `The shard part ${part} ${problem}`);
}
