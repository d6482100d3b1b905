/**
 * Adaptive concurrency for one host: as fast as the server allows, and no faster.
 *
 * A real ArcGIS Server has a fixed number of service instances; beyond them, queries queue (the
 * latency grows, the throughput does not) or are refused (429/503). The controller measures, in
 * windows of about three rounds of requests, the throughput (features/s) and the mean latency:
 * - it starts at `initial` (4) in slow start: every answer that shows no queue (its latency under
 *   1.5 × the fastest single request) adds one to the limit, so the limit doubles every round trip
 *   while the server keeps up. The first answers that did wait in the server's queue end the slow
 *   start with Little's law: a request that spent `latency` in a system holding `n` requests (its
 *   mean in flight over its life) saw the server finish n / latency requests per ms, so the server
 *   serves n × fastest / latency at once: its capacity. The limit is set there (a short export is at
 *   capacity after two or three round trips; the overshoot only queued, it did not cost throughput),
 *   and at least 2 (a server of one instance keeps one request waiting, so it never idles);
 * - settled, it probes one step at a time. A step pays when it brings half of its ideal throughput
 *   gain and the latency shows no queue (Vegas: in-flight × (1 − base latency / latency) < 0.75
 *   requests waiting);
 * - a step that brings no throughput is undone, and the controller settles: it holds its limit,
 *   and probes one higher every few windows; settled, it steps down when the latency shows a queue
 *   (Vegas: in-flight × (1 − base latency / latency) ≥ 1.5 requests waiting);
 * - a 429 or 503 cuts the limit at once to the requests the server accepted (those in flight but the
 *   ones refused in the same burst), at most to ¾; each further refusal of that burst takes one
 *   more off. It pauses every request to the host for the `Retry-After`, and holds the limit at
 *   most at the cut for a while (doubling each time), so that probing does not hit the refusal again;
 * - it never goes above `max` (16 by default), nor below `min`; a probe or a look down stops at 2
 *   (the floor of the slow start too);
 * - a capacity estimate of the slow start is checked two windows on by a look down (answers slowed
 *   by the client's own busy CPU make it high);
 * - a request's latency ends when its answer is in (`arrived`), and its slot is free from there:
 *   the client's own work on the answer (decoding a pbf page) is neither the server's time nor a
 *   request the server holds.
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
/**
 * Settled windows after a slow start ended by its capacity estimate before a look down checks it:
 * answers slowed by the client's own busy CPU (a cold start, a loaded machine) make the estimate
 * high, and the latency cannot show it then (its base came from the same answers).
 */
const CHECK_ESTIMATE_AFTER = 2;
/** How many past window latencies the base latency is the minimum of. */
const BASE_WINDOWS = 50;
/** How long, after a refusal, the controller does not grow back to the refused limit (doubles). */
const CEILING_MS = 30_000;
const MAX_CEILING_MS = 10 * 60_000;
/** Windows skipped at the start: the first always, up to three more while the pool fills up. */
const WARMUP_WINDOWS = 4;
/** An answer slower than this × the fastest one waited in the server's queue (slow start). */
const START_QUEUE_RATIO = 1.5;
/**
 * The clock's resolution (ms): a latency below it reads 0. Ratios to the fastest answer are taken
 * against at least one tick, and a service time below a tick counts as half of one (a local server
 * answering within the millisecond made the fastest 0, every later answer "queued", and the service
 * time the mean of no answers: NaN, and the limit with it).
 */
const TICK_MS = 1;
/** Queued answers in a row that end the slow start (at least; half a round: their median estimate). */
const START_QUEUED_ANSWERS = 2;
/** The slow start never ends below this (capacity 1 + one waiting: the server never idles). */
const MIN_AFTER_START = 2;
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
  /**
   * The server is done with the request: its answer is in, to be decoded. The slot is free from
   * here, and the latency ends here (the client's own work on the answer is not the server's).
   * Optional: `end` does the same when it was not called. True when it let a waiting request go.
   */
  arrived(): boolean;
  /** The request is over: what its answer held (`features`), or that it failed. */
  end(outcome: { features?: number | undefined; ok: boolean }): void;
}

/**
 * What a refused request waits, after the Retry-After pause, before it is sent again: ask when the
 * pause is over (ms; 0 for most).
 */
export type RetryTurn = () => number;
const NO_WAIT: RetryTurn = () => 0;

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
  #phase: 'starting' | 'growing' | 'shrinking' | 'settled' = 'starting';
  /** ∫ in-flight dt since the start (ms × requests): a request's mean in flight over its life. */
  #area = 0;
  /** Answers seen in slow start, and the capacity estimates of the queued ones in a row. */
  #startAnswers = 0;
  #startEstimates: number[] = [];
  #startAtMax = 0;
  /** Latencies of the slow start's answers that did not queue: the service time. */
  #startUnqueued: number[] = [];
  /** The largest answer (features) of the slow start. */
  #startPageSize = 0;
  /** Windows skipped after the slow start (its queued requests still drain). */
  #skipWindows = 0;
  /** A burst of refusals: in flight when it began, and refusals in it. */
  #burst = { inFlight: 0, refusals: 0 };
  /** Some step up has paid (or a look down ended): no more looking down. */
  #everPaid = false;
  #lastChangeAt = 0;
  #warmup = WARMUP_WINDOWS;
  /** Settled probes alternate: one step up, then one step down. */
  #probeDown = false;
  /** The capacity estimate of the slow start is still to be checked by a look down. */
  #checkEstimate = false;
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
    const areaAtStart = this.#area;
    const limitAtStart = this.#limit;
    this.#inFlight++;
    let arrivedAt: number | undefined;
    let meanInFlight = 0;
    let ended = false;
    const arrived = (): boolean => {
      if (arrivedAt !== undefined) return false;
      this.#accrue();
      arrivedAt = this.#clock.now();
      const lived = arrivedAt - startedAt;
      meanInFlight = lived > 0 ? (this.#area - areaAtStart) / lived : this.#inFlight;
      this.#inFlight--;
      return this.#wake() > 0;
    };
    return {
      arrived,
      end: ({ features, ok }) => {
        if (ended) return;
        ended = true;
        arrived();
        if (ok) this.#record(startedAt, arrivedAt!, features, meanInFlight, limitAtStart);
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
   * The server refused a request (429 or 503): the limit is cut (once per burst) and, with a
   * Retry-After, the whole pool waits that long. Returns, to ask when the pause is over, how much
   * longer this request waits before it is sent again (0, or its round in a burst larger than the
   * limit: the refused requests go again in rounds of the cut limit, one service time apart).
   */
  throttled(status: number, retryAfterMs?: number | undefined): RetryTurn {
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
    if (this.pinned) return NO_WAIT;
    if (now < this.#noCutUntil) {
      // a refusal of the same burst (sent before the cut): one fewer accepted, nothing else new
      this.#burst.refusals++;
      if (this.#burst.inFlight > 0)
        this.#cutTo(Math.min(this.#limit, this.#burst.inFlight - this.#burst.refusals));
      return this.#turn(this.#burst.refusals - 1);
    }
    if (this.#inFlight > this.#limit) {
      // more in flight than the limit: refused requests of an earlier burst sent again, beyond the
      // limit already cut; they say nothing new about it. Each waits its round.
      this.#burst.refusals++;
      return this.#turn(this.#burst.refusals - 1);
    }
    const refused = this.#limit;
    if (refused >= this.#ceiling) this.#ceilingMs = Math.min(MAX_CEILING_MS, this.#ceilingMs * 2);
    this.#ceilingUntil = now + this.#ceilingMs;
    const base =
      this.#latencies.length > 0
        ? Math.min(...this.#latencies)
        : Number.isFinite(this.#fastest)
          ? this.#fastest
          : 0;
    this.#noCutUntil = Math.max(this.#pausedUntil, now + base);
    // the server accepted the requests in flight but this one: that many it serves (or queues)
    this.#burst = { inFlight: this.#inFlight, refusals: 1 };
    const cut = Math.min(refused - 1, Math.floor(refused * 0.75));
    this.#cutTo(this.#inFlight > 0 ? Math.min(cut, this.#inFlight - 1) : cut);
    this.#settle();
    this.#window = this.#newWindow();
    return NO_WAIT;
  }

  /**
   * Extra wait, after the Retry-After, of the `index`-th refused request of a burst: the refused
   * ones are sent again in rounds of the (cut) limit, one service time apart, not all at once into
   * the same refusal.
   */
  #turn(index: number): RetryTurn {
    // asked when the pause is over: the burst is complete and the limit cut to what was accepted
    return () => {
      const service = this.#latencies.length > 0 ? Math.min(...this.#latencies) : this.#fastest;
      if (!Number.isFinite(service)) return 0;
      return Math.floor(index / Math.max(1, this.#limit)) * service;
    };
  }

  /** Cuts to `limit`, and holds growth at most there for the ceiling's time. */
  #cutTo(limit: number): void {
    this.#set(limit);
    this.#ceiling = this.#limit + 1;
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
    const area = this.#inFlight * (now - this.#lastChangeAt);
    this.#window.inFlightArea += area;
    this.#area += area;
    this.#lastChangeAt = now;
  }

  #record(
    startedAt: number,
    now: number,
    features: number | undefined,
    meanInFlight: number,
    limitAtStart: number,
  ): void {
    if (this.pinned) return;
    if (this.#phase === 'starting') {
      this.#slowStart(now - startedAt, meanInFlight, features, limitAtStart);
      return;
    }
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
    if (this.#skipWindows > 0) {
      this.#skipWindows--;
      this.#window = this.#newWindow();
      return;
    }
    // Little's law: throughput = in flight / latency, in features (smoother than counting answers)
    const throughput = latency > 0 ? (inFlight / (latency / 1000)) * (w.units / w.completions) : 0;
    this.#decide(throughput, latency, inFlight);
  }

  /** One answer in slow start: no queue, one more; queued answers, the capacity by Little's law. */
  #slowStart(
    latency: number,
    meanInFlight: number,
    features: number | undefined,
    limitAtStart: number,
  ): void {
    // the service time grows with the page: only answers of about the largest size are compared
    // (a probe of one feature, or the last short page, is not a page's latency)
    const size = features ?? 1;
    if (size > 2 * this.#startPageSize) {
      this.#startPageSize = size;
      this.#startAnswers = 0;
      this.#fastest = Number.POSITIVE_INFINITY;
      this.#startUnqueued = [];
      this.#startEstimates = [];
    } else if (size < this.#startPageSize / 2) {
      return;
    }
    this.#startAnswers++;
    this.#fastest = Math.min(this.#fastest, latency);
    const fastest = Math.max(TICK_MS, this.#fastest);
    const queued = this.#startAnswers > 1 && latency >= START_QUEUE_RATIO * fastest;
    if (!queued) {
      this.#startUnqueued.push(latency);
      if (this.#startUnqueued.length > 4 * this.#max) this.#startUnqueued.shift();
      // grow only a limit in use (the request lived with its limit about full): the probes an export
      // sends one at a time before its pool starts say nothing about more at once
      if (meanInFlight < limitAtStart - 1) return;
      const next = this.#growTo(this.#limit + 1);
      if (next > this.#limit) this.#set(next);
      // at the maximum: the requests sent there answer without a queue (two rounds) → settled there
      else if (++this.#startAtMax >= 2 * this.#limit) this.#endStart();
      return;
    }
    // the mean of the answers that did not queue (the first ones may have paid for a cold start)
    const fast = this.#startUnqueued.filter((l) => l < START_QUEUE_RATIO * fastest);
    if (fast.length === 0) return;
    const service = Math.max(TICK_MS / 2, fast.reduce((a, b) => a + b, 0) / fast.length);
    this.#startEstimates.push((meanInFlight * service) / latency);
    // the first queued answers waited least (the queue was still building) and over-estimate, a
    // slow service under-estimates: the median of half a round
    if (this.#startEstimates.length < Math.max(START_QUEUED_ANSWERS, this.#limit / 2)) return;
    const sorted = [...this.#startEstimates].sort((a, b) => a - b);
    const estimate = sorted[Math.floor(sorted.length / 2)]!;
    // at least two: a server of one instance (Koop, one CPU shared by its requests) idles between an
    // answer and the client's next request unless one more waits in its queue (capacity + 1)
    this.#set(Math.min(this.#limit, Math.max(MIN_AFTER_START, Math.round(estimate))));
    // the service time without a queue is the base latency of the settled controller's Vegas rule
    this.#latencies.push(service);
    this.#endStart();
    this.#checkEstimate = true;
  }

  #endStart(): void {
    this.#settle();
    this.#warmup = 0;
    this.#skipWindows = 1;
    this.#window = this.#newWindow();
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
      } else if (
        previous !== undefined &&
        !this.#everPaid &&
        !paid &&
        previous.limit > this.#lookDownFloor()
      ) {
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
      if (kept && limit > this.#lookDownFloor()) {
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
    } else if (++this.#settledWindows >= (this.#checkEstimate ? CHECK_ESTIMATE_AFTER : PROBE_EVERY)) {
      // probe: one step up (when nothing queues), or one step down (a queue the latency cannot show,
      // when the base latency was never measured below the capacity). The first after a capacity
      // estimate is a look down that checks it (and counts as one: the next probe is one up).
      const check = this.#checkEstimate;
      this.#checkEstimate = false;
      this.#probeDown = check || !this.#probeDown;
      this.#previous = { limit, throughput, latency };
      if (this.#probeDown && limit > this.#lookDownFloor()) {
        this.#phase = 'shrinking';
        this.#set(limit - 1);
      } else if (!check && queue < QUEUE_GROWTH && this.#canGrow()) {
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

  /**
   * The lowest limit a probe (or a look) down goes to: not below 2, where the slow start never ends
   * either (a server of one instance keeps one request waiting, so it never idles). From 2 to 1, a
   * probe would halve the throughput for a window, to find what that rule already knows.
   */
  #lookDownFloor(): number {
    return Math.max(this.#min, Math.min(MIN_AFTER_START, this.#max));
  }

  /** Requests estimated waiting, against the fastest single request: more than 1.5 is a queue. */
  #queuedAtStart(latency: number, inFlight: number): boolean {
    return (
      Number.isFinite(this.#fastest) &&
      latency > 0 &&
      inFlight * (1 - Math.max(TICK_MS, this.#fastest) / latency) >= QUEUE_HIGH
    );
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
    // never a limit that is not a number: `inFlight < NaN` would hold every request forever
    if (!Number.isFinite(limit)) return;
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

  /** Lets waiting requests go while there is room; returns how many. */
  #wake(): number {
    let free = this.#limit - this.#inFlight;
    let woken = 0;
    while (free > 0 && this.#waiters.length > 0) {
      this.#waiters.shift()!();
      free--;
      woken++;
    }
    return woken;
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
