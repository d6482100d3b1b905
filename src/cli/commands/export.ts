/**
 * `arcgis-etl export <layer-url> -o <file|->`: every feature of a layer, exactly once, into a file.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { EtlError } from '../../core/errors.js';
import { type Runtime, systemClock } from '../../core/time.js';
import type { AttachmentStats } from '../../features/attachments/download.js';
import { checkValueOptions } from '../../features/dates.js';
import type { ExportStats } from '../../features/export.js';
import { checkWritableFile } from '../../features/output-claim.js';
import { QUERY_FORMATS } from '../../features/query.js';
import { isServiceUrl } from '../../features/service.js';
import type { SyncStats } from '../../features/sync/sync.js';
import { formatForOutput, WRITER_FORMATS } from '../../features/writers/formats.js';
import type { WriterFormat } from '../../features/writers/types.js';
import type { ConcurrencyStats } from '../../http/concurrency.js';
import { POSTGIS_MODES } from '../../outputs/postgis/options.js';
import {
  checkExportChoices,
  EXPORT_DEFAULTS,
  EXPORT_STRATEGIES,
  type ExportGivenOption,
  type ExportFlags as LayerExportFlags,
  layerExportPlan,
  serviceQuery,
} from '../../pipeline/export-flags.js';
import { claimLayerOutput, runLayerExport } from '../../pipeline/layer-export.js';
import { AuditLog } from '../audit-log.js';
import {
  addConnectionOptions,
  type ConnectionFlags,
  cliEmitter,
  openConnection,
  toPositiveInt,
  verbosityOf,
} from '../connection.js';
import { formatDuration, formatInt } from '../format.js';
import { type CliIo, lineWriter } from '../io.js';
import { createProgress } from '../progress.js';
import { readInput, spatialFilterFrom, trackGeometryFlags } from '../spatial-flags.js';
import { isGeoPackageFile, runServiceExport } from './export-service.js';

export interface ExportFlags extends ConnectionFlags, LayerExportFlags {}

export function exportCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  runtime?: Partial<Runtime>,
): Command {
  const command = new Command('export')
    .description(
      'export every feature of a layer (or every layer of a service) to a file, a folder, stdout (-) or PostGIS',
    )
    .argument(
      '<layer-url>',
      'layer URL: …/FeatureServer/<id> or …/MapServer/<id>; a pasted …/<id>/query?where=…&outFields=…&outSR=… is honoured (other query parameters are refused)',
    )
    .requiredOption(
      '-o, --output <file>',
      'output file, or - for standard output; an existing file is refused without --overwrite; for a service, a folder/ (a file per layer) or one .gpkg (a table per layer); or a PostGIS table: postgresql://user@host:5432/db?table=schema.name (the password from PGPASSWORD or ~/.pgpass, never the URL)',
    )
    .option(
      '-f, --format <format>',
      `${WRITER_FORMATS.join(' | ')} (default: from the file extension, else geojson; an extension we do not write is an error)`,
    )
    .option('--overwrite', 'replace the output file if it exists')
    .option('--where <sql>', 'filter (a SQL where clause)', EXPORT_DEFAULTS.where)
    .option('--fields <a,b,c>', 'fields to export (default: all)')
    .option('--out-sr <wkid>', 'output spatial reference', toPositiveInt, EXPORT_DEFAULTS.outSr)
    .option(
      '--strategy <name>',
      `paging strategy: ${EXPORT_STRATEGIES.join(' | ')}`,
      EXPORT_DEFAULTS.strategy,
    )
    .option(
      '--query-format <format>',
      `wire format of feature queries: ${QUERY_FORMATS.join(' | ')} (auto: pbf when the layer lists it, checked against json on its first page, else json)`,
      EXPORT_DEFAULTS.queryFormat,
    )
    .option(
      '--concurrency <n>',
      'pin the pages fetched at once (default: adaptive, from 4 up to what the server serves without queueing)',
      toPositiveInt,
    )
    .option(
      '--max-concurrency <n>',
      'upper bound of the adaptive concurrency',
      toPositiveInt,
      EXPORT_DEFAULTS.maxConcurrency,
    )
    .option('--page-size <n>', 'features per page (default: the layer maxRecordCount)', toPositiveInt)
    .option(
      '--resume',
      'keep a checkpoint beside the output (PostGIS: in the current folder, with the committed pages in a staging table), and continue from it if a previous run was interrupted',
    )
    .option(
      '--csv-excel-safe',
      "CSV: prefix cells starting with = + - @ tab or CR with ' so spreadsheets do not run them as formulas (changes the data; off by default)",
    )
    .option(
      '--shp-dates <how>',
      'Shapefile: Date fields as a DBF date plus a <name>_t text field with the UTC time (date), or as one ISO 8601 text field (text)',
      EXPORT_DEFAULTS.shpDates,
    )
    .option(
      '--shp-split-geometry',
      'Shapefile: features of another geometry type go to their own files (<name>_<type>.shp) instead of stopping the export',
    )
    .option(
      '--shp-split-parts',
      'Shapefile: continue in <name>_2.shp, <name>_3.shp, … when a .shp or .dbf would pass 2 GB, instead of stopping the export',
    )
    .option('--no-fgb-index', 'FlatGeobuf: write no spatial index (default: a packed Hilbert R-tree)')
    .option(
      '--layer-name <name>',
      'gpkg: the table (layer) to write (default: the output file name without its extension)',
    )
    .option(
      '--append-layer',
      'gpkg: add the layer to an existing GeoPackage (written to a copy, renamed onto it at the end); a table of that name already there is an error',
    )
    .option(
      '--parquet-compression <codec>',
      'parquet: page compression, snappy | zstd | none',
      EXPORT_DEFAULTS.parquetCompression,
    )
    .option('--stats-json <file>', 'write the run figures as JSON to this file')
    .option(
      '--state <file>',
      'incremental sync: without this file a full export that writes it; with it only the changes since (change tracking or edit tracking; PostGIS: upserted and deleted in place, in one transaction); replaced after success. A service URL with -o <folder>/: one state for every layer, each synced so, replaced only when every layer succeeded',
    )
    .option(
      '--since <iso|epoch-ms>',
      'only the features edited after this instant (server clock; needs edit tracking)',
    )
    .option(
      '--merge <previous>',
      'with --state/--since: the output is this previous full output (GeoJSON/GeoJSONSeq) with the changes applied',
    )
    .option(
      '--deletes <file|inline>',
      'with --state/--since: the deleted OIDs (CSV) (default: <output>.deletes.csv, and always so for each layer of a service); inline (GeoJSONSeq): rows with properties._op = "delete" and a null geometry after the inserts and updates (a file named inline: ./inline)',
    )
    .option(
      '--attachments <dir>',
      'also download the attachments of the exported features into <dir>/<oid>/<id>-<name>, with manifest.json (a rerun skips complete files)',
    );
  // spatial filters and --limit (h-service)
  command
    .option(
      '--bbox <minx,miny,maxx,maxy>',
      'only features intersecting this box (esriSpatialRelIntersects), in --bbox-sr',
    )
    .option('--bbox-sr <wkid>', 'spatial reference of --bbox', toPositiveInt, EXPORT_DEFAULTS.bboxSr)
    .option(
      '--geometry <file>',
      'only features intersecting this GeoJSON polygon (a file, or - for stdin); a large one is queried simplified and checked exactly here',
    )
    .option(
      '--limit <n>',
      'stop after the first n features (in the strategy order; exit 0 means exactly those n, or all if fewer)',
      toPositiveInt,
    )
    .option(
      '--domains <mode>',
      'coded-value domains: code | label | both (both adds a <field>_label column); subtype domains resolved through the subtype field',
      EXPORT_DEFAULTS.domains,
    )
    .option(
      '--dates <mode>',
      "GeoJSON/GeoJSONSeq date fields: epoch (milliseconds, the default) | iso (ISO 8601 in the layer's time zone, dateFieldsTimeReference); CSV always writes ISO 8601",
    )
    .option('--aliases', 'CSV: the field aliases as column headers (default: the field names)')
    .option(
      '--order-by <"field [ASC|DESC]">',
      'the output in the order of a field (then by OID): paged with orderByFields and checked to follow it (a server that ignores it is an error); not with --resume or --strategy',
    )
    .option('--no-geometry', 'attributes only: returnGeometry=false, every geometry null')
    .option('--precision <n>', 'decimals of x/y the server returns (geometryPrecision)', toNonNegativeInt)
    .option(
      '--max-allowable-offset <n>',
      'let the server generalise geometries within this tolerance, in output units (maxAllowableOffset)',
      toPositiveNumber,
    )
    .option(
      '--datum-transformation <wkid|json>',
      'with --out-sr: the datum transformation the server applies when projecting (datumTransformation: a wkid, or JSON such as {"wkid":1241} or {"geoTransforms":[…]}); without it, a warning when the layer and --out-sr are on different known datums',
    )
    .option(
      '--layers <ids-or-names>',
      'with a …/FeatureServer or …/MapServer URL: the layers and tables to export, by id or name (default: all; group, raster and annotation layers are skipped)',
    );
  // PostGIS outputs (h-postgis)
  command
    .option(
      '--table <schema.name>',
      'PostGIS: the table, when the URL has no ?table= (-o postgresql:// takes the server from DATABASE_URL or PGHOST, PGPORT, PGUSER, PGDATABASE)',
    )
    .option(
      '--mode <mode>',
      `PostGIS: ${POSTGIS_MODES.join(' | ')} (default create: the table must not exist; replace swaps it in one transaction; upsert updates the rows whose --key is there)`,
    )
    .option('--key <field>', 'PostGIS upsert: the key field (default: the layer OID field)');
  const geometryFlags = trackGeometryFlags(command);
  addConnectionOptions(command);
  command.action((layerUrl: string, flags: ExportFlags, self: Command) => {
    const given: ExportGivenOption = (name) => self.getOptionValueSource(name) === 'cli';
    run(runExport(layerUrl, geometryFlags(flags), given, io, runtime));
  });
  return command;
}

/**
 * The format of a whole-service export: --format, else GeoPackage for `-o <file>.gpkg` (one file,
 * a table per layer), else GeoJSON (a folder has no extension).
 */
function formatFromService(explicit: string | undefined, output: string | undefined): WriterFormat {
  return formatForOutput(output !== undefined && isGeoPackageFile(output) ? output : '-', explicit);
}

/** The output format: --format, else the file extension (see formatForOutput). */
export function formatFromPath(path: string, explicit: string | undefined): WriterFormat {
  return formatForOutput(path, explicit);
}

async function runExport(
  layerUrl: string,
  flags: ExportFlags,
  given: ExportGivenOption,
  io: CliIo,
  runtime?: Partial<Runtime>,
): Promise<number> {
  checkExportChoices(flags);
  if (isServiceUrl(layerUrl)) {
    // a whole service: every layer into a folder (h-service)
    // --state (with --deletes inline) syncs every layer: see runServiceExport
    if (flags.state !== undefined && flags.merge !== undefined) {
      throw new EtlError(
        'USAGE',
        "--merge works on one layer: a whole service synced with --state writes each layer's changes (give a layer URL …/FeatureServer/<id> to merge)",
      );
    }
    const layerOnly = (
      [
        ['--since', flags.since],
        ['--merge', flags.merge],
        ['--deletes', flags.state !== undefined && flags.deletes === 'inline' ? undefined : flags.deletes],
        ['--attachments', flags.attachments],
        ['--order-by', flags.orderBy],
      ] as const
    ).find(([, value]) => value !== undefined);
    if (layerOnly !== undefined) {
      throw new EtlError(
        'USAGE',
        `${layerOnly[0]} works on one layer: give a layer URL (…/FeatureServer/<id>), one export per layer`,
      );
    }
    const query = serviceQuery(flags, given);
    const filter = await spatialFilterFrom(flags, io);
    const serviceFormat = formatFromService(flags.format, flags.output);
    checkValueOptions(serviceFormat, flags.dates, flags.aliases);
    return runServiceExport(layerUrl, flags, serviceFormat, filter, query, io, runtime);
  }
  const verbosity = verbosityOf(flags);
  const print = lineWriter(io.stderr);
  const plan = await layerExportPlan(layerUrl, flags, given, {
    cwd: io.cwd,
    readInput: (path) => readInput(path, io),
    onNotice: (message) => print(message),
  });
  const output = flags.output ?? '-';

  // Every output is checked (and the target claimed) before any token or network call.
  if (plan.sync?.statePath !== undefined) await checkWritableFile(plan.sync.statePath, 'the --state file');
  const statsPath = flags.statsJson ? resolve(io.cwd, flags.statsJson) : undefined;
  if (statsPath !== undefined) await checkWritableFile(statsPath, 'the --stats-json file');
  // The log file is opened before the output is claimed, so that a usage error in it never holds
  // (or races another export for) the output's lock.
  const log = flags.logFile ? AuditLog.open(resolve(io.cwd, flags.logFile), print) : undefined;
  let claim: Awaited<ReturnType<typeof claimLayerOutput>>;
  try {
    claim = await claimLayerOutput(plan, runtime);
  } catch (error) {
    log?.close();
    throw error;
  }

  // Ctrl-C: the export stops, says what was written and how to go on; a second one kills.
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new EtlError('ABORTED', 'Interrupted (SIGINT)'));
  process.once('SIGINT', onSigint);
  try {
    const clock = runtime?.clock ?? systemClock;
    const progress = createProgress({
      stream: io.stderr,
      mode: verbosity === 'quiet' ? 'quiet' : 'auto',
      clock,
    });
    const emit = cliEmitter(io, verbosity, () => progress.done(), log);
    const { connection } = await openConnection(plan.layerUrl, flags, io, emit, runtime);
    try {
      const { stats, synced, attachments } = await runLayerExport(plan, {
        client: connection.client,
        claim,
        signal: interrupt.signal,
        stdout: io.stdout,
        onProgress: (p) => progress.update(p),
        runtime,
      });
      progress.done();
      if (verbosity !== 'quiet') {
        io.stderr.write(
          `${synced ? syncLine(synced, output) : summaryLine(stats, plan.postgis?.display ?? output)}\n`,
        );
        if (attachments) io.stderr.write(`${attachmentsLine(attachments)}\n`);
      }
      if (statsPath !== undefined) {
        try {
          await writeFile(statsPath, `${JSON.stringify(statsJson(stats), null, 2)}\n`);
        } catch (cause) {
          throw new EtlError('OUTPUT_ERROR', `Cannot write the --stats-json file ${statsPath}`, { cause });
        }
      }
      log?.check();
      return 0;
    } finally {
      progress.done();
      await connection.close();
    }
  } finally {
    process.off('SIGINT', onSigint);
    await claim.release();
    log?.close();
  }
}

export function statsJson(stats: ExportStats): Record<string, unknown> {
  return {
    features: stats.features,
    pages: stats.pages,
    requests: stats.requests,
    retries: stats.retries,
    tokensGenerated: stats.tokensGenerated,
    tokenRefreshes: stats.tokenRefreshes,
    strategy: stats.strategy,
    queryFormat: stats.queryFormat,
    elapsedMs: Math.round(stats.elapsedMs),
    ...(stats.limitReached ? { limitReached: true } : {}),
    ...(stats.outsideFilter > 0 ? { outsideFilter: stats.outsideFilter } : {}),
    ...(stats.concurrency ? { concurrency: concurrencyJson(stats.concurrency) } : {}),
  };
}

/** Concurrency over time (min, max, final, the changes) and the throttling seen. */
function concurrencyJson(c: ConcurrencyStats): Record<string, unknown> {
  return {
    mode: c.mode,
    initial: c.initial,
    min: c.min,
    max: c.max,
    final: c.final,
    timeline: c.timeline,
    throttling: {
      http429: c.throttled.http429,
      http503: c.throttled.http503,
      retryAfterWaits: c.retryAfterWaits,
      retryAfterMs: Math.round(c.retryAfterMs),
    },
  };
}

export function syncLine(stats: SyncStats, output: string): string {
  const what =
    stats.mode === 'full'
      ? `full export for sync (state by ${stats.state.mode === 'changes' ? 'change tracking' : 'edit tracking'})`
      : `synced by ${stats.mode === 'changes' ? 'change tracking' : 'edit tracking'}`;
  return (
    [
      what,
      `${formatInt(stats.upserts)} inserted/updated`,
      stats.deletes === undefined
        ? 'deletes unknown (no previous OIDs)'
        : `${formatInt(stats.deletes)} deleted`,
      ...(stats.merged ? [`${formatInt(stats.features)} features after merge`] : []),
      `${formatInt(stats.requests)} requests`,
      formatDuration(stats.export.elapsedMs),
    ].join(' · ') +
    ` → ${output}${stats.deletesPath ? ` (deletes: ${stats.deletesPath})` : stats.inlineDeletes ? ' (deletes inline, _op=delete)' : ''}`
  );
}

export function attachmentsLine(stats: AttachmentStats): string {
  return `attachments: ${formatInt(stats.attachments)} (${formatInt(stats.downloaded)} downloaded, ${formatInt(stats.skipped)} already complete, ${formatInt(stats.bytes)} bytes, listed by ${stats.listing}) → ${stats.manifest}`;
}

export function summaryLine(stats: ExportStats, output: string): string {
  return (
    [
      `exported ${formatInt(stats.features)} features`,
      `${formatInt(stats.pages)} pages`,
      `${formatInt(stats.requests)} requests`,
      `${formatInt(stats.retries)} retries`,
      `${formatInt(stats.tokensGenerated)} tokens generated`,
      `${formatInt(stats.tokenRefreshes)} refreshes`,
      `strategy ${stats.strategy}${stats.queryFormat ? ` (f=${stats.queryFormat})` : ''}`,
      `${formatDuration(stats.elapsedMs)}`,
      ...(stats.limitReached ? ['stopped at --limit'] : []),
    ].join(' · ') + (output === '-' ? '' : ` → ${output}`)
  );
}

function toNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new EtlError('USAGE', `expected an integer ≥ 0, got "${value}"`);
  return n;
}

function toPositiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new EtlError('USAGE', `expected a positive number, got "${value}"`);
  return n;
}
