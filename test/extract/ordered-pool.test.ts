import { describe, expect, it } from 'vitest';
import { OidSet } from '../../src/features/oid-set.js';
import { type OrderedPoolOptions, orderedPool } from '../../src/features/ordered-pool.js';
import { DEFAULT_PAGE_BUDGET_BYTES, pageWeight } from '../../src/features/page-weight.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** A worker that takes a tick, counting the tasks in flight and their peak. */
function counted() {
  const state = { inFlight: 0, peak: 0 };
  const worker = async (i: number) => {
    state.inFlight++;
    state.peak = Math.max(state.peak, state.inFlight);
    await tick();
    state.inFlight--;
    return i;
  };
  return { state, worker };
}

/**
 * A pool over tasks 0..n-1 whose task i ends when `gates[i]` is resolved (with its value), consumed
 * as fast as it yields: what started, what was yielded, and the peak in flight.
 */
function gatedPool(n: number, options: OrderedPoolOptions<number>) {
  const gates = Array.from({ length: n }, () => deferred<number>());
  const state = { inFlight: 0, maxInFlight: 0 };
  const started: number[] = [];
  const pool = orderedPool(
    Array.from({ length: n }, (_, i) => i),
    async (i) => {
      started.push(i);
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        return await gates[i]!.promise;
      } finally {
        state.inFlight--;
      }
    },
    options,
  );
  const results: number[] = [];
  const done = (async () => {
    for await (const r of pool) results.push(r);
  })();
  return { gates, state, started, results, done };
}

describe('orderedPool', () => {
  it('a limit that is not a number runs one task at a time and still runs every task', async () => {
    const { state, worker } = counted();
    const pool = orderedPool(
      Array.from({ length: 6 }, (_, i) => i),
      worker,
      { concurrency: { limit: () => Number.NaN } },
    );
    const results: number[] = [];
    for await (const r of pool) results.push(r);
    expect(results).toEqual([0, 1, 2, 3, 4, 5]);
    expect(state.peak).toBe(1);
  });

  it('asks an adaptive limit again before each start', async () => {
    let limit = 2;
    let inFlight = 0;
    const peaks: number[] = [];
    const pool = orderedPool(
      Array.from({ length: 12 }, (_, i) => i),
      async (i) => {
        inFlight++;
        peaks.push(inFlight);
        // longer than the two turns a result waits before it is handed over: the pool fills up
        for (let turn = 0; turn < 4; turn++) await tick();
        inFlight--;
        return i;
      },
      { concurrency: { limit: () => limit } },
    );
    const results: number[] = [];
    for await (const r of pool) {
      results.push(r);
      if (r === 3) limit = 5;
    }
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(Math.max(...peaks.slice(0, 4))).toBe(2);
    expect(Math.max(...peaks)).toBe(5);
  });

  it('keeps at most `concurrency` tasks in flight and yields in task order', async () => {
    const { gates, started, results, done, state } = gatedPool(9, { concurrency: 3 });
    await tick();
    expect(started).toEqual([0, 1, 2]);
    // later tasks finish first: nothing is yielded before task 0, but their slots start new tasks
    gates[2]!.resolve(2);
    gates[1]!.resolve(1);
    await tick();
    expect(results).toEqual([]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    // the results held for their turn are bounded: 2 × concurrency started-but-not-yielded
    gates[4]!.resolve(4);
    await tick();
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    gates[0]!.resolve(0);
    // each result is handed over two turns of the event loop after its task ends (the next one is sent first)
    for (let turn = 0; turn < 8; turn++) await tick();
    expect(results).toEqual([0, 1, 2]);
    for (const i of [8, 7, 6, 5, 3]) gates[i]!.resolve(i);
    await done;
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(state.maxInFlight).toBe(3);
  });

  it('runs `spare` tasks beyond the limit, and holds as many more results for their turn', async () => {
    const { gates, started, results, done, state } = gatedPool(9, {
      concurrency: { limit: () => 2 },
      spare: 1,
    });
    await tick();
    expect(started).toEqual([0, 1, 2]);
    gates[1]!.resolve(1);
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    // started-but-not-yielded: at most 2 × 2 + 1, however few run
    for (const i of [2, 3]) gates[i]!.resolve(i);
    await tick();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    gates[4]!.resolve(4);
    await tick();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    for (const i of [0, 5, 6, 7, 8]) gates[i]!.resolve(i);
    await done;
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(state.maxInFlight).toBe(3);
  });

  it('starts the next task when one ends, while the consumer is still busy with a result', async () => {
    const started: number[] = [];
    const gates = Array.from({ length: 4 }, () => deferred<number>());
    const pool = orderedPool(
      [0, 1, 2, 3],
      (i) => {
        started.push(i);
        return gates[i]!.promise;
      },
      { concurrency: 2 },
    );
    gates[0]!.resolve(0);
    const first = await pool.next();
    expect(first.value).toBe(0);
    // the consumer holds result 0 (it has not asked for the next); task 1 ends meanwhile
    gates[1]!.resolve(1);
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    gates[2]!.resolve(2);
    gates[3]!.resolve(3);
    const rest: number[] = [];
    for await (const r of pool) rest.push(r);
    expect(rest).toEqual([1, 2, 3]);
  });

  it('has the task a result freed under way (its request sent) before the consumer gets that result', async () => {
    // a request goes out after a chain of awaits (slot, token) and a turn of the event loop (undici
    // dispatches on a later turn); a consumer that writes a page synchronously must not hold it
    // back for that long (the server's instance would idle)
    const sent: number[] = [];
    const pool = orderedPool(
      [0, 1, 2, 3],
      async (i) => {
        for (let step = 0; step < 20; step++) await Promise.resolve();
        await tick();
        sent.push(i);
        await tick();
        return i;
      },
      { concurrency: 1 },
    );
    const seen: number[][] = [];
    for await (const r of pool) seen.push([r, ...sent]);
    expect(seen).toEqual([
      [0, 0, 1],
      [1, 0, 1, 2],
      [2, 0, 1, 2, 3],
      [3, 0, 1, 2, 3],
    ]);
  });

  it('stops on the first error in order, aborts the others and leaves no unhandled rejection', async () => {
    const aborted: number[] = [];
    const pool = orderedPool(
      [0, 1, 2, 3],
      (i, signal) =>
        new Promise<number>((resolve, reject) => {
          if (i === 1) reject(new Error('boom'));
          else if (i === 0) setImmediate(() => resolve(0));
          signal.addEventListener('abort', () => {
            aborted.push(i);
            reject(new Error('aborted'));
          });
        }),
      { concurrency: 3 },
    );
    const results: number[] = [];
    await expect(
      (async () => {
        for await (const r of pool) results.push(r);
      })(),
    ).rejects.toThrow('boom');
    expect(results).toEqual([0]);
    expect(aborted).toContain(2);
  });

  it('pulls tasks lazily from an iterator (a huge plan is never materialised)', async () => {
    let pulled = 0;
    function* tasks() {
      for (let i = 0; i < 1_000_000; i++) {
        pulled++;
        yield i;
      }
    }
    const out: number[] = [];
    for await (const r of orderedPool(tasks(), async (i) => i * 2, { concurrency: 4 })) {
      out.push(r);
      if (out.length === 10) break;
    }
    expect(out).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(pulled).toBeLessThan(20);
  });

  it('with a byte budget, starts no task while the results held (and those expected) would weigh more', async () => {
    // results weigh 10 each; the budget is 35: the count bound (2 × 8) would allow 8 at once
    const gates = Array.from({ length: 10 }, () => deferred<number>());
    const started: number[] = [];
    const pool = orderedPool(
      Array.from({ length: 10 }, (_, i) => i),
      (i) => {
        started.push(i);
        return gates[i]!.promise;
      },
      { concurrency: 8, budget: { bytes: 35, weigh: () => 10 } },
    );
    // nothing weighed yet: the pool starts up to its concurrency
    const first = pool.next();
    await tick();
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // 1..7 end, 0 (the head) does not: they are held, and no task starts
    for (let i = 1; i < 8; i++) gates[i]!.resolve(i);
    await tick();
    expect(started).toHaveLength(8);
    gates[0]!.resolve(0);
    expect((await first).value).toBe(0);
    await tick();
    // the consumer holds 0 and the window 1..7: still over the budget
    expect(started).toHaveLength(8);
    // asking for the next releases result 0 and takes 1: 6 held + 1 consumed weigh 70 > 35
    expect((await pool.next()).value).toBe(1);
    await tick();
    expect(started).toHaveLength(8);
    // drained to 2 held (6, 7) + the one consumed (5): 30, and one more expected at 10 is 40 > 35
    for (const want of [2, 3, 4, 5]) expect((await pool.next()).value).toBe(want);
    await tick();
    expect(started).toHaveLength(8);
    // 7 held + 6 consumed = 20, one more expected: 30 ≤ 35, so one starts (then 40 > 35: only one)
    expect((await pool.next()).value).toBe(6);
    await tick();
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    gates[8]!.resolve(8);
    gates[9]!.resolve(9);
    const rest: number[] = [];
    for await (const r of pool) rest.push(r);
    expect(rest).toEqual([7, 8, 9]);
    expect(started).toHaveLength(10);
  });

  it('with a byte budget, counts the tasks in flight at the mean weight of the results so far', async () => {
    const { state, worker } = counted();
    const pool = orderedPool(
      Array.from({ length: 20 }, (_, i) => i),
      worker,
      // each result weighs 100: at most 3 held, consumed or in flight at once
      { concurrency: 16, budget: { bytes: 300, weigh: () => 100 } },
    );
    const results: number[] = [];
    let peakAfterFirst = 0;
    for await (const r of pool) {
      results.push(r);
      if (r > 0) peakAfterFirst = Math.max(peakAfterFirst, state.inFlight);
      await tick();
    }
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // before any result is weighed the pool starts its concurrency; then the budget bounds it
    expect(state.peak).toBe(16);
    expect(peakAfterFirst).toBeLessThanOrEqual(2);
  });

  it('with a byte budget, a single result heavier than the budget still passes, one at a time', async () => {
    const { state, worker } = counted();
    const pool = orderedPool([0, 1, 2, 3], worker, {
      concurrency: 1,
      budget: { bytes: 10, weigh: () => 1_000 },
    });
    const results: number[] = [];
    for await (const r of pool) results.push(r);
    expect(results).toEqual([0, 1, 2, 3]);
    expect(state.peak).toBe(1);
  });

  it('with a byte budget, a weight that throws or is not a number counts as nothing', async () => {
    const weights = [Number.NaN, -5, Number.POSITIVE_INFINITY];
    let n = 0;
    const pool = orderedPool([0, 1, 2, 3, 4], async (i) => i, {
      concurrency: 2,
      budget: {
        bytes: 1,
        weigh: () => {
          const w = weights[n++];
          if (w === undefined) throw new Error('no weight');
          return w;
        },
      },
    });
    const results: number[] = [];
    for await (const r of pool) results.push(r);
    expect(results).toEqual([0, 1, 2, 3, 4]);
  });

  it('honours an outer abort signal', async () => {
    const controller = new AbortController();
    const pool = orderedPool([1, 2, 3], (i) => new Promise<number>((r) => setImmediate(() => r(i))), {
      concurrency: 1,
      signal: controller.signal,
    });
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const r of pool) {
          seen.push(r);
          controller.abort(new Error('stop'));
        }
      })(),
    ).rejects.toThrow('stop');
    expect(seen).toEqual([1]);
  });
});

describe('pageWeight', () => {
  it('weighs a page by its features, attributes and vertices', () => {
    const attributes = { OBJECTID: 1, name: 'a' };
    const point = pageWeight([{ attributes, geometry: { x: 1, y: 2 } }]);
    const empty = pageWeight([{ attributes, geometry: null }]);
    const square = [
      [0, 0],
      [0, 1],
      [1, 1],
      [1, 0],
      [0, 0],
    ];
    const polygon = pageWeight([{ attributes, geometry: { rings: [square, square] } }]);
    const line = pageWeight([{ attributes, geometry: { paths: [square] } }]);
    const multipoint = pageWeight([{ attributes, geometry: { points: square } }]);
    const curve = pageWeight([
      {
        attributes,
        geometry: {
          curveRings: [
            square,
            {
              c: [
                [1, 1],
                [2, 2],
              ],
            },
          ],
        },
      },
    ]);
    const vertex = point - empty;
    expect(vertex).toBeGreaterThan(0);
    expect(polygon - empty).toBe(10 * vertex);
    expect(line - empty).toBe(5 * vertex);
    expect(multipoint - empty).toBe(5 * vertex);
    expect(curve - empty).toBe(6 * vertex);
    expect(pageWeight([{ attributes: { ...attributes, more: 3 }, geometry: null }])).toBeGreaterThan(empty);
    expect(pageWeight([])).toBe(0);
    // about 450 bytes a decoded point feature of 10 fields, 2,100 a polygon of 21 vertices
    const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}`, i]));
    const ring = Array.from({ length: 21 }, (_, i) => [i, i]);
    expect(pageWeight([{ attributes: ten, geometry: { x: 1, y: 2 } }])).toBeGreaterThan(400);
    expect(pageWeight([{ attributes: ten, geometry: { x: 1, y: 2 } }])).toBeLessThan(550);
    expect(pageWeight([{ attributes: ten, geometry: { rings: [ring] } }])).toBeGreaterThan(1_900);
    expect(pageWeight([{ attributes: ten, geometry: { rings: [ring] } }])).toBeLessThan(2_300);
    expect(DEFAULT_PAGE_BUDGET_BYTES).toBeGreaterThan(0);
  });
});

describe('OidSet', () => {
  it('de-duplicates across merges of its buffer', () => {
    const set = new OidSet(4);
    const added: boolean[] = [];
    for (const oid of [9, 3, 7, 1, 2, 3, 9, 2 ** 40, 5, 1]) added.push(set.add(oid));
    expect(added).toEqual([true, true, true, true, true, false, false, true, true, false]);
    expect(set.size).toBe(7);
    for (const oid of [1, 2, 3, 5, 7, 9, 2 ** 40]) expect(set.has(oid)).toBe(true);
    expect(set.has(4)).toBe(false);
  });

  it('holds many OIDs compactly and answers correctly', () => {
    const set = new OidSet();
    for (let i = 0; i < 100_000; i++) set.add((i * 7919) % 100_003);
    expect(set.size).toBe(100_000);
    expect(set.add(7919)).toBe(false);
  });

  it('ascending runs (appended directly) mixed with lower OIDs (buffered, merged) answer like a Set', () => {
    const set = new OidSet(16);
    const reference = new Set<number>();
    const values: number[] = [];
    for (let i = 0; i < 5_000; i++) values.push(i % 7 === 0 ? (i * 7919) % 4_999 : 10_000 + i);
    for (const v of [...values, ...values.slice(0, 300)]) {
      expect(set.add(v)).toBe(!reference.has(v));
      reference.add(v);
    }
    expect(set.size).toBe(reference.size);
    for (let v = 0; v < 16_000; v++) expect(set.has(v)).toBe(reference.has(v));
  });
});
