/**
 * `arcgis-etl worker`: a BullMQ worker that takes fleet jobs (a layer, an OID-range shard of one, or
 * the merge of a sharded layer's parts), exports, and publishes atomically (see publish.ts).
 *
 * - one client per server and credential, all on the fleet's Redis: the token cache (one token
 *   request per credential for the whole fleet) and the per-host request budget (leases);
 * - a killed worker's job is found stalled (its lock is not renewed) and given to another worker;
 * - failures retry with backoff a bounded number of times (set by `run --queue`); errors no retry
 *   can fix (bad credentials, a locked account, a missing layer, a usage error) fail at once.
 */

import { mkdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { EtlError, isEtlError } from '../core/errors.js';
import { FleetConnections } from './connections.js';
import { RedisHostBudget } from './host-budget.js';
import {
  DEFAULT_QUEUE_NAME,
  FLEET_PREFIX,
  type FleetJobData,
  type FleetProgress,
  type FleetResult,
  jobId,
} from './job-data.js';
import { isMergeable, mergeParts } from './merge.js';
import { Publisher, removeStaging, removeStaleStaging, stagingPath } from './publish.js';
import { connectFleetRedis, openFleetRedis } from './redis.js';
import { formatOfJob, runLayerExport } from './run-layer.js';

export interface FleetWorkerOptions {
  url: string;
  queueName?: string | undefined;
  /** Jobs at once in this process (default 1). */
  concurrency?: number | undefined;
  /** A job whose worker stops renewing its lock for this long is taken over (default 30 s). */
  lockDurationMs?: number | undefined;
  /** Requests this worker sends at once to one host, all its jobs together (adaptive up to it; default 16). */
  maxConcurrency?: number | undefined;
  /** Name shown by `status` (default host:pid). */
  name?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Each finished or failed job (for the CLI's log lines). */
  onEvent?: ((event: FleetWorkerEvent) => void) | undefined;
}

export type FleetWorkerEvent =
  | { type: 'completed'; jobId: string; output: string; features: number; published: boolean }
  | { type: 'failed'; jobId: string; reason: string; final: boolean }
  | { type: 'error'; message: string };

/** Errors no retry can fix. */
const PERMANENT: readonly string[] = [
  'USAGE',
  'INVALID_URL',
  'INSECURE_URL',
  'MISSING_CREDENTIALS',
  'BAD_CREDENTIALS',
  'ACCOUNT_LOCKED',
  'FORBIDDEN',
  'NOT_FOUND',
  'LAYER_NOT_FOUND',
  'TOKEN_URL_UNTRUSTED',
  'FOREIGN_ORIGIN',
  'STATIC_TOKEN_INVALID',
];

export interface FleetWorker {
  readonly name: string;
  /** Resolves once connected and taking jobs. */
  ready(): Promise<void>;
  /** Stops taking jobs; waits for the running ones unless `force`. */
  close(force?: boolean): Promise<void>;
}

export function startFleetWorker(options: FleetWorkerOptions): FleetWorker {
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  const lockDuration = options.lockDurationMs ?? 30_000;
  const env = options.env ?? process.env;
  const redis = openFleetRedis(options.url);
  const budget = new RedisHostBudget(redis.raw, { leaseMs: Math.max(lockDuration, 10_000) });
  const publisher = new Publisher(redis.raw, FLEET_PREFIX);
  const connections = new FleetConnections(options.url, budget, env, options.maxConcurrency);
  const emit = options.onEvent ?? (() => undefined);

  const process_ = async (job: Job<FleetJobData, FleetResult>, token?: string): Promise<FleetResult> => {
    const data = job.data;
    const attempt = token ?? 'none';
    const target = data.kind === 'shard' ? data.shard!.part : data.job.output;
    const jobKey = job.id ?? 'job';
    await mkdir(dirname(target), { recursive: true });
    await removeStaleStaging(target, jobKey);
    const earlier = await publisher.alreadyPublished(data.run, target);
    if (earlier) return { features: earlier.features, output: target, worker: name, published: false };
    const fence = {
      token: attempt,
      stillOurs: async () => token !== undefined && (await job.extendLock(token, lockDuration)) === 1,
    };
    let lastProgress = 0;
    const progress = (features: number, total: number) => {
      const now = Date.now();
      if (now - lastProgress < 500) return;
      lastProgress = now;
      const value: FleetProgress = { worker: name, features, total };
      job.updateProgress(value as unknown as object).catch(() => undefined);
    };
    await job.updateProgress({ worker: name, features: 0, total: 0 } satisfies FleetProgress);
    const staging = await stagingPath(target, jobKey);
    try {
      let features: number;
      if (data.kind === 'merge') {
        const format = formatOfJob(data.job);
        if (!isMergeable(format)) throw new EtlError('USAGE', `Shards of ${format} outputs cannot be merged`);
        // every shard's result first: a shard skipped or failed leaves the layer unmerged
        const children = await job.getChildrenValues<FleetResult>();
        try {
          features = shardTotal(data, children);
        } catch (error) {
          throw new UnrecoverableError(`${(error as EtlError).code}: ${(error as Error).message}`);
        }
        await mergeParts(format, data.parts ?? [], staging);
      } else {
        const connection = await connections.for(data.job, data.hosts, data.credentials, data.file);
        const where = data.kind === 'shard' ? data.shard!.where : undefined;
        features = (
          await runLayerExport(data.job, staging, where, { client: connection.client, onProgress: progress })
        ).features;
      }
      const published = await publisher.publish(data.run, staging, target, fence, features);
      if (data.kind === 'merge' && published) await removeParts(data.parts ?? []);
      const result: FleetResult = { features, output: target, worker: name, published };
      return result;
    } catch (error) {
      await removeStaging(staging).catch(() => undefined);
      throw classify(error);
    }
  };

  const worker = new Worker<FleetJobData, FleetResult>(queueName, process_, {
    connection: redis.bull,
    prefix: FLEET_PREFIX,
    concurrency: Math.max(1, options.concurrency ?? 1),
    lockDuration,
    stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
    maxStalledCount: 10,
    name,
    autorun: false,
  });
  worker.on('completed', (job, result) =>
    emit({
      type: 'completed',
      jobId: String(job.id),
      output: result.output,
      features: result.features,
      published: result.published,
    }),
  );
  worker.on('failed', (job, error) => {
    if (!job) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    emit({ type: 'failed', jobId: String(job.id), reason: error.message, final });
  });
  worker.on('error', (error) => emit({ type: 'error', message: error.message }));

  let started: Promise<void> | undefined;
  return {
    name,
    ready() {
      started ??= (async () => {
        await connectFleetRedis(redis);
        void worker.run().catch((error: unknown) => emit({ type: 'error', message: String(error) }));
        await worker.waitUntilReady();
      })();
      return started;
    },
    async close(force = false) {
      await worker.close(force);
      budget.close();
      await connections.close();
      await redis.close();
    },
  };
}

/**
 * The features of a sharded layer: the sum of its shards' counts, each shard's result read by its
 * job id. A shard with no result (skipped, failed, removed) fails the merge, naming the shard.
 */
export function shardTotal(data: FleetJobData, children: Record<string, FleetResult | undefined>): number {
  const byId = new Map<string, FleetResult | undefined>();
  for (const [key, result] of Object.entries(children)) byId.set(key.slice(key.lastIndexOf(':') + 1), result);
  const parts = data.parts ?? [];
  let total = 0;
  for (const [index, part] of parts.entries()) {
    const id = jobId(data.run, data.job.id, `.shard${index}`);
    const result = byId.get(id);
    if (typeof result?.features !== 'number') {
      throw new EtlError(
        'EXTRACTION_INCOMPLETE',
        `${data.job.id}: shard ${index + 1} of ${parts.length} (job ${id}, part ${part}) has no result (skipped or failed): the layer is not merged nor published`,
      );
    }
    total += result.features;
  }
  return total;
}

/** Errors no retry can fix become BullMQ's UnrecoverableError (never retried); the message keeps the code. */
function classify(error: unknown): Error {
  if (isEtlError(error)) {
    const message = `${error.code}: ${error.message}`;
    if (PERMANENT.includes(error.code)) return new UnrecoverableError(message);
    return new Error(message);
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** The parts of a merged layer, and their folder (one per run and layer). */
async function removeParts(parts: readonly string[]): Promise<void> {
  await Promise.allSettled(parts.map((part) => rm(part, { force: true })));
  const folder = parts[0] === undefined ? undefined : dirname(parts[0]);
  if (folder) await rm(folder, { recursive: true, force: true }).catch(() => undefined);
}
