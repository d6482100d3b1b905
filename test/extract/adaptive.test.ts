/**
 * Adaptive concurrency against the emulator's server model (capacity, queue, refusals): real
 * server on port 0, short service times.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import { extractPages } from '../../src/features/extract.js';
import { fetchLayerInfo } from '../../src/features/metadata.js';
import {
  expectSameAsSource,
  pointLayer,
  readSeq,
  rig,
  startSecured,
  type TempDir,
  tempDir,
} from './helpers.js';

let emu: EmulatorHandle | undefined;
let tmp: TempDir;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
  await tmp.remove();
});

describe('adaptive concurrency against a server with a capacity', () => {
  it('finds the capacity: once converged, the server never sees more than capacity + 1 queries', async () => {
    const capacity = 3;
    emu = await startSecured({
      layers: [pointLayer('Points', 12_000, { maxRecordCount: 100 })],
      capacity,
      // service time (210 ms a page, as a real server's) well above the client's own noise on a
      // shared CPU: the emulator runs in this process, beside the other test files. At 110 ms a page
      // the answers of a loaded CI machine's cold start were slow enough to make the slow start's
      // capacity estimate 6, and the limit sat at capacity + 2 until the next look down, 8 windows on
      // (once in CI, on Node 24)
      faults: { latencyMs: 200, msPer1000Features: 100 },
    });
    const r = rig(emu);
    const out = tmp.path('points.geojsonl');
    let reset = false;
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: out,
      format: 'geojsonseq',
      // converged well before 70% of the pages (each window is about three rounds)
      onProgress: (p) => {
        if (!reset && p.features >= p.total * 0.7) {
          reset = true;
          emu!.resetStats();
        }
      },
    });
    await r.close();
    expect(reset).toBe(true);
    expectSameAsSource(emu, 'Points', await readSeq(out), { ordered: true });
    const { load } = emu.stats();
    expect(load.peakConcurrency, JSON.stringify(stats.concurrency)).toBeLessThanOrEqual(capacity + 1);
    expect(load.peakServing).toBe(capacity);
    expect(stats.concurrency).toMatchObject({ mode: 'adaptive', initial: 4 });
    // started above the capacity (4 > 3): it ended within one of it (capacity + 1, one request
    // waiting, covers the client's own time between an answer and the next request)
    expect(stats.concurrency!.final).toBeGreaterThanOrEqual(capacity - 1);
    expect(stats.concurrency!.final).toBeLessThanOrEqual(capacity + 1);
  }, 60_000);

  it('backs off on 429 and holds the whole pool for the Retry-After; every feature exactly once', async () => {
    emu = await startSecured({
      layers: [pointLayer('Points', 2_000, { maxRecordCount: 100 })],
      capacity: 2,
      queueLimit: 0,
      faults: { latencyMs: 40, retryAfterSeconds: 1 },
    });
    const r = rig(emu);
    const out = tmp.path('points.geojsonl');
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: out,
      format: 'geojsonseq',
    });
    await r.close();
    expectSameAsSource(emu, 'Points', await readSeq(out), { ordered: true });
    const refused = emu.stats().load.refused['429'] ?? 0;
    expect(refused).toBeGreaterThan(0);
    const c = stats.concurrency!;
    expect(c.throttled.http429).toBe(refused);
    expect(c.retryAfterWaits).toBeGreaterThanOrEqual(1);
    expect(c.retryAfterMs).toBeGreaterThanOrEqual(900);
    // cut from 4 at the first refusals; the rig's transport retries after 5 ms at most, so only the
    // host's pause kept the refused queries from coming back at once
    expect(c.min).toBeLessThanOrEqual(3);
    expect(stats.elapsedMs).toBeGreaterThanOrEqual(900);
  }, 60_000);

  it('more than 10 requests waiting on one signal (a Retry-After pause at a limit of 16) print no listener-leak warning', async () => {
    emu = await startSecured({
      layers: [pointLayer('Points', 12_000, { maxRecordCount: 200 })],
      capacity: 12,
      queueLimit: 0,
      // a service time well above the client's own noise on a shared CPU, so that the slow start
      // reaches 16 (above the capacity) rather than reading that noise as a queue
      faults: { latencyMs: 250, retryAfterSeconds: 1 },
    });
    const r = rig(emu);
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    // a caller's signal, as the CLI passes its Ctrl+C one: every waiting request listens to it
    const interrupt = new AbortController();
    try {
      const stats = await exportLayer({
        client: r.client,
        layerUrl: emu.layerUrl('Points'),
        output: tmp.path('waiting.geojsonl'),
        format: 'geojsonseq',
        signal: interrupt.signal,
      });
      expect(stats.features).toBe(12_000);
      // the slow start passed the capacity (12) and the whole pool waited out a pause
      expect(stats.concurrency!.max).toBeGreaterThan(12);
      expect(stats.concurrency!.retryAfterWaits).toBeGreaterThanOrEqual(1);
    } finally {
      process.off('warning', onWarning);
      await r.close();
    }
    // Node emits the warning on a later turn
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((w) => /MaxListeners/.test(w))).toEqual([]);
  }, 60_000);

  it('--concurrency pins it: the pool keeps that many in flight, whatever the server', async () => {
    emu = await startSecured({
      layers: [pointLayer('Points', 3_000, { maxRecordCount: 100 })],
      capacity: 2,
      faults: { latencyMs: 20 },
    });
    const r = rig(emu);
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: tmp.path('pinned.geojsonl'),
      format: 'geojsonseq',
      concurrency: 5,
    });
    await r.close();
    expect(stats.features).toBe(3_000);
    expect(emu.stats().load.peakConcurrency).toBe(5);
    expect(stats.concurrency).toMatchObject({ mode: 'pinned', min: 5, max: 5, final: 5, timeline: [] });
  }, 60_000);

  it('maxConcurrency bounds the adaptive limit', async () => {
    emu = await startSecured({
      layers: [pointLayer('Points', 6_000, { maxRecordCount: 100 })],
      faults: { latencyMs: 30 },
    });
    const r = rig(emu);
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points'),
      output: tmp.path('bounded.geojsonl'),
      format: 'geojsonseq',
      maxConcurrency: 5,
    });
    await r.close();
    expect(stats.features).toBe(6_000);
    expect(stats.concurrency!.max).toBeLessThanOrEqual(5);
    expect(emu.stats().load.peakConcurrency).toBeLessThanOrEqual(5);
  }, 60_000);
});

describe('the byte budget of the pages fetched ahead', () => {
  const run = async (pageBudget: number | undefined) => {
    emu = await startSecured({
      layers: [pointLayer('Points', 2_000, { maxRecordCount: 100 })],
      faults: { latencyMs: 20 },
    });
    const r = rig(emu);
    const pages = extractPages({
      client: r.client,
      layer: await fetchLayerInfo(r.client, emu.layerUrl('Points')),
      concurrency: 4,
      ...(pageBudget === undefined ? {} : { pageBudget }),
    });
    let features = 0;
    let n = 0;
    for await (const page of pages) {
      features += page.features.length;
      // past the first pages (weighed by then): from here, the peak in flight at the server
      if (++n === 6) emu.resetStats();
    }
    await r.close();
    const peak = emu.stats().load.peakConcurrency;
    await emu.stop();
    emu = undefined;
    return { features, peak };
  };

  it('no page request starts while the pages held would weigh more than the budget', async () => {
    // a page of 100 points weighs some 40 KB: a budget of 1 byte lets one page at a time go
    const tiny = await run(1);
    expect(tiny.features).toBe(2_000);
    expect(tiny.peak).toBeLessThanOrEqual(1);
    // the default budget (64 MB) holds far more than 4 such pages: the pinned concurrency is kept
    const roomy = await run(undefined);
    expect(roomy.features).toBe(2_000);
    expect(roomy.peak).toBe(4);
  }, 60_000);
});
