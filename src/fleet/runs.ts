/**
 * The runs a queue holds: `${prefix}:${queue}:runs` (a sorted set by enqueue time) and one record
 * per run (`${prefix}:${queue}:run:${run}`: the pipeline and its layers with their job ids), so
 * that `status` and a waiting `run` find every job of a run in a few reads.
 */
import { FLEET_PREFIX } from './job-data.js';
import type { FleetRedisClient } from './redis.js';

export interface RunLayer {
  /** The layer's id in the pipeline. */
  id: string;
  url: string;
  output: string;
  /** The job whose end is the layer's end (the merge job of a sharded layer). */
  jobId: string;
  /** Shard jobs, in OID order (empty for a layer in one job). */
  shardIds: string[];
  /** Features counted at enqueue time (undefined when not counted). */
  count?: number | undefined;
}

export interface RunRecord {
  run: string;
  pipeline: string;
  createdAt: number;
  layers: RunLayer[];
}

/** Runs are kept this long (as are their jobs). */
export const RUN_TTL_MS = 7 * 24 * 3600_000;

function runsKey(queue: string): string {
  return `${FLEET_PREFIX}:${queue}:runs`;
}

function runKey(queue: string, run: string): string {
  return `${FLEET_PREFIX}:${queue}:run:${run}`;
}

export async function saveRun(client: FleetRedisClient, queue: string, record: RunRecord): Promise<void> {
  await client
    .multi()
    .set(runKey(queue, record.run), JSON.stringify(record), { PX: RUN_TTL_MS })
    .zAdd(runsKey(queue), { score: record.createdAt, value: record.run })
    .zRemRangeByScore(runsKey(queue), '-inf', record.createdAt - RUN_TTL_MS)
    .exec();
}

export async function readRun(
  client: FleetRedisClient,
  queue: string,
  run: string,
): Promise<RunRecord | undefined> {
  const raw = await client.get(runKey(queue, run));
  return typeof raw === 'string' ? (JSON.parse(raw) as RunRecord) : undefined;
}

/** The most recent runs first. */
export async function listRuns(client: FleetRedisClient, queue: string, limit = 20): Promise<string[]> {
  const runs = await client.zRange(runsKey(queue), 0, limit - 1, { REV: true });
  return runs.map(String);
}
