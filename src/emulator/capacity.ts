/**
 * The server model of a real ArcGIS Server: a fixed number of service instances. At most
 * `capacity` queries are served at once; the others wait in a FIFO queue, or are refused (429 with
 * Retry-After, or 503) when the queue already holds `queueLimit`. Without a capacity every query is
 * served at once. Either way the load is counted: peak concurrency (queries in the server, served
 * or queued), peak served, refusals and queueing time.
 */
import { systemClock } from '../core/time.js';
import type { EmulatorLoadStats } from './types.js';

export interface CapacityOptions {
  /** Queries served at once (undefined: unlimited). */
  capacity: number | undefined;
  /** Queries that may wait for an instance (undefined: unlimited). */
  queueLimit: number | undefined;
}

export type Admission = { admitted: true; release: () => void } | { admitted: false };

export class CapacityGate {
  readonly #capacity: number;
  readonly #queueLimit: number;
  readonly #queue: Array<() => void> = [];
  #serving = 0;
  #inFlight = 0;
  #stats: EmulatorLoadStats = emptyLoad();

  constructor(options: CapacityOptions) {
    this.#capacity = options.capacity ?? Number.POSITIVE_INFINITY;
    this.#queueLimit = options.queueLimit ?? Number.POSITIVE_INFINITY;
  }

  get capacity(): number | undefined {
    return Number.isFinite(this.#capacity) ? this.#capacity : undefined;
  }

  /** Waits for a free instance; refuses at once when the queue is full. */
  async admit(): Promise<Admission> {
    if (this.#serving >= this.#capacity && this.#queue.length >= this.#queueLimit) {
      return { admitted: false };
    }
    this.#inFlight++;
    this.#stats.firstAt ??= systemClock.now();
    this.#stats.peakConcurrency = Math.max(this.#stats.peakConcurrency, this.#inFlight);
    if (this.#serving >= this.#capacity) {
      const queuedAt = systemClock.now();
      this.#stats.queued++;
      await new Promise<void>((resolve) => this.#queue.push(resolve));
      const waited = systemClock.now() - queuedAt;
      this.#stats.queueWaitMs += waited;
      this.#stats.maxQueueWaitMs = Math.max(this.#stats.maxQueueWaitMs, waited);
    } else {
      this.#serving++;
    }
    this.#stats.peakServing = Math.max(this.#stats.peakServing, this.#serving);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight--;
        this.#stats.lastAt = systemClock.now();
        const next = this.#queue.shift();
        // the instance goes straight to the next in line
        if (next) next();
        else this.#serving--;
      },
    };
  }

  refused(status: number): void {
    const key = String(status);
    this.#stats.refused[key] = (this.#stats.refused[key] ?? 0) + 1;
  }

  snapshot(): EmulatorLoadStats {
    return { ...this.#stats, refused: { ...this.#stats.refused } };
  }

  /** Counters back to zero (peaks restart from what is in flight now). */
  reset(): void {
    this.#stats = emptyLoad();
    this.#stats.peakConcurrency = this.#inFlight;
    this.#stats.peakServing = this.#serving;
  }
}

function emptyLoad(): EmulatorLoadStats {
  return {
    peakConcurrency: 0,
    peakServing: 0,
    refused: {},
    queued: 0,
    queueWaitMs: 0,
    maxQueueWaitMs: 0,
  };
}

/** Service time of an answer: the per-feature cost (the fixed latency is slept before). */
export function perFeatureMs(msPer1000Features: number, features: number | undefined): number {
  if (!(msPer1000Features > 0) || !features) return 0;
  return (msPer1000Features * features) / 1000;
}
