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
      expect(Math.abs(run.limitAt(10_000) - capacity)).toBeLessThanOrEqual(1);
      // the server sees at most two requests queued once converged (a probe one step too high)
      expect(run.peakAfter(10_000)).toBeLessThanOrEqual(capacity + 2);
      // and the capacity is used
      expect(run.throughput(10_000, 120_000)).toBeGreaterThanOrEqual(0.9 * capacityThroughput(capacity));
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
  it('doubles while throughput grows, bisects below the step that brought none, then settles', async () => {
    const time = new FakeTime(0);
    const c = new ConcurrencyController({ clock: time });
    // a trace: each round, `limit` requests answer together after `latency` ms
    const round = async (latency: number) => {
      const samples = Array.from({ length: c.limit() }, () => c.begin());
      await time.advance(latency);
      for (const s of samples) s.end({ features: 1000, ok: true });
    };
    const window = async (latency: number) => {
      for (let i = 0; i < 3; i++) await round(latency);
    };
    // the first window warms up (connections, tokens): not a measurement
    await window(400);
    expect(c.limit()).toBe(4);
    // 4 → 8: 200 ms a page, the throughput doubles with the limit
    await window(200);
    expect(c.limit()).toBe(8);
    // at 8 the server queues: twice the latency, no more throughput → half-way, 6
    await window(400);
    expect(c.limit()).toBe(6);
    // 6 pays (220 ms: +36%) → 7
    await window(220);
    expect(c.limit()).toBe(7);
    // 7 only queues → back to 6, settled
    await window(300);
    expect(c.limit()).toBe(6);
    expect(c.snapshot().timeline.map(([, l]) => l)).toEqual([8, 6, 7, 6]);
    await window(220);
    expect(c.limit()).toBe(6);
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
