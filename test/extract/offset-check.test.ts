/**
 * offset's check that the server honours resultOffset (one row at offset 1, against the first page)
 * goes out with the first pages under the adaptive limit, so that the server's instances do not idle
 * for its round trip; nothing is written before it passes. A pinned concurrency keeps its promise:
 * the check is made before the pages, not beside them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { exportLayer } from '../../src/features/export.js';
import { forward, paramsOf, relay, startServer } from '../http/server.js';
import { expectSameAsSource, pointLayer, readSeq, rig, type TempDir, tempDir } from './helpers.js';

let emu: EmulatorHandle;
let tmp: TempDir;
beforeAll(async () => {
  // every query answers after 200 ms: what is in flight together is plain in the log
  emu = await startEmulator({
    layers: [pointLayer('Points', 600, { maxRecordCount: 100 })],
    faults: { latencyMs: 200 },
  });
  tmp = await tempDir();
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

interface Logged {
  offset: string | null;
  count: string | null;
  objectIds: string | null;
  f: string | null;
  startAt: number;
  endAt: number;
}

/**
 * How the check's answer is held back: `slow`, 300 ms late (after the pages sent beside it);
 * `untilPage`, until the query at this offset has come in (or 3 s, if it never comes).
 */
type HoldCheck = { slow: true } | { untilPage: string; released?: 'page' | 'timeout' };

/** A proxy in front of the emulator that logs when each query went out and when it was answered. */
async function loggingProxy(
  hold: HoldCheck | undefined,
): Promise<{ origin: string; log: Logged[]; close(): Promise<void> }> {
  const log: Logged[] = [];
  const target = new URL(emu.url).origin;
  let pageCame: () => void = () => undefined;
  const pageComes = new Promise<void>((resolve) => {
    pageCame = resolve;
  });
  const server = await startServer(async (_req, res, recorded) => {
    const params = paramsOf(recorded);
    const startAt = performance.now();
    if (hold !== undefined && 'untilPage' in hold && params.get('resultOffset') === hold.untilPage)
      pageCame();
    const answer = await forward(target, recorded, params);
    if (recorded.url.includes('/query')) {
      const count = params.get('resultRecordCount');
      if (hold !== undefined && count === '1') {
        if ('slow' in hold) await new Promise((resolve) => setTimeout(resolve, 300));
        else {
          let timer: NodeJS.Timeout | undefined;
          hold.released = await Promise.race([
            pageComes.then(() => 'page' as const),
            new Promise<'timeout'>((resolve) => {
              timer = setTimeout(() => resolve('timeout'), 3000);
            }),
          ]);
          clearTimeout(timer);
        }
      }
      log.push({
        offset: params.get('resultOffset'),
        count,
        objectIds: params.get('objectIds'),
        f: params.get('f'),
        startAt,
        endAt: performance.now(),
      });
    }
    relay(res, answer);
  });
  return { origin: server.origin, log, close: () => server.close() };
}

let n = 0;
async function exportThrough(
  concurrency: number | undefined,
  hold?: HoldCheck,
  maxConcurrency?: number,
): Promise<Logged[]> {
  const proxy = await loggingProxy(hold);
  const r = rig(emu, { auth: false });
  const out = tmp.path(`points-${++n}.geojsonl`);
  try {
    const stats = await exportLayer({
      client: r.client,
      layerUrl: emu.layerUrl('Points').replace(new URL(emu.url).origin, proxy.origin),
      output: out,
      format: 'geojsonseq',
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(maxConcurrency === undefined ? {} : { maxConcurrency }),
    });
    expectSameAsSource(emu, 'Points', await readSeq(out), { ordered: true });
    expect(stats.queryFormat).toBe('pbf');
    return proxy.log;
  } finally {
    await r.close();
    await proxy.close();
  }
}

function find(log: Logged[], offset: string, count: string): Logged {
  const found = log.find((q) => q.offset === offset && q.count === count);
  if (!found) throw new Error(`no query at offset ${offset} of ${count}: ${JSON.stringify(log)}`);
  return found;
}

describe("offset's check of resultOffset", () => {
  it('goes out with the first pages under the adaptive limit: the pages do not wait for its answer', async () => {
    const log = await exportThrough(undefined);
    const check = find(log, '1', '1');
    const second = find(log, '100', '100');
    // the check needs the first page's OIDs: it goes once that page is in
    expect(check.startAt).toBeGreaterThanOrEqual(find(log, '0', '100').endAt);
    expect(second.startAt).toBeLessThan(check.endAt);
  });

  it('is the pbf check of the pages that come back before it (they wait for it, with no request of their own)', async () => {
    const log = await exportThrough(undefined, { slow: true });
    const check = find(log, '1', '1');
    expect(check.f).toBe('pbf');
    // pages answered in pbf while the check was still out
    expect(
      log.filter((q) => q.f === 'pbf' && q.count === '100' && q.endAt < check.endAt).length,
    ).toBeGreaterThan(0);
    expect(log.filter((q) => q.objectIds !== null)).toEqual([]);
  });

  it('holds no slot of the adaptive limit for the pages that wait for it', async () => {
    // a limit of 2: the check and one page. The page, answered first, waits for the check; its slot
    // is free meanwhile, and the next page takes it (held in a slot, a waiting page would keep out
    // the check that needs one: with layers sharing a host, every slot could be so held, and hang)
    const hold: HoldCheck = { untilPage: '200' };
    const log = await exportThrough(undefined, hold, 2);
    expect(hold.released).toBe('page');
    const check = find(log, '1', '1');
    expect(find(log, '200', '100').startAt).toBeLessThan(check.endAt);
  });

  it('is made before the pages when the concurrency is pinned (never one more beside them)', async () => {
    const log = await exportThrough(1);
    expect(find(log, '100', '100').startAt).toBeGreaterThanOrEqual(find(log, '1', '1').endAt);
  });
});
