/**
 * The PostGIS writer: features → binary COPY into a staging table → the target, in one
 * transaction at the end, so that a failed or killed run leaves the target as it was.
 *
 * - One transaction (the default): the staging table is created, loaded by one COPY stream (the
 *   database loads a page while the next one is fetched) and published in the same transaction.
 *   A run that dies is rolled back by the server: nothing is left, not even the staging table.
 * - Committed pages (`commitEachPage`, when the run writes checkpoints): each page is one COPY,
 *   committed, and numbered by a row column; the staging table (the writer's `tempPath`) survives
 *   a crash, and a resumed run deletes the rows past its checkpoint and goes on.
 *
 * Publishing, by mode: `create` / `replace` rename the staging table onto the target (after its
 * primary key on the OID and its GIST index are built); `append` inserts its rows; `upsert`
 * updates the rows whose key is there and inserts the others. A GIST index on the geometry is
 * created at the end when the target has none. A session advisory lock on the target makes it one
 * export's at a time (OUTPUT_BUSY).
 */
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { EtlError } from '../../core/errors.js';
import type { EsriField, EsriGeometryType } from '../../core/protocol.js';
import { WriterLifecycle } from '../common/writer-lifecycle.js';
import { planTable, type TablePlan, ValueError } from './columns.js';
import { type Connected, connect, queryError } from './connect.js';
import { CopyBuffer } from './copy-buffer.js';
import { EwkbWriter, type GeometryInput } from './ewkb.js';
import { checkFit, type ExistingColumn } from './existing.js';
import { POSTGIS_MODES, type PostgisMode, type PostgisOptions } from './options.js';
import { columnDefinitions, copyColumns, fitIdentifier, ident, literal, qualified } from './sql.js';
import { isPostgisOutput, type PostgisTarget, parsePostgisTarget } from './target.js';

export { POSTGIS_MODES, type PostgisMode, type PostgisOptions };

/** What the writer needs of the layer. */
export interface PostgisSchema {
  fields: readonly EsriField[];
  geometryType?: EsriGeometryType | undefined;
  hasZ?: boolean | undefined;
  oidField?: string | undefined;
}

/** A GeoJSON feature, as the export's converter makes them. */
export interface PostgisFeature {
  id?: number | string | undefined;
  geometry: GeometryInput | null;
  properties: Record<string, unknown>;
}

export interface CreatePostgisWriterOptions {
  /** The `postgresql://…` output. */
  output: string;
  schema: PostgisSchema;
  postgis?: PostgisOptions | undefined;
  /** Continue the staging table `tempPath` of an interrupted run from this checkpoint. */
  resume?: { bytes: number; features: number } | undefined;
  tempPath?: string | undefined;
}

const STAGING_COMMENT_PREFIX = 'arcgis-etl staging table for ';
const ROW_COLUMN = '_arcgis_etl_row';
/** Index builds get at least this much memory (a sorted GIST build of a million points needs it). */
const INDEX_MEMORY_MB = 256;

/** The target of a `postgresql://` output (with `options.table` when the URL has no `?table=`). */
export function postgisTargetOf(output: string, options: PostgisOptions = {}): PostgisTarget {
  if (!isPostgisOutput(output)) {
    throw new EtlError('USAGE', 'A PostGIS output is a postgresql:// URL');
  }
  return parsePostgisTarget(output, { table: options.table, env: options.env });
}

export async function createPostgisWriter(options: CreatePostgisWriterOptions): Promise<PostgisWriter> {
  const settings = options.postgis ?? {};
  const mode = settings.mode ?? 'create';
  if (!(POSTGIS_MODES as readonly string[]).includes(mode)) {
    throw new EtlError('USAGE', `Unknown PostGIS mode "${mode}": the modes are ${POSTGIS_MODES.join(', ')}`);
  }
  const target = postgisTargetOf(options.output, settings);
  const srid = settings.srid ?? 4326;
  if (!Number.isSafeInteger(srid) || srid <= 0) throw new EtlError('USAGE', `Invalid SRID ${srid}`);
  const plan = planTable({ ...options.schema, srid: postgisSrid(srid) });
  const key = mode === 'upsert' ? (settings.key ?? options.schema.oidField) : undefined;
  if (settings.key !== undefined && mode !== 'upsert') {
    throw new EtlError('USAGE', '--key is for --mode upsert only');
  }
  if (mode === 'upsert') {
    if (key === undefined) throw new EtlError('USAGE', 'Upsert needs a key field (--key)');
    if (!plan.columns.some((c) => c.name === key)) {
      throw new EtlError(
        'USAGE',
        `The upsert key "${key}" is not a field of the export (fields: ${plan.columns.map((c) => c.name).join(', ')})`,
      );
    }
  }
  const resume = options.resume !== undefined && options.resume.features > 0 ? options.resume : undefined;
  const durable = settings.commitEachPage === true || resume !== undefined;
  if (resume !== undefined && options.tempPath === undefined) {
    throw new EtlError('USAGE', 'Resuming needs the staging table (tempPath) of the interrupted run');
  }
  const env = settings.env ?? process.env;
  const connected = await connect(target, env);
  if (settings.deleteKeys !== undefined && mode !== 'upsert') {
    throw new EtlError('USAGE', 'Deleting rows by key is for --mode upsert only');
  }
  const deleteKeys = settings.deleteKeys ?? [];
  const writer = new PostgisWriter(connected, target, plan, { mode, key, durable, resume, deleteKeys });
  try {
    await writer.open(resume === undefined ? undefined : options.tempPath);
  } catch (error) {
    await writer.close();
    throw error;
  }
  return writer;
}

/** Esri's Web Mercator wkids are 3857 in PostGIS. */
function postgisSrid(wkid: number): number {
  return wkid === 102100 || wkid === 102113 || wkid === 900913 ? 3857 : wkid;
}

interface Settings {
  mode: PostgisMode;
  key: string | undefined;
  durable: boolean;
  resume: { bytes: number; features: number } | undefined;
  /** upsert: keys deleted in the same transaction. */
  deleteKeys: readonly number[];
}

export class PostgisWriter {
  readonly format = 'postgis' as const;
  /** The staging table (a plain table name in the target's schema) that a resumed run continues. */
  tempPath: string | undefined;
  readonly target: PostgisTarget;
  readonly #db: Connected;
  readonly #plan: TablePlan;
  readonly #settings: Settings;
  readonly #ewkb: EwkbWriter | undefined;
  readonly #fieldCount: number;
  #staging = '';
  /** The staging table is a session's temporary table (one transaction into an existing table). */
  #temporary = false;
  #inTransaction = false;
  #copy: Writable | undefined;
  #copyDone: Promise<void> | undefined;
  #copyError: Error | undefined;
  #bytes: number;
  #features: number;
  #bytesPerFeature = 64;
  readonly #life = new WriterLifecycle();
  #closed = false;

  constructor(db: Connected, target: PostgisTarget, plan: TablePlan, settings: Settings) {
    this.#db = db;
    this.target = target;
    this.#plan = plan;
    this.#settings = settings;
    this.#bytes = settings.resume?.bytes ?? 0;
    this.#features = settings.resume?.features ?? 0;
    const g = plan.geometry;
    this.#ewkb = g === undefined ? undefined : new EwkbWriter(g.type, g.hasZ, g.srid);
    this.#fieldCount = plan.columns.length + (g ? 1 : 0) + (settings.durable ? 1 : 0);
  }

  get bytesWritten(): number {
    return this.#bytes;
  }

  get featuresWritten(): number {
    return this.#features;
  }

  /** `"schema"."table"` of the target. */
  get #table(): string {
    return qualified(this.target.schema, this.target.table);
  }

  get #stagingSql(): string {
    return this.#temporary ? ident(this.#staging) : qualified(this.target.schema, this.#staging);
  }

  async #query<R extends Record<string, unknown> = Record<string, unknown>>(
    doing: string,
    text: string,
    values?: unknown[],
  ): Promise<R[]> {
    const lost = this.#db.lost();
    if (lost !== undefined) throw queryError(lost, doing, lost);
    try {
      const result = await this.#db.client.query<R>(text, values);
      return result.rows;
    } catch (cause) {
      throw queryError(cause, doing, this.#db.lost());
    }
  }

  /** Takes the target's lock, checks the database and the target, and makes the staging table ready. */
  async open(resumeTable: string | undefined): Promise<void> {
    const { schema, table } = this.target;
    const shown = `${schema}.${table}`;
    // one COPY lasts as long as the export (pages arrive at the layer's pace): no statement or
    // idle timeout of the role may cut it (this session only)
    await this.#query('setting up the session', 'SET statement_timeout = 0');
    await this.#query('setting up the session', 'SET idle_in_transaction_session_timeout = 0');
    const locked = await this.#query<{ locked: boolean }>(
      'locking the target',
      'SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS locked',
      ['arcgis-etl', JSON.stringify([schema, table])],
    );
    if (locked[0]?.locked !== true) {
      throw new EtlError(
        'OUTPUT_BUSY',
        `The table ${shown} is being written by another export (${this.target.display}); wait for it to end`,
      );
    }
    if (this.#plan.geometry) {
      const postgis = await this.#query(
        'checking PostGIS',
        "SELECT 1 FROM pg_extension WHERE extname = 'postgis'",
      );
      if (postgis.length === 0) {
        throw new EtlError(
          'USAGE',
          `PostGIS is not installed in the database ${this.target.connection.database}: run CREATE EXTENSION postgis (as its owner)`,
        );
      }
      const srid = this.#plan.geometry.srid;
      const known = await this.#query('checking the SRID', 'SELECT 1 FROM spatial_ref_sys WHERE srid = $1', [
        srid,
      ]);
      if (known.length === 0) {
        throw new EtlError(
          'USAGE',
          `The SRID ${srid} is not in spatial_ref_sys of ${this.target.connection.database}: choose another --out-sr, or add it`,
        );
      }
    }
    const schemas = await this.#query(
      'checking the schema',
      'SELECT 1 FROM pg_namespace WHERE nspname = $1',
      [schema],
    );
    if (schemas.length === 0) {
      throw new EtlError(
        'USAGE',
        `The schema "${schema}" does not exist: create it (CREATE SCHEMA), or choose another`,
      );
    }
    const existing = await this.#existing();
    if (existing !== undefined) this.#checkTarget(existing);
    await this.#dropOrphans(resumeTable);
    if (this.#settings.durable) {
      if (resumeTable !== undefined) await this.#continueStaging(resumeTable);
      else await this.#createStaging(false);
      this.tempPath = this.#staging;
    } else {
      await this.#query('starting the transaction', 'BEGIN');
      this.#inTransaction = true;
      const mode = this.#settings.mode;
      await this.#createStaging(existing !== undefined && (mode === 'append' || mode === 'upsert'));
      await this.#openCopy();
    }
  }

  /** Refuses a target that cannot take this export (mode, columns): USAGE, one line. */
  #checkTarget(existing: ExistingTable): void {
    const shown = `${this.target.schema}.${this.target.table}`;
    const mode = this.#settings.mode;
    if (!existing.isTable) {
      throw new EtlError('USAGE', `${shown} exists and is not a table (a view or another relation)`);
    }
    if (mode === 'create') {
      throw new EtlError(
        'USAGE',
        `The table ${shown} already exists: choose --mode replace (replace it), append or upsert, or another table`,
      );
    }
    if (mode === 'append' || mode === 'upsert') {
      const fit = checkFit(this.#plan, existing.columns, this.#settings.key);
      if (fit.problems.length > 0) {
        throw new EtlError('USAGE', `The table ${shown} does not fit the layer: ${fit.problems.join('; ')}`);
      }
    }
  }

  async #existing(): Promise<ExistingTable | undefined> {
    const rel = await this.#query<{ relkind: string; oid: number }>(
      'reading the target',
      `SELECT c.relkind, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname = $2`,
      [this.target.schema, this.target.table],
    );
    const found = rel[0];
    if (found === undefined) return undefined;
    const isTable = found.relkind === 'r' || found.relkind === 'p';
    const columns = isTable ? await this.#columnsOf(found.oid) : [];
    return { isTable, columns };
  }

  async #columnsOf(oid: number): Promise<ExistingColumn[]> {
    const rows = await this.#query<{
      name: string;
      type: string;
      full_type: string;
      not_null: boolean;
      has_default: boolean;
      is_geometry: boolean;
    }>(
      'reading the columns',
      `SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type,
              format_type(a.atttypid, a.atttypmod) AS full_type, a.attnotnull AS not_null,
              a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' AS has_default,
              t.typname = 'geometry' AS is_geometry
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [oid],
    );
    const geometry = rows.some((r) => r.is_geometry)
      ? await this.#query<{ name: string; type: string; srid: number; dims: number }>(
          'reading the geometry columns',
          `SELECT f_geometry_column AS name, type, srid, coord_dimension AS dims FROM geometry_columns
           WHERE f_table_schema = $1 AND f_table_name = $2`,
          [this.target.schema, this.target.table],
        )
      : [];
    return rows.map((r) => {
      const g = geometry.find((x) => x.name === r.name);
      return {
        name: r.name,
        type: r.is_geometry ? 'geometry' : r.type,
        fullType: r.full_type,
        notNull: r.not_null,
        hasDefault: r.has_default,
        ...(g ? { geometryType: g.type, srid: g.srid, dims: g.dims } : {}),
      };
    });
  }

  #stagingComment(): string {
    return `${STAGING_COMMENT_PREFIX}${JSON.stringify([this.target.schema, this.target.table])}`;
  }

  /** Staging tables of this target left by killed runs (but the one being resumed): dropped. */
  async #dropOrphans(keep: string | undefined): Promise<void> {
    const rows = await this.#query<{ name: string }>(
      'looking for staging tables of killed runs',
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind = 'r' AND obj_description(c.oid, 'pg_class') = $2`,
      [this.target.schema, this.#stagingComment()],
    );
    for (const { name } of rows) {
      if (name === keep) continue;
      await this.#query(
        'dropping a staging table of a killed run',
        `DROP TABLE IF EXISTS ${qualified(this.target.schema, name)}`,
      );
    }
  }

  async #createStaging(temporary: boolean): Promise<void> {
    this.#temporary = temporary;
    this.#staging = `arcgis_etl_${randomBytes(6).toString('hex')}`;
    const row = this.#settings.durable ? ROW_COLUMN : undefined;
    const definition = `(${columnDefinitions(this.#plan, row)})`;
    if (temporary) {
      await this.#query(
        'creating the staging table',
        `CREATE TEMPORARY TABLE ${this.#stagingSql} ${definition} ON COMMIT DROP`,
      );
      return;
    }
    // with its comment in one transaction: a killed run's staging table is always found again
    const outer = this.#inTransaction;
    if (!outer) await this.#query('creating the staging table', 'BEGIN');
    await this.#query('creating the staging table', `CREATE TABLE ${this.#stagingSql} ${definition}`);
    await this.#query(
      'creating the staging table',
      `COMMENT ON TABLE ${this.#stagingSql} IS ${literal(this.#stagingComment())}`,
    );
    if (!outer) await this.#query('creating the staging table', 'COMMIT');
  }

  /** The staging table of an interrupted run: its rows past the checkpoint go, the count must match. */
  async #continueStaging(name: string): Promise<void> {
    const resume = this.#settings.resume!;
    this.#staging = name;
    const invalid = (why: string) =>
      new EtlError(
        'CHECKPOINT_INVALID',
        `Cannot resume into ${this.target.schema}.${this.target.table}: the staging table ${name} ${why}; run without --resume to start over`,
      );
    const rel = await this.#query<{ oid: number; comment: string | null }>(
      'reading the staging table',
      `SELECT c.oid, obj_description(c.oid, 'pg_class') AS comment FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r'`,
      [this.target.schema, name],
    );
    const found = rel[0];
    if (found === undefined) throw invalid('is gone');
    if (found.comment !== this.#stagingComment()) throw invalid('belongs to another target');
    const columns = await this.#columnsOf(found.oid);
    const expected = [
      ...this.#plan.columns.map((c) => `${c.name} ${c.type}`),
      ...(this.#plan.geometry ? [`${this.#plan.geometry.name} ${this.#plan.geometry.sql}`] : []),
      `${ROW_COLUMN} bigint`,
    ];
    const actual = columns.map((c) => `${c.name} ${c.fullType}`);
    if (expected.join(', ').toLowerCase() !== actual.join(', ').toLowerCase()) {
      throw invalid('has other columns than this export');
    }
    await this.#query(
      'dropping the rows past the checkpoint',
      `DELETE FROM ${this.#stagingSql} WHERE ${ident(ROW_COLUMN)} >= $1`,
      [resume.features],
    );
    const count = await this.#query<{ n: string }>(
      'counting the staging rows',
      `SELECT count(*) AS n FROM ${this.#stagingSql}`,
    );
    const n = Number(count[0]?.n ?? -1);
    if (n !== resume.features) {
      throw invalid(`holds ${n} rows where the checkpoint says ${resume.features}`);
    }
  }

  #copySql(): string {
    const row = this.#settings.durable ? ROW_COLUMN : undefined;
    // one transaction: the staging table was created in it, so its rows can be written frozen
    // (visible to all once committed: no later vacuum has to rewrite every page to freeze them)
    const freeze = this.#settings.durable || this.#temporary ? '' : ', FREEZE';
    return `COPY ${this.#stagingSql} (${copyColumns(this.#plan, row)}) FROM STDIN (FORMAT binary${freeze})`;
  }

  /** One COPY stream for the whole transaction: the database loads while the next page is fetched. */
  async #openCopy(): Promise<void> {
    const stream = this.#db.client.query(copyFrom(this.#copySql()));
    this.#copy = stream;
    this.#copyDone = new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
    });
    this.#copyDone.catch(() => {});
    stream.on('error', (error: Error) => {
      this.#copyError ??= error;
    });
    const header = new CopyBuffer(32);
    header.header();
    await this.#send(header.view());
  }

  /** Writes to the open COPY stream; waits while the database is behind (back-pressure). */
  async #send(chunk: Buffer): Promise<void> {
    const stream = this.#copy!;
    if (this.#copyError) throw queryError(this.#copyError, 'loading rows', this.#db.lost());
    if (stream.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        stream.off('drain', onDrain);
        stream.off('error', done);
        stream.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(this.#copyError ?? new Error('the COPY stream closed'));
      stream.on('drain', onDrain);
      stream.on('error', done);
      stream.on('close', onClose);
    }).catch((error: unknown) => {
      throw queryError(error, 'loading rows', this.#db.lost());
    });
  }

  /** A whole COPY of one page (committed pages): resolves when the server has it. */
  async #copyPage(chunk: Buffer): Promise<void> {
    const lost = this.#db.lost();
    if (lost !== undefined) throw queryError(lost, 'loading rows', lost);
    const stream = this.#db.client.query(copyFrom(this.#copySql()));
    await new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
      stream.end(chunk);
    }).catch((error: unknown) => {
      throw queryError(error, 'loading rows', this.#db.lost());
    });
  }

  writePage(features: readonly PostgisFeature[]): Promise<void>;
  writePage<T>(features: readonly T[], convert: (feature: T) => PostgisFeature): Promise<void>;
  writePage(features: readonly unknown[], convert?: (feature: unknown) => PostgisFeature): Promise<void> {
    return this.#life.enqueue(async () => {
      this.#life.assertOpen('write a page');
      if (features.length === 0) return;
      // encoded whole before anything is sent: a bad feature leaves the page unwritten
      const chunk = this.#encode(features, convert);
      await this.#guard(async () => {
        if (this.#settings.durable) await this.#copyPage(chunk);
        else await this.#send(chunk);
      });
      this.#bytes += chunk.length;
      this.#features += features.length;
    });
  }

  #encode(features: readonly unknown[], convert: ((feature: unknown) => PostgisFeature) | undefined): Buffer {
    const whole = this.#settings.durable;
    const out = new CopyBuffer(features.length * this.#bytesPerFeature * 1.125 + 64);
    if (whole) out.header();
    const columns = this.#plan.columns;
    const geometry = this.#ewkb;
    const fieldCount = this.#fieldCount;
    for (let i = 0; i < features.length; i++) {
      const source = features[i];
      const feature = convert === undefined ? (source as PostgisFeature) : convert(source);
      const properties = feature.properties;
      out.int16(fieldCount);
      for (let c = 0; c < columns.length; c++) {
        const column = columns[c]!;
        try {
          column.write(out, properties[column.name]);
        } catch (error) {
          if (!(error instanceof ValueError)) throw error;
          throw new EtlError(
            'OUTPUT_ERROR',
            `Feature ${featureId(feature)}: the value of "${column.name}" does not fit its ${column.type} column: ${error.message}`,
          );
        }
      }
      if (geometry !== undefined) {
        if (feature.geometry === null || feature.geometry === undefined) out.null();
        else {
          try {
            geometry.field(out, feature.geometry);
          } catch (error) {
            if (!(error instanceof EtlError)) throw error;
            throw new EtlError(error.code, `Feature ${featureId(feature)}: ${error.message}`, {
              cause: error,
            });
          }
        }
      }
      if (whole) out.fieldInt64(this.#features + i);
    }
    if (whole) out.trailer();
    this.#bytesPerFeature = out.pos / features.length;
    return out.view();
  }

  finish(): Promise<void> {
    return this.#life.enqueue(async () => {
      this.#life.assertOpen('finish');
      await this.#guard(async () => {
        if (this.#settings.durable) {
          await this.#query('starting the transaction', 'BEGIN');
          this.#inTransaction = true;
        } else {
          const trailer = new CopyBuffer(8);
          trailer.trailer();
          const stream = this.#copy!;
          if (this.#copyError) throw queryError(this.#copyError, 'loading rows', this.#db.lost());
          stream.end(trailer.view());
          await this.#copyDone!.catch((error: unknown) => {
            throw queryError(error, 'loading rows', this.#db.lost());
          });
          this.#copy = undefined;
        }
        await this.#publish();
        await this.#query('committing', 'COMMIT');
        this.#inTransaction = false;
      });
      this.#life.state = 'finished';
      await this.close();
    });
  }

  /** The staging rows → the target, by mode (inside the open transaction). */
  async #publish(): Promise<void> {
    const existing = await this.#existing();
    if (existing !== undefined) this.#checkTarget(existing);
    const mode = this.#settings.mode;
    if (existing === undefined || mode === 'replace') {
      if (this.#temporary) {
        throw new EtlError(
          'OUTPUT_ERROR',
          `The table ${this.target.schema}.${this.target.table} was dropped during the export; nothing was written`,
        );
      }
      await this.#swap(existing !== undefined, mode === 'upsert' ? this.#settings.key : this.#plan.oidColumn);
      return;
    }
    const geometryColumn = checkFit(this.#plan, existing.columns, this.#settings.key).geometryColumn;
    await this.#insert(mode === 'upsert', geometryColumn);
  }

  async #raiseIndexMemory(): Promise<void> {
    const rows = await this.#query<{ mb: string }>(
      'reading maintenance_work_mem',
      "SELECT pg_size_bytes(current_setting('maintenance_work_mem')) / 1048576 AS mb",
    );
    if (Number(rows[0]?.mb ?? 0) < INDEX_MEMORY_MB) {
      await this.#query(
        'setting maintenance_work_mem',
        `SET LOCAL maintenance_work_mem = '${INDEX_MEMORY_MB}MB'`,
      );
    }
  }

  /** create / replace: keys and index on the staging table, then it takes the target's name. */
  async #swap(replace: boolean, primaryKey: string | undefined): Promise<void> {
    const staging = this.#stagingSql;
    const schema = this.target.schema;
    if (this.#settings.durable) {
      await this.#query('dropping the row column', `ALTER TABLE ${staging} DROP COLUMN ${ident(ROW_COLUMN)}`);
    }
    // (a repeated or null key fails the primary key's own build, naming the value)
    await this.#raiseIndexMemory();
    const pkey = `${this.#staging}_pkey`;
    const gist = `${this.#staging}_geom_idx`;
    if (primaryKey !== undefined) {
      await this.#query(
        'adding the primary key',
        `ALTER TABLE ${staging} ADD CONSTRAINT ${ident(pkey)} PRIMARY KEY (${ident(primaryKey)})`,
      );
    }
    const geometry = this.#plan.geometry;
    if (geometry) {
      await this.#query(
        'creating the GIST index',
        `CREATE INDEX ${ident(gist)} ON ${staging} USING gist (${ident(geometry.name)})`,
      );
    }
    if (replace) await this.#query('dropping the replaced table', `DROP TABLE ${this.#table}`);
    await this.#query(
      'renaming the staging table',
      `ALTER TABLE ${staging} RENAME TO ${ident(this.target.table)}`,
    );
    await this.#query('renaming the staging table', `COMMENT ON TABLE ${this.#table} IS NULL`);
    if (primaryKey !== undefined) {
      const name = await this.#freeName(`${this.target.table}`, '_pkey');
      await this.#query(
        'naming the primary key',
        `ALTER TABLE ${this.#table} RENAME CONSTRAINT ${ident(pkey)} TO ${ident(name)}`,
      );
    }
    if (geometry) {
      const name = await this.#freeName(`${this.target.table}`, `_${geometry.name}_idx`);
      await this.#query(
        'naming the GIST index',
        `ALTER INDEX ${qualified(schema, gist)} RENAME TO ${ident(name)}`,
      );
    }
  }

  /** A relation name not taken in the target's schema: `<stem><suffix>`, else with a number. */
  async #freeName(stem: string, suffix: string): Promise<string> {
    for (let i = 0; ; i++) {
      const name = fitIdentifier(stem, i === 0 ? suffix : `${suffix}${i}`);
      const taken = await this.#query(
        'naming an index',
        `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
        [this.target.schema, name],
      );
      if (taken.length === 0) return name;
    }
  }

  /** The key is unique and never null in the exported rows (else no table key can hold them). */
  async #checkKey(key: string): Promise<void> {
    const rows = await this.#query<{ nulls: string; duplicate: string | null }>(
      'checking the key',
      `SELECT (SELECT count(*) FROM ${this.#stagingSql} WHERE ${ident(key)} IS NULL) AS nulls,
              (SELECT ${ident(key)}::text FROM ${this.#stagingSql} GROUP BY ${ident(key)} HAVING count(*) > 1 LIMIT 1) AS duplicate`,
    );
    const r = rows[0];
    if (r && Number(r.nulls) > 0) {
      throw new EtlError('OUTPUT_ERROR', `The key field "${key}" is null in ${r.nulls} exported features`);
    }
    if (r && r.duplicate !== null) {
      throw new EtlError(
        'OUTPUT_ERROR',
        `The key field "${key}" is not unique: ${r.duplicate} is there more than once`,
      );
    }
  }

  /** append / upsert into the existing target. */
  async #insert(upsert: boolean, geometryColumn: string | undefined): Promise<void> {
    const staging = this.#stagingSql;
    const table = this.#table;
    const pairs = this.#plan.columns.map((c) => [ident(c.name), `s.${ident(c.name)}`] as const);
    const geometry = this.#plan.geometry;
    if (geometry && geometryColumn !== undefined) {
      pairs.push([ident(geometryColumn), `s.${ident(geometry.name)}`]);
    }
    const targets = pairs.map(([t]) => t).join(', ');
    const sources = pairs.map(([, s]) => s).join(', ');
    const order = this.#settings.durable ? ` ORDER BY s.${ident(ROW_COLUMN)}` : '';
    if (upsert) {
      const key = ident(this.#settings.key!);
      await this.#checkKey(this.#settings.key!);
      await this.#query('locking the target', `LOCK TABLE ${table} IN SHARE ROW EXCLUSIVE MODE`);
      const sets = pairs
        .filter(([t]) => t !== key)
        .map(([t, s]) => `${t} = ${s}`)
        .join(', ');
      if (sets !== '') {
        await this.#query(
          'updating the rows already there',
          `UPDATE ${table} AS t SET ${sets} FROM ${staging} AS s WHERE t.${key} = s.${key}`,
        );
      }
      await this.#query(
        'inserting the new rows',
        `INSERT INTO ${table} (${targets}) SELECT ${sources} FROM ${staging} AS s
         WHERE NOT EXISTS (SELECT 1 FROM ${table} AS t WHERE t.${key} = s.${key})${order}`,
      );
      const deletes = this.#settings.deleteKeys;
      if (deletes.length > 0) {
        await this.#query(
          'deleting the deleted rows',
          `DELETE FROM ${table} WHERE ${key} = ANY($1::bigint[])`,
          [deletes.map(String)],
        );
      }
    } else {
      await this.#query(
        'inserting the rows',
        `INSERT INTO ${table} (${targets}) SELECT ${sources} FROM ${staging} AS s${order}`,
      );
    }
    if (geometryColumn !== undefined) await this.#ensureGist(geometryColumn);
    if (!this.#temporary) await this.#query('dropping the staging table', `DROP TABLE ${staging}`);
  }

  /** A GIST index on the target's geometry column, unless one is there. */
  async #ensureGist(column: string): Promise<void> {
    const found = await this.#query(
      'looking for a GIST index',
      `SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
       WHERE i.indrelid = $1::regclass AND am.amname = 'gist' AND a.attname = $2`,
      [this.#table, column],
    );
    if (found.length > 0) return;
    await this.#raiseIndexMemory();
    const name = await this.#freeName(this.target.table, `_${column}_idx`);
    await this.#query(
      'creating the GIST index',
      `CREATE INDEX ${ident(name)} ON ${this.#table} USING gist (${ident(column)})`,
    );
  }

  /**
   * Stops. One transaction: rolled back (nothing stays). Committed pages: the staging table is
   * dropped, or kept with `keep` (for a resume). The target is never touched. Never throws.
   */
  async abort(options: { keep?: boolean } = {}): Promise<void> {
    if (!(await this.#life.startAbort())) return;
    if (this.#settings.durable && options.keep !== true && this.#db.lost() === undefined) {
      try {
        if (this.#inTransaction) await this.#db.client.query('ROLLBACK');
        this.#inTransaction = false;
        if (this.#staging !== '') await this.#db.client.query(`DROP TABLE IF EXISTS ${this.#stagingSql}`);
      } catch {
        // the connection is gone: a later run drops the staging table
      }
    }
    await this.close();
  }

  /** Ends the connection (an open transaction or COPY is rolled back by the server). Never throws. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = this.#db.client;
    if (this.#copy !== undefined || this.#inTransaction) {
      // mid-COPY or mid-transaction: cut the connection, the server rolls everything back
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      this.#copy?.destroy();
    }
    await Promise.race([client.end().catch(() => {}), new Promise((r) => setTimeout(r, 5_000).unref())]);
  }

  #guard(step: () => Promise<void>): Promise<void> {
    return this.#life.guard(step, (error) => queryError(error, 'writing', this.#db.lost()));
  }
}

interface ExistingTable {
  isTable: boolean;
  columns: ExistingColumn[];
}

function featureId(feature: PostgisFeature): string {
  return feature.id === undefined ? '(no id)' : String(feature.id);
}
