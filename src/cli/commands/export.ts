/**
 * `arcgis-etl export <layer-url> -o <file|->`: every feature of a layer, exactly once, into a file.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import {
  type ConcurrencyStats,
  EtlError,
  type ExportStats,
  exportLayer,
  QUERY_FORMATS,
  type QueryFormat,
  type Runtime,
  systemClock,
} from '../../index.js';
import {
  addConnectionOptions,
  type ConnectionFlags,
  cliEmitter,
  openConnection,
  toPositiveInt,
  verbosityOf,
} from '../connection.js';
import { formatDuration, formatInt } from '../format.js';
import type { CliIo } from '../io.js';
import { createProgress } from '../progress.js';

const FORMATS = ['geojson', 'geojsonseq', 'csv'] as const;
const STRATEGIES = ['auto', 'offset', 'ids', 'oid-range', 'envelope'] as const;

export interface ExportFlags extends ConnectionFlags {
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
  statsJson?: string;
}

export function exportCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  runtime?: Partial<Runtime>,
): Command {
  const command = new Command('export')
    .description('export every feature of a layer to a file (or - for stdout)')
    .argument('<layer-url>', 'layer URL: …/FeatureServer/<id> or …/MapServer/<id>')
    .requiredOption('-o, --output <file>', 'output file, or - for standard output')
    .option(
      '-f, --format <format>',
      'geojson | geojsonseq | csv (default: from the file extension, else geojson)',
    )
    .option('--where <sql>', 'filter (a SQL where clause)', '1=1')
    .option('--fields <a,b,c>', 'fields to export (default: all)')
    .option('--out-sr <wkid>', 'output spatial reference', toPositiveInt, 4326)
    .option('--strategy <name>', `paging strategy: ${STRATEGIES.join(' | ')}`, 'auto')
    .option(
      '--query-format <format>',
      `wire format of feature queries: ${QUERY_FORMATS.join(' | ')} (auto: pbf when a layer without Z/M lists it, else json)`,
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
      'keep a checkpoint beside the output, and continue from it if a previous run was interrupted',
    )
    .option('--stats-json <file>', 'write the run figures as JSON to this file');
  addConnectionOptions(command);
  command.action((layerUrl: string, flags: ExportFlags) => run(runExport(layerUrl, flags, io, runtime)));
  return command;
}

export function formatFromPath(path: string, explicit: string | undefined): (typeof FORMATS)[number] {
  if (explicit !== undefined) {
    if ((FORMATS as readonly string[]).includes(explicit)) return explicit as (typeof FORMATS)[number];
    throw new EtlError('USAGE', `--format must be one of ${FORMATS.join(', ')} (got "${explicit}")`);
  }
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.(geojsonl|geojsonseq|geojsons|ndjson|jsonl)$/i.test(path)) return 'geojsonseq';
  return 'geojson';
}

async function runExport(
  layerUrl: string,
  flags: ExportFlags,
  io: CliIo,
  runtime?: Partial<Runtime>,
): Promise<number> {
  const output = flags.output ?? '-';
  const format = formatFromPath(output, flags.format);
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
  if (flags.resume && output === '-')
    throw new EtlError('USAGE', '--resume needs an output file, not stdout');
  const verbosity = verbosityOf(flags);
  const clock = runtime?.clock ?? systemClock;
  const progress = createProgress({
    stream: io.stderr,
    mode: verbosity === 'quiet' ? 'quiet' : 'auto',
    clock,
  });
  const emit = cliEmitter(io, verbosity, () => progress.done(), flags.logFile);
  const { connection } = await openConnection(layerUrl, flags, io, emit, runtime);
  try {
    const stats = await exportLayer({
      client: connection.client,
      layerUrl,
      output: output === '-' ? '-' : resolve(io.cwd, output),
      format,
      where: flags.where,
      ...(flags.fields
        ? {
            fields: flags.fields
              .split(',')
              .map((f) => f.trim())
              .filter(Boolean),
          }
        : {}),
      outSR: flags.outSr,
      strategy: flags.strategy as (typeof STRATEGIES)[number],
      queryFormat: flags.queryFormat as QueryFormat,
      ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
      maxConcurrency: flags.maxConcurrency,
      ...(flags.pageSize === undefined ? {} : { pageSize: flags.pageSize }),
      resume: flags.resume === true,
      ...(output === '-' ? { stdout: io.stdout } : {}),
      onProgress: (p) => progress.update(p),
      ...(runtime ? { runtime } : {}),
    });
    progress.done();
    if (verbosity !== 'quiet') io.stderr.write(`${summaryLine(stats, output)}\n`);
    if (flags.statsJson)
      await writeFile(resolve(io.cwd, flags.statsJson), `${JSON.stringify(statsJson(stats), null, 2)}\n`);
    return 0;
  } finally {
    progress.done();
    await connection.close();
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
    ].join(' · ') + (output === '-' ? '' : ` → ${output}`)
  );
}
