/**
 * The options of `export` (by their flag names) → what exportLayer, syncLayer and
 * downloadAttachments take. One translation, used by the `export` command for its flags and by a
 * pipeline for the options of each layer (written in the YAML by their long names): whatever
 * `export` refuses, a pipeline refuses the same way, with the same message.
 */
import { resolve } from 'node:path';
import { EtlError } from '../core/errors.js';
import { checkValueOptions, validateDateMode } from '../features/dates.js';
import { type DomainMode, validateDomainMode } from '../features/domains.js';
import type { ExportOptions } from '../features/export.js';
import { geometryFilter } from '../features/geometry-filter.js';
import { type GeometryOptions, parseDatumTransformation } from '../features/geometry-options.js';
import { mergePastedQuery, parsePastedLayerUrl } from '../features/pasted-query.js';
import { QUERY_FORMATS, type QueryFormat } from '../features/query.js';
import { bboxFilter, parseBbox, type SpatialFilter } from '../features/spatial-filter.js';
import { parseOrderBy } from '../features/strategies/order-by.js';
import { parseSince } from '../features/sync/tracking.js';
import { formatForOutput, UNRESUMABLE_FORMATS } from '../features/writers/formats.js';
import type { WriterFormat } from '../features/writers/types.js';
import { POSTGIS_MODES, type PostgisMode } from '../outputs/postgis/options.js';
import { type PostgisTarget, parsePostgisTarget, targetFileStem } from '../outputs/postgis/target.js';

export const EXPORT_STRATEGIES = ['auto', 'offset', 'ids', 'oid-range', 'server-order', 'envelope'] as const;
export type StrategyFlag = (typeof EXPORT_STRATEGIES)[number];

/** The defaults of the options that have one (the `export` flags show them in --help). */
export const EXPORT_DEFAULTS = {
  where: '1=1',
  outSr: 4326,
  strategy: 'auto',
  queryFormat: 'auto',
  maxConcurrency: 16,
  parquetCompression: 'snappy',
  bboxSr: 4326,
  domains: 'code',
  shpDates: 'date',
} as const;

export interface SpatialFlags {
  bbox?: string;
  bboxSr: number;
  /** A GeoJSON file (`-`: standard input, for the CLI). */
  geometry?: string;
  /** Attributes only (`--no-geometry`). */
  noGeometry?: boolean;
  precision?: number;
  maxAllowableOffset?: number;
  /** A wkid, or the JSON of a datum transformation (`datumTransformation`). */
  datumTransformation?: string;
}

/** The options of `export`, named as commander names its flags (camelCase of the long name). */
export interface ExportFlags extends SpatialFlags {
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

/** Which options were given (not defaults): a pasted URL parameter may only conflict with those. */
export type ExportGivenOption = (name: keyof ExportFlags) => boolean;

/** Where relative paths resolve, and how a geometry file is read (`-`: the CLI's stdin). */
export interface FlagContext {
  cwd: string;
  readInput(path: string): Promise<string>;
  /** Shapefile notices (renamed fields, …). */
  onNotice?: ((message: string) => void) | undefined;
}

/** What `export` of one layer does: exportLayer's options, and sync and attachments when asked. */
export interface LayerExportPlan {
  /** The layer URL without a pasted query. */
  layerUrl: string;
  /** `-`, an absolute file path, or the postgresql:// URL. */
  output: string;
  format: WriterFormat;
  /** The PostGIS table, when the output is one. */
  postgis?: PostgisTarget | undefined;
  /** exportLayer's options but the client, claim, signal, streams, progress and runtime. */
  options: LayerExportOptions;
  /** `--state` or `--since` was given: syncLayer, with these. */
  sync?:
    | {
        statePath?: string | undefined;
        since?: number | undefined;
        merge?: string | undefined;
        deletesPath?: string | undefined;
        /** `--deletes inline`: GeoJSONSeq rows with `_op: "delete"`. */
        inlineDeletes?: boolean | undefined;
      }
    | undefined;
  /** `--attachments <dir>` (absolute). */
  attachmentsDir?: string | undefined;
  /** The claim of the output replaces an existing one (overwrite, append or merge into itself). */
  replaces: boolean;
}

export type LayerExportOptions = Omit<
  ExportOptions,
  'client' | 'claim' | 'signal' | 'stdout' | 'stream' | 'onProgress' | 'runtime'
>;

function splitFields(text: string | undefined): string[] | undefined {
  if (!text) return undefined;
  return text
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
}

/** --strategy and --query-format are names we know (USAGE otherwise). */
export function checkExportChoices(flags: Pick<ExportFlags, 'strategy' | 'queryFormat'>): void {
  if (!(EXPORT_STRATEGIES as readonly string[]).includes(flags.strategy)) {
    throw new EtlError(
      'USAGE',
      `--strategy must be one of ${EXPORT_STRATEGIES.join(', ')} (got "${flags.strategy}")`,
    );
  }
  if (!(QUERY_FORMATS as readonly string[]).includes(flags.queryFormat)) {
    throw new EtlError(
      'USAGE',
      `--query-format must be one of ${QUERY_FORMATS.join(', ')} (got "${flags.queryFormat}")`,
    );
  }
}

/** The query options of a whole service (where only if given, fields, limit). */
export function serviceQuery(
  flags: ExportFlags,
  given: ExportGivenOption,
): { where: string | undefined; fields: readonly string[] | undefined; limit: number | undefined } {
  return {
    where: given('where') ? flags.where : undefined,
    fields: splitFields(flags.fields),
    limit: flags.limit,
  };
}

/**
 * One layer's export from the flags: every check `export` makes (USAGE, one clear line, before any
 * request), and the options it passes on.
 */
export async function layerExportPlan(
  layerUrl: string,
  flags: ExportFlags,
  given: ExportGivenOption,
  context: FlagContext,
): Promise<LayerExportPlan> {
  checkExportChoices(flags);
  const syncing = flags.state !== undefined || flags.since !== undefined;
  const output = flags.output ?? '-';
  const format = formatForOutput(output, flags.format);
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
  if (flags.deletes === 'inline' && format !== 'geojsonseq')
    throw new EtlError('USAGE', `--deletes inline writes GeoJSONSeq outputs (got ${format})`);
  if (flags.deletes === 'inline' && flags.merge !== undefined)
    throw new EtlError('USAGE', '--deletes inline does not go with --merge (a merged output has no deletes)');
  if (syncing && output === '-')
    throw new EtlError('USAGE', '--state/--since need an output file, not stdout');
  if (syncing && flags.limit !== undefined) {
    // the first n features of the layer are not a set the changes can keep up to date
    throw new EtlError('USAGE', '--state/--since cannot be combined with --limit');
  }
  const since = flags.since === undefined ? undefined : parseSince(flags.since);
  const postgis = format === 'postgis' ? postgisSettings(output, flags) : undefined;
  if (!postgis && (flags.table !== undefined || flags.mode !== undefined || flags.key !== undefined)) {
    throw new EtlError('USAGE', '--table, --mode and --key are for PostGIS outputs (-o postgresql://…)');
  }
  if (syncing && postgis && flags.key !== undefined) {
    throw new EtlError('USAGE', '--key cannot go with --state/--since: the changes are applied by the OID');
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
  const filter = await spatialFilterFrom(flags, context);
  const geometry = geometryOptionsFrom(flags);
  const domains: DomainMode | undefined = validateDomainMode(flags.domains);
  const dates = validateDateMode(flags.dates);
  if (flags.layers !== undefined) {
    throw new EtlError('USAGE', '--layers needs a service URL (…/FeatureServer or …/MapServer)');
  }
  const target = output === '-' || postgis ? output : resolve(context.cwd, output);
  const mergePath = flags.merge === undefined ? undefined : resolve(context.cwd, flags.merge);
  const onNotice = context.onNotice;
  const options: LayerExportOptions = {
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
    strategy: flags.strategy as StrategyFlag,
    queryFormat: flags.queryFormat as QueryFormat,
    ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
    // only when given: else the transport's own bound holds (a fleet worker's --max-concurrency)
    ...(given('maxConcurrency') ? { maxConcurrency: flags.maxConcurrency } : {}),
    ...(flags.pageSize === undefined ? {} : { pageSize: flags.pageSize }),
    resume: flags.resume === true,
    overwrite: flags.overwrite === true,
    csvExcelSafe: flags.csvExcelSafe === true,
    ...(postgis
      ? {
          postgis: postgis.options,
          checkpointFile: resolve(context.cwd, `${targetFileStem(postgis.target)}.checkpoint.json`),
        }
      : {}),
    ...(flags.layerName === undefined ? {} : { layerName: flags.layerName }),
    appendLayer: flags.appendLayer === true,
    parquetCompression: flags.parquetCompression as 'snappy' | 'zstd' | 'none',
    shapefile: {
      dates: flags.shpDates === 'text' ? 'text' : 'date',
      mixedGeometry: flags.shpSplitGeometry === true ? 'split' : 'error',
      overflow: flags.shpSplitParts === true ? 'split' : 'error',
      ...(onNotice ? { onNotice } : {}),
    },
    flatgeobuf: { index: flags.fgbIndex !== false },
  };
  return {
    layerUrl: pasted.layerUrl,
    output: target,
    format,
    ...(postgis ? { postgis: postgis.target } : {}),
    options,
    ...(syncing
      ? {
          sync: {
            statePath: flags.state === undefined ? undefined : resolve(context.cwd, flags.state),
            since,
            merge: mergePath,
            deletesPath:
              flags.deletes === undefined || flags.deletes === 'inline'
                ? undefined
                : resolve(context.cwd, flags.deletes),
            inlineDeletes: flags.deletes === 'inline',
          },
        }
      : {}),
    ...(flags.attachments === undefined ? {} : { attachmentsDir: resolve(context.cwd, flags.attachments) }),
    // merging into the previous output replaces it
    replaces:
      flags.overwrite === true ||
      flags.appendLayer === true ||
      (mergePath !== undefined && mergePath === target),
  };
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

/**
 * --no-geometry, --precision, --max-allowable-offset, --datum-transformation as GeometryOptions
 * (undefined: none given).
 */
export function geometryOptionsFrom(flags: SpatialFlags): GeometryOptions | undefined {
  const none = flags.noGeometry === true;
  if (
    none &&
    (flags.precision !== undefined ||
      flags.maxAllowableOffset !== undefined ||
      flags.datumTransformation !== undefined)
  ) {
    throw new EtlError(
      'USAGE',
      '--no-geometry cannot be used with --precision, --max-allowable-offset or --datum-transformation',
    );
  }
  const options: GeometryOptions = {
    ...(none ? { returnGeometry: false } : {}),
    ...(flags.precision === undefined ? {} : { precision: flags.precision }),
    ...(flags.maxAllowableOffset === undefined ? {} : { maxAllowableOffset: flags.maxAllowableOffset }),
    ...(flags.datumTransformation === undefined
      ? {}
      : { datumTransformation: parseDatumTransformation(flags.datumTransformation) }),
  };
  return Object.keys(options).length === 0 ? undefined : options;
}

/** The filter the flags ask for (undefined for none); USAGE with one clear line for bad input. */
export async function spatialFilterFrom(
  flags: SpatialFlags,
  context: Pick<FlagContext, 'cwd' | 'readInput'>,
): Promise<SpatialFilter | undefined> {
  if (flags.bbox !== undefined && flags.geometry !== undefined) {
    throw new EtlError('USAGE', '--bbox and --geometry cannot be used together (give one spatial filter)');
  }
  if (flags.bbox !== undefined) return bboxFilter(parseBbox(flags.bbox), flags.bboxSr);
  if (flags.geometry === undefined) return undefined;
  const source = flags.geometry === '-' ? 'standard input' : flags.geometry;
  let text: string;
  try {
    text = await context.readInput(flags.geometry === '-' ? '-' : resolve(context.cwd, flags.geometry));
  } catch (cause) {
    throw new EtlError('USAGE', `--geometry: cannot read ${source} (${(cause as Error).message})`, { cause });
  }
  return geometryFilter(text, source);
}
