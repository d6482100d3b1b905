/**
 * Adaptive concurrency for one host: as fast as the server allows, and no faster.
 *
 * A real ArcGIS Server has a fixed number of service instances; beyond them, queries queue (the
 * latency grows, the throughput does not) or are refused (429/503). The controller measures, in
 * windows of about two rounds of requests, the throughput (features/s) and the mean latency:
 * - it starts at `initial` (4) and doubles while a step up brings at least half of the throughput
 *   it should, then bisects between the last step that paid and the first that did not; settled, it
 *   probes one step at a time. A step pays when it brings half of its ideal throughput gain and the
 *   latency shows no queue (Vegas: in-flight × (1 − base
 *   latency / latency) < 0.75 requests waiting);
 * - a step that brings no throughput is undone, and the controller settles: it holds its limit,
 *   and probes one higher every few windows; settled, it steps down when the latency shows a queue
 *   (Vegas: in-flight × (1 − base latency / latency) ≥ 1.5 requests waiting);
 * - a 429 or 503 cuts the limit to ¾ at once (the refusals of requests sent before that cut do
 *   not cut again), pauses every request to the host
 *   for the `Retry-After`, and caps probing below the refused limit for a while (doubling each time);
 * - it never goes above `max` (16 by default), nor below `min`.
 * `pinned` fixes the limit (the throttling is still counted and Retry-After still honoured).
 *
 * Pure: time comes from the injected clock; waiting (the semaphore of `acquire`) from the injected
 * sleep.
 */
import type { Clock, Sleep } from '../core/time.js';

export const DEFAULT_INITIAL_CONCURRENCY = 4;
export const DEFAULT_MAX_CONCURRENCY = 16;

/** A step up must bring at least this share of its ideal throughput gain. */
const GAIN_SHARE = 0.5;
/** Requests estimated waiting in the server's queue that count as queueing (settled: step down). */
const QUEUE_HIGH = 1.5;
/** Requests estimated waiting that stop the growth (about one: the limit is one above capacity). */
const QUEUE_GROWTH = 0.75;
/** Settled windows between probes one step higher. */
const PROBE_EVERY = 8;
/** How many past window latencies the base latency is the minimum of. */
const BASE_WINDOWS = 50;
/** How long, after a refusal, the controller does not grow back to the refused limit (doubles). */
const CEILING_MS = 30_000;
const MAX_CEILING_MS = 10 * 60_000;
/** Windows skipped at the start: the first always, up to three more while the pool fills up. */
const WARMUP_WINDOWS = 4;
/** Timeline points kept in the stats. */
const MAX_TIMELINE = 200;

export interface ConcurrencyOptions {
  /** Start (default 4; capped by `max`). */
  initial?: number | undefined;
  /** Upper bound (default 16). */
  max?: number | undefined;
  /** Lower bound (default 1). */
  min?: number | undefined;
  /** A fixed limit: no adaptation. */
  pinned?: number | undefined;
  clock: Clock;
  /** For `acquire` waiting out a Retry-After pause. */
  sleep?: Sleep | undefined;
}

export interface ConcurrencyStats {
  mode: 'adaptive' | 'pinned';
  initial: number;
  min: number;
  max: number;
  final: number;
  /** `[seconds since the first request, limit]` at each change (the last 200). */
  timeline: Array<[number, number]>;
  /** Refusals seen: 429 and 503 answers. */
  throttled: { http429: number; http503: number };
  /** Retry-After pauses of the whole pool, and their total in ms. */
  retryAfterWaits: number;
  retryAfterMs: number;
}

/** One request's measurement: call `end` when it is over. */
export interface ConcurrencySample {
  end(outcome: { features?: number | undefined; ok: boolean }): void;
}

/** What the ordered pool asks: how many tasks may run at once now. */
export interface ConcurrencyLimit {
  limit(): number;
}

interface Window {
  startAt: number;
  completions: number;
  units: number;
  latencySum: number;
  latencyCount: number;
  /** ∫ in-flight dt over the window (ms × requests). */
  inFlightArea: number;
}

export class ConcurrencyController implements ConcurrencyLimit {
  readonly pinned: boolean;
  readonly #min: number;
  readonly #max: number;
  readonly #initial: number;
  readonly #clock: Clock;
  readonly #sleep: Sleep | undefined;
  #limit: number;
  #inFlight = 0;
  #waiters: Array<() => void> = [];
  #window: Window;
  #phase: 'growing' | 'shrinking' | 'settled' = 'growing';
  /** Some step up has paid (or a look down ended): no more looking down. */
  #everPaid = false;
  #lastChangeAt = 0;
  #warmup = WARMUP_WINDOWS;
  /** Settled probes alternate: one step up, then one step down. */
  #probeDown = false;
  /** The growth is a settled controller's probe (one step), not the initial growth. */
  #probing = false;
  /** The lowest limit the first growth found not to pay. */
  #failed: number | undefined;
  /** The shortest single request seen: a bound of the latency without queueing. */
  #fastest = Number.POSITIVE_INFINITY;
  #previous: { limit: number; throughput: number; latency: number } | undefined;
  #latencies: number[] = [];
  #settledWindows = 0;
  #ceiling = Number.POSITIVE_INFINITY;
  #ceilingUntil = 0;
  #ceilingMs = CEILING_MS;
  #pausedUntil = 0;
  #noCutUntil = 0;
  #startedAt: number | undefined;
  #seenMin: number;
  #seenMax: number;
  #timeline: Array<[number, number]> = [];
  #http429 = 0;
  #http503 = 0;
  #retryAfterWaits = 0;
  #retryAfterMs = 0;

  constructor(options: ConcurrencyOptions) {
    this.#clock = options.clock;
    this.#sleep = options.sleep;
    this.pinned = options.pinned !== undefined;
    this.#max = Math.max(1, Math.floor(options.pinned ?? options.max ?? DEFAULT_MAX_CONCURRENCY));
    this.#min = Math.min(this.#max, Math.max(1, Math.floor(options.pinned ?? options.min ?? 1)));
    const initial = Math.floor(options.pinned ?? options.initial ?? DEFAULT_INITIAL_CONCURRENCY);
    this.#limit = Math.min(this.#max, Math.max(this.#min, initial));
    this.#initial = this.#limit;
    this.#seenMin = this.#limit;
    this.#seenMax = this.#limit;
    this.#window = this.#newWindow();
  }

  /** The number of requests that may run at once now. */
  limit(): number {
    return this.#limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Milliseconds left of a Retry-After pause of the whole pool (0: none). */
  pauseRemainingMs(): number {
    return Math.max(0, this.#pausedUntil - this.#clock.now());
  }

  /** A request starts now (counted in flight until `end`). */
  begin(): ConcurrencySample {
    const startedAt = this.#clock.now();
    this.#startedAt ??= startedAt;
    this.#accrue();
    this.#inFlight++;
    let ended = false;
    return {
      end: ({ features, ok }) => {
        if (ended) return;
        ended = true;
        this.#accrue();
        this.#inFlight--;
        if (ok) this.#record(startedAt, features);
        this.#wake();
      },
    };
  }

  /**
   * Waits for a free slot (fewer than `limit()` requests in flight, and no Retry-After pause), then
   * begins a sample. Every request to the host that goes through here shares the limit.
   */
  async acquire(signal?: AbortSignal): Promise<ConcurrencySample> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const pause = this.pauseRemainingMs();
      if (pause > 0) {
        if (!this.#sleep) throw new Error('ConcurrencyController.acquire needs a sleep to wait out a pause');
        await this.#sleep(pause, signal);
        continue;
      }
      if (this.#inFlight < this.#limit) return this.begin();
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.#waiters = this.#waiters.filter((w) => w !== wake);
          reject(signal?.reason);
        };
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        this.#waiters.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  /**
   * The server refused a request (429 or 503): the limit is cut (once per window) and, with a
   * Retry-After, the whole pool waits that long.
   */
  throttled(status: number, retryAfterMs?: number | undefined): void {
    const now = this.#clock.now();
    if (status === 429) this.#http429++;
    else this.#http503++;
    if (retryAfterMs !== undefined && retryAfterMs > 0) {
      const until = now + retryAfterMs;
      if (until > this.#pausedUntil) {
        this.#retryAfterMs += until - Math.max(now, this.#pausedUntil);
        this.#retryAfterWaits++;
        this.#pausedUntil = until;
      }
    }
    // the other refusals of requests sent before this cut say nothing new
    if (this.pinned || now < this.#noCutUntil) return;
    const refused = this.#limit;
    if (refused >= this.#ceiling) this.#ceilingMs = Math.min(MAX_CEILING_MS, this.#ceilingMs * 2);
    this.#ceiling = refused;
    this.#ceilingUntil = now + this.#ceilingMs;
    const base = this.#latencies.length > 0 ? Math.min(...this.#latencies) : 0;
    this.#noCutUntil = Math.max(this.#pausedUntil, now + base);
    this.#set(Math.min(refused - 1, Math.floor(refused * 0.75)));
    this.#settle();
    this.#window = this.#newWindow();
  }

  snapshot(): ConcurrencyStats {
    return {
      mode: this.pinned ? 'pinned' : 'adaptive',
      initial: this.#initial,
      min: this.#seenMin,
      max: this.#seenMax,
      final: this.#limit,
      timeline: this.#timeline.map(([t, l]) => [t, l]),
      throttled: { http429: this.#http429, http503: this.#http503 },
      retryAfterWaits: this.#retryAfterWaits,
      retryAfterMs: this.#retryAfterMs,
    };
  }

  /** Adds the in-flight area since the last change. */
  #accrue(): void {
    const now = this.#clock.now();
    this.#window.inFlightArea += this.#inFlight * (now - this.#lastChangeAt);
    this.#lastChangeAt = now;
  }

  #record(startedAt: number, features: number | undefined): void {
    if (this.pinned) return;
    const now = this.#clock.now();
    const w = this.#window;
    w.completions++;
    w.units += features ?? 1;
    // latency only of requests sent under the current limit
    if (startedAt >= w.startAt) {
      w.latencySum += now - startedAt;
      w.latencyCount++;
    }
    this.#fastest = Math.min(this.#fastest, now - startedAt);
    if (w.completions < 3 * this.#limit || w.latencyCount < 2 * this.#limit) return;
    const elapsed = now - w.startAt;
    if (elapsed <= 0) return;
    const latency = w.latencySum / w.latencyCount;
    const inFlight = w.inFlightArea / elapsed;
    if (this.#warmup > 0 && (this.#warmup === WARMUP_WINDOWS || inFlight < this.#limit - 1)) {
      // the first window pays for connections, tokens and a cold start, and the pool may still be
      // filling up in the next ones: not measurements
      this.#warmup--;
      this.#window = this.#newWindow();
      return;
    }
    this.#warmup = 0;
    // Little's law: throughput = in flight / latency, in features (smoother than counting answers)
    const throughput = latency > 0 ? (inFlight / (latency / 1000)) * (w.units / w.completions) : 0;
    this.#decide(throughput, latency, inFlight);
  }

  #decide(throughput: number, latency: number, inFlight: number): void {
    this.#latencies.push(latency);
    if (this.#latencies.length > BASE_WINDOWS) this.#latencies.shift();
    const base = Math.min(...this.#latencies);
    const queue = latency > 0 ? inFlight * (1 - base / latency) : 0;
    const limit = this.#limit;
    const previous = this.#previous;
    if (this.#phase === 'growing') {
      // the pool keeps its limit in flight (else more concurrency cannot bring more throughput; an
      // ordered pool refills when its oldest task ends, so it runs a little under its limit)
      const saturated = inFlight >= limit - 1;
      // requests queued by this step: the latency rose against the step before (at capacity + 1: one)
      const stepQueue = previous === undefined ? queue : inFlight * (1 - previous.latency / latency);
      const paid =
        previous === undefined ||
        throughput >= previous.throughput * (1 + (GAIN_SHARE * (limit - previous.limit)) / previous.limit);
      if (
        previous === undefined &&
        !this.#probing &&
        limit > this.#min &&
        this.#queuedAtStart(latency, inFlight)
      ) {
        // already queueing at the start (its requests take far longer than the fastest one): look down
        this.#previous = { limit, throughput, latency };
        this.#phase = 'shrinking';
        this.#set(limit - 1);
      } else if (paid && stepQueue < QUEUE_GROWTH && queue < QUEUE_HIGH && saturated) {
        if (previous !== undefined) this.#everPaid = true;
        this.#previous = { limit, throughput, latency };
        // the first growth doubles (then bisects below a step that did not pay); a settled
        // controller's probe is one step: it settles there, and probes again later
        const next = this.#probing
          ? limit + 1
          : this.#failed === undefined
            ? limit * 2
            : Math.floor((limit + this.#failed) / 2);
        const allowed = this.#growTo(next);
        if (allowed > limit) this.#set(allowed);
        else this.#settle();
      } else if (
        previous !== undefined &&
        !this.#probing &&
        Math.floor((previous.limit + limit) / 2) > previous.limit
      ) {
        // a step too far: try half-way, against the same level
        this.#failed = limit;
        this.#set(Math.floor((previous.limit + limit) / 2));
      } else if (previous !== undefined && !this.#everPaid && !paid && previous.limit > this.#min) {
        // the first step up only queued: the start may be above the capacity already; look down
        this.#previous = {
          limit: previous.limit,
          throughput: (throughput + previous.throughput) / 2,
          latency: previous.latency,
        };
        this.#phase = 'shrinking';
        this.#set(previous.limit - 1);
      } else {
        // latency rising without the throughput: back to where it paid, and stay
        if (previous !== undefined && (!paid || queue >= QUEUE_HIGH)) this.#set(previous.limit);
        this.#settle();
        // the end of the first growth may have overshot in noise (probe down soon); barely any rise
        // (noise, or a pool that did not fill up): look again soon
        if (!this.#probing || stepQueue < QUEUE_GROWTH) this.#settledWindows = PROBE_EVERY - 2;
        this.#probing = true;
      }
    } else if (this.#phase === 'shrinking' && previous !== undefined) {
      const kept =
        throughput >= previous.throughput * (1 - (GAIN_SHARE * (previous.limit - limit)) / previous.limit);
      if (kept && limit > this.#min) {
        // fewer requests, as much throughput: the server was queueing them
        this.#previous = { limit, throughput, latency };
        this.#set(limit - 1);
      } else {
        if (!kept) this.#set(previous.limit);
        this.#everPaid = true;
        this.#settle();
      }
    } else if (queue >= QUEUE_HIGH && limit > this.#min) {
      this.#set(limit - 1);
      this.#settledWindows = 0;
    } else if (++this.#settledWindows >= PROBE_EVERY) {
      // probe: one step up (when nothing queues), or one step down (a queue the latency cannot show,
      // when the base latency was never measured below the capacity)
      this.#probeDown = !this.#probeDown;
      this.#previous = { limit, throughput, latency };
      if (this.#probeDown && limit > this.#min) {
        this.#phase = 'shrinking';
        this.#set(limit - 1);
      } else if (queue < QUEUE_GROWTH && this.#canGrow()) {
        this.#phase = 'growing';
        this.#probing = true;
        this.#set(limit + 1);
      } else {
        this.#previous = undefined;
        this.#settledWindows = 0;
      }
    }
    this.#window = this.#newWindow();
  }

  /** Requests estimated waiting, against the fastest single request: more than 1.5 is a queue. */
  #queuedAtStart(latency: number, inFlight: number): boolean {
    return Number.isFinite(this.#fastest) && inFlight * (1 - this.#fastest / latency) >= QUEUE_HIGH;
  }

  #canGrow(): boolean {
    return this.#growTo(this.#limit + 1) > this.#limit;
  }

  /** `next`, within the maximum and below a recently refused limit. */
  #growTo(next: number): number {
    let bound = this.#max;
    if (this.#clock.now() < this.#ceilingUntil) bound = Math.min(bound, this.#ceiling - 1);
    return Math.max(this.#limit, Math.min(next, bound));
  }

  #settle(): void {
    // the first growth is over: from now on, growth is one step at a time
    this.#probing = true;
    this.#phase = 'settled';
    this.#previous = undefined;
    this.#settledWindows = 0;
  }

  #set(limit: number): void {
    const next = Math.min(this.#max, Math.max(this.#min, limit));
    if (next === this.#limit) return;
    this.#limit = next;
    this.#seenMin = Math.min(this.#seenMin, next);
    this.#seenMax = Math.max(this.#seenMax, next);
    const t = (this.#clock.now() - (this.#startedAt ?? this.#clock.now())) / 1000;
    this.#timeline.push([Math.round(t * 10) / 10, next]);
    if (this.#timeline.length > MAX_TIMELINE) this.#timeline.shift();
    this.#wake();
  }

  #wake(): void {
    let free = this.#limit - this.#inFlight;
    while (free > 0 && this.#waiters.length > 0) {
      this.#waiters.shift()!();
      free--;
    }
  }

  #newWindow(): Window {
    this.#lastChangeAt = this.#clock.now();
    return {
      startAt: this.#lastChangeAt,
      completions: 0,
      units: 0,
      latencySum: 0,
      latencyCount: 0,
      inFlightArea: 0,
    };
  }
}
