/**
 * `run --queue`: enqueue a planned pipeline (one job per layer; a layer larger than the shard size
 * as OID-range shard jobs under a merge job, a BullMQ flow), then, unless detached, wait and report
 * progress until every layer is done or failed. `status` reads the same records.
 */
import { randomBytes } from 'node:crypto';
import { FlowProducer, Queue } from 'bullmq';
import { type Runtime, resolveRuntime } from '../core/time.js';
import { planPipeline } from '../pipeline/plan.js';
import type { Pipeline } from '../pipeline/types.js';
import { FleetConnections } from './connections.js';
import type { HostBudgets } from './host-budget.js';
import { RedisHostBudget } from './host-budget.js';
import {
  DEFAULT_QUEUE_NAME,
  FLEET_PREFIX,
  type FleetJobData,
  type FleetLayerJob,
  type FleetResult,
  jobId,
} from './job-data.js';
import { isMergeable } from './merge.js';
import { connectFleetRedis, type FleetRedis, openFleetRedis } from './redis.js';
import { formatOfJob } from './run-layer.js';
import { listRuns, RUN_TTL_MS, type RunLayer, type RunRecord, readRun, saveRun } from './runs.js';
import { DEFAULT_SHARD_SIZE, planShards } from './shards.js';
import { type LayerStatus, type RunStatus, runStatus } from './status.js';

/** The pipeline's per-host budgets as the fleet's limiter takes them. */
export function hostBudgetsOf(pipeline: Pipeline): HostBudgets {
  const hosts: Record<string, number> = {};
  for (const [host, budget] of Object.entries(pipeline.hosts)) hosts[host] = budget.concurrency;
  return hosts;
}

export interface EnqueueOptions {
  url: string;
  queueName?: string | undefined;
  /** Features above which a layer is split into OID-range shards (default 1,000,000). */
  shardSize?: number | undefined;
  /** Tries per job, the first included (default 3). */
  attempts?: number | undefined;
  /** First retry delay; doubles each time (default 5 s). */
  backoffMs?: number | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** A notice (a layer that is not sharded although large, …). */
  onNotice?: ((message: string) => void) | undefined;
  /** Once the pipeline is planned: its layer jobs. */
  onPlanned?: ((jobs: readonly FleetLayerJob[]) => void) | undefined;
}

export interface EnqueuedRun {
  run: string;
  record: RunRecord;
  /** Jobs added (layers, shards and merges). */
  jobs: number;
}

/** A fleet queue client (coordinator or `status`): its Redis connection and BullMQ queue. */
export class FleetQueue {
  readonly redis: FleetRedis;
  readonly queue: Queue<FleetJobData, FleetResult>;
  readonly name: string;

  constructor(url: string, queueName = DEFAULT_QUEUE_NAME) {
    this.redis = openFleetRedis(url);
    this.name = queueName;
    this.queue = new Queue<FleetJobData, FleetResult>(queueName, {
      connection: this.redis.bull,
      prefix: FLEET_PREFIX,
    });
  }

  async open(): Promise<this> {
    await connectFleetRedis(this.redis);
    await this.queue.waitUntilReady();
    return this;
  }

  /** `finished`: layers seen done or failed earlier (kept and not read again; see runStatus). */
  async status(run: string, finished?: Map<string, LayerStatus>): Promise<RunStatus | undefined> {
    const record = await readRun(this.redis.raw, this.name, run);
    return record ? runStatus(this.queue, record, finished) : undefined;
  }

  /** The most recent runs' status, newest first. */
  async statuses(limit = 10): Promise<RunStatus[]> {
    const runs = await listRuns(this.redis.raw, this.name, limit);
    const found = await Promise.all(runs.map((run) => this.status(run)));
    return found.filter((s): s is RunStatus => s !== undefined);
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.redis.close();
  }
}

export async function enqueuePipeline(
  fleet: FleetQueue,
  pipeline: Pipeline,
  options: EnqueueOptions,
  runtime: Partial<Runtime> = {},
): Promise<EnqueuedRun> {
  const { clock } = resolveRuntime(runtime);
  const createdAt = clock.now();
  const run = `${safeName(pipeline.id)}-${stamp(createdAt)}-${randomBytes(3).toString('hex')}`;
  const shardSize = options.shardSize ?? DEFAULT_SHARD_SIZE;
  const hosts = hostBudgetsOf(pipeline);
  const jobOptions = {
    attempts: Math.max(1, options.attempts ?? 3),
    backoff: { type: 'exponential', delay: options.backoffMs ?? 5_000 },
    removeOnComplete: { age: RUN_TTL_MS / 1000 },
    removeOnFail: { age: RUN_TTL_MS / 1000 },
  };
  const budget = new RedisHostBudget(fleet.redis.raw);
  const connections = new FleetConnections(options.url, budget, options.env);
  const layers: RunLayer[] = [];
  const flows = new FlowProducer({ connection: fleet.redis.bull, prefix: FLEET_PREFIX });
  flows.on('error', () => undefined);
  let added = 0;
  const clientFor = async (job: Pick<FleetLayerJob, 'url' | 'credentials'>) =>
    (await connections.for(job, hosts, pipeline.credentials, pipeline.file)).client;
  try {
    const jobs = await planPipeline(pipeline, { clientFor, now: createdAt });
    options.onPlanned?.(jobs);
    const base = { run, file: pipeline.file, hosts, credentials: pipeline.credentials };
    const plans = await mapLimited(jobs, 8, async (job) => {
      if (!isMergeable(formatOfJob(job))) return { count: undefined, shards: undefined };
      return planShards(await clientFor(job), job, run, shardSize);
    });
    for (const [index, job] of jobs.entries()) {
      const plan = plans[index]!;
      const id = jobId(run, job.id);
      if (!plan.shards) {
        if (plan.count === undefined && jobs.length > 0 && !isMergeable(formatOfJob(job))) {
          options.onNotice?.(
            `${job.id}: ${formatOfJob(job)} outputs are not sharded (one job for the layer)`,
          );
        }
        await fleet.queue.add('layer', { ...base, kind: 'layer', job }, { ...jobOptions, jobId: id });
        layers.push({
          id: job.id,
          url: job.url,
          output: job.output,
          jobId: id,
          shardIds: [],
          count: plan.count,
        });
        added++;
        continue;
      }
      const shardIds = plan.shards.map((shard) => jobId(run, job.id, `.shard${shard.index}`));
      await flows.add({
        name: 'merge',
        queueName: fleet.name,
        data: { ...base, kind: 'merge', job, parts: plan.shards.map((s) => s.part) } satisfies FleetJobData,
        opts: { ...jobOptions, jobId: id },
        children: plan.shards.map((shard, i) => ({
          name: 'shard',
          queueName: fleet.name,
          data: { ...base, kind: 'shard', job, shard } satisfies FleetJobData,
          opts: { ...jobOptions, jobId: shardIds[i]!, failParentOnFailure: true },
        })),
      });
      layers.push({ id: job.id, url: job.url, output: job.output, jobId: id, shardIds, count: plan.count });
      added += plan.shards.length + 1;
    }
  } finally {
    await flows.close();
    await connections.close();
    budget.close();
  }
  const record: RunRecord = { run, pipeline: pipeline.id, createdAt, layers };
  await saveRun(fleet.redis.raw, fleet.name, record);
  return { run, record, jobs: added };
}

export interface WaitOptions {
  /** Poll interval (default 500 ms, or 2 ms per unfinished layer when more). */
  intervalMs?: number | undefined;
  onStatus?: ((status: RunStatus) => void) | undefined;
  signal?: AbortSignal | undefined;
  runtime?: Partial<Runtime> | undefined;
}

/** Polls the run until every layer is done or failed; resolves with the last status. */
export async function waitForRun(
  fleet: FleetQueue,
  run: string,
  options: WaitOptions = {},
): Promise<RunStatus> {
  const { sleep } = resolveRuntime(options.runtime);
  const finished = new Map<string, LayerStatus>();
  for (;;) {
    const status = await fleet.status(run, finished);
    if (!status) throw new Error(`run ${run} is not in the queue`);
    options.onStatus?.(status);
    if (status.finished) return status;
    // each poll reads the unfinished layers (about 2 Redis reads each): at most ~1,000 reads a second
    const unfinished = status.totals.waiting + status.totals.running;
    await sleep(options.intervalMs ?? Math.max(500, unfinished * 2), options.signal);
  }
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40) || 'pipeline';
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', 'T');
}
