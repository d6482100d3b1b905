/**
 * The default token store: an in-process Map whose entries expire by the injected clock, and an
 * in-process async mutex per key for `withLock`. Nothing here survives the process.
 */
import { EtlError } from '../core/errors.js';
import type { Clock, Sleep } from '../core/time.js';
import { realSleep, systemClock } from '../core/time.js';
import type { LockOptions, TokenRecord, TokenStore } from './types.js';

export interface MemoryStoreOptions {
  clock?: Clock;
  /** Used only for `LockOptions.waitMs`. */
  sleep?: Sleep;
}

interface Entry {
  record: TokenRecord;
  /** Local-clock epoch ms after which the entry is gone. */
  until: number;
}

export class MemoryStore implements TokenStore {
  readonly name = 'memory';
  readonly #entries = new Map<string, Entry>();
  /** The tail of each key's lock queue: resolves when the last queued holder releases. */
  readonly #locks = new Map<string, Promise<void>>();
  readonly #clock: Clock;
  readonly #sleep: Sleep;

  constructor(options: MemoryStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#sleep = options.sleep ?? realSleep;
  }

  async get(key: string): Promise<TokenRecord | undefined> {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#clock.now() >= entry.until) {
      this.#entries.delete(key);
      return undefined;
    }
    return { ...entry.record };
  }

  async set(key: string, record: TokenRecord, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) {
      this.#entries.delete(key);
      return;
    }
    this.#entries.set(key, { record: { ...record }, until: this.#clock.now() + ttlMs });
  }

  async delete(key: string, ifToken?: string): Promise<void> {
    if (ifToken !== undefined && this.#entries.get(key)?.record.token !== ifToken) return;
    this.#entries.delete(key);
  }

  async withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.#locks.set(key, tail);
    const done = () => {
      release();
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    };
    try {
      await this.#acquire(previous, options);
    } catch (error) {
      // Keep the queue intact: release our turn as soon as it comes.
      void previous.then(done);
      throw error;
    }
    try {
      return await fn();
    } finally {
      done();
    }
  }

  async #acquire(previous: Promise<void>, options: LockOptions): Promise<void> {
    const { waitMs, signal } = options;
    if (signal?.aborted) throw new EtlError('ABORTED', 'Lock wait aborted', { cause: signal.reason });
    if (waitMs === undefined && signal === undefined) return previous;
    const giveUp = new AbortController();
    const waiters: Promise<void>[] = [previous];
    if (waitMs !== undefined) {
      waiters.push(
        this.#sleep(waitMs, giveUp.signal).then(() => {
          throw new EtlError('CACHE_ERROR', `Timed out after ${waitMs} ms waiting for the token lock`);
        }),
      );
    }
    if (signal !== undefined) {
      waiters.push(
        new Promise<void>((_, reject) => {
          signal.addEventListener(
            'abort',
            () => reject(new EtlError('ABORTED', 'Lock wait aborted', { cause: signal.reason })),
            { once: true, signal: giveUp.signal },
          );
        }),
      );
    }
    try {
      await Promise.race(waiters);
    } finally {
      giveUp.abort();
    }
  }

  /** Drops every entry (tests, `logout`). */
  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}
