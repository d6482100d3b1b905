import { afterEach, describe, expect, it } from 'vitest';
import type { EmulatorHandle, EmulatorStats } from '../../src/emulator/types.js';
import { call, startStub, token } from './helpers.js';

let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

describe('control endpoint /__emulator/', () => {
  it('reads stats, revokes tokens, sets faults and clock offset, resets stats', async () => {
    emu = await startStub();
    const control = `${new URL(emu.url).origin}/__emulator`;
    const { token: t } = await token(emu);
    const query = `${emu.layerUrl('Parcels')}/query?where=1%3D1&returnCountOnly=true&f=json&token=${t}`;
    expect((await call(query)).json()).toEqual({ count: 25 });

    const stats = (await call(`${control}/stats`)).json<EmulatorStats>();
    expect(stats).toEqual({
      tokensIssued: { server: 1, portal: 0, legacy: 0 },
      tokens: 1,
      requests: { generateToken: 1, query: 1 },
      faults: {},
      badLogins: 0,
      rejected: { invalidToken: 0, tokenRequired: 0 },
      load: {
        peakConcurrency: 1,
        peakServing: 1,
        refused: {},
        queued: 0,
        queueWaitMs: 0,
        maxQueueWaitMs: 0,
        // the span of the queries: epoch ms of the first admitted and of the last answered
        firstAt: expect.any(Number),
        lastAt: expect.any(Number),
      },
    });
    expect(stats.load.lastAt! - stats.load.firstAt!).toBeGreaterThanOrEqual(0);
    expect(stats).toEqual(emu.stats());

    expect((await call(`${control}/revoke-all`, { method: 'POST' })).json()).toEqual({ ok: true });
    expect((await call(query)).json()).toMatchObject({ error: { code: 498 } });

    const faults = await call(`${control}/faults`, {
      body: JSON.stringify({ rates: { http503: 1 } }),
      headers: { 'content-type': 'application/json' },
    });
    expect(faults.status).toBe(200);
    expect((await call(`${emu.layerUrl('Public')}/query?f=json`)).status).toBe(503);
    await call(`${control}/faults`, { body: '{}', headers: { 'content-type': 'application/json' } });
    expect(
      (await call(`${emu.layerUrl('Public')}/query?where=1%3D1&returnCountOnly=true&f=json`)).status,
    ).toBe(200);

    await call(`${control}/clock-offset`, { body: JSON.stringify({ ms: 86_400_000 }) });
    const date = Date.parse((await call(`${emu.restUrl}/info?f=json`)).headers.date ?? '');
    expect(date - Date.now()).toBeGreaterThan(86_000_000);

    expect((await call(`${control}/reset-stats`, { method: 'POST' })).status).toBe(200);
    expect((await call(`${control}/stats`)).json()).toMatchObject({ tokens: 0, requests: {}, faults: {} });
  });

  it('rejects unknown actions and bad bodies', async () => {
    emu = await startStub();
    const control = `${new URL(emu.url).origin}/__emulator`;
    expect((await call(`${control}/nothing`, { body: '{}' })).status).toBe(404);
    expect((await call(`${control}/faults`, { body: 'not json' })).status).toBe(400);
    expect((await call(`${control}/clock-offset`, { body: '{"ms":"x"}' })).status).toBe(400);
    expect((await call(`${control}/revoke-all`)).status).toBe(404);
    expect(emu.stats().requests).toEqual({});
  });
});
