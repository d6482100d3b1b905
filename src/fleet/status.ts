/**
 * Where each layer of a run stands: waiting, running (which worker, features so far), done, or
 * failed (why). A sharded layer is running while any shard runs, done when its merge is done.
 */
import type { Job, Queue } from 'bullmq';
import type { FleetJobData, FleetProgress, FleetResult } from './job-data.js';
import type { RunLayer, RunRecord } from './runs.js';

export type LayerState = 'waiting' | 'running' | 'done' | 'failed';

export interface LayerStatus {
  id: string;
  url: string;
  output: string;
  state: LayerState;
  /** Workers running its jobs now. */
  workers: string[];
  features: number;
  /** Features expected (0 when not known yet). */
  total: number;
  /** Attempts made so far (all its jobs). */
  attempts: number;
  /** Why it failed (the last error; while retrying, the error being retried). */
  reason?: string | undefined;
  shards?: { done: number; count: number } | undefined;
}

export interface RunStatus {
  run: string;
  pipeline: string;
  createdAt: number;
  layers: LayerStatus[];
  totals: Record<LayerState, number> & { features: number };
  /** Every layer done or failed. */
  finished: boolean;
}

type FleetJob = Job<FleetJobData, FleetResult>;

/**
 * `finished`: layers already seen done or failed (by id), not read again (a waiting `run` polls a
 * run of 10,000 layers: each poll reads only the layers still going).
 */
export async function runStatus(
  queue: Queue<FleetJobData, FleetResult>,
  record: RunRecord,
  finished?: Map<string, LayerStatus>,
): Promise<RunStatus> {
  const layers = await Promise.all(
    record.layers.map(async (layer) => {
      const known = finished?.get(layer.id);
      if (known) return known;
      const status = await layerStatus(queue, layer);
      if (status.state === 'done' || status.state === 'failed') finished?.set(layer.id, status);
      return status;
    }),
  );
  const totals = { waiting: 0, running: 0, done: 0, failed: 0, features: 0 };
  for (const layer of layers) {
    totals[layer.state]++;
    totals.features += layer.features;
  }
  return {
    run: record.run,
    pipeline: record.pipeline,
    createdAt: record.createdAt,
    layers,
    totals,
    finished: totals.waiting + totals.running === 0,
  };
}

async function layerStatus(queue: Queue<FleetJobData, FleetResult>, layer: RunLayer): Promise<LayerStatus> {
  // The states first, then the jobs: a job read before it completed holds no result yet, and would
  // be counted done with 0 features (a run's last layer, read as the run ends).
  const ids = [...layer.shardIds, layer.jobId];
  const known = new Map(await Promise.all(ids.map(async (id) => [id, await queue.getJobState(id)] as const)));
  const main = (await queue.getJob(layer.jobId)) as FleetJob | undefined;
  const shards = (await Promise.all(layer.shardIds.map((id) => queue.getJob(id)))) as Array<
    FleetJob | undefined
  >;
  const base = { id: layer.id, url: layer.url, output: layer.output };
  if (!main) {
    return {
      ...base,
      state: 'failed',
      workers: [],
      features: 0,
      total: layer.count ?? 0,
      attempts: 0,
      reason: 'job not found (removed?)',
    };
  }
  const stateOf = (job: FleetJob) => known.get(job.id ?? '') ?? 'unknown';
  const mainState = stateOf(main);
  const jobs = [...shards.filter((j): j is FleetJob => j !== undefined), main];
  const states = jobs.map((job) => ({ job, state: stateOf(job) }));
  const workers = states
    .filter((s) => s.state === 'active')
    .map((s) => progressOf(s.job)?.worker ?? s.job.processedBy ?? '?');
  const features =
    mainState === 'completed'
      ? (main.returnvalue?.features ?? 0)
      : states.reduce((n, s) => {
          if (s.job === main && layer.shardIds.length > 0) return n;
          if (s.state === 'completed') return n + (s.job.returnvalue?.features ?? 0);
          return n + (progressOf(s.job)?.features ?? 0);
        }, 0);
  const total =
    layer.count ??
    states.reduce(
      (n, s) => (s.job === main && layer.shardIds.length > 0 ? n : n + (progressOf(s.job)?.total ?? 0)),
      0,
    );
  const attempts = jobs.reduce((n, job) => n + job.attemptsMade, 0);
  const failing = states.find((s) => s.state === 'failed' || (s.job.failedReason && s.state !== 'completed'));
  const state: LayerState =
    mainState === 'completed'
      ? 'done'
      : mainState === 'failed'
        ? 'failed'
        : states.some((s) => s.state === 'active' || s.state === 'completed')
          ? 'running'
          : 'waiting';
  return {
    ...base,
    state,
    workers,
    features,
    total,
    attempts,
    ...(failing?.job.failedReason ? { reason: reasonOf(failing.job, layer) } : {}),
    ...(layer.shardIds.length > 0
      ? {
          shards: {
            done: states.filter((s) => s.job !== main && s.state === 'completed').length,
            count: layer.shardIds.length,
          },
        }
      : {}),
  };
}

/** A job's error; a shard's names the shard (`shard 2 of 4 (job …): …`). */
function reasonOf(job: FleetJob, layer: RunLayer): string {
  const index = layer.shardIds.indexOf(job.id ?? '');
  if (index < 0) return job.failedReason;
  return `shard ${index + 1} of ${layer.shardIds.length} (job ${job.id}): ${job.failedReason}`;
}

function progressOf(job: FleetJob): FleetProgress | undefined {
  const progress = job.progress as unknown;
  return typeof progress === 'object' && progress !== null ? (progress as FleetProgress) : undefined;
}

/** One line per layer and a total (what `status` and a waiting `run` print). */
export function formatRunStatus(status: RunStatus): string[] {
  const lines = [`run ${status.run} (${status.pipeline})`];
  for (const layer of status.layers) {
    const count = layer.total > 0 ? `${layer.features}/${layer.total}` : String(layer.features);
    const shards = layer.shards ? ` shards ${layer.shards.done}/${layer.shards.count}` : '';
    const who = layer.workers.length > 0 ? ` on ${layer.workers.join(', ')}` : '';
    const why = layer.reason && layer.state !== 'done' ? ` (${layer.reason})` : '';
    lines.push(`  ${layer.state.padEnd(7)} ${layer.id}  ${count} features${shards}${who}${why}`);
  }
  const t = status.totals;
  lines.push(
    `  total: ${t.done} done, ${t.running} running, ${t.waiting} waiting, ${t.failed} failed; ${t.features} features`,
  );
  return lines;
}
