/**
 * `arcgis-etl export <layer-url> -o <file|->`: every feature of a layer, exactly once, into a file.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import {
  type AttachmentStats,
  type ConcurrencyStats,
  checkPostgisTarget,
  checkValueOptions,
  checkWritableFile,
  claimOutput,
  downloadAttachments,
  EtlError,
  type ExportOptions,
  type ExportStats,
  exportLayer,
  formatForOutput,
  isServiceUrl,
  mergePastedQuery,
  POSTGIS_MODES,
  type PostgisMode,
  type PostgisTarget,
  parseOrderBy,
  parsePastedLayerUrl,
  parsePostgisTarget,
  parseSince,
  QUERY_FORMATS,
  type QueryFormat,
  type Runtime,
  type SyncStats,
  syncLayer,
  systemClock,
  targetFileStem,
  UNRESUMABLE_FORMATS,
  validateDateMode,
  validateDomainMode,
  WRITER_FORMATS,
  type WriterFormat,
} from '../../index.js';
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
import {
  geometryOptionsFrom,
  type SpatialFlags,
  spatialFilterFrom,
  trackGeometryFlags,
} from '../spatial-flags.js';
import { runServiceExport } from './export-service.js';

const STRATEGIES = ['auto', 'offset', 'ids', 'oid-range', 'server-order', 'envelope'] as const;

export interface ExportFlags extends ConnectionFlags, SpatialFlags {
  limit?: number;
  layers?: string;
  domains: string;
  dates?: string;
  aliases?: boolean;
  orderBy?: string;
  output?: string;
  format?: string;
  where: string;
  fields?: string;
  outSr: number;
  strategy: string;
  queryFormat: string;
  concurrency?: number;
  maxConcurrency: number;
  pageSize?: number;
  resume?: boolean;
  overwrite?: boolean;
  csvExcelSafe?: boolean;
  layerName?: string;
  appendLayer?: boolean;
  parquetCompression: string;
  statsJson?: string;
  state?: string;
  since?: string;
  merge?: string;
  deletes?: string;
  attachments?: string;
  table?: string;
  mode?: string;
  key?: string;
  shpDates?: string;
  shpSplitGeometry?: boolean;
  shpSplitParts?: boolean;
  fgbIndex?: boolean;
}

/** Which options the user gave (not defaults): a pasted URL parameter may only conflict with those. */
type GivenOption = (name: keyof ExportFlags) => boolean;

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
      'output file, or - for standard output; an existing file is refused without --overwrite; or a PostGIS table: postgresql://user@host:5432/db?table=schema.name (the password from PGPASSWORD or ~/.pgpass, never the URL)',
    )
    .option(
      '-f, --format <format>',
      `${WRITER_FORMATS.join(' | ')} (default: from the file extension, else geojson; an extension we do not write is an error)`,
    )
    .option('--overwrite', 'replace the output file if it exists')
    .option('--where <sql>', 'filter (a SQL where clause)', '1=1')
    .option('--fields <a,b,c>', 'fields to export (default: all)')
    .option('--out-sr <wkid>', 'output spatial reference', toPositiveInt, 4326)
    .option('--strategy <name>', `paging strategy: ${STRATEGIES.join(' | ')}`, 'auto')
    .option(
      '--query-format <format>',
      `wire format of feature queries: ${QUERY_FORMATS.join(' | ')} (auto: pbf when the layer lists it, checked against json on its first page, else json)`,
      'auto',
    )
    .option(
      '--concurrency <n>',
      'pin the pages fetched at once (default: adaptive, from 4 up to what the server serves without queueing)',
      toPositiveInt,
    )
    .option('--max-concurrency <n>', 'upper bound of the adaptive concurrency', toPositiveInt, 16)
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
      'date',
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
      'parquet: page compression, snappy | zstd | none (zstd needs Node 22.15 or later)',
      'snappy',
    )
    .option('--stats-json <file>', 'write the run figures as JSON to this file')
    .option(
      '--state <file>',
      'incremental sync: without this file a full export that writes it; with it only the changes since (change tracking or edit tracking); replaced after success',
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
      '--deletes <file>',
      'with --state/--since: the deleted OIDs (CSV) (default: <output>.deletes.csv)',
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
    .option('--bbox-sr <wkid>', 'spatial reference of --bbox', toPositiveInt, 4326)
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
      'code',
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
      'with --out-sr: the datum transformation the server applies when projecting (datumTransformation: a wkid, or JSON such as {"wkid":1241} or {"geoTransforms":[…]})',
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
    const given: GivenOption = (name) => self.getOptionValueSource(name) === 'cli';
    run(runExport(layerUrl, geometryFlags(flags), given, io, runtime));
  });
  return command;
}

/** The format of a whole-service export: --format, else GeoJSON (the folder has no extension). */
function formatFromService(explicit: string | undefined): WriterFormat {
  return formatForOutput('-', explicit);
}

/** The output format: --format, else the file extension (see formatForOutput). */
export function formatFromPath(path: string, explicit: string | undefined): WriterFormat {
  return formatForOutput(path, explicit);
}

function splitFields(text: string | undefined): string[] | undefined {
  if (!text) return undefined;
  return text
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
}

async function runExport(
  layerUrl: string,
  flags: ExportFlags,
  given: GivenOption,
  io: CliIo,
  runtime?: Partial<Runtime>,
): Promise<number> {
  if (!(STRATEGIES as readonly string[]).includes(flags.strategy)) {
    throw new EtlError(
      'USAGE',
      `--strategy must be one of ${STRATEGIES.join(', ')} (got "${flags.strategy}")`,
    );
  }
  if (!(QUERY_FORMATS as readonly string[]).includes(flags.queryFormat)) {
    throw new EtlError(
      'USAGE',
      `--query-format must be one of ${QUERY_FORMATS.join(', ')} (got "${flags.queryFormat}")`,
    );
  }
  const syncing = flags.state !== undefined || flags.since !== undefined;
  if (isServiceUrl(layerUrl)) {
    // a whole service: every layer into a folder (h-service)
    const layerOnly = (
      [
        ['--state', flags.state],
        ['--since', flags.since],
        ['--merge', flags.merge],
        ['--deletes', flags.deletes],
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
    const query = {
      where: given('where') ? flags.where : undefined,
      fields: splitFields(flags.fields),
      limit: flags.limit,
    };
    const filter = await spatialFilterFrom(flags, io);
    const serviceFormat = formatFromService(flags.format);
    checkValueOptions(serviceFormat, flags.dates, flags.aliases);
    return runServiceExport(layerUrl, flags, serviceFormat, filter, query, io, runtime);
  }
  const output = flags.output ?? '-';
  const format = formatFromPath(output, flags.format);
  checkValueOptions(format, flags.dates, flags.aliases);
  if (flags.resume && output === '-')
    throw new EtlError('USAGE', '--resume needs an output file, not stdout');
  if (!syncing && (flags.merge !== undefined || flags.deletes !== undefined)) {
    throw new EtlError('USAGE', '--merge and --deletes need --state or --since');
  }
  if (syncing && flags.orderBy !== undefined)
    throw new EtlError('USAGE', '--state/--since cannot be combined with --order-by');
  if (flags.orderBy !== undefined && flags.resume)
    throw new EtlError(
      'USAGE',
      '--order-by cannot be resumed (its output is not in OID order): run it without --resume',
    );
  if (flags.orderBy !== undefined && given('strategy') && flags.strategy !== 'auto')
    throw new EtlError(
      'USAGE',
      `--order-by pages in the field's order: it cannot be combined with --strategy ${flags.strategy}`,
    );
  const orderBy = flags.orderBy === undefined ? undefined : parseOrderBy(flags.orderBy);
  if (syncing && flags.resume)
    throw new EtlError('USAGE', '--state/--since cannot be combined with --resume');
  if (syncing && output === '-')
    throw new EtlError('USAGE', '--state/--since need an output file, not stdout');
  if (
    syncing &&
    (flags.bbox !== undefined || typeof flags.geometry === 'string' || flags.limit !== undefined)
  ) {
    // a change set is not filtered the same way (a feature edited out of the area is neither an
    // update nor a delete of the filtered output): refused rather than silently wrong
    throw new EtlError('USAGE', '--state/--since cannot be combined with --bbox, --geometry or --limit');
  }
  const since = flags.since === undefined ? undefined : parseSince(flags.since);
  const postgis = format === 'postgis' ? postgisSettings(output, flags) : undefined;
  if (!postgis && (flags.table !== undefined || flags.mode !== undefined || flags.key !== undefined)) {
    throw new EtlError('USAGE', '--table, --mode and --key are for PostGIS outputs (-o postgresql://…)');
  }
  if (syncing && postgis) {
    throw new EtlError(
      'USAGE',
      '--state/--since write files: a PostGIS target is not supported with them yet',
    );
  }
  if (!['snappy', 'zstd', 'none'].includes(flags.parquetCompression)) {
    throw new EtlError(
      'USAGE',
      `--parquet-compression must be one of snappy, zstd, none (got "${flags.parquetCompression}")`,
    );
  }
  if ((flags.layerName !== undefined || flags.appendLayer === true) && format !== 'gpkg') {
    throw new EtlError('USAGE', `--layer-name and --append-layer apply to gpkg output, not ${format}`);
  }
  if (flags.appendLayer === true && flags.overwrite === true) {
    throw new EtlError(
      'USAGE',
      '--append-layer and --overwrite exclude each other: add a layer, or replace the file',
    );
  }
  if (flags.resume && UNRESUMABLE_FORMATS.has(format)) {
    throw new EtlError(
      'USAGE',
      `--resume is not available for ${format} (the file is finished in one pass at the end): run the export without it`,
    );
  }
  if (flags.shpDates !== undefined && flags.shpDates !== 'date' && flags.shpDates !== 'text') {
    throw new EtlError('USAGE', `--shp-dates must be date or text (got "${flags.shpDates}")`);
  }
  const pasted = parsePastedLayerUrl(layerUrl);
  const query = mergePastedQuery(pasted, {
    where: given('where') ? flags.where : undefined,
    fields: splitFields(flags.fields),
    outSR: given('outSr') ? flags.outSr : undefined,
    limit: flags.limit,
  });
  const filter = await spatialFilterFrom(flags, io);
  const geometry = geometryOptionsFrom(flags);
  const domains = validateDomainMode(flags.domains);
  const dates = validateDateMode(flags.dates);
  if (flags.layers !== undefined)
    throw new EtlError('USAGE', '--layers needs a service URL (…/FeatureServer or …/MapServer)');
  const verbosity = verbosityOf(flags);
  const print = lineWriter(io.stderr);

  // Every output is checked (and the target claimed) before any token or network call.
  const target = output === '-' || postgis ? output : resolve(io.cwd, output);
  const mergePath = flags.merge === undefined ? undefined : resolve(io.cwd, flags.merge);
  const statePath = flags.state === undefined ? undefined : resolve(io.cwd, flags.state);
  if (statePath !== undefined) await checkWritableFile(statePath, 'the --state file');
  const statsPath = flags.statsJson ? resolve(io.cwd, flags.statsJson) : undefined;
  if (statsPath !== undefined) await checkWritableFile(statsPath, 'the --stats-json file');
  // The log file is opened before the output is claimed, so that a usage error in it never holds
  // (or races another export for) the output's lock.
  const log = flags.logFile ? AuditLog.open(resolve(io.cwd, flags.logFile), print) : undefined;
  let claim: Awaited<ReturnType<typeof claimOutput>>;
  try {
    // a PostGIS table is checked in the database now, and locked there by the export itself
    claim = postgis
      ? await checkPostgisTarget(output, postgis.options).then(() => ({
          path: output,
          release: async () => {},
        }))
      : await claimOutput(target, {
          // merging into the previous output replaces it
          overwrite:
            flags.overwrite === true ||
            flags.appendLayer === true ||
            (mergePath !== undefined && mergePath === target),
          resume: flags.resume === true,
          runtime,
        });
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
    const { connection } = await openConnection(pasted.layerUrl, flags, io, emit, runtime);
    try {
      const exportOptions: ExportOptions = {
        client: connection.client,
        layerUrl: pasted.layerUrl,
        output: target,
        format,
        where: query.where,
        ...(filter ? { filter } : {}),
        ...(geometry ? { geometry } : {}),
        ...(domains === undefined ? {} : { domains }),
        ...(dates === undefined ? {} : { dates }),
        ...(orderBy === undefined ? {} : { orderBy }),
        ...(flags.aliases === true ? { aliases: true } : {}),
        ...(query.fields ? { fields: [...query.fields] } : {}),
        outSR: query.outSR ?? flags.outSr,
        ...(query.limit === undefined ? {} : { limit: query.limit }),
        strategy: flags.strategy as (typeof STRATEGIES)[number],
        queryFormat: flags.queryFormat as QueryFormat,
        ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
        maxConcurrency: flags.maxConcurrency,
        ...(flags.pageSize === undefined ? {} : { pageSize: flags.pageSize }),
        resume: flags.resume === true,
        overwrite: flags.overwrite === true,
        csvExcelSafe: flags.csvExcelSafe === true,
        ...(postgis
          ? {
              postgis: postgis.options,
              checkpointFile: resolve(io.cwd, `${targetFileStem(postgis.target)}.checkpoint.json`),
            }
          : {}),
        ...(flags.layerName === undefined ? {} : { layerName: flags.layerName }),
        appendLayer: flags.appendLayer === true,
        parquetCompression: flags.parquetCompression as 'snappy' | 'zstd' | 'none',
        shapefile: {
          dates: flags.shpDates === 'text' ? 'text' : 'date',
          mixedGeometry: flags.shpSplitGeometry === true ? 'split' : 'error',
          overflow: flags.shpSplitParts === true ? 'split' : 'error',
          onNotice: (message) => print(message),
        },
        flatgeobuf: { index: flags.fgbIndex !== false },
        claim,
        signal: interrupt.signal,
        ...(output === '-' ? { stdout: io.stdout } : {}),
        onProgress: (p) => progress.update(p),
        ...(runtime ? { runtime } : {}),
      };
      let stats: ExportStats;
      let synced: SyncStats | undefined;
      if (syncing) {
        synced = await syncLayer({
          ...exportOptions,
          statePath,
          since,
          merge: mergePath,
          deletesPath: flags.deletes === undefined ? undefined : resolve(io.cwd, flags.deletes),
        });
        stats = synced.export;
      } else {
        stats = await exportLayer(exportOptions);
      }
      const attachments =
        flags.attachments === undefined
          ? undefined
          : await downloadAttachments({
              client: connection.client,
              layerUrl: pasted.layerUrl,
              dir: resolve(io.cwd, flags.attachments),
              where: query.where,
              ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
              signal: interrupt.signal,
            });
      progress.done();
      if (verbosity !== 'quiet') {
        io.stderr.write(
          `${synced ? syncLine(synced, output) : summaryLine(stats, postgis?.target.display ?? output)}\n`,
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

/** PostGIS: the table, mode and key (USAGE for anything unclear, before any request). */
function postgisSettings(
  output: string,
  flags: ExportFlags,
): { target: PostgisTarget; options: { table?: string; mode: PostgisMode; key?: string } } {
  let mode = flags.mode ?? 'create';
  if (!(POSTGIS_MODES as readonly string[]).includes(mode)) {
    throw new EtlError('USAGE', `--mode must be one of ${POSTGIS_MODES.join(', ')} (got "${mode}")`);
  }
  if (flags.overwrite) {
    // --overwrite of a table is --mode replace
    if (flags.mode !== undefined && flags.mode !== 'replace') {
      throw new EtlError('USAGE', `--overwrite replaces the table: it cannot go with --mode ${flags.mode}`);
    }
    mode = 'replace';
  }
  if (flags.key !== undefined && mode !== 'upsert') throw new EtlError('USAGE', '--key is for --mode upsert');
  const target = parsePostgisTarget(output, { table: flags.table });
  return {
    target,
    options: {
      mode: mode as PostgisMode,
      ...(flags.table === undefined ? {} : { table: flags.table }),
      ...(flags.key === undefined ? {} : { key: flags.key }),
    },
  };
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
    ].join(' · ') + ` → ${output}${stats.deletesPath ? ` (deletes: ${stats.deletesPath})` : ''}`
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
