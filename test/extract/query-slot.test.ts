/**
 * Under the host's adaptive limit, a pbf page holds its slot for its request only: the slot goes
 * back when the answer's bytes are in, and a page waiting for it is sent before the answer is
 * decoded (the server's instance is not left idle while the client decodes).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { realSleep, systemClock } from '../../src/core/time.js';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { fetchLayerInfo } from '../../src/features/metadata.js';
import { featureParams, runQuery } from '../../src/features/query.js';
import type { QueryContext } from '../../src/features/strategies/types.js';
import { ConcurrencyController, type ConcurrencySample } from '../../src/http/concurrency.js';
import { pointLayer, type Rig, rig, startSecured } from './helpers.js';

let emu: EmulatorHandle;
let r: Rig;

beforeAll(async () => {
  emu = await startSecured({ layers: [pointLayer('Pts', 40, { maxRecordCount: 20 })] });
  r = rig(emu);
});
afterAll(async () => {
  await r.close();
  await emu.stop();
});

it('gives the slot back when the answer is in, and sends the next page before decoding it', async () => {
  const layer = await fetchLayerInfo(r.client, emu.layerUrl('Pts'));
  const events: string[] = [];
  // one slot: the second page waits for the first one's
  const controller = new ConcurrencyController({ clock: systemClock, sleep: realSleep, initial: 1, max: 1 });
  const acquire = controller.acquire.bind(controller);
  let samples = 0;
  controller.acquire = async (signal?: AbortSignal): Promise<ConcurrencySample> => {
    const sample = await acquire(signal);
    const id = ++samples;
    return {
      arrived: () => {
        events.push(`arrived ${id}`);
        return sample.arrived();
      },
      end: (outcome) => {
        events.push(`end ${id}`);
        sample.end(outcome);
      },
    };
  };
  const send = r.client.request.bind(r.client);
  r.client.request = ((url: string, params: Record<string, unknown> = {}, options = {}) => {
    if (url.endsWith('/query')) events.push(`request ${params.resultOffset}`);
    return send(url, params as never, options);
  }) as typeof r.client.request;
  const ctx: QueryContext = {
    client: r.client,
    layer,
    userWhere: undefined,
    after: undefined,
    outFields: '*',
    outSR: '4326',
    pageSize: 20,
    concurrency: controller,
    pageRetries: 0,
    expected: 40,
    signal: undefined,
    emit: undefined,
    wire: { pbf: true, forced: true, trusted: Promise.resolve(true) },
  };
  const page = (resultOffset: number) =>
    runQuery(ctx, { ...featureParams(ctx, '1=1'), resultOffset, resultRecordCount: 20 });
  const [a, b] = await Promise.all([page(0), page(20)]);
  expect(a.features).toHaveLength(20);
  expect(b.features).toHaveLength(20);
  // the second page went out after the first one's answer arrived, before that answer was decoded
  expect(events.indexOf('arrived 1')).toBeGreaterThanOrEqual(0);
  expect(events.indexOf('request 20')).toBeGreaterThan(events.indexOf('arrived 1'));
  expect(events.indexOf('request 20')).toBeLessThan(events.indexOf('end 1'));
  expect(controller.inFlight).toBe(0);
});
