/**
 * `arcgis-etl bulk <service-url> -o <dir/|file>`: the server's own bulk export (createReplica, or
 * the portal's item export), polled until done (the token is refreshed on the way), downloaded,
 * parsed and written in our formats, every feature exactly once, nothing half-written published.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { EtlError } from '../../core/errors.js';
import type { Runtime } from '../../core/time.js';
import {
  BULK_SERVER_FORMATS,
  type BulkServerFormat,
  type BulkStats,
  type BulkVia,
  bulkExport,
} from '../../features/bulk/bulk.js';
import { formatForOutput, WRITER_FORMATS } from '../../features/writers/formats.js';
import { AuditLog } from '../audit-log.js';
import {
  addConnectionOptions,
  type ConnectionFlags,
  cliEmitter,
  openConnection,
  verbosityOf,
} from '../connection.js';
import { formatDuration, formatInt } from '../format.js';
import type { CliIo } from '../io.js';
import { lineWriter } from '../io.js';

export interface BulkFlags extends ConnectionFlags {
  output: string;
  format?: string;
  layers?: string;
  where: string;
  via: string;
  itemId?: string;
  serverFormat?: string;
  keepDownload?: boolean;
  keepExportItem?: boolean;
  overwrite?: boolean;
}

export function bulkCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  runtime?: Partial<Runtime>,
): Command {
  const command = new Command('bulk')
    .description(
      "export whole layers through the server's own bulk export job (createReplica or item export)",
    )
    .argument('<service-url>', 'FeatureServer URL: …/FeatureServer')
    .requiredOption(
      '-o, --output <dir/|file>',
      'a folder (ending with /): one file per layer, named after it; or a file, for one layer',
    )
    .option(
      '-f, --format <format>',
      `${WRITER_FORMATS.join(' | ')} (default: from the file extension, else geojson)`,
    )
    .option('--layers <ids,names>', 'layers to export, by id or name (default: every layer)')
    .option('--where <sql>', 'filter (a SQL where clause) for every layer', '1=1')
    .option(
      '--via <job>',
      'replica (createReplica on a sync-enabled service) | item (portal item export, needs --portal)',
      'replica',
    )
    .option('--item-id <id>', "the service's portal item (default: its serviceItemId)")
    .option(
      '--server-format <format>',
      `what the server produces: ${BULK_SERVER_FORMATS.join(' | ')} (default json for replicas, geojson for item exports; sqlite is kept as downloaded, unparsed)`,
    )
    .option('--keep-download', "keep the server's file beside the output")
    .option('--keep-export-item', 'do not delete the temporary export item (item exports)')
    .option('--overwrite', 'replace existing output files');
  addConnectionOptions(command);
  command.action((serviceUrl: string, flags: BulkFlags) => {
    run(runBulk(serviceUrl, flags, io, runtime));
  });
  return command;
}

async function runBulk(
  serviceUrl: string,
  flags: BulkFlags,
  io: CliIo,
  runtime?: Partial<Runtime>,
): Promise<number> {
  if (flags.via !== 'replica' && flags.via !== 'item') {
    throw new EtlError('USAGE', `--via must be replica or item (got "${flags.via}")`);
  }
  if (
    flags.serverFormat !== undefined &&
    !(BULK_SERVER_FORMATS as readonly string[]).includes(flags.serverFormat)
  ) {
    throw new EtlError(
      'USAGE',
      `--server-format must be one of ${BULK_SERVER_FORMATS.join(', ')} (got "${flags.serverFormat}")`,
    );
  }
  if (flags.output === '-')
    throw new EtlError('USAGE', 'bulk writes files: give -o <folder/> or -o <file>, not -');
  const folder = /[/\\]$/.test(flags.output);
  const output = folder ? `${resolve(io.cwd, flags.output)}/` : resolve(io.cwd, flags.output);
  const format =
    flags.format !== undefined || !folder ? formatForOutput(folder ? '' : output, flags.format) : undefined;
  const verbosity = verbosityOf(flags);
  const print = lineWriter(io.stderr);
  const log = flags.logFile ? AuditLog.open(resolve(io.cwd, flags.logFile), print) : undefined;
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new EtlError('ABORTED', 'Interrupted (SIGINT)'));
  process.once('SIGINT', onSigint);
  try {
    const emit = cliEmitter(io, verbosity, () => {}, log);
    const { connection } = await openConnection(serviceUrl, flags, io, emit, runtime);
    try {
      const stats = await bulkExport({
        client: connection.client,
        serviceUrl,
        output,
        ...(format ? { format } : {}),
        ...(flags.layers
          ? {
              layers: flags.layers
                .split(',')
                .map((l) => l.trim())
                .filter(Boolean),
            }
          : {}),
        where: flags.where,
        via: flags.via as BulkVia,
        ...(flags.itemId ? { itemId: flags.itemId } : {}),
        ...(flags.portal ? { portalUrl: flags.portal } : {}),
        ...(flags.serverFormat ? { serverFormat: flags.serverFormat as BulkServerFormat } : {}),
        keepDownload: flags.keepDownload === true,
        deleteExportItem: flags.keepExportItem !== true,
        overwrite: flags.overwrite === true,
        signal: interrupt.signal,
        ...(runtime ? { runtime } : {}),
        onPoll: (p) => {
          if (verbosity === 'verbose')
            print(`job ${p.status ?? 'running'} · poll ${p.polls} · ${formatDuration(p.elapsedMs)}`);
        },
      });
      if (verbosity !== 'quiet') {
        io.stderr.write(`${bulkSummary(stats)}\n`);
        if (stats.note) io.stderr.write(`note: ${stats.note}\n`);
      }
      log?.check();
      return 0;
    } finally {
      await connection.close();
    }
  } finally {
    process.off('SIGINT', onSigint);
    log?.close();
  }
}

export function bulkSummary(stats: BulkStats): string {
  const layers = stats.layers.map((l) => `${l.name} ${formatInt(l.features)} → ${l.output}`).join(', ');
  return [
    `bulk (${stats.via}, ${stats.serverFormat}): ${formatInt(stats.features)} features`,
    `${formatInt(stats.polls)} polls`,
    `${formatInt(stats.requests)} requests`,
    `${formatInt(stats.retries)} retries`,
    `${formatInt(stats.tokensGenerated)} tokens generated`,
    `${formatInt(stats.tokenRefreshes)} refreshes`,
    formatDuration(stats.elapsedMs),
    layers,
  ].join(' · ');
}
