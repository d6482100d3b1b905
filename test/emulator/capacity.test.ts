import { afterEach, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { emulatorCommandOptions } from '../../src/emulator/cli.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle, EmulatorOptions } from '../../src/emulator/types.js';
import { call } from './helpers.js';

let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

const PAGE = 'where=1%3D1&outFields=*&f=json';

function start(options: EmulatorOptions): Promise<EmulatorHandle> {
  return startEmulator({
    layers: [
      { service: 'Points', generate: { count: 1000, geometry: 'point', seed: 1 }, maxRecordCount: 1000 },
    ],
    ...options,
  });
}

/** n queries sent at once; their statuses, in order. */
async function burst(
  handle: EmulatorHandle,
  n: number,
  query = PAGE,
): Promise<Awaited<ReturnType<typeof call>>[]> {
  return Promise.all(
    Array.from({ length: n }, () => call(`${handle.layerUrl('Points')}/query?${query}&resultRecordCount=5`)),
  );
}

describe('emulator capacity (the server model)', () => {
  it('serves at most `capacity` queries at once and queues the others', async () => {
    emu = await start({ capacity: 2, faults: { latencyMs: 60 } });
    const t0 = performance.now();
    const answers = await burst(emu, 6);
    const elapsed = performance.now() - t0;
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const { load } = emu.stats();
    expect(load.peakServing).toBe(2);
    expect(load.peakConcurrency).toBe(6);
    expect(load.queued).toBe(4);
    expect(load.queueWaitMs).toBeGreaterThan(0);
    expect(load.maxQueueWaitMs).toBeGreaterThanOrEqual(100);
    expect(load.refused).toEqual({});
    // three rounds of two
    expect(elapsed).toBeGreaterThanOrEqual(170);
    // the span of the queries at the server: the first admitted to the last answered (three rounds)
    expect(load.lastAt! - load.firstAt!).toBeGreaterThanOrEqual(170);
    expect(load.lastAt! - load.firstAt!).toBeLessThanOrEqual(elapsed + 5);
  });

  it('refuses queries beyond the queue limit with 429 and Retry-After', async () => {
    emu = await start({ capacity: 1, queueLimit: 1, faults: { latencyMs: 80, retryAfterSeconds: 2 } });
    const answers = await burst(emu, 4);
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429]);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.headers['retry-after']).toBe('2');
    const { load } = emu.stats();
    expect(load.refused).toEqual({ '429': 2 });
    expect(load.peakConcurrency).toBe(2);
    expect(load.peakServing).toBe(1);
  });

  it('refuses with 503 when told to', async () => {
    emu = await start({ capacity: 1, queueLimit: 0, refuseStatus: 503, faults: { latencyMs: 60 } });
    const statuses = (await burst(emu, 3)).map((a) => a.status).sort();
    expect(statuses).toEqual([200, 503, 503]);
    expect(emu.stats().load.refused).toEqual({ '503': 2 });
  });

  it('only queries take an instance: metadata is served while the instances are busy', async () => {
    emu = await start({ capacity: 1, queueLimit: 0, faults: { latencyMs: 80 } });
    const query = call(`${emu.layerUrl('Points')}/query?${PAGE}&resultRecordCount=5`);
    const info = await call(`${emu.layerUrl('Points')}?f=json`);
    expect(info.status).toBe(200);
    expect((await query).status).toBe(200);
    expect(emu.stats().load.refused).toEqual({});
  });

  it('adds a service time per feature answered: larger pages take longer', async () => {
    emu = await start({ faults: { msPer1000Features: 300 } });
    const t0 = performance.now();
    const page = await call(`${emu.layerUrl('Points')}/query?${PAGE}&resultRecordCount=1000`);
    const elapsed = performance.now() - t0;
    expect(page.json<{ features: unknown[] }>().features).toHaveLength(1000);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    // a cached answer costs the same service time (the count comes with it)
    const t1 = performance.now();
    await call(`${emu.layerUrl('Points')}/query?${PAGE}&resultRecordCount=1000`);
    await call(`${emu.layerUrl('Points')}/query?${PAGE}&resultRecordCount=1000`);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(580);
  });

  it('counts the time it spends building an answer in its service time, not on top of it', async () => {
    // 10,000 polygons in f=json: building the first answer takes the emulator 400 ms here (its
    // cache answers the next one at once); the service time is 1,500 ms either way (building stays
    // within it on a loaded machine too)
    emu = await startEmulator({
      layers: [
        {
          service: 'Polygons',
          generate: { count: 10_000, geometry: 'mixed-polygon', seed: 7 },
          maxRecordCount: 10_000,
        },
      ],
      faults: { msPer1000Features: 150 },
    });
    const timed = async () => {
      const t0 = performance.now();
      const page = await call(`${emu!.layerUrl('Polygons')}/query?${PAGE}&resultRecordCount=10000`);
      const elapsed = performance.now() - t0; // the answer only: parsing it here is the test's time
      expect(page.json<{ features: unknown[] }>().features).toHaveLength(10_000);
      return elapsed;
    };
    const built = await timed();
    const cached = await timed();
    expect(cached).toBeGreaterThanOrEqual(1490);
    // building added to the service time would make the first answer its 400 ms slower
    expect(built - cached).toBeLessThan(200);
  });

  it('counts peak concurrency without a capacity too, and resets the load counters', async () => {
    emu = await start({ faults: { latencyMs: 50 } });
    await burst(emu, 3);
    expect(emu.stats().load.peakConcurrency).toBe(3);
    expect(emu.stats().load.queued).toBe(0);
    emu.resetStats();
    expect(emu.stats().load).toEqual({
      peakConcurrency: 0,
      peakServing: 0,
      refused: {},
      queued: 0,
      queueWaitMs: 0,
      maxQueueWaitMs: 0,
    });
    const remote = await call(`${new URL(emu.url).origin}/__emulator/stats`);
    expect(remote.json<{ load: { peakConcurrency: number } }>().load.peakConcurrency).toBe(0);
  });

  it('refuses bad capacity options', async () => {
    for (const options of [{ capacity: 0 }, { queueLimit: -1 }, { refuseStatus: 500 as 503 }]) {
      await expect(start(options)).rejects.toSatisfy((e: unknown) => isEtlError(e, 'USAGE'));
    }
  });
});

describe('emulator capacity flags', () => {
  it('map to options', () => {
    expect(
      emulatorCommandOptions({
        capacity: '8',
        queueLimit: '0',
        refuseStatus: '503',
        latencyMs: '150',
        msPer1000Features: '50',
      }),
    ).toEqual({
      capacity: 8,
      queueLimit: 0,
      refuseStatus: 503,
      faults: { latencyMs: 150, msPer1000Features: 50 },
    });
  });

  it('refuse bad values', () => {
    for (const flags of [
      { capacity: '0' },
      { queueLimit: 'x' },
      { refuseStatus: '500' },
      { msPer1000Features: '-1' },
    ]) {
      expect(() => emulatorCommandOptions(flags)).toThrow(/capacity|queue-limit|refuse-status|ms-per-1000/);
    }
  });
});
