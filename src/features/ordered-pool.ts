/**
 * Bounded, ordered concurrency: at most `concurrency` tasks run at once, and results are yielded in
 * task order. A task starts as soon as one ends (not when the consumer takes a result): a slow
 * task at the head, or a consumer busy writing the last page, leaves no slot idle at the server.
 * The results waiting for their turn are bounded: fewer than `REORDER_FACTOR × concurrency` tasks
 * are started-but-not-yielded at any time, so memory stays flat. An adaptive limit is asked again
 * before each start.
 */
import type { ConcurrencyLimit } from '../http/concurrency.js';

/** Started-but-not-yielded tasks are at most this many times the concurrency. */
export const REORDER_FACTOR = 2;

export interface OrderedPoolOptions {
  /** A number, or an adaptive limit (e.g. the host's ConcurrencyController). */
  concurrency: number | ConcurrencyLimit;
  /** Aborting stops the pool; the signal given to workers is aborted too. */
  signal?: AbortSignal | undefined;
}

export type PoolWorker<T, R> = (task: T, signal: AbortSignal) => Promise<R>;

export async function* orderedPool<T, R>(
  tasks: Iterable<T> | AsyncIterable<T>,
  worker: PoolWorker<T, R>,
  options: OrderedPoolOptions,
): AsyncGenerator<R, void, undefined> {
  const source = options.concurrency;
  const concurrency = () => {
    const limit = Math.floor(typeof source === 'number' ? source : source.limit());
    // a limit that is not a number (a controller's fault) never ends the pool early: one at a time
    return Number.isFinite(limit) ? Math.max(1, limit) : 1;
  };
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) throw options.signal.reason;
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const iterator = toAsyncIterator(tasks);
  /** Started, not yet yielded, in task order. */
  const window: Promise<R>[] = [];
  let running = 0;
  let done = false;
  let pulling = false;
  let pullError: { error: unknown } | undefined;
  let wakeConsumer: (() => void) | undefined;
  const wake = () => {
    const resolve = wakeConsumer;
    wakeConsumer = undefined;
    resolve?.();
  };
  const ended = () => {
    running--;
    void fill();
  };
  // Starts tasks while there is room; called by the consumer and whenever a task ends. One pull
  // from the iterator at a time (a call during a pull returns: the pull's loop sees the room).
  async function fill(): Promise<void> {
    if (pulling) return;
    pulling = true;
    try {
      for (;;) {
        const limit = concurrency();
        if (done || controller.signal.aborted || running >= limit || window.length >= REORDER_FACTOR * limit)
          break;
        const next = await iterator.next();
        if (next.done) {
          done = true;
          break;
        }
        if (controller.signal.aborted) break;
        running++;
        const promise = worker(next.value, controller.signal);
        // A rejection is observed when its turn comes; never leave it unhandled meanwhile.
        promise.then(ended, ended);
        window.push(promise);
        wake();
      }
    } catch (error) {
      pullError = { error };
      done = true;
    } finally {
      pulling = false;
      wake();
    }
  }
  try {
    for (;;) {
      await fill();
      if (controller.signal.aborted) throw controller.signal.reason;
      if (pullError) throw pullError.error;
      const head = window[0];
      if (head === undefined) {
        if (done && !pulling) return;
        // a pull started by an ended task is under way: its task (or the end) wakes us
        await new Promise<void>((resolve) => {
          wakeConsumer = resolve;
        });
        continue;
      }
      const value = await head;
      window.shift();
      if (controller.signal.aborted) throw controller.signal.reason;
      yield value;
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (!controller.signal.aborted) controller.abort(new Error('pool closed'));
    await iterator.return?.();
  }
}

function toAsyncIterator<T>(tasks: Iterable<T> | AsyncIterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in tasks) return tasks[Symbol.asyncIterator]();
  const sync = tasks[Symbol.iterator]();
  return {
    next: async () => sync.next(),
    return: async () => sync.return?.() ?? { done: true, value: undefined },
  };
}
