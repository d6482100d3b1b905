/**
 * The per-host request budget, fleet-wide: a counting semaphore in Redis made of leases that expire.
 *
 * - `${prefix}budget:${origin}` is a sorted set: one member per request in flight anywhere in the
 *   fleet, scored with the time its lease runs out (Redis's own clock, so machines need not agree);
 * - acquire (one Lua script): drop expired leases, and add ours if fewer than `limit` remain;
 *   otherwise the caller waits (5 ms doubling to 100 ms, jittered) and tries again;
 * - release: ZREM. A process that dies holding leases loses them when they expire (`leaseMs`);
 *   the holders that live renew theirs every `leaseMs / 3`, so a long download keeps its slot;
 * - an outage: no lease is taken while Redis is away, and none after it until this process has
 *   rechecked: on reconnection it first sets a short fleet-wide barrier (`${prefix}budget-recheck`,
 *   `recheckMs`: longer than any worker takes to reconnect, so every holder has rechecked by its
 *   end), then puts back every lease it still holds (a restarted Redis may have lost them, or they
 *   ran out meanwhile: the requests they cover are still in flight). While the barrier stands no
 *   worker takes a new lease; a lease granted across an outage is given back and taken again.
 *   So the budget holds fleet-wide after an outage too (a worker started in the first instants
 *   after Redis returns, before any holder reconnected, is the one case it cannot see).
 */
import { randomBytes } from 'node:crypto';
import { EtlError } from '../core/errors.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import { hostBudget } from '../pipeline/connections.js';
import type { FleetRedisClient } from './redis.js';

const ACQUIRE = `if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
  return 1
end
return 0`;

const RENEW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local kept = 0
for i = 2, #ARGV do
  kept = kept + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return kept`;

/** After an outage: the leases this process holds, put back whether Redis still had them or not. */
const RESTORE = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return #ARGV - 1`;

export interface HostBudgetOptions {
  /** Key prefix (default `arcgis-etl:`). */
  prefix?: string;
  /** A lease runs out this long after it was taken or renewed (default 60 s). */
  leaseMs?: number;
  /** Poll delays while the budget is full. */
  pollMinMs?: number;
  pollMaxMs?: number;
  /**
   * After a reconnection, no new lease fleet-wide for this long: more than the longest reconnection
   * delay of the workers' clients (default 3 s; theirs is at most 2 s).
   */
  recheckMs?: number;
  runtime?: Partial<Runtime>;
}

export interface HostBudgetStats {
  acquired: number;
  /** Acquire attempts that found the budget full. */
  busy: number;
  /** Redis commands sent (acquire attempts, releases, renewals, rechecks). */
  commands: number;
  /** Rechecks after a reconnection (leases put back, barrier set). */
  rechecks: number;
  /** Leases granted across an outage, given back and taken again. */
  retaken: number;
}

/** Concurrency budgets by host: `{ "*": 8, "gis.example.com": 4 }` (the most specific wins). */
export type HostBudgets = Readonly<Record<string, number>>;

/** The pipeline's lookup (`hostBudget`: host:port, then name, then `*`) over the fleet's numbers. */
export function budgetFor(budgets: HostBudgets, url: string | URL): number | undefined {
  return hostBudget(budgets, url);
}

function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  return new Promise<void>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new EtlError('ABORTED', 'Aborted while waiting for Redis to come back', { cause: signal.reason }),
      );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, reject);
  });
}

export class RedisHostBudget {
  readonly stats: HostBudgetStats = { acquired: 0, busy: 0, commands: 0, rechecks: 0, retaken: 0 };
  readonly #client: FleetRedisClient;
  readonly #prefix: string;
  readonly #leaseMs: number;
  readonly #pollMinMs: number;
  readonly #pollMaxMs: number;
  readonly #recheckMs: number;
  readonly #runtime: Runtime;
  /** key → members this process holds. */
  readonly #held = new Map<string, Set<string>>();
  #timer: NodeJS.Timeout | undefined;
  /** Connections lost so far. */
  #epoch = 0;
  #everReady: boolean;
  /** Set from a lost connection until the recheck after it is done. */
  #outage: { done: Promise<void>; resolve: () => void } | undefined;
  readonly #onDown = () => this.#down();
  /** Closed for good: whoever waits for the recheck stops waiting (and finds the client closed). */
  readonly #onEnd = () => {
    this.#outage?.resolve();
    this.#outage = undefined;
  };
  readonly #onReady = () => {
    if (!this.#everReady) this.#everReady = true;
    else if (this.#outage) void this.#recheck();
  };

  constructor(client: FleetRedisClient, options: HostBudgetOptions = {}) {
    this.#client = client;
    this.#prefix = options.prefix ?? 'arcgis-etl:';
    this.#leaseMs = options.leaseMs ?? 60_000;
    this.#pollMinMs = options.pollMinMs ?? 5;
    this.#pollMaxMs = options.pollMaxMs ?? 100;
    this.#recheckMs = options.recheckMs ?? 3_000;
    this.#runtime = resolveRuntime(options.runtime);
    this.#everReady = client.isReady;
    client.on('error', this.#onDown);
    client.on('reconnecting', this.#onDown);
    client.on('ready', this.#onReady);
    client.on('end', this.#onEnd);
  }

  keyOf(origin: string): string {
    return `${this.#prefix}budget:${origin}`;
  }

  /** While it exists, no lease is granted (set by every worker that reconnects). */
  get barrierKey(): string {
    return `${this.#prefix}budget-recheck`;
  }

  /** Waits for one of the `limit` slots of the URL's host; resolves with its release. */
  async acquire(url: string | URL, limit: number, signal?: AbortSignal): Promise<() => Promise<void>> {
    const origin = (typeof url === 'string' ? new URL(url) : url).origin;
    const key = this.keyOf(origin);
    const member = randomBytes(12).toString('hex');
    let delay = this.#pollMinMs;
    for (;;) {
      if (signal?.aborted) {
        throw new EtlError('ABORTED', `Aborted while waiting for the request budget of ${origin}`, {
          cause: signal.reason,
        });
      }
      if (!this.#client.isOpen) {
        throw new EtlError('ABORTED', `The fleet's Redis connection is closed: no request to ${origin}`);
      }
      if (this.#everReady && !this.#client.isReady) this.#down();
      if (this.#outage) {
        await abortable(this.#outage.done, signal);
        continue;
      }
      const epoch = this.#epoch;
      this.stats.commands++;
      let got: unknown;
      try {
        got = await this.#client.eval(ACQUIRE, {
          keys: [key, this.barrierKey],
          arguments: [String(Math.max(1, Math.floor(limit))), String(this.#leaseMs), member],
        });
      } catch (error) {
        if (this.#client.isReady && this.#epoch === epoch) throw error;
        continue; // the connection went: wait for the recheck, then try again
      }
      if (Number(got) === 1 && this.#epoch === epoch && !this.#outage) break;
      if (Number(got) === 1) {
        // granted across an outage, maybe by a Redis that had not seen the holders' recheck yet
        this.stats.retaken++;
        await this.#client.zRem(key, member).catch(() => undefined);
        continue;
      }
      this.stats.busy++;
      await this.#runtime.sleep(Math.round(delay * (0.5 + this.#runtime.random() / 2)), signal);
      delay = Math.min(delay * 2, this.#pollMaxMs);
    }
    this.stats.acquired++;
    this.#hold(key, member);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.#drop(key, member);
      this.stats.commands++;
      try {
        await this.#client.zRem(key, member);
      } catch {
        // the lease runs out by itself
      }
    };
  }

  /** Stops renewing (leases still held run out by themselves). */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#held.clear();
    this.#client.off('error', this.#onDown);
    this.#client.off('reconnecting', this.#onDown);
    this.#client.off('ready', this.#onReady);
    this.#client.off('end', this.#onEnd);
    this.#outage?.resolve();
    this.#outage = undefined;
  }

  /** The connection is lost (or was, while a command was out): no lease until rechecked. */
  #down(): void {
    if (!this.#everReady) return;
    this.#epoch++;
    if (this.#outage) return;
    let resolve: () => void = () => undefined;
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    this.#outage = { done, resolve };
  }

  /** Back from an outage: the fleet-wide barrier, then every lease this process holds put back. */
  async #recheck(): Promise<void> {
    const outage = this.#outage;
    const epoch = this.#epoch;
    try {
      this.stats.commands++;
      await this.#client.set(this.barrierKey, '1', { PX: this.#recheckMs });
      for (const [key, members] of this.#held) {
        if (members.size === 0) continue;
        this.stats.commands++;
        await this.#client.eval(RESTORE, { keys: [key], arguments: [String(this.#leaseMs), ...members] });
      }
    } catch {
      return; // lost again: the next 'ready' rechecks
    }
    if (this.#epoch !== epoch || this.#outage !== outage || !outage) return;
    this.stats.rechecks++;
    this.#outage = undefined;
    outage.resolve();
  }

  #hold(key: string, member: string): void {
    let set = this.#held.get(key);
    if (!set) {
      set = new Set();
      this.#held.set(key, set);
    }
    set.add(member);
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.#leaseMs / 3)));
      this.#timer.unref();
    }
  }

  #drop(key: string, member: string): void {
    const set = this.#held.get(key);
    set?.delete(member);
    if (set?.size === 0) this.#held.delete(key);
  }

  async #renew(): Promise<void> {
    for (const [key, members] of this.#held) {
      if (members.size === 0) continue;
      this.stats.commands++;
      try {
        await this.#client.eval(RENEW, { keys: [key], arguments: [String(this.#leaseMs), ...members] });
      } catch {
        // next time
      }
    }
  }
}
