/**
 * The per-host request budget, fleet-wide: a counting semaphore in Redis made of leases that expire.
 *
 * - `${prefix}budget:${origin}` is a sorted set: one member per request in flight anywhere in the
 *   fleet, scored with the time its lease runs out (Redis's own clock, so machines need not agree);
 * - acquire (one Lua script): drop expired leases, and add ours if fewer than `limit` remain;
 *   otherwise the caller waits (5 ms doubling to 100 ms, jittered) and tries again;
 * - release: ZREM. A process that dies holding leases loses them when they expire (`leaseMs`);
 *   the holders that live renew theirs every `leaseMs / 3`, so a long download keeps its slot;
 * - an outage: commands wait in the client's offline queue, so requests wait with them.
 */
import { randomBytes } from 'node:crypto';
import { EtlError } from '../core/errors.js';
import { type Runtime, resolveRuntime } from '../core/time.js';
import { hostBudget } from '../pipeline/connections.js';
import type { FleetRedisClient } from './redis.js';

const ACQUIRE = `local t = redis.call('TIME')
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

export interface HostBudgetOptions {
  /** Key prefix (default `arcgis-etl:`). */
  prefix?: string;
  /** A lease runs out this long after it was taken or renewed (default 60 s). */
  leaseMs?: number;
  /** Poll delays while the budget is full. */
  pollMinMs?: number;
  pollMaxMs?: number;
  runtime?: Partial<Runtime>;
}

export interface HostBudgetStats {
  acquired: number;
  /** Acquire attempts that found the budget full. */
  busy: number;
  /** Redis commands sent (acquire attempts, releases, renewals). */
  commands: number;
}

/** Concurrency budgets by host: `{ "*": 8, "gis.example.com": 4 }` (the most specific wins). */
export type HostBudgets = Readonly<Record<string, number>>;

/** The pipeline's lookup (`hostBudget`: host:port, then name, then `*`) over the fleet's numbers. */
export function budgetFor(budgets: HostBudgets, url: string | URL): number | undefined {
  return hostBudget(budgets, url);
}

export class RedisHostBudget {
  readonly stats: HostBudgetStats = { acquired: 0, busy: 0, commands: 0 };
  readonly #client: FleetRedisClient;
  readonly #prefix: string;
  readonly #leaseMs: number;
  readonly #pollMinMs: number;
  readonly #pollMaxMs: number;
  readonly #runtime: Runtime;
  /** key → members this process holds. */
  readonly #held = new Map<string, Set<string>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(client: FleetRedisClient, options: HostBudgetOptions = {}) {
    this.#client = client;
    this.#prefix = options.prefix ?? 'arcgis-etl:';
    this.#leaseMs = options.leaseMs ?? 60_000;
    this.#pollMinMs = options.pollMinMs ?? 5;
    this.#pollMaxMs = options.pollMaxMs ?? 100;
    this.#runtime = resolveRuntime(options.runtime);
  }

  keyOf(origin: string): string {
    return `${this.#prefix}budget:${origin}`;
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
      this.stats.commands++;
      const got = await this.#client.eval(ACQUIRE, {
        keys: [key],
        arguments: [String(Math.max(1, Math.floor(limit))), String(this.#leaseMs), member],
      });
      if (Number(got) === 1) break;
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
