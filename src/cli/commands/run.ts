/**
 * `arcgis-etl run <pipeline.yaml>`: every layer of a pipeline file, in this process: one line per
 * layer and a total, a stats JSON with a row per layer, exit 0 only when every layer was written.
 * `--check` validates the file (schema, credentials' environment, each source's options) and
 * sends no request.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { EtlError, isEtlError } from '../../core/errors.js';
import { type Runtime, systemClock } from '../../core/time.js';
import { checkWritableFile } from '../../features/output-claim.js';
import { isServiceUrl } from '../../features/service.js';
import { checkPipelineCredentials } from '../../pipeline/credentials.js';
import { loadPipeline, pipelineError, positionOf } from '../../pipeline/load.js';
import { fillTemplate } from '../../pipeline/plan.js';
import { jobExportPlan } from '../../pipeline/run-job.js';
import { type JobResult, type LocalRunResult, runPipelineLocally } from '../../pipeline/run-local.js';
import type { Pipeline } from '../../pipeline/types.js';
import { AuditLog } from '../audit-log.js';
import { cliEmitter, toPositiveInt, verbosityOf } from '../connection.js';
import { formatDuration, formatInt } from '../format.js';
import { type CliIo, lineWriter } from '../io.js';
import { createPipelineProgress } from '../pipeline-progress.js';
import { statsJson, summaryLine, syncLine } from './export.js';
import { errorText } from './export-service.js';
import { addQueueRunOptions, type QueueRunFlags, runQueued } from './run-queue.js';

export interface RunFlags extends Partial<QueueRunFlags> {
  check?: boolean;
  statsJson?: string;
  layersAtOnce: number;
  tokenCache: string;
  timeout?: number;
  logFile?: string;
  quiet?: boolean;
  verbose?: boolean;
}

export function runCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  runtime?: Partial<Runtime>,
): Command {
  const command = new Command('run')
    .description(
      'run a pipeline file: every layer of its sources, each into its output (see the README: Pipelines)',
    )
    .argument(
      '<pipeline.yaml>',
      'the pipeline file (version 1; its JSON Schema: arcgis-etl/pipeline.schema.json)',
    )
    .option('--check', 'validate the file only (schema, credentials in the environment, options): no request')
    .option('--stats-json <file>', 'write the figures as JSON: one row per layer, and the totals')
    .option(
      '--layers-at-once <n>',
      'layers exported at once (their queries share the hosts budgets)',
      toPositiveInt,
      4,
    )
    .option(
      '--token-cache <spec>',
      'token cache: memory | file[:PATH] | redis://host:port/db | redis (= REDIS_URL)',
      'memory',
    )
    .option('--timeout <seconds>', 'give up on one request attempt after this long', toPositiveInt)
    .option('--log-file <file>', 'append every event (token refreshes, retries, …) as JSON lines, redacted')
    .option('-q, --quiet', 'print nothing but errors')
    .option('-v, --verbose', 'print every retry and cache event');
  // the fleet: --queue enqueues for `arcgis-etl worker`s instead of running here
  return addQueueRunOptions(command).action((file: string, flags: RunFlags) => {
    run(runPipelineFile(file, flags, io, runtime));
  });
}

/** Reads and validates the file (USAGE with file:line:col for anything wrong). */
export async function readPipelineFile(file: string, io: CliIo): Promise<Pipeline> {
  const path = resolve(io.cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new EtlError('USAGE', `Cannot read the pipeline file ${file} (${(cause as Error).message})`, {
      cause,
    });
  }
  const pipeline = loadPipeline(text, file);
  // relative paths are the file's folder's, wherever the run starts
  return { ...pipeline, baseDir: resolve(path, '..') };
}

/** --check: every source's options as `export` checks them (a service: as for one of its layers). */
async function checkSources(pipeline: Pipeline): Promise<void> {
  for (const source of pipeline.sources) {
    const service = isServiceUrl(source.url);
    const { layers: _layers, ...options } = source.options;
    const url = service ? `${source.url.replace(/\/+$/, '')}/0` : source.url;
    const output = fillTemplate(source.output, { service: 's', layer: 0, name: 'n', date: '2000-01-01' });
    try {
      await jobExportPlan({ url, output: resolve(pipeline.baseDir, output), options });
    } catch (error) {
      if (!isEtlError(error) || error.code !== 'USAGE') throw error;
      throw pipelineError(
        pipeline.file,
        positionOf(pipeline.positions, `/sources/${source.index}`),
        `sources[${source.index}]: ${error.message}`,
      );
    }
  }
}

async function runPipelineFile(
  file: string,
  flags: RunFlags,
  io: CliIo,
  runtime?: Partial<Runtime>,
): Promise<number> {
  const verbosity = verbosityOf(flags);
  const print = lineWriter(io.stderr);
  const pipeline = await readPipelineFile(file, io);
  checkPipelineCredentials(pipeline, io.env);
  if (flags.check) {
    await checkSources(pipeline);
    if (verbosity !== 'quiet') {
      print(
        `${file}: ok · pipeline ${pipeline.id} · ${pipeline.sources.length} sources · credentials ${Object.keys(pipeline.credentials).join(', ') || 'none'}`,
      );
    }
    return 0;
  }
  if (flags.queue !== undefined) return runQueued(pipeline, flags as RunFlags & QueueRunFlags, io);
  const statsPath = flags.statsJson ? resolve(io.cwd, flags.statsJson) : undefined;
  if (statsPath !== undefined) await checkWritableFile(statsPath, 'the --stats-json file');
  const log = flags.logFile ? AuditLog.open(resolve(io.cwd, flags.logFile), print) : undefined;
  const clock = runtime?.clock ?? systemClock;
  const progress = createPipelineProgress({
    stream: io.stderr,
    mode: verbosity === 'quiet' ? 'quiet' : 'auto',
    clock,
  });
  const emit = cliEmitter(io, verbosity, () => progress.done(), log);
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new EtlError('ABORTED', 'Interrupted (SIGINT)'));
  process.once('SIGINT', onSigint);
  try {
    const result = await runPipelineLocally({
      pipeline,
      env: io.env,
      tokenCache: flags.tokenCache === 'redis' ? (io.env.REDIS_URL ?? 'redis') : flags.tokenCache,
      layersAtOnce: flags.layersAtOnce,
      ...(flags.timeout === undefined
        ? {}
        : { transportOptions: { timeouts: { responseMs: flags.timeout * 1000 } } }),
      emit,
      ...(runtime ? { runtime } : {}),
      signal: interrupt.signal,
      onNotice: print,
      onEvent: (event) => {
        if (event.type === 'planned') progress.planned(event.jobs);
        else if (event.type === 'start') progress.start(event.job);
        else if (event.type === 'progress') progress.update(event.job, event.progress);
        else
          progress.end(
            event.result.job,
            resultLine(event.result),
            !event.result.error,
            event.result.result?.stats.features,
          );
      },
    });
    progress.done();
    if (verbosity !== 'quiet') print(totalLine(pipeline, result));
    if (statsPath !== undefined) {
      try {
        await writeFile(statsPath, `${JSON.stringify(pipelineStatsJson(pipeline, result), null, 2)}\n`);
      } catch (cause) {
        throw new EtlError('OUTPUT_ERROR', `Cannot write the --stats-json file ${statsPath}`, { cause });
      }
    }
    log?.check();
    const first = result.failed[0];
    if (first) {
      const names = result.failed.map((r) => r.job.id).join(', ');
      throw new EtlError(
        isEtlError(first.error) ? first.error.code : 'EXTRACTION_INCOMPLETE',
        `${result.failed.length} of ${result.jobs.length} layers failed (${names}): ${errorText(first.error)}; the others were written`,
        { cause: first.error },
      );
    }
    return 0;
  } finally {
    progress.done();
    process.off('SIGINT', onSigint);
    log?.close();
  }
}

function resultLine(r: JobResult): string {
  const detailed = r.result;
  if (!detailed) return `failed: ${errorText(r.error)}`;
  if (detailed.synced) return syncLine(detailed.synced, r.job.output);
  return summaryLine(detailed.stats, r.job.output);
}

function totalLine(pipeline: Pipeline, result: LocalRunResult): string {
  const written = result.results.filter((r) => r.result);
  const features = written.reduce((n, r) => n + (r.result?.stats.features ?? 0), 0);
  return [
    `pipeline ${pipeline.id}: ${formatInt(written.length)} of ${formatInt(result.jobs.length)} layers written`,
    ...(result.failed.length > 0 ? [`${formatInt(result.failed.length)} failed`] : []),
    `${formatInt(features)} features`,
    formatDuration(result.elapsedMs),
  ].join(' · ');
}

export function pipelineStatsJson(pipeline: Pipeline, result: LocalRunResult): Record<string, unknown> {
  const layers = result.results.map((r) => ({
    id: r.job.id,
    url: r.job.url,
    service: r.job.service,
    layer: r.job.layerId,
    name: r.job.name,
    output: r.job.output,
    ...(r.result
      ? { status: 'ok', ...statsJson(r.result.stats) }
      : { status: 'failed', error: errorText(r.error), elapsedMs: Math.round(r.elapsedMs) }),
  }));
  const written = result.results.filter((r) => r.result);
  const sum = (f: (s: NonNullable<JobResult['result']>['stats']) => number) =>
    written.reduce((n, r) => n + f(r.result!.stats), 0);
  return {
    pipeline: pipeline.id,
    file: pipeline.file,
    ok: result.failed.length === 0,
    layers,
    total: {
      layers: result.jobs.length,
      written: written.length,
      failed: result.failed.length,
      features: sum((s) => s.features),
      requests: sum((s) => s.requests),
      elapsedMs: Math.round(result.elapsedMs),
    },
  };
}
