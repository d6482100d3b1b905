/**
 * Bounded, ordered concurrency: at most `concurrency` tasks (and `spare` more) run at once, and
 * results are yielded in task order. A task starts as soon as one ends (not when the consumer takes
 * a result): a slow task at the head, or a consumer busy writing the last page, leaves no slot idle
 * at the server. The results waiting for their turn are bounded: fewer than
 * `REORDER_FACTOR × concurrency + spare` tasks are started-but-not-yielded at any time, so memory
 * stays flat. An adaptive limit is asked again before each start.
 *
 * With a `budget`, results are also bounded by their weight (an estimate of the memory a page
 * holds): the results waiting for their turn, the one the consumer is busy with, and the tasks in
 * flight (each counted at the mean weight of the results so far) stay within `budget.bytes`. While
 * they would not, no task starts: the consumer drains the ones held first. One task always runs
 * when nothing else is held or running, so a single result heavier than the budget still passes.
 */
import type { ConcurrencyLimit } from '../http/concurrency.js';

/** Started-but-not-yielded tasks are at most this many times the concurrency. */
export const REORDER_FACTOR = 2;
/** Turns of the event loop a request just made needs to be on its socket (undici dispatches it on a later turn). */
const DISPATCH_TURNS = 2;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Resolves once a request made just before is on its socket (DISPATCH_TURNS turns of the event loop). */
export async function afterDispatch(): Promise<void> {
  for (let turn = 0; turn < DISPATCH_TURNS; turn++) await nextTurn();
}

export interface OrderedPoolOptions<R = unknown> {
  /** A number, or an adaptive limit (e.g. the host's ConcurrencyController). */
  concurrency: number | ConcurrencyLimit;
  /**
   * Tasks started beyond the limit (default 0), for workers whose requests each take a slot of the
   * adaptive limit themselves and give it back when their answer is in, before working on it: a
   * spare task waits for that slot, and takes it at once.
   */
  spare?: number | undefined;
  /** Aborting stops the pool; the signal given to workers is aborted too. */
  signal?: AbortSignal | undefined;
  /** Bounds the results held by their weight (bytes), besides their count. */
  budget?: PoolBudget<R> | undefined;
}

export interface PoolBudget<R> {
  /** The most the held and expected results may weigh. */
  bytes: number;
  /** The weight of one result (an estimate of its size in memory, in bytes). */
  weigh: (result: R) => number;
}

export type PoolWorker<T, R> = (task: T, signal: AbortSignal) => Promise<R>;

export async function* orderedPool<T, R>(
  tasks: Iterable<T> | AsyncIterable<T>,
  worker: PoolWorker<T, R>,
  options: OrderedPoolOptions<R>,
): AsyncGenerator<R, void, undefined> {
  const source = options.concurrency;
  const concurrency = () => {
    const limit = Math.floor(typeof source === 'number' ? source : source.limit());
    // a limit that is not a number (a controller's fault) never ends the pool early: one at a time
    return Number.isFinite(limit) ? Math.max(1, limit) : 1;
  };
  const spare = Math.max(0, Math.floor(options.spare ?? 0));
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) throw options.signal.reason;
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const iterator = toAsyncIterator(tasks);
  /** Started, not yet yielded, in task order; `weight` once the task has ended well. */
  const window: { promise: Promise<R>; weight: number }[] = [];
  const budget = options.budget;
  /** Weight of the ended results in the window and of the one the consumer holds. */
  let held = 0;
  /** Weight and count of every result so far: their mean stands for a task in flight. */
  let weighed = 0;
  let results = 0;
  const overBudget = (): boolean => {
    if (budget === undefined || (running === 0 && held === 0)) return false;
    const expected = results === 0 ? 0 : weighed / results;
    return held + (running + 1) * expected > budget.bytes;
  };
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
        if (
          done ||
          controller.signal.aborted ||
          running >= limit + spare ||
          window.length >= REORDER_FACTOR * limit + spare ||
          overBudget()
        )
          break;
        const next = await iterator.next();
        if (next.done) {
          done = true;
          break;
        }
        if (controller.signal.aborted) break;
        running++;
        const promise = worker(next.value, controller.signal);
        const entry = { promise, weight: 0 };
        // A rejection is observed when its turn comes; never leave it unhandled meanwhile.
        promise.then((result) => {
          if (budget !== undefined) {
            entry.weight = weightOf(budget, result);
            held += entry.weight;
            weighed += entry.weight;
            results++;
          }
          ended();
        }, ended);
        window.push(entry);
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
      const value = await head.promise;
      window.shift();
      // the task this result's end started is under way (its request sent) before the consumer
      // takes the result: a consumer that writes a page synchronously would hold it back meanwhile,
      // and leave the server's instance idle (9 ms a page of 2,000 points, 4% of a 250 ms service
      // time). A request is on its socket two turns of the event loop after it is made (undici
      // dispatches it on a later turn).
      if (running > 0 || pulling) await afterDispatch();
      if (controller.signal.aborted) throw controller.signal.reason;
      // held until the consumer asks for the next one (it is busy with it meanwhile)
      yield value;
      held -= head.weight;
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (!controller.signal.aborted) controller.abort(new Error('pool closed'));
    await iterator.return?.();
  }
}

/** A weight that is not a finite number ≥ 0, or that throws (an estimator's fault), counts as nothing. */
function weightOf<R>(budget: PoolBudget<R>, result: R): number {
  try {
    const weight = budget.weigh(result);
    return Number.isFinite(weight) && weight > 0 ? weight : 0;
  } catch {
    return 0;
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
