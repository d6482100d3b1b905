/**
 * `arcgis-etl export <…/FeatureServer|MapServer> -o dir/`: every layer and table into a folder,
 * one summary line per layer, one stats JSON with a row per layer. A failed layer does not stop
 * the others; the exit code and the last line name it.
 * `-o <file>.gpkg`: every layer into one GeoPackage (a table per layer), published only when every
 * layer is in; a failed layer stops the rest and leaves no file.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EtlError, isEtlError } from '../../core/errors.js';
import type { Runtime } from '../../core/time.js';
import { validateDateMode } from '../../features/dates.js';
import { validateDomainMode } from '../../features/domains.js';
import { exportService, type LayerResult } from '../../features/export-service.js';
import { checkWritableFile } from '../../features/output-claim.js';
import type { SpatialFilter } from '../../features/spatial-filter.js';
import type { WriterFormat } from '../../features/writers/types.js';
import { AuditLog } from '../audit-log.js';
import { cliEmitter, openConnection, verbosityOf } from '../connection.js';
import { type CliIo, lineWriter } from '../io.js';
import { geometryOptionsFrom } from '../spatial-flags.js';
import { type ExportFlags, statsJson, summaryLine, syncLine } from './export.js';

/** `-o x.gpkg` for a service: one GeoPackage file rather than a folder. */
export function isGeoPackageFile(output: string): boolean {
  return /\.gpkg$/i.test(output) && !/[/\\]$/.test(output);
}

export interface ServiceExportFlags extends ExportFlags {
  layers?: string;
}

export async function runServiceExport(
  serviceUrl: string,
  flags: ServiceExportFlags,
  format: WriterFormat,
  filter: SpatialFilter | undefined,
  query: { where: string | undefined; fields: readonly string[] | undefined; limit: number | undefined },
  io: CliIo,
  runtime?: Partial<Runtime>,
): Promise<number> {
  const output = flags.output ?? '-';
  if (output === '-') {
    throw new EtlError(
      'USAGE',
      'A whole service is exported into a folder or one GeoPackage: give -o <folder>/ or -o <file>.gpkg, not stdout',
    );
  }
  if (flags.layerName !== undefined || flags.appendLayer === true) {
    throw new EtlError(
      'USAGE',
      '--layer-name and --append-layer are for one layer: a service export names each table after its layer',
    );
  }
  const geopackage = format === 'gpkg' && isGeoPackageFile(output);
  if (flags.resume)
    throw new EtlError('USAGE', '--resume is for one layer: export the layer URL …/<id> to resume it');
  const syncing = flags.state !== undefined;
  if (syncing && geopackage) {
    throw new EtlError(
      'USAGE',
      '--state syncs each layer into its own file: give -o <folder>/, not one GeoPackage',
    );
  }
  if (syncing && query.limit !== undefined)
    throw new EtlError('USAGE', '--state/--since cannot be combined with --limit');
  const inlineDeletes = syncing && flags.deletes === 'inline';
  if (inlineDeletes && format !== 'geojsonseq')
    throw new EtlError('USAGE', `--deletes inline writes GeoJSONSeq outputs (got ${format})`);
  const verbosity = verbosityOf(flags);
  const print = lineWriter(io.stderr);
  const outputDir = resolve(io.cwd, output);
  const statsPath = flags.statsJson ? resolve(io.cwd, flags.statsJson) : undefined;
  if (statsPath !== undefined) await checkWritableFile(statsPath, 'the --stats-json file');
  const statePath = syncing ? resolve(io.cwd, flags.state!) : undefined;
  if (statePath !== undefined) await checkWritableFile(statePath, 'the --state file');
  const log = flags.logFile ? AuditLog.open(resolve(io.cwd, flags.logFile), print) : undefined;
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new EtlError('ABORTED', 'Interrupted (SIGINT)'));
  process.once('SIGINT', onSigint);
  try {
    const emit = cliEmitter(io, verbosity, undefined, log);
    const { connection } = await openConnection(serviceUrl, flags, io, emit, runtime);
    try {
      const line = (r: LayerResult) => {
        if (verbosity === 'quiet') return;
        const name = `layer ${r.layer.id} "${r.layer.name}"`;
        if (r.synced) io.stderr.write(`${name}: ${syncLine(r.synced, r.output)}\n`);
        else if (r.stats) io.stderr.write(`${name}: ${summaryLine(r.stats, r.output)}\n`);
        else io.stderr.write(`${name}: failed: ${errorText(r.error)}\n`);
      };
      const result = await exportService({
        client: connection.client,
        serviceUrl,
        outputDir,
        format,
        ...(geopackage ? { geopackage: outputDir } : {}),
        ...(flags.layers === undefined
          ? {}
          : { layers: flags.layers.split(',').filter((s) => s.trim() !== '') }),
        ...(query.where === undefined ? {} : { where: query.where }),
        ...(query.fields ? { fields: [...query.fields] } : {}),
        ...(query.limit === undefined ? {} : { limit: query.limit }),
        ...(filter ? { filter } : {}),
        ...(flags.domains === undefined ? {} : { domains: validateDomainMode(flags.domains)! }),
        ...(flags.dates === undefined ? {} : { dates: validateDateMode(flags.dates)! }),
        ...(flags.aliases === true ? { aliases: true } : {}),
        ...(geometryOptionsFrom(flags) ? { geometry: geometryOptionsFrom(flags)! } : {}),
        outSR: flags.outSr,
        strategy: flags.strategy as 'auto',
        queryFormat: flags.queryFormat as 'auto',
        ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
        maxConcurrency: flags.maxConcurrency,
        ...(flags.pageSize === undefined ? {} : { pageSize: flags.pageSize }),
        overwrite: flags.overwrite === true,
        csvExcelSafe: flags.csvExcelSafe === true,
        signal: interrupt.signal,
        onLayer: line,
        ...(statePath === undefined ? {} : { sync: { statePath, inlineDeletes } }),
        ...(runtime ? { runtime } : {}),
      });
      if (statsPath !== undefined) {
        const rows = result.layers.map((r) => ({
          id: r.layer.id,
          name: r.layer.name,
          type: r.layer.type,
          output: r.output,
          ...(r.stats
            ? { status: 'ok', ...statsJson(r.stats) }
            : { status: 'failed', error: errorText(r.error) }),
        }));
        const skipped = result.skipped.map((s) => ({
          id: s.layer.id,
          name: s.layer.name,
          type: s.layer.type,
          reason: s.reason,
        }));
        try {
          await writeFile(
            statsPath,
            `${JSON.stringify({ service: result.service.url, layers: rows, skipped }, null, 2)}\n`,
          );
        } catch (cause) {
          throw new EtlError('OUTPUT_ERROR', `Cannot write the --stats-json file ${statsPath}`, { cause });
        }
      }
      log?.check();
      if (result.failed.length > 0) {
        const first = result.failed[0]!.error;
        const names = result.failed.map((r) => `layer ${r.layer.id} "${r.layer.name}"`).join(', ');
        throw new EtlError(
          isEtlError(first) ? first.code : 'EXTRACTION_INCOMPLETE',
          geopackage
            ? `layer ${result.failed[0]!.layer.id} "${result.failed[0]!.layer.name}" failed, so ${outputDir} was not written (it is published only with every layer in)`
            : `${result.failed.length} of ${result.layers.length} layers failed (${names}); the others were exported${statePath === undefined ? '' : `, and the state file ${statePath} was not changed (the next run gives every layer's changes since the last complete run)`}`,
          { cause: first },
        );
      }
      return 0;
    } finally {
      await connection.close();
    }
  } finally {
    process.off('SIGINT', onSigint);
    log?.close();
  }
}

/** `[CODE] message` of an error (its message when it has no code). */
export function errorText(error: unknown): string {
  return isEtlError(error)
    ? `[${error.code}] ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);
}
