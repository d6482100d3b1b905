/**
 * pollStatusUrl across token expiry: an async extractChanges job polled while the server clock passes
 * several token lifetimes completes, with the token refreshed (the job lives on the server).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { pollStatusUrl } from '../../src/features/jobs/poll.js';
import { pointLayer, rig, startSecured } from '../extract/helpers.js';

let now = Date.UTC(2026, 4, 1);
let emu: EmulatorHandle;

beforeAll(async () => {
  emu = await startSecured({
    now: () => now,
    tokenLifetimeSeconds: 60,
    layers: [pointLayer('Job', 5, { editing: {} })],
  });
});
afterAll(() => emu.stop());

describe('pollStatusUrl', () => {
  it('keeps polling with a refreshed token when the job outlives it', async () => {
    const r = rig(emu, { authRuntime: { clock: { now: () => now } } });
    const serviceUrl = emu.layerUrl('Job').replace(/\/0$/, '');
    const { statusUrl } = await r.client.request<{ statusUrl: string }>(`${serviceUrl}/extractChanges`, {
      layers: '[0]',
      layerServerGens: JSON.stringify([{ id: 0, serverGen: 1 }]),
      returnInserts: true,
      async: true,
    });
    const generatedBefore = r.auth!.stats.generated;
    const done = await pollStatusUrl({
      client: r.client,
      statusUrl,
      // each wait passes five minutes on the server: every poll needs a new token
      runtime: {
        clock: { now: () => now },
        sleep: async () => {
          now += 5 * 60_000;
        },
      },
    });
    expect(done.status.status).toBe('Completed');
    expect(done.polls).toBe(3);
    expect(r.auth!.stats.generated - generatedBefore).toBeGreaterThanOrEqual(2);
    expect(r.auth!.stats.refreshed).toBeGreaterThanOrEqual(2);
    const result = await r.client.request<{ layerServerGens: unknown[] }>(String(done.status.resultUrl));
    expect(result.layerServerGens).toEqual([{ id: 0, serverGen: 1, minServerGen: 1 }]);
    await r.close();
  });

  it('a failed job is JOB_FAILED with one line, and a job that never ends times out', async () => {
    const { EtlError } = await import('../../src/core/errors.js');
    const fake = (status: string) =>
      ({ request: async () => ({ status }) }) as unknown as Parameters<typeof pollStatusUrl>[0]['client'];
    await expect(
      pollStatusUrl({
        client: fake('Failed'),
        statusUrl: 'http://127.0.0.1/x',
        runtime: { sleep: async () => {} },
      }),
    ).rejects.toSatisfy((e) => e instanceof EtlError && e.code === 'JOB_FAILED');
    let t = 0;
    await expect(
      pollStatusUrl({
        client: fake('InProgress'),
        statusUrl: 'http://127.0.0.1/x',
        timeoutMs: 10_000,
        runtime: {
          clock: { now: () => t },
          sleep: async (ms) => {
            t += ms;
          },
        },
      }),
    ).rejects.toSatisfy(
      (e) =>
        e instanceof EtlError && e.code === 'JOB_TIMEOUT' && /did not finish within 10 s/.test(e.message),
    );
  });
});
