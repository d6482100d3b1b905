/**
 * `run <pipeline.yaml> --queue redis://…`: the pipeline is planned here and enqueued (one job per
 * layer, shards and a merge job for a layer above --shard-size), then, unless --detach, this
 * process waits, printing each layer as it ends and a total. Exit 0 only when every layer was
 * written; the workers (`arcgis-etl worker`) do the work.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EtlError } from '../../core/errors.js';
import { DEFAULT_SHARD_SIZE } from '../../fleet/shards.js';
import type { RunStatus } from '../../fleet/status.js';
import type { Pipeline } from '../../pipeline/types.js';
import { toPositiveInt } from '../connection.js';
import { type CliIo, lineWriter } from '../io.js';
import { addQueueOptions, queueUrlOf } from './fleet-options.js';

export interface QueueRunFlags {
  queue?: string;
  queueName: string;
  detach?: boolean;
  shardSize: number;
  attempts: number;
  retryDelay: number;
  statsJson?: string;
  quiet?: boolean;
}

/** The options `run` takes for the fleet. */
export function addQueueRunOptions(command: Command): Command {
  return addQueueOptions(command, false)
    .option('--detach', 'with --queue: enqueue, print the run id and return (see `status`)')
    .option(
      '--shard-size <n>',
      'with --queue: a layer with more features is split into OID-range jobs (GeoJSON, GeoJSONSeq, CSV, GeoPackage: merged into one file; GeoParquet: a folder of part files; other formats: one job)',
      toPositiveInt,
      DEFAULT_SHARD_SIZE,
    )
    .option('--attempts <n>', 'with --queue: tries per job before it stays failed', toPositiveInt, 3)
    .option(
      '--retry-delay <ms>',
      'with --queue: first retry delay (doubles each time)',
      toPositiveInt,
      5_000,
    );
}

export async function runQueued(pipeline: Pipeline, flags: QueueRunFlags, io: CliIo): Promise<number> {
  const url = queueUrlOf(flags.queue ?? 'redis', io);
  const print = lineWriter(io.stderr);
  const { enqueuePipeline, FleetQueue, waitForRun } = await import('../../fleet/coordinator.js'); // BullMQ: on use
  const fleet = await new FleetQueue(url, flags.queueName).open();
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new EtlError('ABORTED', 'Stopped waiting (SIGINT); the jobs go on'));
  process.once('SIGINT', onSigint);
  try {
    const enqueued = await enqueuePipeline(fleet, pipeline, {
      url,
      queueName: flags.queueName,
      shardSize: flags.shardSize,
      attempts: flags.attempts,
      backoffMs: flags.retryDelay,
      env: io.env as NodeJS.ProcessEnv,
      onNotice: flags.quiet ? undefined : print,
    });
    if (!flags.quiet) {
      print(
        `run ${enqueued.run}: ${enqueued.record.layers.length} layers, ${enqueued.jobs} jobs on ${fleet.redis.displayUrl} (${flags.queueName})`,
      );
    }
    if (flags.detach) {
      io.stdout.write(`${enqueued.run}\n`);
      return 0;
    }
    const seen = new Map<string, string>();
    const status = await waitForRun(fleet, enqueued.run, {
      signal: interrupt.signal,
      onStatus: (s) => {
        for (const layer of s.layers) {
          if (layer.state !== 'done' && layer.state !== 'failed') continue;
          if (seen.get(layer.id) === layer.state) continue;
          seen.set(layer.id, layer.state);
          if (flags.quiet && layer.state === 'done') continue;
          print(
            layer.state === 'done'
              ? `done    ${layer.id}: ${layer.features} features → ${layer.output}`
              : `failed  ${layer.id}: ${layer.reason ?? 'unknown error'}`,
          );
        }
      },
    }).catch((error: unknown) => {
      if (interrupt.signal.aborted) throw interrupt.signal.reason;
      throw error;
    });
    const t = status.totals;
    if (!flags.quiet)
      print(`total: ${t.done} of ${status.layers.length} layers written, ${t.features} features`);
    if (flags.statsJson) await writeStats(resolve(io.cwd, flags.statsJson), status);
    const failed = status.layers.filter((l) => l.state === 'failed');
    if (failed.length > 0) {
      throw new EtlError(
        'EXTRACTION_INCOMPLETE',
        `${failed.length} of ${status.layers.length} layers failed (${failed.map((l) => l.id).join(', ')}): ${failed[0]?.reason ?? ''}; the others were written`,
      );
    }
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await fleet.close();
  }
}

async function writeStats(path: string, status: RunStatus): Promise<void> {
  const rows = status.layers.map((l) => ({
    id: l.id,
    url: l.url,
    output: l.output,
    state: l.state,
    features: l.features,
    attempts: l.attempts,
    ...(l.shards ? { shards: l.shards.count } : {}),
    ...(l.reason && l.state === 'failed' ? { error: l.reason } : {}),
  }));
  try {
    await writeFile(
      path,
      `${JSON.stringify({ run: status.run, pipeline: status.pipeline, layers: rows, totals: status.totals }, null, 2)}\n`,
    );
  } catch (cause) {
    throw new EtlError('OUTPUT_ERROR', `Cannot write the --stats-json file ${path}`, { cause });
  }
}
