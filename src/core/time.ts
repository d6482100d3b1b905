/**
 * Time and randomness are injected everywhere they matter, so tests never sleep.
 * Nothing outside src/core reads Date.now(), setTimeout or Math.random directly.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** Resolves after `ms`, or rejects with the signal's reason when aborted. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** A uniform number in [0, 1). */
export type Random = () => number;

export interface Runtime {
  clock: Clock;
  sleep: Sleep;
  random: Random;
}

export const systemClock: Clock = { now: () => Date.now() };

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export const mathRandom: Random = () => Math.random();

export const systemRuntime: Runtime = { clock: systemClock, sleep: realSleep, random: mathRandom };

/** Fills in the parts of a runtime that were not given. */
export function resolveRuntime(partial: Partial<Runtime> = {}): Runtime {
  return {
    clock: partial.clock ?? systemClock,
    sleep: partial.sleep ?? realSleep,
    random: partial.random ?? mathRandom,
  };
}

/** A deterministic PRNG (mulberry32) for seeded behaviour: faults, jitter in tests, generated data. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
