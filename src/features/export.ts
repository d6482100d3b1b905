/**
 * exportLayer: layer metadata → strategy → guarded pages → GeoJSON conversion → writer, with
 * checkpoints for resume. On any error the writer is aborted (the target file is never left
 * half-written; the partial file is kept only when resume is on) and the error is rethrown.
 */
import { basename, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import type { ArcGISClient } from '../client/arcgis-client.js';
import { EtlError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import type { SpatialReference } from '../core/protocol.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import type { ConcurrencyStats } from '../http/concurrency.js';
import type { FlatGeobufOptions } from '../outputs/fgb/options.js';
import type { PostgisOptions } from '../outputs/postgis/options.js';
import { targetFileStem } from '../outputs/postgis/target.js';
import type { ShapefileOptions } from '../outputs/shapefile/options.js';
import {
  type Checkpoint,
  checkpointMismatch,
  checkpointPath,
  deleteCheckpoint,
  type ExportIdentity,
  partialPathOf,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
import { concurrencyStats } from './concurrency.js';
import {
  checkValueOptions,
  type DateMode,
  epochDateFields,
  isoDateAttributes,
  isoDateFormatter,
  layerTimeReference,
} from './dates.js';
import { datumOf, datumWarning } from './datums.js';
import {
  type DomainMode,
  domainAttributes,
  domainFields,
  layerDomains,
  validateDomainMode,
} from './domains.js';
import { Extraction, resolveOutFields, STRATEGIES, type StrategyChoice, UNORDERED } from './extract.js';
import { createFeatureConverter, type FeatureConverter, type FeatureSchema } from './geometry/feature.js';
import { type GeometryOptions, geometryParams, validateGeometryOptions } from './geometry-options.js';
import { fetchLayerInfo, type LayerInfo } from './metadata.js';
import { claimOutput, type OutputClaim } from './output-claim.js';
import { mergePastedQuery, parsePastedLayerUrl } from './pasted-query.js';
import { QUERY_FORMATS, type QueryFormat } from './query.js';
import { filterParams, type SpatialFilter } from './spatial-filter.js';
import type { OrderBy } from './strategies/order-by.js';
import type { StrategyName } from './strategies/types.js';
import { buildWhere } from './where.js';
import { UNRESUMABLE_FORMATS } from './writers/formats.js';
import type { CreateWriterOptions, FeatureWriter, WriterCheckpoint, WriterFormat } from './writers/types.js';
import { createWriter, WRITER_FORMATS } from './writers/writer.js';

export interface ExportProgress {
  /** Features in the output so far (a resumed run counts the ones already there). */
  features: number;
  /** Pages written by this run. */
  pages: number;
  /** Features the output will hold (returnCountOnly). */
  total: number;
  elapsedMs: number;
}

export interface ExportOptions {
  client: ArcGISClient;
  /**
   * …/FeatureServer/<id> (or …/<id>/query). Query parameters pasted with it are honoured (where,
   * outFields, outSR) or refused with USAGE; one that conflicts with an option is USAGE too.
   */
  layerUrl: string;
  /** A file path, or `-` for stdout. */
  output: string;
  format: WriterFormat;
  where?: string | undefined;
  /**
   * A spatial filter (`bboxFilter`, `readGeometryFilter`): every query carries it, with every
   * strategy. One with an exact check of its own needs the output in its spatial reference.
   */
  filter?: SpatialFilter | undefined;
  /** `returnGeometry: false` (null geometries), `precision` (geometryPrecision), `maxAllowableOffset`. */
  geometry?: GeometryOptions | undefined;
  /** Coded-value domains: `code` (default), `label`, or `both` (adds `<field>_label`). */
  domains?: DomainMode | undefined;
  /**
   * GeoJSON/GeoJSONSeq dates: `epoch` milliseconds (default) or `iso` 8601 text in the layer's
   * time zone (dateFieldsTimeReference). CSV is always ISO; other formats have typed date columns.
   */
  dates?: DateMode | undefined;
  /** CSV: the fields' aliases as column headers (default: their names). */
  aliases?: boolean | undefined;
  /**
   * The output in the order of a field (`--order-by`): paged with orderByFields=<field>,<OID>,
   * checked to follow that order (else ORDER_NOT_HONOURED); not resumable.
   */
  orderBy?: OrderBy | undefined;
  fields?: string[] | undefined;
  /** Output spatial reference wkid (default 4326, as GeoJSON wants). */
  outSR?: number | undefined;
  /**
   * Write at most this many features: the first ones in the strategy's order (OID order for the
   * ordered strategies). A pasted `resultRecordCount` sets it. Default: every feature.
   */
  limit?: number | undefined;
  strategy?: StrategyChoice | undefined;
  /** Pins the pages fetched at once (default: adaptive, per host). */
  concurrency?: number | undefined;
  /** Upper bound of the adaptive concurrency (default 16). */
  maxConcurrency?: number | undefined;
  pageSize?: number | undefined;
  /** Write checkpoints, keep the partial output on failure, and continue from a matching checkpoint. */
  resume?: boolean | undefined;
  /** Replace an existing output file (default false: an existing output is refused with USAGE). */
  overwrite?: boolean | undefined;
  /**
   * The output, already checked and locked by `claimOutput` (the CLI claims it before it
   * connects). Default: claimed here, before the first request, and released at the end.
   */
  claim?: OutputClaim | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: ExportProgress) => void) | undefined;
  runtime?: Partial<Runtime> | undefined;
  /** For `output: '-'`: the stream (default process.stdout). */
  stream?: Writable | undefined;
  /** Alias of `stream`. */
  stdout?: Writable | undefined;
  /** Extra attempts for a page failing with 500 before it is split (default 2). */
  pageRetries?: number | undefined;
  /** Wire format of feature queries (default `auto`: pbf when the layer lists it and its first page agrees with json). */
  queryFormat?: QueryFormat | undefined;
  /** CSV: guard cells a spreadsheet would run as a formula with a leading `'` (default false). */
  csvExcelSafe?: boolean | undefined;
  /**
   * PostGIS (`output` is a `postgresql://` URL, format `postgis`): table, mode, upsert key. The
   * SRID is `outSR`; with `resume`, pages are committed to a staging table that a resumed run continues.
   */
  postgis?: Omit<PostgisOptions, 'srid' | 'commitEachPage'> | undefined;
  /**
   * The checkpoint file (with `resume`). Default: `<output>.checkpoint.json`; for a PostGIS output,
   * `<db>.<schema>.<table>.postgis.checkpoint.json` in the current folder.
   */
  checkpointFile?: string | undefined;
  /** Shapefile options (dates, mixed geometry, 2 GB parts, field-name notices). */
  shapefile?: ShapefileOptions | undefined;
  /** FlatGeobuf options (spatial index). */
  flatgeobuf?: FlatGeobufOptions | undefined;
  /** GeoPackage (h-gpkg): the table name (default the output file's name without extension). */
  layerName?: string | undefined;
  /** GeoPackage (h-gpkg): add the layer to an existing GeoPackage instead of refusing it. */
  appendLayer?: boolean | undefined;
  /** GeoParquet (h-gpkg): page compression (default snappy). */
  parquetCompression?: 'snappy' | 'zstd' | 'none' | undefined;
}

export interface ExportStats {
  features: number;
  pages: number;
  requests: number;
  retries: number;
  tokensGenerated: number;
  tokenRefreshes: number;
  strategy: StrategyName | undefined;
  elapsedMs: number;
  /** Whether the run continued from a checkpoint. */
  resumed: boolean;
  /** Features dropped as duplicates by the guards (extra rows, repeated OIDs). */
  duplicatesDropped: number;
  /** The wire format of the last feature queries (`json` or `pbf`; undefined when none ran). */
  queryFormat: 'json' | 'pbf' | undefined;
  /** Concurrency over time and the throttling seen, for the layer's host (shared with other runs on it). */
  concurrency: ConcurrencyStats | undefined;
  /** The export stopped at `limit` features (the first ones in the strategy's order), not at the end. */
  limitReached: boolean;
  /** Features answered for a simplified --geometry that lie outside the polygon itself (not written). */
  outsideFilter: number;
}

export async function exportLayer(options: ExportOptions): Promise<ExportStats> {
  const runtime = resolveRuntime(options.runtime);
  const startedAt = runtime.clock.now();
  const resume = options.resume === true;
  validate(options, options.output === '-');
  // a pasted …/query?where=… URL: its parameters are honoured or refused, never dropped
  const pasted = parsePastedLayerUrl(options.layerUrl);
  const query = mergePastedQuery(pasted, {
    where: options.where,
    fields: options.fields,
    outSR: options.outSR,
    limit: options.limit,
  });
  const effective: ExportOptions = {
    ...options,
    layerUrl: pasted.layerUrl,
    where: query.where,
    fields: query.fields === undefined ? undefined : [...query.fields],
    outSR: query.outSR,
    limit: query.limit,
  };
  // a PostGIS output is claimed by its writer (a lock in the database), not by a lock file
  const claim =
    options.claim ??
    // a PostGIS output is claimed by its writer (a lock in the database), not by a lock file
    (options.format === 'postgis'
      ? { path: options.output, release: async () => {} }
      : await claimOutput(options.output, {
          // --append-layer writes into an existing GeoPackage (through a copy of it)
          overwrite: options.overwrite === true || options.appendLayer === true,
          resume,
          runtime: options.runtime,
        }));
  try {
    return await exportClaimed(effective, runtime, startedAt);
  } catch (error) {
    // interrupted before any page (metadata, checkpoint): nothing was written
    throw described.has(error as object)
      ? error
      : abortedOr(error, options.signal, { features: 0, output: options.output, kept: undefined });
  } finally {
    if (options.claim === undefined) await claim.release();
  }
}

async function exportClaimed(
  options: ExportOptions,
  runtime: Runtime,
  startedAt: number,
): Promise<ExportStats> {
  const { client, signal } = options;
  const toStdout = options.output === '-';
  const resume = options.resume === true;
  const before = { ...client.stats };
  const auth = client.auth;
  const authBefore = auth ? { ...auth.stats } : undefined;

  const layer = await fetchLayerInfo(client, options.layerUrl, { signal });
  const outFields = resolveOutFields(layer, options.fields);
  const identity: ExportIdentity = {
    layerUrl: layer.url,
    where: options.where?.trim() || '1=1',
    fields: outFields === '*' ? ['*'] : outFields.split(','),
    format: options.format,
    outSR: String(options.outSR ?? 4326),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
    ...(options.csvExcelSafe === true && options.format === 'csv' ? { csvExcelSafe: true } : {}),
    ...(options.filter ? { spatialFilter: JSON.stringify(filterParams(options.filter)) } : {}),
    ...(options.geometry ? { geometry: JSON.stringify(geometryParams(options.geometry)) } : {}),
    ...(options.domains !== undefined && options.domains !== 'code' ? { domains: options.domains } : {}),
    ...(options.dates === 'iso' ? { dates: 'iso' } : {}),
    ...(options.aliases === true && options.format === 'csv' ? { aliases: true } : {}),
  };
  // the PostGIS writer (and its driver) is loaded only for a PostGIS export: an export to a file
  // does not pay its start-up
  const postgis =
    options.format === 'postgis'
      ? (await import('../outputs/postgis/writer.js')).postgisTargetOf(options.output, options.postgis)
      : undefined;
  const cpPath =
    options.checkpointFile ?? checkpointPath(postgis ? resolve(targetFileStem(postgis)) : options.output);
  const emit = (event: Parameters<ArcGISClient['emit']>[0]) => client.emit(event);
  const checkpoint = resume
    ? await verifiedCheckpoint(await usableCheckpoint(cpPath, identity), cpPath, layer, options, emit)
    : undefined;

  warnAcrossDatums(layer, options, emit);
  const { schema, convert } = withDates(
    withDomains(
      schemaFor(layer, options.fields, options.geometry?.returnGeometry !== false),
      layer,
      options.domains ?? 'code',
      emit,
    ),
    layer,
    options,
    emit,
  );
  const writerResume: WriterCheckpoint | undefined = checkpoint
    ? { bytes: checkpoint.bytes, features: checkpoint.features }
    : undefined;
  const writer: FeatureWriter = await createWriter({
    format: options.format,
    path: options.output,
    schema,
    resume: writerResume,
    csvExcelSafe: options.csvExcelSafe,
    ...(options.aliases === true ? { csvAliases: true } : {}),
    ...(postgis
      ? { postgis: { ...options.postgis, srid: options.outSR ?? 4326, commitEachPage: resume } }
      : {}),
    outSR: options.outSR ?? 4326,
    shapefile: options.shapefile,
    flatgeobuf: options.flatgeobuf,
    ...binaryFormatOptions(options),
    // a PostGIS run continues its staging table (a table name, in the checkpoint's `partial`)
    ...(checkpoint
      ? { tempPath: postgis ? checkpoint.partial : partialPathOf(options.output, checkpoint) }
      : {}),
    ...(options.stream || options.stdout ? { stream: (options.stream ?? options.stdout)! } : {}),
  });

  const extraction = new Extraction({
    client,
    layer,
    where: options.where,
    filter: options.filter,
    geometry: options.geometry,
    fields: withOrderField(options.fields, options.orderBy),
    outSR: options.outSR ?? 4326,
    strategy: options.orderBy ? 'order-by' : options.strategy,
    orderBy: options.orderBy,
    concurrency: options.concurrency,
    maxConcurrency: options.maxConcurrency,
    pageSize: options.pageSize,
    after: checkpoint?.lastOid ?? undefined,
    held: checkpoint?.features,
    pageRetries: options.pageRetries,
    queryFormat: options.queryFormat,
    requireOrdered: resume,
    signal,
    emit,
  });
  const resumedFeatures = checkpoint?.features ?? 0;
  const limit = options.limit;
  let lastOid = checkpoint?.lastOid ?? null;
  let lastCheckpoint: Checkpoint | undefined = checkpoint;
  let publishing = false;
  let limitReached = false;
  try {
    for await (const page of extraction.pages()) {
      let { features, oids } = page;
      const room = limit === undefined ? features.length : limit - writer.featuresWritten;
      if (features.length > room) {
        features = features.slice(0, room);
        oids = oids.slice(0, room);
      }
      // converted feature by feature while the page is encoded: no converted page is held
      if (features.length > 0) await writer.writePage(features, convert);
      if (page.ordered && oids.length > 0) lastOid = oids[oids.length - 1]!;
      if (resume && page.ordered) {
        const next: Checkpoint = {
          version: 1,
          ...identity,
          strategy: page.strategy,
          bytes: writer.bytesWritten,
          features: writer.featuresWritten,
          lastOid,
          ...(writer.tempPath === undefined ? {} : { partial: basename(writer.tempPath) }),
        };
        await writeCheckpoint(cpPath, next);
        lastCheckpoint = next;
      }
      options.onProgress?.({
        features: writer.featuresWritten,
        pages: page.page,
        total: Math.min(limit ?? Number.POSITIVE_INFINITY, resumedFeatures + extraction.summary.expected),
        elapsedMs: runtime.clock.now() - startedAt,
      });
      if (limit !== undefined && writer.featuresWritten >= limit) {
        limitReached = true;
        break;
      }
    }
    // The checkpoint goes before the target is published: a run killed between the two then
    // leaves a complete partial file without checkpoint (the next run starts over), never a
    // checkpoint whose partial file was already renamed away (which no resume could use).
    publishing = true;
    if (resume) await deleteCheckpoint(cpPath);
    await writer.finish();
  } catch (error) {
    // the partial file is kept only when a checkpoint says how far it goes (else nothing could resume it)
    await writer.abort({ keep: resume && !toStdout && lastCheckpoint !== undefined }).catch(() => {});
    // publishing failed (the partial file is kept): put the checkpoint back for the next try
    if (publishing && resume && lastCheckpoint) await writeCheckpoint(cpPath, lastCheckpoint).catch(() => {});
    const kept = resume && !toStdout && lastCheckpoint !== undefined;
    throw abortedOr(error, signal, {
      features: writer.featuresWritten,
      output: postgis ? postgis.display : options.output,
      kept: !kept
        ? undefined
        : postgis
          ? `the staging table ${postgis.schema}.${writer.tempPath}`
          : writer.tempPath,
    });
  }

  const after = client.stats;
  return {
    features: writer.featuresWritten,
    pages: extraction.summary.pages,
    requests: after.requests - before.requests,
    retries: after.retries - before.retries,
    tokensGenerated: auth && authBefore ? auth.stats.generated - authBefore.generated : 0,
    tokenRefreshes: auth && authBefore ? auth.stats.refreshed - authBefore.refreshed : 0,
    strategy: extraction.summary.strategy,
    elapsedMs: runtime.clock.now() - startedAt,
    resumed: checkpoint !== undefined,
    duplicatesDropped: extraction.summary.duplicatesDropped,
    queryFormat: extraction.summary.queryFormat,
    concurrency: concurrencyStats(client, layer.url),
    limitReached,
    outsideFilter: extraction.summary.outsideFilter,
  };
}

/** The options of the GeoPackage and GeoParquet writers (h-gpkg). */
function binaryFormatOptions(options: ExportOptions): Pick<CreateWriterOptions, 'gpkg' | 'parquet'> {
  const wkid = options.outSR ?? 4326;
  if (options.format === 'gpkg') {
    return { gpkg: { wkid, layerName: options.layerName, appendLayer: options.appendLayer === true } };
  }
  if (options.format === 'parquet') return { parquet: { wkid, compression: options.parquetCompression } };
  return {};
}

function validate(options: ExportOptions, toStdout: boolean): void {
  if (options.appendLayer === true && options.format !== 'gpkg') {
    throw new EtlError(
      'USAGE',
      `--append-layer adds a layer to a GeoPackage: it does not apply to ${options.format}`,
    );
  }
  if (options.appendLayer === true && options.overwrite === true) {
    throw new EtlError(
      'USAGE',
      '--append-layer and --overwrite exclude each other: add a layer, or replace the file',
    );
  }
  if (!WRITER_FORMATS.includes(options.format)) {
    throw new EtlError(
      'USAGE',
      `Unknown format ${String(options.format)} (use ${WRITER_FORMATS.join(', ')})`,
    );
  }
  if (options.strategy !== undefined && options.strategy !== 'auto' && !(options.strategy in STRATEGIES)) {
    throw new EtlError(
      'USAGE',
      `Unknown strategy ${String(options.strategy)} (use auto, ${Object.keys(STRATEGIES).join(', ')})`,
    );
  }
  if (options.queryFormat !== undefined && !QUERY_FORMATS.includes(options.queryFormat)) {
    throw new EtlError(
      'USAGE',
      `Unknown query format ${String(options.queryFormat)} (use ${QUERY_FORMATS.join(', ')})`,
    );
  }
  if (options.resume && toStdout) throw new EtlError('USAGE', 'Cannot resume an export written to stdout');
  if (options.resume && UNRESUMABLE_FORMATS.has(options.format)) {
    throw new EtlError(
      'USAGE',
      `A ${options.format} export cannot be resumed (the file is finished in one pass at the end): run it without --resume`,
    );
  }
  if (options.resume && UNORDERED.includes(options.strategy as StrategyName)) {
    throw new EtlError(
      'USAGE',
      `The ${options.strategy} strategy cannot be resumed (its output is not in OID order)`,
    );
  }
  if (options.concurrency !== undefined && !(options.concurrency >= 1)) {
    throw new EtlError('USAGE', `concurrency must be at least 1, got ${options.concurrency}`);
  }
  if (options.maxConcurrency !== undefined && !(options.maxConcurrency >= 1)) {
    throw new EtlError('USAGE', `maxConcurrency must be at least 1, got ${options.maxConcurrency}`);
  }
  if (options.limit !== undefined && !(Number.isSafeInteger(options.limit) && options.limit >= 1)) {
    throw new EtlError('USAGE', `limit must be a positive integer, got ${options.limit}`);
  }
  validateGeometryOptions(options.geometry);
  validateDomainMode(options.domains);
  checkValueOptions(options.format, options.dates, options.aliases);
  if (options.orderBy !== undefined) {
    if (options.strategy !== undefined && options.strategy !== 'auto' && options.strategy !== 'order-by') {
      throw new EtlError(
        'USAGE',
        `--order-by pages in the order of ${options.orderBy.field}: it cannot be combined with --strategy ${options.strategy}`,
      );
    }
    if (options.resume) {
      throw new EtlError(
        'USAGE',
        '--order-by cannot be resumed (its output is not in OID order): run it without --resume',
      );
    }
  } else if (options.strategy === 'order-by') {
    throw new EtlError('USAGE', 'The order-by strategy needs --order-by field [ASC|DESC]');
  }
  if (options.aliases === true && options.format !== 'csv') {
    throw new EtlError('USAGE', `--aliases names CSV columns: it does not apply to ${options.format}`);
  }
  if (options.filter?.exact && options.geometry?.returnGeometry === false) {
    throw new EtlError(
      'USAGE',
      `The ${options.filter.describe} is checked on our side against each feature's geometry: it cannot be used with --no-geometry`,
    );
  }
  if (options.filter?.exact && options.resume) {
    throw new EtlError(
      'USAGE',
      `Cannot resume an export filtered by a simplified ${options.filter.describe} (its features are checked on our side)`,
    );
  }
  if (options.filter?.exact && (options.outSR ?? 4326) !== options.filter.exactSR) {
    throw new EtlError(
      'USAGE',
      `The ${options.filter.describe} is checked on our side in wkid ${options.filter.exactSR}: export with --out-sr ${options.filter.exactSR}`,
    );
  }
  if (options.pageSize !== undefined && !(options.pageSize >= 1)) {
    throw new EtlError('USAGE', `pageSize must be at least 1, got ${options.pageSize}`);
  }
}

async function usableCheckpoint(path: string, identity: ExportIdentity): Promise<Checkpoint | undefined> {
  const checkpoint = await readCheckpoint(path);
  if (!checkpoint) return undefined;
  const mismatch = checkpointMismatch(checkpoint, identity);
  if (mismatch) {
    throw new EtlError(
      'CHECKPOINT_INVALID',
      `The checkpoint ${path} belongs to another export (${mismatch}); delete it and its .partial file, or run without resume`,
    );
  }
  return checkpoint;
}

/**
 * A checkpoint says its partial output holds every feature of the query up to its last OID. The
 * server must count as many there; if not (the pages were not what the server holds, or the data
 * changed), the checkpoint is dropped and the export starts over instead of completing a wrong file.
 */
async function verifiedCheckpoint(
  checkpoint: Checkpoint | undefined,
  path: string,
  layer: LayerInfo,
  options: ExportOptions,
  emit: Emit,
): Promise<Checkpoint | undefined> {
  if (!checkpoint || checkpoint.lastOid === null) return checkpoint;
  const where = buildWhere({
    userWhere: options.where?.trim() || undefined,
    oidField: layer.oidField,
    max: checkpoint.lastOid,
  });
  const counted = await layer.count(where, { signal: options.signal, filter: options.filter });
  if (counted === checkpoint.features) return checkpoint;
  emit({
    type: 'warning',
    message: `the checkpoint holds ${checkpoint.features} features up to OID ${checkpoint.lastOid}, but the server counts ${counted} there; starting over`,
  });
  await deleteCheckpoint(path);
  return undefined;
}

/** The fields queried: the requested ones plus the --order-by field (not written when not requested). */
function withOrderField(fields: string[] | undefined, orderBy: OrderBy | undefined): string[] | undefined {
  if (!fields || fields.length === 0 || fields.includes('*') || orderBy === undefined) return fields;
  const field = orderBy.field.toLowerCase();
  return fields.some((f) => f.trim().toLowerCase() === field) ? fields : [...fields, orderBy.field];
}

/** The converter/writer schema: the layer's fields, restricted to the requested ones. */
function schemaFor(
  layer: LayerInfo,
  fields: readonly string[] | undefined,
  withGeometry = true,
): FeatureSchema {
  const selected = resolveOutFields(layer, fields);
  const wanted = selected === '*' ? undefined : new Set((fields ?? []).map((f) => f.trim().toLowerCase()));
  return {
    oidField: layer.oidField,
    fields: wanted ? layer.fields.filter((f) => wanted.has(f.name.toLowerCase())) : layer.fields,
    geometryType: withGeometry ? layer.geometryType : undefined,
    hasZ: layer.hasZ,
    hasM: layer.hasM,
  };
}

interface AbortState {
  features: number;
  output: string;
  /** The partial output kept with its checkpoint, when there is one. */
  kept: string | undefined;
}

/** Errors already saying what was written when the export was interrupted. */
const described = new WeakSet<object>();

/** An aborted export is ABORTED, with one message saying what was written and how to go on. */
function abortedOr(error: unknown, signal: AbortSignal | undefined, state: AbortState): unknown {
  if (!signal?.aborted) return error;
  const written = `${state.features} feature${state.features === 1 ? '' : 's'}`;
  const message =
    state.output === '-'
      ? `The export was interrupted after ${written} written to standard output`
      : state.kept !== undefined
        ? `The export was interrupted: ${written} are kept in ${state.kept} with a checkpoint; run the same command again with --resume to continue`
        : `The export was interrupted after ${written}; nothing was kept (no checkpoint): run it again, with --resume to be able to continue after an interruption`;
  const aborted = new EtlError('ABORTED', message, { cause: error });
  described.add(aborted);
  return aborted;
}

/**
 * One warning when the server projects the layer's geometries to `outSR` across datums with no
 * `--datum-transformation` (datums.ts): the layer's source spatial reference, else its extent's
 * (the first whose datum is known).
 */
function warnAcrossDatums(layer: LayerInfo, options: ExportOptions, emit: Emit): void {
  if (layer.geometryType === undefined || options.geometry?.returnGeometry === false) return;
  const source = layer.raw?.sourceSpatialReference;
  const sr = [source as SpatialReference | undefined, layer.spatialReference].find(
    (s) => s !== null && typeof s === 'object' && datumOf(s) !== undefined,
  );
  const message = datumWarning(
    sr,
    options.outSR ?? 4326,
    options.geometry?.datumTransformation !== undefined,
  );
  if (message !== undefined) emit({ type: 'warning', message: `${layer.url}: ${message}` });
}

/**
 * Dates as ISO text where the output is text: GeoJSON with `dates: 'iso'`, and CSV when the layer
 * keeps its dates in a zone other than UTC (CSV writes UTC by itself). The instant never changes.
 */
function withDates(
  converted: { schema: FeatureSchema; convert: FeatureConverter },
  layer: LayerInfo,
  options: ExportOptions,
  emit: Emit,
): { schema: FeatureSchema; convert: FeatureConverter } {
  const geojson = options.format === 'geojson' || options.format === 'geojsonseq';
  if (!(geojson && options.dates === 'iso') && options.format !== 'csv') return converted;
  const names = epochDateFields(converted.schema.fields);
  if (names.length === 0) return converted;
  const reference = layerTimeReference(layer.raw, (message) => emit({ type: 'warning', message }));
  if (options.format === 'csv' && reference.kind === 'utc') return converted;
  const format = isoDateFormatter(reference);
  const { convert } = converted;
  return {
    schema: converted.schema,
    convert: (feature) =>
      convert({ ...feature, attributes: isoDateAttributes(feature.attributes ?? {}, names, format) }),
  };
}

/** Each page is written once and dropped: the GeoJSON may hold its features' own positions. */
const WRITE_ONCE = { reuseInput: true } as const;

/** The converter, with coded values written as labels (`label`) or beside them (`both`). */
function withDomains(
  schema: FeatureSchema,
  layer: LayerInfo,
  mode: DomainMode,
  emit: Emit,
): { schema: FeatureSchema; convert: FeatureConverter } {
  if (mode === 'code') return { schema, convert: createFeatureConverter(schema, WRITE_ONCE) };
  const domains = layerDomains(layer.fields, layer.raw ?? {});
  if (domains.fields.size === 0) {
    emit({
      type: 'warning',
      message: `--domains ${mode}: ${layer.url} has no coded-value domains; the values are written as they are`,
    });
    return { schema, convert: createFeatureConverter(schema, WRITE_ONCE) };
  }
  const labelled = { ...schema, fields: domainFields(schema.fields, domains, mode) };
  const convert = createFeatureConverter(labelled, WRITE_ONCE);
  return {
    schema: labelled,
    convert: (feature) =>
      convert({ ...feature, attributes: domainAttributes(feature.attributes ?? {}, domains, mode) }),
  };
}
