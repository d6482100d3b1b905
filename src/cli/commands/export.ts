/**
 * `arcgis-etl export <layer-url> -o <file|->`: every feature of a layer, exactly once, into a file.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import {
  type AttachmentStats,
  type ConcurrencyStats,
  checkWritableFile,
  claimOutput,
  downloadAttachments,
  EtlError,
  type ExportOptions,
  type ExportStats,
  exportLayer,
  formatForOutput,
  mergePastedQuery,
  parsePastedLayerUrl,
  parseSince,
  QUERY_FORMATS,
  type QueryFormat,
  type Runtime,
  type SyncStats,
  syncLayer,
  systemClock,
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

const STRATEGIES = ['auto', 'offset', 'ids', 'oid-range', 'server-order', 'envelope'] as const;

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
  overwrite?: boolean;
  csvExcelSafe?: boolean;
  statsJson?: string;
  state?: string;
  since?: string;
  merge?: string;
  deletes?: string;
  attachments?: string;
}

/** Which options the user gave (not defaults): a pasted URL parameter may only conflict with those. */
type GivenOption = (name: keyof ExportFlags) => boolean;

export function exportCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  runtime?: Partial<Runtime>,
): Command {
  const command = new Command('export')
    .description('export every feature of a layer to a file (or - for stdout)')
    .argument(
      '<layer-url>',
      'layer URL: …/FeatureServer/<id> or …/MapServer/<id>; a pasted …/<id>/query?where=…&outFields=…&outSR=… is honoured (other query parameters are refused)',
    )
    .requiredOption(
      '-o, --output <file>',
      'output file, or - for standard output; an existing file is refused without --overwrite',
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
      'keep a checkpoint beside the output, and continue from it if a previous run was interrupted',
    )
    .option(
      '--csv-excel-safe',
      "CSV: prefix cells starting with = + - @ tab or CR with ' so spreadsheets do not run them as formulas (changes the data; off by default)",
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
  addConnectionOptions(command);
  command.action((layerUrl: string, flags: ExportFlags, self: Command) => {
    const given: GivenOption = (name) => self.getOptionValueSource(name) === 'cli';
    run(runExport(layerUrl, flags, given, io, runtime));
  });
  return command;
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
  const syncing = flags.state !== undefined || flags.since !== undefined;
  if (!syncing && (flags.merge !== undefined || flags.deletes !== undefined)) {
    throw new EtlError('USAGE', '--merge and --deletes need --state or --since');
  }
  if (syncing && flags.resume)
    throw new EtlError('USAGE', '--state/--since cannot be combined with --resume');
  if (syncing && output === '-')
    throw new EtlError('USAGE', '--state/--since need an output file, not stdout');
  const since = flags.since === undefined ? undefined : parseSince(flags.since);
  const pasted = parsePastedLayerUrl(layerUrl);
  const query = mergePastedQuery(pasted, {
    where: given('where') ? flags.where : undefined,
    fields: splitFields(flags.fields),
    outSR: given('outSr') ? flags.outSr : undefined,
  });
  const verbosity = verbosityOf(flags);
  const print = lineWriter(io.stderr);

  // Every output is checked (and the target claimed) before any token or network call.
  const target = output === '-' ? '-' : resolve(io.cwd, output);
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
    claim = await claimOutput(target, {
      // merging into the previous output replaces it
      overwrite: flags.overwrite === true || (mergePath !== undefined && mergePath === target),
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
        io.stderr.write(`${synced ? syncLine(synced, output) : summaryLine(stats, output)}\n`);
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
    ].join(' · ') + (output === '-' ? '' : ` → ${output}`)
  );
}
