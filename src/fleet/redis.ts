/**
 * The fleet's Redis connections: the official client (`@redis/client`, the one the token store
 * uses), wrapped for BullMQ with its node-redis adapter. Workers must survive an outage: the client
 * reconnects forever with a capped, jittered backoff, and commands issued while it is down wait in
 * its offline queue and go out when Redis is back (BullMQ retries what failed in between).
 */
import type * as RedisClientModule from '@redis/client';
import type * as BullMQ from 'bullmq';
import type { IRedisClient } from 'bullmq';
import { EtlError } from '../core/errors.js';
import { requireOnUse } from '../core/lazy-require.js';
import { redactUrl, registerSecret } from '../core/redact.js';
import { mathRandom, type Random } from '../core/time.js';

function makeClient(url: string, reconnectStrategy: (retries: number) => number) {
  return (requireOnUse('@redis/client') as typeof RedisClientModule).createClient({
    url,
    socket: { connectTimeout: 2_000, reconnectStrategy },
  });
}

export type FleetRedisClient = ReturnType<typeof makeClient>;

export interface FleetRedis {
  /** The raw client: budgets (leases) and published markers. */
  raw: FleetRedisClient;
  /** The same client adapted for BullMQ (Queue, Worker and FlowProducer duplicate it as they need). */
  bull: IRedisClient;
  /** The URL without credentials (safe to print). */
  displayUrl: string;
  close(): Promise<void>;
}

export interface FleetRedisOptions {
  /** Background reconnection backoff: doubling from 50 ms up to this (default 2 s). */
  reconnectMaxDelayMs?: number;
  random?: Random;
}

/** Checks a `redis://` / `rediss://` URL (USAGE otherwise) and registers its password as a secret. */
export function checkRedisUrl(input: string): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch (cause) {
    throw new EtlError('USAGE', `Not a valid Redis URL: ${redactUrl(input)}`, { cause });
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new EtlError('USAGE', `--queue takes a redis:// or rediss:// URL (got ${url.protocol})`);
  }
  registerSecret(url.password);
  try {
    registerSecret(decodeURIComponent(url.password));
  } catch {
    // not percent-encoded: registered as is above
  }
  return url;
}

export function openFleetRedis(url: string, options: FleetRedisOptions = {}): FleetRedis {
  const parsed = checkRedisUrl(url);
  const maxDelay = options.reconnectMaxDelayMs ?? 2_000;
  const random = options.random ?? mathRandom;
  const raw = makeClient(url, (retries) =>
    Math.round(Math.min(50 * 2 ** Math.min(retries, 16), maxDelay) * (0.75 + random() / 4)),
  );
  // Outages are waited out (reconnection); an unhandled 'error' event would end the process.
  raw.on('error', () => undefined);
  const bull = (requireOnUse('bullmq') as typeof BullMQ).createNodeRedisClient(raw);
  // the adapter re-emits the client's errors: with no listener of its own (no BullMQ class on it
  // yet) that would throw inside the client's emit, before the listeners after it (a budget's)
  (bull as unknown as NodeJS.EventEmitter).on('error', () => undefined);
  let closed = false;
  return {
    raw,
    bull,
    displayUrl: redactUrl(parsed),
    async close() {
      if (closed) return;
      closed = true;
      try {
        if (raw.isReady) await raw.close();
        else raw.destroy();
      } catch {
        raw.destroy();
      }
    },
  };
}

/** Connects the raw client (the BullMQ adapter connects itself when it needs to). */
export async function connectFleetRedis(redis: FleetRedis): Promise<void> {
  if (!redis.raw.isOpen) await redis.raw.connect();
}
