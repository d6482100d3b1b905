/**
 * Bounded, ordered concurrency: at most `concurrency` tasks run at once, and results are yielded in
 * task order. A task is only started when fewer than `concurrency` tasks are started-but-not-yielded,
 * so the reorder buffer never holds more than `concurrency` results: memory stays flat. An adaptive
 * limit is asked again before each start.
 */
import type { ConcurrencyLimit } from '../http/concurrency.js';

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
  const window: Promise<R>[] = [];
  let done = false;
  try {
    for (;;) {
      while (!done && window.length < concurrency()) {
        const next = await iterator.next();
        if (next.done) {
          done = true;
          break;
        }
        const promise = worker(next.value, controller.signal);
        // A rejection is observed when its turn comes; never leave it unhandled meanwhile.
        promise.catch(() => {});
        window.push(promise);
      }
      const head = window.shift();
      if (!head) return;
      if (controller.signal.aborted) throw controller.signal.reason;
      yield await head;
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
