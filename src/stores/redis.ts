/**
 * A token cache in Redis, shared by every process and machine of a pipeline.
 *
 * - records: `${prefix}token:${key}` with `PX ttl` (sealed with AES-256-GCM when a cache key is set);
 * - lock: `SET ${prefix}lock:${key} <owner> NX PX lockTtlMs`, released by a Lua script that deletes it
 *   only while it is still ours and then PUBLISHes `${prefix}released:${key}`; waiters SUBSCRIBE (on a
 *   duplicate connection) and wake on that message, with a bounded backoff poll (25 ms doubling to
 *   500 ms, injected sleep) as the safety net for a holder that died (its lock expires by PX);
 * - resilience: commands time out fast and are never queued offline; when Redis is unreachable every
 *   operation falls back to an in-process map + mutex, with one warning per outage; the client
 *   reconnects in the background and the store goes back to Redis (copying what it kept locally).
 */
import { randomBytes } from 'node:crypto';
import type * as RedisClientModule from '@redis/client';
import { EtlError } from '../core/errors.js';
import { createEmitter, type Emit, type Logger, silentLogger } from '../core/events.js';
import { requireOnUse } from '../core/lazy-require.js';
import { redactUrl, registerSecret } from '../core/redact.js';
import { type Runtime, realSleep, resolveRuntime } from '../core/time.js';
import { RecordCodec } from './codec.js';
import { resolveCacheKey } from './crypto.js';
import { KeyedMutex } from './mutex.js';
import { toStoredRecord } from './record.js';
import type { LockOptions, TokenRecord, TokenStore } from './types.js';
import { StoreWarnings } from './warnings.js';

export interface RedisStoreOptions {
  /** `redis://[user:pass@]host:port/db` or `rediss://…`. */
  url: string;
  prefix?: string;
  /** Passphrase for encryption at rest; default `ARCGIS_ETL_CACHE_KEY`; `null` or '' turns it off. */
  key?: string | null;
  runtime?: Partial<Runtime>;
  emit?: Emit;
  /** Where the return of Redis after an outage is logged (info). */
  logger?: Logger;
  /** A lock expires by itself after this (a crashed holder). */
  lockTtlMs?: number;
  /** How long a waiter waits for the lock before going on without it, with a warning. */
  lockWaitMs?: number;
  /** Per-command timeout (short, so an outage never hangs an export). */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Background reconnection backoff: doubling from 50 ms up to this. */
  reconnectMaxDelayMs?: number;
  /** Lock wait poll: first and maximum delay. */
  pollMinMs?: number;
  pollMaxMs?: number;
  /** While degraded but connected (e.g. after a timeout), how often to try Redis again. */
  probeIntervalMs?: number;
  /** Called before every command sent on the main connection (for tests and metrics). */
  onCommand?: (args: readonly string[]) => void;
}

export interface RedisStoreStats {
  /** Commands sent on the main connection. */
  commands: number;
  /** `SET … NX` attempts. */
  lockAttempts: number;
  /** withLock calls that found the lock busy and waited. */
  lockWaits: number;
  /** Waits ended by a release message. */
  wakeups: number;
  /** Waits ended by the poll timer. */
  polls: number;
  /** Operations served by the local fallback. */
  fallbackOps: number;
  outages: number;
  recoveries: number;
  warnings: number;
}

type Client = ReturnType<typeof RedisClientModule.createClient>;
const redisClient = (): typeof RedisClientModule => requireOnUse('@redis/client');

const FAILED = Symbol('redis-failed');
type Failed = typeof FAILED;

const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
return 0`;

const DELETE_IF_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

interface LocalEntry {
  record: TokenRecord;
  expiresAt: number;
}

interface Latch {
  fired: boolean;
  promise: Promise<void>;
  fire: () => void;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

export class RedisStore implements TokenStore {
  readonly name = 'redis';
  readonly prefix: string;
  /** The URL without credentials (safe to print). */
  readonly displayUrl: string;
  readonly stats: RedisStoreStats = {
    commands: 0,
    lockAttempts: 0,
    lockWaits: 0,
    wakeups: 0,
    polls: 0,
    fallbackOps: 0,
    outages: 0,
    recoveries: 0,
    warnings: 0,
  };

  readonly #runtime: Runtime;
  readonly #emit: Emit;
  readonly #logger: Logger;
  readonly #codec: RecordCodec;
  readonly #client: Client;
  readonly #options: Required<
    Pick<
      RedisStoreOptions,
      'lockTtlMs' | 'lockWaitMs' | 'commandTimeoutMs' | 'pollMinMs' | 'pollMaxMs' | 'probeIntervalMs'
    >
  >;
  readonly #onCommand: ((args: readonly string[]) => void) | undefined;
  readonly #keyLocks = new KeyedMutex();
  readonly #local = new Map<string, LocalEntry>();
  /** Deletes made while Redis was down, replayed on recovery (key → ifToken or undefined). */
  readonly #pendingDeletes = new Map<string, string | undefined>();
  readonly #latches = new Map<string, Set<Latch>>();
  readonly #listening = new Set<string>();
  readonly #warnings: StoreWarnings;

  #state: 'idle' | 'connecting' | 'up' | 'down' = 'idle';
  #startup: Promise<void> | undefined;
  #settleStartup: (() => void) | undefined;
  #lastFailureAt = 0;
  readonly #connectTimeoutMs: number;
  #flushing: Promise<void> | undefined;
  #subscriber: Client | undefined;
  #subscriberStart: Promise<void> | undefined;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (cause) {
      throw new EtlError('USAGE', `Not a valid Redis URL: ${redactUrl(options.url)}`, { cause });
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new EtlError('USAGE', `A Redis URL starts with redis:// or rediss:// (got ${url.protocol})`);
    }
    registerSecret(url.password);
    try {
      registerSecret(decodeURIComponent(url.password));
    } catch {
      // not percent-encoded: registered as is above
    }
    this.displayUrl = redactUrl(url);
    this.prefix = options.prefix ?? 'arcgis-etl:';
    this.#runtime = resolveRuntime(options.runtime);
    this.#emit = options.emit ?? createEmitter();
    this.#warnings = new StoreWarnings(this.#emit, this.stats);
    this.#logger = options.logger ?? silentLogger;
    this.#codec = new RecordCodec(resolveCacheKey(options.key));
    this.#onCommand = options.onCommand;
    this.#options = {
      lockTtlMs: options.lockTtlMs ?? 30_000,
      lockWaitMs: options.lockWaitMs ?? 60_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 1_500,
      pollMinMs: options.pollMinMs ?? 25,
      pollMaxMs: options.pollMaxMs ?? 500,
      probeIntervalMs: options.probeIntervalMs ?? 1_000,
    };
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 1_500;
    const maxDelay = options.reconnectMaxDelayMs ?? 2_000;
    const random = this.#runtime.random;
    this.#client = redisClient().createClient({
      url: options.url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.#connectTimeoutMs,
        reconnectStrategy: (retries: number) =>
          Math.round(Math.min(50 * 2 ** Math.min(retries, 16), maxDelay) * (0.75 + random() / 4)),
      },
    });
    this.#client.on('error', (error: unknown) => this.#markDown(error));
    this.#client.on('ready', () => this.#markUp());
  }

  /** Where operations go now: `redis`, or `local` during an outage. */
  get mode(): 'redis' | 'local' {
    return this.#state === 'down' ? 'local' : 'redis';
  }

  /** Whether entries are encrypted at rest. */
  get encrypted(): boolean {
    return this.#codec.encrypted;
  }

  tokenKey(key: string): string {
    return `${this.prefix}token:${key}`;
  }

  lockKey(key: string): string {
    return `${this.prefix}lock:${key}`;
  }

  releaseChannel(key: string): string {
    return `${this.prefix}released:${key}`;
  }

  async get(key: string): Promise<TokenRecord | undefined> {
    const redisKey = this.tokenKey(key);
    const raw = await this.#command<string | null>(['GET', redisKey]);
    if (raw === FAILED) {
      this.stats.fallbackOps++;
      const entry = this.#local.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt <= this.#runtime.clock.now()) {
        this.#local.delete(key);
        return undefined;
      }
      return entry.record;
    }
    if (raw === null || raw === undefined) return undefined;
    const result = this.#codec.decodeString(redisKey, String(raw));
    if (!result.ok) {
      this.#warnings.once(
        `${redisKey}\0${String(raw)}`,
        `token cache (redis) "${key}": ${result.problem}; treated as a miss`,
      );
      return undefined;
    }
    return result.record;
  }

  async set(key: string, record: TokenRecord, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) {
      await this.delete(key);
      return;
    }
    const redisKey = this.tokenKey(key);
    const value = this.#codec.encodeString(redisKey, record);
    const reply = await this.#command(['SET', redisKey, value, 'PX', String(Math.ceil(ttlMs))]);
    if (reply === FAILED) {
      this.stats.fallbackOps++;
      this.#pendingDeletes.delete(key);
      this.#local.set(key, { record: toStoredRecord(record), expiresAt: this.#runtime.clock.now() + ttlMs });
    }
  }

  async delete(key: string, ifToken?: string): Promise<void> {
    const done = await this.#deleteInRedis(key, ifToken);
    if (done) return;
    this.stats.fallbackOps++;
    const entry = this.#local.get(key);
    if (entry && (ifToken === undefined || entry.record.token === ifToken)) this.#local.delete(key);
    if (!entry || ifToken === undefined || entry.record.token === ifToken)
      this.#pendingDeletes.set(key, ifToken);
  }

  withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    // One contender per process and key; the others queue here without touching Redis.
    return this.#keyLocks.run(key, async () => {
      const owner = await this.#acquire(key, options);
      try {
        return await fn();
      } finally {
        if (owner !== undefined) await this.#release(key, owner);
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#settleStartup?.();
    for (const latches of this.#latches.values()) for (const latch of latches) latch.fire();
    await Promise.all([
      closeClient(this.#client),
      this.#subscriber ? closeClient(this.#subscriber) : undefined,
    ]);
  }

  // ---- Redis plumbing -------------------------------------------------------------------------

  #start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'connecting';
    this.#startup = within(
      new Promise<void>((resolve) => {
        this.#settleStartup = resolve;
      }),
      this.#connectTimeoutMs,
    ).then((settled) => {
      // A server that accepts but never answers the handshake: do not wait for it.
      if (!settled && this.#state === 'connecting') this.#markDown(new Error('connection timed out'));
    });
    this.#client.connect().catch(() => undefined);
  }

  async #usable(): Promise<boolean> {
    if (this.#closed) return false;
    this.#start();
    if (this.#state === 'connecting') await this.#startup;
    if (this.#flushing) await this.#flushing;
    if (!this.#client.isReady) {
      if (this.#state !== 'down') this.#markDown(new Error('not connected'));
      return false;
    }
    if (this.#state === 'down') {
      // Connected but degraded after a command failure: probe again now and then.
      return this.#runtime.clock.now() - this.#lastFailureAt >= this.#options.probeIntervalMs;
    }
    return true;
  }

  async #command<T>(args: string[]): Promise<T | Failed> {
    if (!(await this.#usable())) return FAILED;
    this.stats.commands++;
    this.#onCommand?.(args);
    try {
      const reply = await this.#client.sendCommand<T>(args, { timeout: this.#options.commandTimeoutMs });
      if (this.#state === 'down') this.#markUp();
      return reply;
    } catch (error) {
      if (error instanceof redisClient().ErrorReply) {
        // Redis answered with an error (e.g. a foreign value under our key): not an outage.
        const command = String(args[0]);
        this.#warnings.once(
          `reply\0${command}\0${error.message}`,
          `token cache (redis): ${command} failed (${error.message}); using the local cache for it`,
        );
        return FAILED;
      }
      this.#markDown(error);
      return FAILED;
    }
  }

  #markDown(error: unknown): void {
    this.#lastFailureAt = this.#runtime.clock.now();
    this.#settleStartup?.();
    if (this.#closed || this.#state === 'down') return;
    this.#state = 'down';
    // Waiters stop waiting for a message that cannot come; their next attempt goes local.
    for (const latches of this.#latches.values()) for (const latch of latches) latch.fire();
    this.stats.outages++;
    const detail = `Redis at ${this.displayUrl} is unreachable (${describe(error)})`;
    this.#emit({ type: 'token.cache', store: this.name, outcome: 'error', detail });
    this.#warnings.warn(`token cache: ${detail}; using a local in-process cache until it is back`);
  }

  #markUp(): void {
    this.#settleStartup?.();
    if (this.#closed) return;
    const wasDown = this.#state === 'down';
    this.#state = 'up';
    if (!wasDown) return;
    this.stats.recoveries++;
    this.#logger.info(
      { store: this.name, url: this.displayUrl },
      'token cache: Redis is reachable again; using it again',
    );
    this.#flushing = this.#flushLocal().finally(() => {
      this.#flushing = undefined;
    });
  }

  /** After an outage: copies locally kept records to Redis (without overwriting) and replays deletes. */
  async #flushLocal(): Promise<void> {
    const now = this.#runtime.clock.now();
    const timeout = { timeout: this.#options.commandTimeoutMs };
    try {
      for (const [key, ifToken] of this.#pendingDeletes) {
        this.#pendingDeletes.delete(key);
        const redisKey = this.tokenKey(key);
        if (ifToken === undefined) {
          await this.#client.sendCommand(['DEL', redisKey], timeout);
          continue;
        }
        const raw = await this.#client.sendCommand<string | null>(['GET', redisKey], timeout);
        if (typeof raw !== 'string') continue;
        const decoded = this.#codec.decodeString(redisKey, raw);
        if (decoded.ok && decoded.record.token === ifToken) {
          await this.#client.sendCommand(['EVAL', DELETE_IF_SCRIPT, '1', redisKey, raw], timeout);
        }
      }
      for (const [key, entry] of this.#local) {
        this.#local.delete(key);
        const ttl = Math.ceil(entry.expiresAt - now);
        if (ttl <= 0) continue;
        const redisKey = this.tokenKey(key);
        const value = this.#codec.encodeString(redisKey, entry.record);
        await this.#client.sendCommand(['SET', redisKey, value, 'NX', 'PX', String(ttl)], timeout);
      }
    } catch {
      // Best effort: what could not be copied is simply fetched again when needed.
    }
  }

  async #deleteInRedis(key: string, ifToken: string | undefined): Promise<boolean> {
    const redisKey = this.tokenKey(key);
    if (ifToken === undefined) return (await this.#command(['DEL', redisKey])) !== FAILED;
    const raw = await this.#command<string | null>(['GET', redisKey]);
    if (raw === FAILED) return false;
    if (typeof raw !== 'string') return true;
    const decoded = this.#codec.decodeString(redisKey, raw);
    if (!decoded.ok || decoded.record.token !== ifToken) return true;
    // Compare-and-delete on the raw value: a record replaced in between is left alone.
    return (await this.#command(['EVAL', DELETE_IF_SCRIPT, '1', redisKey, raw])) !== FAILED;
  }

  // ---- the distributed lock -------------------------------------------------------------------

  /** The owner id when the Redis lock is held; undefined when going on without it (outage, timeout). */
  async #acquire(key: string, options: LockOptions): Promise<string | undefined> {
    const { clock } = this.#runtime;
    const lockKey = this.lockKey(key);
    const channel = this.releaseChannel(key);
    const ttl = String(Math.max(1, Math.ceil(options.ttlMs ?? this.#options.lockTtlMs)));
    const waitMs = options.waitMs ?? this.#options.lockWaitMs;
    const deadline = clock.now() + waitMs;
    const owner = randomBytes(16).toString('hex');
    let delay = this.#options.pollMinMs;
    let listening = false;
    let waited = false;
    for (;;) {
      if (options.signal?.aborted) {
        throw new EtlError('ABORTED', 'Aborted while waiting for the token cache lock', {
          cause: options.signal.reason,
        });
      }
      // Armed before the attempt, so a release between a failed SET and the wait is not missed.
      const latch = listening ? this.#arm(channel) : undefined;
      this.stats.lockAttempts++;
      const reply = await this.#command<string | null>(['SET', lockKey, owner, 'NX', 'PX', ttl]);
      if (reply === FAILED) {
        if (latch) this.#disarm(channel, latch);
        this.stats.fallbackOps++;
        return undefined; // Redis is down: the in-process mutex is all we can have
      }
      if (reply === 'OK') {
        if (latch) this.#disarm(channel, latch);
        return owner;
      }
      if (!waited) {
        waited = true;
        this.stats.lockWaits++;
        this.#emit({ type: 'token.cache', store: this.name, outcome: 'wait', detail: key });
      }
      if (!latch) {
        listening = await this.#listen(channel);
        if (listening) continue; // subscribed: try again at once, then wait for the message
      }
      const remaining = deadline - clock.now();
      if (remaining <= 0 || this.#closed) {
        if (latch) this.#disarm(channel, latch);
        if (!this.#closed) {
          this.#warnings.warn(
            `token cache (redis): waited ${waitMs} ms for the lock on "${key}"; going on without it`,
          );
        }
        return undefined;
      }
      const woke = await this.#wait(latch, Math.min(delay, remaining), options.signal);
      if (latch) this.#disarm(channel, latch);
      if (woke) {
        this.stats.wakeups++;
      } else {
        this.stats.polls++;
        delay = Math.min(delay * 2, this.#options.pollMaxMs);
      }
    }
  }

  async #release(key: string, owner: string): Promise<void> {
    await this.#command(['EVAL', RELEASE_SCRIPT, '1', this.lockKey(key), owner, this.releaseChannel(key)]);
  }

  /** Resolves true when woken by a release message, false when the poll delay ran out. */
  async #wait(latch: Latch | undefined, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (latch?.fired) return true;
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = this.#runtime.sleep(ms, controller.signal).then(
      () => false,
      () => undefined,
    );
    try {
      const woke = await Promise.race([timer, latch ? latch.promise.then(() => true) : timer]);
      if (signal?.aborted) {
        throw new EtlError('ABORTED', 'Aborted while waiting for the token cache lock', {
          cause: signal.reason,
        });
      }
      return woke === true;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!controller.signal.aborted) controller.abort();
    }
  }

  #arm(channel: string): Latch {
    let fire!: () => void;
    const latch: Latch = {
      fired: false,
      promise: new Promise<void>((resolve) => {
        fire = resolve;
      }),
      fire: () => {
        latch.fired = true;
        fire();
      },
    };
    let set = this.#latches.get(channel);
    if (!set) {
      set = new Set();
      this.#latches.set(channel, set);
    }
    set.add(latch);
    return latch;
  }

  #disarm(channel: string, latch: Latch): void {
    const set = this.#latches.get(channel);
    set?.delete(latch);
    if (set?.size === 0) this.#latches.delete(channel);
  }

  /** Subscribes to a release channel (once per store); false when pub/sub is not available now. */
  async #listen(channel: string): Promise<boolean> {
    if (this.#listening.has(channel)) return this.#subscriber?.isReady === true;
    const subscriber = await this.#ensureSubscriber();
    if (!subscriber?.isReady) return false;
    try {
      await subscriber.subscribe(channel, () => {
        for (const latch of this.#latches.get(channel) ?? []) latch.fire();
      });
      this.#listening.add(channel);
      return true;
    } catch {
      return false;
    }
  }

  async #ensureSubscriber(): Promise<Client | undefined> {
    if (this.#closed) return undefined;
    if (!this.#subscriber) {
      const subscriber = this.#client.duplicate();
      subscriber.on('error', () => undefined); // outages are reported by the main connection
      this.#subscriber = subscriber;
      this.#subscriberStart = within(
        new Promise<void>((resolve) => {
          subscriber.once('ready', resolve);
          subscriber.once('error', resolve);
        }),
        this.#connectTimeoutMs,
      ).then(() => undefined);
      subscriber.connect().catch(() => undefined);
    }
    await this.#subscriberStart;
    return this.#subscriber;
  }
}

/**
 * True when `promise` settles within `ms`, false otherwise. An I/O deadline, not behaviour under
 * test: it uses the real timer (like the client's own command timeouts), cleared when settled.
 */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise.then(() => true),
      realSleep(ms, timer.signal).then(
        () => false,
        () => false,
      ),
    ]);
  } finally {
    timer.abort();
  }
}

async function closeClient(client: Client): Promise<void> {
  try {
    if (client.isReady) await client.close();
    else client.destroy();
  } catch {
    try {
      client.destroy();
    } catch {
      // already gone
    }
  }
}
