import { describe, expect, it } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import { ConcurrencyController } from '../../src/http/concurrency.js';
import { type SimServer, simulate } from './concurrency-sim.js';

/** The bench's server: 150 ms + 0.05 ms per feature, pages of 2,000 (250 ms a page). */
const REALISTIC: Omit<SimServer, 'capacity'> = { latencyMs: 150, msPerFeature: 0.05, jitter: 0.15 };
const PAGE_MS = 250;
const capacityThroughput = (k: number) => (k * 2000) / (PAGE_MS / 1000);

describe('ConcurrencyController on a simulated server', () => {
  for (const capacity of [2, 6, 8, 12]) {
    it(`converges to capacity ${capacity} within 10 s and stays within ±2 of it`, () => {
      const run = simulate({ ...REALISTIC, capacity }, { durationMs: 120_000 });
      const settled = run.limits.filter(([t]) => t >= 10_000).map(([, l]) => l);
      settled.push(run.limitAt(10_000));
      expect(Math.min(...settled)).toBeGreaterThanOrEqual(capacity - 2);
      expect(Math.max(...settled)).toBeLessThanOrEqual(capacity + 2);
      expect(Math.abs(run.limitAt(10_000) - capacity)).toBeLessThanOrEqual(2);
      // the server sees at most two requests queued once converged (a probe one step too high)
      expect(run.peakAfter(10_000)).toBeLessThanOrEqual(capacity + 2);
      // and the capacity is used
      expect(run.throughput(10_000, 120_000)).toBeGreaterThanOrEqual(0.9 * capacityThroughput(capacity));
    });
  }

  for (const capacity of [2, 8]) {
    it(`keeps capacity ${capacity} busy when the client takes 10 ms per answer (limit at capacity or one above)`, () => {
      // the client reads and decodes each answer on one CPU before its slot is free: the server
      // would idle between an answer and the next request without a request waiting in its queue
      const run = simulate({ ...REALISTIC, capacity, clientMsPerAnswer: 10 }, { durationMs: 60_000 });
      expect(run.limitAt(10_000)).toBeGreaterThanOrEqual(capacity);
      expect(run.limitAt(10_000)).toBeLessThanOrEqual(capacity + 1);
      expect(run.peakAfter(10_000)).toBeLessThanOrEqual(capacity + 2);
      expect(run.throughput(10_000, 60_000)).toBeGreaterThanOrEqual(0.9 * capacityThroughput(capacity));
    });
  }

  it('steps back when the latency rises without throughput (the server lost instances)', () => {
    const run = simulate(
      { ...REALISTIC, capacity: (t) => (t < 30_000 ? 10 : 4) },
      { durationMs: 60_000, seed: 3 },
    );
    expect(run.limitAt(29_000)).toBeGreaterThanOrEqual(10);
    const after = run.limits.filter(([t]) => t >= 45_000).map(([, l]) => l);
    after.push(run.limitAt(45_000));
    expect(Math.max(...after)).toBeLessThanOrEqual(6);
    expect(Math.min(...after)).toBeGreaterThanOrEqual(3);
  });

  it('backs off on 429 and honours Retry-After for the whole pool', () => {
    const run = simulate(
      { ...REALISTIC, capacity: 2, queueLimit: 0, retryAfterMs: 1000 },
      { durationMs: 120_000, seed: 5 },
    );
    // started at 4: refused at once, and cut
    expect(run.sends.slice(0, 4).filter(([, refused]) => refused)).toHaveLength(2);
    // to the requests it accepted (2 of the 4 in flight), at once
    expect(run.limitAt(10)).toBe(2);
    expect(run.limitAt(3000)).toBeLessThanOrEqual(3);
    expect(run.limitAt(10_000)).toBe(2);
    // nothing is sent while a Retry-After pause runs (except the retries due at its end)
    for (const [from, to] of run.pauses) {
      expect(run.sends.filter(([t]) => t > from + 1 && t < to)).toEqual([]);
    }
    // after the first 10 s, at most 1% refused, and ≥ 90% of the capacity used
    const later = run.sends.filter(([t]) => t >= 10_000);
    expect(later.filter(([, refused]) => refused).length).toBeLessThanOrEqual(0.01 * later.length);
    expect(run.throughput(10_000, 120_000)).toBeGreaterThanOrEqual(0.9 * capacityThroughput(2));
    const stats = run.controller.snapshot();
    expect(stats.throttled.http429).toBeGreaterThanOrEqual(2);
    expect(stats.retryAfterWaits).toBeGreaterThanOrEqual(1);
    expect(stats.retryAfterMs).toBeGreaterThanOrEqual(1000);
  });

  it('never probes or looks below 2 (a server of one instance still keeps one waiting): capacity 2 + 429 stays at 2', () => {
    for (const seed of [1, 5, 9]) {
      const run = simulate(
        { ...REALISTIC, capacity: 2, queueLimit: 0, retryAfterMs: 1000 },
        { durationMs: 120_000, seed },
      );
      // cut to 2 by the first refusals; a probe down to 1 would halve the throughput for a window
      const after = run.limits.filter(([t]) => t >= 1000).map(([, l]) => l);
      expect(Math.min(run.limitAt(1000), ...after), `seed ${seed}`).toBeGreaterThanOrEqual(2);
      expect(run.throughput(10_000, 120_000)).toBeGreaterThanOrEqual(0.95 * capacityThroughput(2));
    }
  });

  it('never exceeds its maximum', () => {
    const run = simulate({ ...REALISTIC, capacity: 64 }, { durationMs: 60_000 });
    expect(Math.max(...run.limits.map(([, l]) => l))).toBe(16);
    expect(run.peakAfter(0)).toBeLessThanOrEqual(16);
    const low = simulate({ ...REALISTIC, capacity: 64 }, { durationMs: 30_000, controller: { max: 6 } });
    expect(Math.max(...low.limits.map(([, l]) => l))).toBe(6);
    expect(low.controller.snapshot()).toMatchObject({
      mode: 'adaptive',
      initial: 4,
      min: 4,
      max: 6,
      final: 6,
    });
  });

  it('stays where it is pinned, still counting throttling', () => {
    const run = simulate(
      { ...REALISTIC, capacity: 2, queueLimit: 0, retryAfterMs: 500 },
      { durationMs: 10_000, controller: { pinned: 3 } },
    );
    expect(run.limits).toEqual([[0, 3]]);
    const stats = run.controller.snapshot();
    expect(stats).toMatchObject({ mode: 'pinned', min: 3, max: 3, final: 3, timeline: [] });
    expect(stats.throttled.http429).toBeGreaterThan(0);
  });
});

describe('ConcurrencyController on a recorded trace', () => {
  it("slow start: one more per answer without a queue, then the capacity by Little's law", async () => {
    const time = new FakeTime(0);
    const c = new ConcurrencyController({ clock: time });
    // a recorded trace of a server with 8 instances and a 250 ms service time: the client keeps
    // `limit` requests in flight; the server answers FIFO, 8 at a time
    const inService: Array<{ end: number; sample: ReturnType<typeof c.begin> }> = [];
    const queue: Array<ReturnType<typeof c.begin>> = [];
    const limits: number[] = [];
    const fill = () => {
      while (c.inFlight < c.limit()) {
        const sample = c.begin();
        if (inService.length < 8) inService.push({ end: time.now() + 250, sample });
        else queue.push(sample);
      }
    };
    fill();
    for (let round = 0; round < 8; round++) {
      await time.advance(250);
      const done = inService.splice(0, inService.length);
      for (const { sample } of done) {
        sample.end({ features: 2000, ok: true });
        const next = queue.shift();
        if (next) inService.push({ end: time.now() + 250, sample: next });
      }
      fill();
      limits.push(c.limit());
    }
    // 4 answers → 8; 8 answers → 16 (the maximum); the 8 queued behind the first 8 answer in
    // 500 ms with 16 in flight: 16 × 250 / 500 = 8 instances
    expect(limits.slice(0, 2)).toEqual([8, 16]);
    expect(limits.slice(3)).toEqual([8, 8, 8, 8, 8]);
    expect(c.snapshot().timeline.at(-1)?.[1]).toBe(8);
  });

  it('a server that shares one CPU among its requests (Koop): two in flight after the slow start, not one', async () => {
    const time = new FakeTime(0);
    const c = new ConcurrencyController({ clock: time });
    // the probe's first page, alone: 410 ms (as Koop 10 answered 2,000 of 50,000 points)
    const probe = c.begin();
    await time.advance(410);
    probe.end({ features: 2000, ok: true });
    // the pool's first four pages: the server works on all four at once, so all four end together,
    // after four times as long. Little's law says one instance; but with one request in flight
    // the server idles while the client reads each answer and sends the next request. One more
    // waiting keeps it busy (capacity + 1, the most the adaptive-concurrency issue allows).
    const four = [c.begin(), c.begin(), c.begin(), c.begin()];
    await time.advance(1640);
    for (const sample of four) sample.end({ features: 2000, ok: true });
    expect(c.limit()).toBe(2);
    // two at a time, 820 ms each (shared): no queue the Vegas rule counts as one, so it holds
    for (let round = 0; round < 12; round++) {
      const two = [c.begin(), c.begin()];
      await time.advance(820);
      for (const sample of two) sample.end({ features: 2000, ok: true });
      expect(c.limit()).toBe(2);
    }
  });

  for (const capacity of [1, 2, 3, 8]) {
    it(`reaches capacity ${capacity} (or one above) within 1.5 s of a server without jitter`, () => {
      const run = simulate({ latencyMs: 150, msPerFeature: 0.05, capacity }, { durationMs: 30_000 });
      expect(run.limitAt(1500)).toBeGreaterThanOrEqual(capacity);
      expect(run.limitAt(1500)).toBeLessThanOrEqual(capacity + 1);
      // then within one of it: a look down spends a window one below (the capacity's throughput is
      // found by losing it), and not more than a tenth of the time
      let below = 0;
      for (let t = 1500; t < 30_000; t += 10) {
        expect(run.limitAt(t)).toBeGreaterThanOrEqual(Math.max(1, capacity - 1));
        expect(run.limitAt(t)).toBeLessThanOrEqual(capacity + 1);
        if (run.limitAt(t) < capacity) below += 10;
      }
      expect(below).toBeLessThanOrEqual(0.1 * (30_000 - 1500));
      expect(run.throughput(1500, 30_000)).toBeGreaterThanOrEqual(0.97 * capacityThroughput(capacity));
    });
  }

  it("checks its slow start's estimate by a look down: a busy client's slow answers made it twice the capacity", () => {
    // the client takes 60 ms of one CPU per answer: answers that come together wait for each other,
    // so the slow start's answers look queued late and its Little's law estimate comes out at 6
    const busy = { latencyMs: 200, msPerFeature: 0.1, capacity: 3, clientMsPerAnswer: 60 };
    const run = simulate(busy, { durationMs: 20_000, pageFeatures: 100 });
    expect(Math.max(...run.limits.filter(([t]) => t < 2000).map(([, l]) => l))).toBeGreaterThanOrEqual(6);
    // the look down two windows on walks it back while the throughput holds (the controller used to
    // sit at 6 until its first regular look down, 8 windows on: 12.5 s here)
    for (let t = 8000; t < 14_000; t += 10) expect(run.limitAt(t)).toBeLessThanOrEqual(busy.capacity + 1);
  });

  it('cuts once for a burst of refusals, and pauses acquire for the Retry-After', async () => {
    const time = new FakeTime(0);
    const c = new ConcurrencyController({ clock: time, sleep: time.sleep, initial: 8 });
    c.throttled(429, 2000);
    c.throttled(429, 2000);
    c.throttled(503);
    expect(c.limit()).toBe(6);
    expect(c.pauseRemainingMs()).toBe(2000);
    let got = false;
    const pending = c.acquire().then((s) => {
      got = true;
      return s;
    });
    await time.advance(1999);
    expect(got).toBe(false);
    await time.advance(1);
    (await pending).end({ ok: true });
    expect(got).toBe(true);
    expect(c.snapshot()).toMatchObject({
      throttled: { http429: 2, http503: 1 },
      retryAfterWaits: 1,
      retryAfterMs: 2000,
      min: 6,
      final: 6,
    });
    // a refusal after the pause is news: cut again
    c.throttled(429, 1000);
    expect(c.limit()).toBe(4);
  });

  it('slow start grows only a limit in use: lone probes before the pool starts do not', async () => {
    const time = new FakeTime(0);
    const c = new ConcurrencyController({ clock: time });
    for (let i = 0; i < 3; i++) {
      const probe = c.begin();
      await time.advance(150);
      probe.end({ features: 1, ok: true });
    }
    expect(c.limit()).toBe(4);
    const pool = Array.from({ length: 4 }, () => c.begin());
    await time.advance(250);
    for (const s of pool) s.end({ features: 2000, ok: true });
    expect(c.limit()).toBe(8);
  });

  it('a burst of refusals cuts to the requests accepted; the refused go again in rounds of that limit', async () => {
    const time = new FakeTime(0);
    const c = new ConcurrencyController({ clock: time, sleep: time.sleep });
    // one round measured: 250 ms a page
    const round = Array.from({ length: 4 }, () => c.begin());
    await time.advance(250);
    for (const s of round) s.end({ features: 2000, ok: true });
    // six in flight; the server (two instances, no queue) refuses four of them
    const six = Array.from({ length: 6 }, () => c.begin());
    const turns = [0, 1, 2, 3].map(() => c.throttled(429, 1000));
    expect(c.limit()).toBe(2);
    expect(c.pauseRemainingMs()).toBe(1000);
    await time.advance(250);
    for (const s of six.slice(0, 2)) s.end({ features: 2000, ok: true });
    await time.advance(750);
    // asked when the pause is over: two now, two one service time later
    expect(turns.map((turn) => turn())).toEqual([0, 0, 250, 250]);
    // a refusal of one of them (more in flight than the limit) says nothing new: no cut, a later round
    const late = c.throttled(429, 1000);
    expect(c.limit()).toBe(2);
    expect(late()).toBe(500);
    expect(c.snapshot()).toMatchObject({ min: 2, final: 2, throttled: { http429: 5 } });
  });

  it('slow start after an answer within the clock tick (0 ms): the limit stays a number, acquire is served', async () => {
    // a local server answers a page within the millisecond: the fastest latency is 0, every later
    // answer looked queued and the service time (the answers below 1.5 × 0) was the mean of none:
    // NaN, and the limit with it (acquire never served again; the ordered pool started no more tasks)
    const time = new FakeTime(0);
    const c = new ConcurrencyController({ clock: time, sleep: time.sleep });
    const first = c.begin();
    first.end({ features: 20, ok: true });
    for (let i = 0; i < 4; i++) {
      const round = Array.from({ length: c.limit() }, () => c.begin());
      await time.advance(3);
      for (const s of round) s.end({ features: 20, ok: true });
      expect(Number.isInteger(c.limit())).toBe(true);
    }
    expect(c.limit()).toBeGreaterThanOrEqual(1);
    expect(c.limit()).toBeLessThanOrEqual(16);
    const sample = await c.acquire();
    sample.end({ features: 20, ok: true });
    expect(c.inFlight).toBe(0);
    expect(c.snapshot().timeline.every(([, l]) => Number.isInteger(l))).toBe(true);
  });

  it('a request whose answer has arrived frees its slot before it ends (the client decodes off the slot)', async () => {
    const time = new FakeTime(0);
    const c = new ConcurrencyController({ clock: time, sleep: time.sleep, initial: 1, max: 1 });
    const a = await c.acquire();
    let second = false;
    const pending = c.acquire().then((sample) => {
      second = true;
      return sample;
    });
    await time.advance(250);
    expect(second).toBe(false);
    expect(a.arrived()).toBe(true); // it let the waiting request go
    const b = await pending;
    expect(second).toBe(true);
    expect(c.inFlight).toBe(1);
    // the end (once decoded) frees nothing more: the slot is the second request's
    await time.advance(40);
    a.end({ features: 2000, ok: true });
    expect(c.inFlight).toBe(1);
    expect(a.arrived()).toBe(false);
    b.end({ ok: false });
    expect(c.inFlight).toBe(0);
  });

  it('acquire holds requests beyond the limit until one ends', async () => {
    const time = new FakeTime(0);
    const c = new ConcurrencyController({ clock: time, sleep: time.sleep, pinned: 2 });
    const a = await c.acquire();
    await c.acquire();
    let third = false;
    const pending = c.acquire().then(() => {
      third = true;
    });
    await time.advance(0);
    expect(third).toBe(false);
    a.end({ ok: false });
    await pending;
    expect(third).toBe(true);
    expect(c.inFlight).toBe(2);
  });
});
