import type { Clock, Random, Runtime, Sleep } from './time.js';

/**
 * A manual clock for tests (ours and users'): sleeps resolve only when the clock is advanced.
 */
export class FakeTime implements Clock {
  #now: number;
  #timers: { at: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** Every sleep requested, in ms, in order. */
  readonly sleeps: number[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  readonly sleep: Sleep = (ms, signal) => {
    this.sleeps.push(ms);
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = { at: this.#now + Math.max(0, ms), resolve, reject };
      this.#timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.#timers = this.#timers.filter((t) => t !== timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  };

  /** Moves time forward, resolving due sleeps in order, letting microtasks run between them. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await flushMicrotasks();
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.resolve();
    }
    this.#now = target;
    await flushMicrotasks();
  }

  /** Sets the wall clock (e.g. to simulate skew) without resolving timers. */
  set(now: number): void {
    this.#now = now;
  }

  get pendingSleeps(): number {
    return this.#timers.length;
  }

  /** A runtime whose sleeps resolve immediately but advance this clock (for retry tests). */
  instantRuntime(random: Random = () => 0.5): Runtime {
    return {
      clock: this,
      random,
      sleep: async (ms) => {
        this.sleeps.push(ms);
        this.#now += Math.max(0, ms);
      },
    };
  }

  runtime(random: Random = () => 0.5): Runtime {
    return { clock: this, sleep: this.sleep, random };
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
