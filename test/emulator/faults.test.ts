import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTime } from '../../src/core/fake-time.js';
import type { EmulatorHandle, FaultOptions } from '../../src/emulator/types.js';
import { call, startStub, token } from './helpers.js';

let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

const PAGE = 'where=1%3D1&outFields=*&f=json';

/** Status (or 'reset' / 'truncate' / 'html') of n sequential public queries. */
async function outcomes(handle: EmulatorHandle, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const res = await call(`${handle.layerUrl('Public')}/query?${PAGE}`);
      if (res.headers['content-type']?.startsWith('text/html')) out.push(`html${res.status}`);
      else if (res.status !== 200) out.push(String(res.status));
      else {
        try {
          JSON.parse(res.text);
          out.push('ok');
        } catch {
          out.push('truncate');
        }
      }
    } catch {
      out.push('reset');
    }
  }
  return out;
}

const MIXED: FaultOptions = {
  rates: {
    http429: 0.1,
    http500: 0.05,
    http502: 0.05,
    http503: 0.1,
    http504: 0.05,
    reset: 0.05,
    truncate: 0.05,
    html: 0.05,
  },
};

describe('faults', () => {
  it('are deterministic by seed, and counted exactly', async () => {
    emu = await startStub({ faults: MIXED, seed: 42 });
    const first = await outcomes(emu, 60);
    const stats = emu.stats();
    await emu.stop();
    emu = await startStub({ faults: MIXED, seed: 42 });
    expect(await outcomes(emu, 60)).toEqual(first);
    await emu.stop();
    emu = await startStub({ faults: MIXED, seed: 7 });
    expect(await outcomes(emu, 60)).not.toEqual(first);

    const count = (pred: (o: string) => boolean) => first.filter(pred).length;
    expect(count((o) => o !== 'ok')).toBeGreaterThan(10);
    const faultTotal = Object.values(stats.faults).reduce((a, b) => a + b, 0);
    expect(faultTotal).toBe(count((o) => o !== 'ok'));
    expect(stats.faults.http429 ?? 0).toBe(count((o) => o === '429'));
    expect(stats.faults.reset ?? 0).toBe(count((o) => o === 'reset'));
    expect(stats.faults.truncate ?? 0).toBe(count((o) => o === 'truncate'));
    expect(stats.faults.html ?? 0).toBe(
      count((o) => o.startsWith('html') && !['html502', 'html504'].includes(o)),
    );
    expect(stats.requests.query).toBe(60);
  });

  it('send 429 with Retry-After, 502/504 as gateway HTML, 503 plain, 500 as an HTTP 500 envelope', async () => {
    emu = await startStub({ faults: { rates: { http429: 1 }, retryAfterSeconds: 7 } });
    const limited = await call(`${emu.layerUrl('Public')}/query?${PAGE}`);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('7');
    expect(limited.json()).toMatchObject({ error: { code: 429 } });
    emu.setFaults({ rates: { http502: 1 } });
    const bad = await call(`${emu.layerUrl('Public')}/query?${PAGE}`);
    expect([bad.status, bad.headers['content-type']?.split(';')[0]]).toEqual([502, 'text/html']);
    expect(bad.text).toContain('502 Bad Gateway');
    emu.setFaults({ rates: { http504: 1 } });
    expect((await call(`${emu.layerUrl('Public')}/query?${PAGE}`)).text).toContain('504 Gateway Time-out');
    emu.setFaults({ rates: { http503: 1 } });
    const busy = await call(`${emu.layerUrl('Public')}/query?${PAGE}`);
    expect([busy.status, busy.text]).toEqual([503, 'Service Unavailable']);
    emu.setFaults({ rates: { http500: 1 } });
    const err = await call(`${emu.layerUrl('Public')}/query?${PAGE}`);
    expect(err.status).toBe(500);
    expect(err.json()).toMatchObject({ error: { code: 500 } });
    expect(emu.stats().faults).toEqual({ http429: 1, http502: 1, http504: 1, http503: 1, http500: 1 });
  });

  it('reset: headers and part of the body are sent, then the connection is destroyed', async () => {
    emu = await startStub({ faults: { rates: { reset: 1 } } });
    const res = await request(`${emu.layerUrl('Public')}/query?${PAGE}`);
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toThrow();
    expect(emu.stats().faults).toEqual({ reset: 1 });
  });

  it('truncate: an HTTP 200 JSON body cut in half', async () => {
    emu = await startStub({ faults: { rates: { truncate: 1 } } });
    const cut = await call(`${emu.layerUrl('Public')}/query?${PAGE}`);
    emu.setFaults({});
    const whole = await call(`${emu.layerUrl('Public')}/query?${PAGE}`);
    expect(cut.status).toBe(200);
    expect(() => JSON.parse(cut.text)).toThrow();
    expect(whole.text.startsWith(cut.text)).toBe(true);
    expect(cut.text.length).toBe(Math.floor(whole.text.length / 2));
  });

  it('html: an HTML error page with status 200 or 500', async () => {
    emu = await startStub({ faults: { rates: { html: 1 } }, seed: 3 });
    const statuses = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const res = await call(`${emu.layerUrl('Public')}/query?${PAGE}`);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      statuses.add(res.status);
    }
    expect([...statuses].sort()).toEqual([200, 500]);
  });

  it('apply to query routes by default, to every route with scope all', async () => {
    emu = await startStub({ faults: { rates: { http503: 1 } } });
    expect((await call(`${emu.restUrl}/info?f=json`)).status).toBe(200);
    expect((await call(`${emu.layerUrl('Public')}?f=json`)).status).toBe(200);
    expect((await token(emu)).token).toBeTruthy();
    emu.setFaults({ rates: { http503: 1 }, scope: 'all' });
    expect((await call(`${emu.restUrl}/info?f=json`)).status).toBe(503);
    expect((await call(emu.tokenUrl, { form: { f: 'json' } })).status).toBe(503);
    // the control endpoint is never faulted
    expect((await call(`${new URL(emu.url).origin}/__emulator/stats`)).status).toBe(200);
  });

  it('pass query-level faults to the layer engine', async () => {
    emu = await startStub({ faults: { ignoreResultOffset: true } });
    const page = (
      await call(`${emu.layerUrl('Public')}/query?${PAGE}&resultOffset=3&resultRecordCount=2`)
    ).json<{
      features: { attributes: { OBJECTID: number } }[];
    }>();
    expect(page.features.map((f) => f.attributes.OBJECTID)).toEqual([1, 2]);
    emu.setFaults({ failAbove: 2 });
    expect((await call(`${emu.layerUrl('Public')}/query?${PAGE}`)).json()).toEqual({
      error: { code: 500, message: 'Error performing query operation', details: [] },
    });
  });

  it('add latency to requests in scope', async () => {
    emu = await startStub({ faults: { latencyMs: 60 } });
    const t0 = performance.now();
    await call(`${emu.restUrl}/info?f=json`);
    const info = performance.now() - t0;
    const t1 = performance.now();
    await call(`${emu.layerUrl('Public')}/query?${PAGE}`);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(55);
    expect(info).toBeLessThan(55);
  });

  it('shift the Date header by the clock offset', async () => {
    const time = new FakeTime(Date.UTC(2026, 0, 1, 12, 0, 0));
    emu = await startStub({ now: () => time.now(), clockOffsetMs: 90_000 });
    const res = await call(`${emu.restUrl}/info?f=json`);
    expect(res.headers.date).toBe('Thu, 01 Jan 2026 12:01:30 GMT');
  });
});
