/**
 * A discrete-event simulation of a client pool against a server with a fixed number of instances,
 * on a simulated clock (no real time): the pool keeps `controller.limit()` requests in flight (none
 * during a Retry-After pause), the server serves `capacity` at once, queues up to `queueLimit` and
 * refuses the others (429 + Retry-After), and a refused request is sent again after its
 * Retry-After, like the transport does.
 */
import type { Clock, Random } from '../../src/core/time.js';
import { seededRandom } from '../../src/core/time.js';
import {
  ConcurrencyController,
  type ConcurrencyOptions,
  type ConcurrencySample,
} from '../../src/http/concurrency.js';

export interface SimServer {
  /** Instances; may change over time. */
  capacity: number | ((t: number) => number);
  queueLimit?: number;
  latencyMs: number;
  msPerFeature: number;
  retryAfterMs?: number;
  /** Service time varies by ± this share (seeded). */
  jitter?: number;
  /**
   * The client's own time per answer (reading and decoding it, ms), on one CPU: answers that come
   * together wait for each other. The request holds its slot until it is decoded.
   */
  clientMsPerAnswer?: number;
}

export interface SimResult {
  controller: ConcurrencyController;
  /** `[t, limit]` after every event where the limit changed, starting with the initial one. */
  limits: Array<[number, number]>;
  /** Requests sent `[t, refused]`. */
  sends: Array<[number, boolean]>;
  /** Completed requests `[t, features]`. */
  done: Array<[number, number]>;
  /** Peak of requests in the server (served + queued) after `t`. */
  peakAfter(t: number): number;
  /** The limit in effect at `t`. */
  limitAt(t: number): number;
  /** Features per second completed between `from` and `to`. */
  throughput(from: number, to: number): number;
  /** Pauses `[from, to]` announced by refusals. */
  pauses: Array<[number, number]>;
}

export class SimClock implements Clock {
  t = 0;
  now(): number {
    return this.t;
  }
}

export function simulate(
  server: SimServer,
  options: {
    durationMs: number;
    pageFeatures?: number;
    seed?: number;
    controller?: Partial<ConcurrencyOptions>;
  },
): SimResult {
  const clock = new SimClock();
  const controller = new ConcurrencyController({ clock, ...options.controller });
  const random: Random = seededRandom(options.seed ?? 7);
  const pageFeatures = options.pageFeatures ?? 2000;
  const events: Array<{ at: number; seq: number; run: () => void }> = [];
  let seq = 0;
  const at = (time: number, run: () => void) => {
    events.push({ at: time, seq: seq++, run });
  };
  const capacityAt = (t: number) =>
    typeof server.capacity === 'number' ? server.capacity : server.capacity(t);
  const queueLimit = server.queueLimit ?? Number.POSITIVE_INFINITY;
  const queue: Array<() => void> = [];
  let serving = 0;
  let inServer = 0;
  const serverLoad: Array<[number, number]> = [];
  const limits: Array<[number, number]> = [[0, controller.limit()]];
  const sends: Array<[number, boolean]> = [];
  const done: Array<[number, number]> = [];
  const pauses: Array<[number, number]> = [];

  const serviceMs = () => {
    const base = server.latencyMs + server.msPerFeature * pageFeatures;
    const j = server.jitter ?? 0;
    return base * (1 + j * (2 * random() - 1));
  };

  let cpuFreeAt = 0;
  const finish = (sample: ConcurrencySample) => {
    serving--;
    inServer--;
    serverLoad.push([clock.t, inServer]);
    while (serving < capacityAt(clock.t) && queue.length > 0) queue.shift()!();
    const decode = server.clientMsPerAnswer ?? 0;
    if (decode > 0) {
      cpuFreeAt = Math.max(cpuFreeAt, clock.t) + decode;
      at(cpuFreeAt, () => decoded(sample));
    } else decoded(sample);
  };

  const decoded = (sample: ConcurrencySample) => {
    sample.end({ features: pageFeatures, ok: true });
    done.push([clock.t, pageFeatures]);
    pump();
  };

  const send = (sample: ConcurrencySample) => {
    if (serving < capacityAt(clock.t)) {
      sends.push([clock.t, false]);
      serving++;
      inServer++;
      serverLoad.push([clock.t, inServer]);
      at(clock.t + serviceMs(), () => finish(sample));
    } else if (queue.length < queueLimit) {
      sends.push([clock.t, false]);
      inServer++;
      serverLoad.push([clock.t, inServer]);
      queue.push(() => {
        serving++;
        at(clock.t + serviceMs(), () => finish(sample));
      });
    } else {
      sends.push([clock.t, true]);
      const retryAfter = server.retryAfterMs ?? 1000;
      at(clock.t + 2, () => {
        const turn = controller.throttled(429, retryAfter);
        pauses.push([clock.t, clock.t + retryAfter]);
        // the transport sends it again after the Retry-After (and its round), within the same sample
        at(clock.t + retryAfter, () => at(clock.t + turn(), () => send(sample)));
        at(clock.t + retryAfter, pump);
      });
    }
  };

  function pump(): void {
    if (controller.pauseRemainingMs() > 0) return;
    while (controller.inFlight < controller.limit()) send(controller.begin());
  }

  pump();
  while (events.length > 0) {
    events.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const event = events.shift()!;
    if (event.at > options.durationMs) break;
    clock.t = event.at;
    event.run();
    const limit = controller.limit();
    if (limits[limits.length - 1]![1] !== limit) limits.push([clock.t, limit]);
  }

  return {
    controller,
    limits,
    sends,
    done,
    pauses,
    peakAfter: (t) => Math.max(0, ...serverLoad.filter(([time]) => time >= t).map(([, n]) => n)),
    limitAt: (t) => {
      let value = limits[0]![1];
      for (const [time, limit] of limits) if (time <= t) value = limit;
      return value;
    },
    throughput: (from, to) => {
      const features = done.filter(([t]) => t > from && t <= to).reduce((sum, [, n]) => sum + n, 0);
      return features / ((to - from) / 1000);
    },
  };
}
