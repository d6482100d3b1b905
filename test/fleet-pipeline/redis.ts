/**
 * The fleet tests' Redis, set up one way: the shared Redis (skipped loudly when unreachable, a
 * failure on CI) or a redis-server of their own on a free port (outage tests kill and restart it),
 * with a queue name and key prefix no other run uses, the fleet's clients, and one `close` that
 * removes what the tests left (jobs, run records, published markers, budget keys).
 */
import { once } from 'node:events';
import { connectFleetRedis, type FleetRedis, openFleetRedis } from '../../src/fleet/redis.js';
import { FleetQueue } from '../../src/index.js';
import {
  deleteByPrefix,
  REDIS_URL,
  rawClient,
  redisReachable,
  requireOrSkip,
  uniquePrefix,
} from '../stores/redis-helpers.js';
import { type RedisServer, redisServerInstalled, startRedisServer } from '../stores/redis-server.js';

/** True when the shared Redis answers (else a loud skip; on CI the tests run and fail). */
export async function sharedRedisUp(what: string): Promise<boolean> {
  return requireOrSkip(await redisReachable(), `${what} (Redis at ${REDIS_URL})`);
}

/** True when redis-server can be started (else a loud skip; on CI the tests run and fail). */
export function ownRedisPossible(what: string): boolean {
  return requireOrSkip(redisServerInstalled(), `${what} (redis-server binary)`);
}

export interface TestRedis {
  url: string;
  /** This file's queue. */
  queueName: string;
  /** A key prefix for budgets and the like (removed by close). */
  prefix: string;
  /** Runs enqueued (their published markers are removed by close). */
  runs: string[];
  /** Our own server (outage tests), undefined on the shared Redis. */
  server: RedisServer | undefined;
  /** The queue's coordinator client, opened on first use. */
  fleet(): Promise<FleetQueue>;
  /** `n` fleet Redis clients, connected (closed by close). */
  clients(n: number): Promise<FleetRedis[]>;
  close(): Promise<void>;
}

/** `own`: a redis-server of our own (`persistDir`: append-only there) instead of the shared one. */
export async function testRedis(label: string, own?: { persistDir?: string }): Promise<TestRedis> {
  const server = own ? await startRedisServer(own) : undefined;
  const url = server?.url ?? REDIS_URL;
  const queueName = `test-${label}-${process.pid}-${Date.now()}`;
  const prefix = uniquePrefix();
  const runs: string[] = [];
  const opened: FleetRedis[] = [];
  let fleet: Promise<FleetQueue> | undefined;
  return {
    url,
    queueName,
    prefix,
    runs,
    server,
    fleet() {
      fleet ??= new FleetQueue(url, queueName).open();
      return fleet;
    },
    async clients(n) {
      const made = Array.from({ length: n }, () => openFleetRedis(url));
      opened.push(...made);
      await Promise.all(
        made.map(async (r) => {
          await connectFleetRedis(r);
          if (!r.raw.isReady) await once(r.raw, 'ready');
        }),
      );
      return made;
    },
    async close() {
      const queue = await fleet?.catch(() => undefined);
      await Promise.all(opened.map((r) => r.close()));
      if (server) {
        await queue?.close();
        await server.kill();
        return;
      }
      await queue?.queue.obliterate({ force: true }).catch(() => undefined);
      await queue?.close();
      const client = await rawClient(url);
      try {
        await deleteByPrefix(client, prefix);
        await deleteByPrefix(client, `arcgis-etl:fleet:${queueName}:`);
        for (const run of runs) await deleteByPrefix(client, `arcgis-etl:fleet:published:${run}:`);
      } finally {
        await client.close();
      }
    },
  };
}
