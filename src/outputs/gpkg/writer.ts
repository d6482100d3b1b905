/**
 * GeoPackage writer: the layer goes to a temp .gpkg beside the target, one transaction per page,
 * then, in one last transaction, the R-tree index is built in bulk from the rows' boxes (packed
 * nodes, see rtree-bulk.ts) and its triggers and the layer's extent are written; the file is
 * closed, fsynced and renamed onto the target.
 *
 * Resume: the temp file holds the pages committed so far. Rows get fid 1, 2, 3… in order, so a
 * resumed run drops the rows past the checkpoint's count (committed after the last checkpoint) and
 * goes on: the table is the same, row for row, as an uninterrupted run's.
 *
 * `appendLayer`: the existing GeoPackage is copied to the temp file and the layer added to the
 * copy, which replaces the file at the end (copy-then-rename): readers of the file never see half
 * a layer, a failed run leaves it as it was, and the layer's pages can still be committed (and
 * resumed) one by one, which one transaction on the file itself would not allow.
 */
import { constants } from 'node:fs';
import { copyFile, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { EtlError } from '../../core/errors.js';
import { isoUtc } from '../../core/iso-time.js';
import type { GeoJSONFeature } from '../../features/geometry/types.js';
import type { FeatureWriter, WriterCheckpoint, WriterSchema } from '../../features/writers/types.js';
import { WriterLifecycle } from '../common/writer-lifecycle.js';
import { attributeFields, freeColumnName } from '../fields.js';
import { syncDirectory } from '../sync-directory.js';
import { partialPathFor } from '../temp-path.js';
import type { Envelope } from '../wkb.js';
import { GpkgGeometryEncoder } from './binary.js';
import {
  CORE_TABLES,
  type GpkgColumn,
  geometryTypeName,
  gpkgColumn,
  quoteId,
  REQUIRED_SRS,
  rtreeName,
  rtreeTriggers,
  srsRow,
  TRIGGER_SUFFIXES,
} from './ddl.js';
import { BoxList, blobBox, loadRtree } from './rtree-bulk.js';
import { openDatabase, type SqlDatabase, type SqlStatement, type SqlValue } from './sqlite.js';

export interface GpkgWriterOptions {
  path: string;
  schema: WriterSchema;
  wkid: number;
  layerName?: string | undefined;
  appendLayer: boolean;
  resume?: WriterCheckpoint | undefined;
  tempPath?: string | undefined;
}

const APPLICATION_ID = 0x47504b47; // 'GPKG'
const USER_VERSION = 10300; // GeoPackage 1.3.0

/** The default table name: the output file's name without its extension. */
export function defaultLayerName(path: string): string {
  return basename(path, extname(path));
}

function checkLayerName(name: string): void {
  if (name.trim() === '' || /^(gpkg|sqlite|rtree)_/i.test(name)) {
    throw new EtlError(
      'USAGE',
      `"${name}" cannot name a GeoPackage layer (empty, or a name reserved by GeoPackage or SQLite): choose another --layer-name`,
    );
  }
}

function outputError(message: string, cause: unknown): EtlError {
  if (cause instanceof EtlError) return cause;
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new EtlError('OUTPUT_ERROR', `${message}${reason}`, { cause });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

interface Layout {
  table: string;
  pk: string;
  geometry: string | undefined;
  columns: GpkgColumn[];
  srsId: number;
  hasZ: boolean;
}

function layoutOf(options: GpkgWriterOptions): Layout {
  const table = options.layerName ?? defaultLayerName(options.path);
  checkLayerName(table);
  const columns = attributeFields(options.schema.fields).map(gpkgColumn);
  const names = columns.map((c) => c.name);
  const pk = freeColumnName('fid', names);
  const geometry =
    options.schema.geometryType === undefined ? undefined : freeColumnName('geom', [...names, pk]);
  return {
    table,
    pk,
    geometry,
    columns,
    srsId: srsRow(options.wkid).srs_id,
    hasZ: options.schema.hasZ === true,
  };
}

function tableExists(db: SqlDatabase, table: string): boolean {
  return db.prepare('SELECT 1 AS x FROM sqlite_master WHERE lower(name) = lower(?)').get(table) !== undefined;
}

function createLayer(db: SqlDatabase, layout: Layout, options: GpkgWriterOptions): void {
  const { table, pk, geometry, columns, srsId, hasZ } = layout;
  db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
  db.exec(`PRAGMA user_version = ${USER_VERSION}`);
  db.transaction(() => {
    db.exec(CORE_TABLES);
    const srs = db.prepare(
      'INSERT OR IGNORE INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, organization_coordsys_id, definition, description) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (const row of [...REQUIRED_SRS, srsRow(options.wkid)]) {
      srs.run(
        row.srs_name,
        row.srs_id,
        row.organization,
        row.organization_coordsys_id,
        row.definition,
        row.description,
      );
    }
    const columnSql = [
      `${quoteId(pk)} INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL`,
      ...(geometry === undefined
        ? []
        : [`${quoteId(geometry)} ${geometryTypeName(options.schema.geometryType)}`]),
      ...columns.map((c) => `${quoteId(c.name)} ${c.sqlType}`),
    ];
    db.exec(`CREATE TABLE ${quoteId(table)} (${columnSql.join(', ')})`);
    db.prepare(
      'INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES (?, ?, ?, ?, ?)',
    ).run(
      table,
      geometry === undefined ? 'attributes' : 'features',
      table,
      '',
      geometry === undefined ? null : srsId,
    );
    if (geometry !== undefined) {
      db.prepare(
        'INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES (?, ?, ?, ?, ?, 0)',
      ).run(table, geometry, geometryTypeName(options.schema.geometryType), srsId, hasZ ? 1 : 0);
      db.exec(
        `CREATE VIRTUAL TABLE ${quoteId(rtreeName(table, geometry))} USING rtree(id, minx, maxx, miny, maxy)`,
      );
      db.prepare(
        "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) VALUES (?, ?, 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
      ).run(table, geometry);
    }
  });
}

/** Drops the rows committed after the checkpoint and the index triggers of a failed finish. */
function resumeLayer(db: SqlDatabase, layout: Layout, resume: WriterCheckpoint, temp: string): void {
  const { table, pk, geometry } = layout;
  const invalid = (why: string) =>
    new EtlError('CHECKPOINT_INVALID', `The partial output ${temp} cannot be resumed: ${why}`);
  if (!tableExists(db, table)) throw invalid(`it has no table ${table}`);
  const row = db.prepare(`SELECT count(*) AS n, max(${quoteId(pk)}) AS last FROM ${quoteId(table)}`).get();
  const count = Number(row?.n ?? 0);
  if (count < resume.features) {
    throw invalid(`it holds ${count} rows, fewer than the checkpoint's ${resume.features}`);
  }
  db.transaction(() => {
    if (geometry !== undefined) {
      for (const suffix of TRIGGER_SUFFIXES) {
        db.exec(`DROP TRIGGER IF EXISTS ${quoteId(`${rtreeName(table, geometry)}_${suffix}`)}`);
      }
      db.prepare(`DELETE FROM ${quoteId(rtreeName(table, geometry))} WHERE id > ?`).run(resume.features);
    }
    db.prepare(`DELETE FROM ${quoteId(table)} WHERE ${quoteId(pk)} > ?`).run(resume.features);
  });
  const after = db.prepare(`SELECT count(*) AS n, max(${quoteId(pk)}) AS last FROM ${quoteId(table)}`).get();
  if (Number(after?.n ?? 0) !== resume.features || Number(after?.last ?? 0) !== resume.features) {
    throw invalid(`its rows are not numbered 1 to ${resume.features}`);
  }
}

export async function createGpkgWriter(options: GpkgWriterOptions): Promise<FeatureWriter> {
  const layout = layoutOf(options);
  const resume = options.resume !== undefined && options.resume.features > 0 ? options.resume : undefined;
  if (resume !== undefined && options.tempPath === undefined) {
    throw new EtlError('USAGE', 'Resuming needs the tempPath of the interrupted run');
  }
  const temp = options.tempPath ?? partialPathFor(options.path);
  let db: SqlDatabase;
  if (resume !== undefined) {
    try {
      const info = await stat(temp);
      if (!info.isFile()) throw new Error('not a regular file');
      db = openDatabase(temp);
    } catch (cause) {
      throw new EtlError('CHECKPOINT_INVALID', `Cannot reopen the partial output ${temp} to resume`, {
        cause,
      });
    }
    try {
      resumeLayer(db, layout, resume, temp);
    } catch (error) {
      db.close();
      throw error instanceof EtlError
        ? error
        : new EtlError('CHECKPOINT_INVALID', `Cannot resume the partial output ${temp}`, { cause: error });
    }
  } else {
    if (options.resume !== undefined && options.tempPath !== undefined) {
      // a checkpoint without rows starts afresh: the old partial file goes
      await unlink(temp).catch(() => {});
      await unlink(`${temp}-journal`).catch(() => {});
    }
    const appending = options.appendLayer && (await exists(options.path));
    try {
      if (appending) {
        await copyFile(options.path, temp, constants.COPYFILE_EXCL);
      } else {
        // created exclusively (never through a planted file or link), then opened by SQLite
        const handle = await open(
          temp,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
          0o600,
        );
        await handle.close();
      }
      db = openDatabase(temp);
    } catch (cause) {
      await unlink(temp).catch(() => {});
      throw outputError(`Cannot create ${temp}`, cause);
    }
    try {
      if (appending) checkAppendable(db, options.path, layout.table);
      createLayer(db, layout, options);
    } catch (error) {
      db.close();
      await unlink(temp).catch(() => {});
      await unlink(`${temp}-journal`).catch(() => {});
      throw outputError(`Cannot create the GeoPackage ${temp}`, error);
    }
  }
  // a killed process loses nothing committed (the OS has the pages); the file is fsynced at the end
  db.exec('PRAGMA synchronous = OFF');
  return new GpkgWriter(db, layout, options.path, temp, resume?.features ?? 0);
}

function checkAppendable(db: SqlDatabase, path: string, table: string): void {
  let isGpkg = false;
  try {
    isGpkg = tableExists(db, 'gpkg_contents');
  } catch (cause) {
    throw new EtlError(
      'USAGE',
      `${path} is not a GeoPackage (not an SQLite file): --append-layer needs one`,
      { cause },
    );
  }
  if (!isGpkg)
    throw new EtlError('USAGE', `${path} is not a GeoPackage (no gpkg_contents): --append-layer needs one`);
  if (tableExists(db, table)) {
    throw new EtlError(
      'USAGE',
      `The GeoPackage ${path} already has a table named ${table}: choose another --layer-name (or --overwrite to replace the whole file)`,
    );
  }
}

function dateText(value: unknown): SqlValue {
  if (typeof value === 'number') return isoUtc(value) ?? null;
  return typeof value === 'string' ? value : null;
}

function integerValue(value: unknown): SqlValue {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) {
    const big = BigInt(value.trim());
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(big)
      : big;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value === null || value === undefined ? null : String(value);
}

function cellValue(column: GpkgColumn, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  switch (column.kind) {
    case 'datetime':
      return dateText(value);
    case 'integer':
      return integerValue(value);
    case 'real':
      return typeof value === 'number' ? (Number.isNaN(value) ? null : value) : Number(value);
    case 'text':
      return typeof value === 'string'
        ? value
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value);
  }
}

class GpkgWriter implements FeatureWriter {
  readonly format = 'gpkg' as const;
  readonly tempPath: string;
  readonly #db: SqlDatabase;
  readonly #layout: Layout;
  readonly #target: string;
  readonly #insert: SqlStatement;
  readonly #geometry: GpkgGeometryEncoder | undefined;
  /** Boxes of the rows written by this run (a resumed run reads the earlier ones back at the end). */
  readonly #boxes = new BoxList();
  readonly #resumedFrom: number;
  #features: number;
  #bytes = 0;
  readonly #life = new WriterLifecycle();
  #closed = false;

  constructor(db: SqlDatabase, layout: Layout, target: string, temp: string, features: number) {
    this.#db = db;
    this.#layout = layout;
    this.#target = target;
    this.tempPath = temp;
    this.#features = features;
    this.#resumedFrom = features;
    this.#geometry =
      layout.geometry === undefined ? undefined : new GpkgGeometryEncoder(layout.srsId, layout.hasZ);
    const names = [
      layout.pk,
      ...(layout.geometry === undefined ? [] : [layout.geometry]),
      ...layout.columns.map((c) => c.name),
    ];
    this.#insert = db.prepare(
      `INSERT INTO ${quoteId(layout.table)} (${names.map(quoteId).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`,
    );
  }

  get bytesWritten(): number {
    return this.#bytes;
  }

  get featuresWritten(): number {
    return this.#features;
  }

  writePage(features: readonly GeoJSONFeature[]): Promise<void>;
  writePage<T>(features: readonly T[], convert: (feature: T) => GeoJSONFeature): Promise<void>;
  writePage(features: readonly unknown[], convert?: (feature: unknown) => GeoJSONFeature): Promise<void> {
    return this.#life.enqueue(async () => {
      this.#life.assertOpen('write a page');
      if (features.length === 0) return;
      const { columns, geometry } = this.#layout;
      const first = this.#features + 1;
      let conversionError: { error: unknown } | undefined;
      const row = new Array<SqlValue>(1 + (geometry === undefined ? 0 : 1) + columns.length);
      const offset = geometry === undefined ? 1 : 2;
      const boxesBefore = this.#boxes.count;
      try {
        // one transaction: the page's rows are committed together, or not at all
        this.#db.transaction(() => {
          for (let i = 0; i < features.length; i++) {
            let feature: GeoJSONFeature;
            try {
              feature = convert === undefined ? (features[i] as GeoJSONFeature) : convert(features[i]);
            } catch (error) {
              conversionError = { error };
              throw error;
            }
            const fid = first + i;
            row[0] = fid;
            let envelope: Envelope | undefined;
            if (geometry !== undefined) {
              if (feature.geometry === null) {
                row[1] = null;
              } else {
                const encoded = this.#geometry!.encode(feature.geometry);
                row[1] = encoded.blob;
                envelope = encoded.envelope;
              }
            }
            const properties = feature.properties;
            for (let c = 0; c < columns.length; c++) {
              const column = columns[c]!;
              row[offset + c] = cellValue(column, properties[column.name]);
            }
            this.#insert.run(...row);
            if (envelope !== undefined && !Number.isNaN(envelope.minX)) {
              this.#boxes.add(fid, envelope.minX, envelope.minY, envelope.maxX, envelope.maxY);
            }
          }
        });
      } catch (error) {
        // the boxes of rows rolled back go too
        this.#boxes.count = boxesBefore;
        // rolled back: nothing of the page was written, the writer stays usable
        if (conversionError !== undefined) throw conversionError.error;
        this.#life.state = 'failed';
        throw outputError(`Cannot write ${this.tempPath}`, error);
      }
      this.#features += features.length;
      this.#bytes = await stat(this.tempPath).then(
        (s) => s.size,
        () => this.#bytes,
      );
    });
  }

  finish(): Promise<void> {
    return this.#life.enqueue(async () => {
      this.#life.assertOpen('finish');
      const { table, geometry, pk } = this.#layout;
      try {
        this.#db.transaction(() => {
          if (geometry !== undefined) {
            const boxes = this.#allBoxes(geometry);
            const extent = boxes.extent();
            if (extent !== undefined) loadRtree(this.#db, rtreeName(table, geometry), boxes, extent);
            this.#db
              .prepare(
                'UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? WHERE table_name = ?',
              )
              .run(extent?.[0] ?? null, extent?.[1] ?? null, extent?.[2] ?? null, extent?.[3] ?? null, table);
            this.#db.exec(rtreeTriggers(table, geometry, pk));
          }
          this.#db
            .prepare(
              "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?",
            )
            .run(table);
        });
        this.#db.exec('PRAGMA synchronous = FULL');
        this.#close();
        const handle = await open(this.tempPath, 'r+');
        try {
          await handle.chmod(0o666 & ~process.umask());
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(this.tempPath, this.#target);
      } catch (cause) {
        this.#life.state = 'failed';
        throw outputError(`Cannot publish ${this.#target}`, cause);
      }
      this.#life.state = 'finished';
      await syncDirectory(dirname(this.#target));
    });
  }

  /** The boxes of every row: those of an interrupted run read back from its rows, then this run's. */
  #allBoxes(geometry: string): BoxList {
    if (this.#resumedFrom === 0) return this.#boxes;
    const all = new BoxList();
    const { table, pk } = this.#layout;
    const select = this.#db.prepare(
      `SELECT ${quoteId(pk)} AS id, ${quoteId(geometry)} AS g FROM ${quoteId(table)} WHERE ${quoteId(pk)} > ? AND ${quoteId(pk)} <= ? ORDER BY ${quoteId(pk)}`,
    );
    const step = 10_000;
    for (let from = 0; from < this.#resumedFrom; from += step) {
      for (const row of select.all(from, Math.min(from + step, this.#resumedFrom))) {
        const box = row.g instanceof Uint8Array ? blobBox(row.g) : undefined;
        if (box !== undefined) all.add(Number(row.id), box[0], box[1], box[2], box[3]);
      }
    }
    const mine = this.#boxes;
    for (let i = 0; i < mine.count; i++) {
      const b = mine.boxes;
      all.add(mine.ids[i]!, b[4 * i]!, b[4 * i + 1]!, b[4 * i + 2]!, b[4 * i + 3]!);
    }
    return all;
  }

  async abort(options: { keep?: boolean } = {}): Promise<void> {
    if (!(await this.#life.startAbort())) return;
    this.#close();
    if (options.keep !== true) {
      await unlink(this.tempPath).catch(() => {});
      await unlink(`${this.tempPath}-journal`).catch(() => {});
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#db.close();
    } catch {
      // already closed
    }
  }
}
