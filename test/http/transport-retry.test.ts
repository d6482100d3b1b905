import { afterEach, describe, expect, it } from 'vitest';
import { type EtlError, isEtlError } from '../../src/core/errors.js';
import type { EtlEvent } from '../../src/core/events.js';
import { FakeTime } from '../../src/core/fake-time.js';
import type { Random } from '../../src/core/time.js';
import { createTransport, type HttpTransport, type TransportOptions } from '../../src/http/transport.js';
import { type Handler, sendJson, startServer, type TestServer } from './server.js';

let server: TestServer | undefined;
let transport: HttpTransport | undefined;
let time: FakeTime;
let events: EtlEvent[];

async function setup(handler: Handler, options: TransportOptions = {}, random: Random = () => 0.5) {
  server = await startServer(handler);
  time = new FakeTime();
  events = [];
  transport = createTransport({
    runtime: time.instantRuntime(random),
    emit: (e) => events.push(e),
    ...options,
  });
  return { server, transport, url: `${server.origin}/arcgis/rest/services/A/FeatureServer/0/query` };
}

async function failure(promise: Promise<unknown>): Promise<EtlError> {
  try {
    await promise;
  } catch (error) {
    if (isEtlError(error)) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

const retries = () =>
  events.filter((e): e is Extract<EtlEvent, { type: 'request.retry' }> => e.type === 'request.retry');

afterEach(async () => {
  await transport?.close();
  await server?.close();
  transport = undefined;
  server = undefined;
});

describe('transport retries', () => {
  it('honours Retry-After in seconds on 429 (exact delay)', async () => {
    const { transport, url, server } = await setup((_req, res, _r, i) => {
      if (i === 0) sendJson(res, { error: 'slow down' }, 429, { 'retry-after': '7' });
      else sendJson(res, { ok: true });
    });
    const response = await transport.request(`${url}?token=secret-in-query`, { method: 'GET' });
    expect(response.body).toEqual({ ok: true });
    expect(response.attempts).toBe(2);
    expect(time.sleeps).toEqual([7000]);
    expect(server.requests).toHaveLength(2);
    expect(transport.stats).toEqual({ requests: 2, retries: 1 });
    expect(retries()).toEqual([
      { type: 'request.retry', url, attempt: 1, delayMs: 7000, reason: 'HTTP 429' },
    ]);
  });

  it('honours Retry-After as an HTTP date, relative to the server Date header', async () => {
    const serverNow = Date.UTC(2030, 5, 1, 10, 0, 0);
    const { transport, url } = await setup((_req, res, _r, i) => {
      if (i === 0) {
        sendJson(res, {}, 503, {
          date: new Date(serverNow).toUTCString(),
          'retry-after': new Date(serverNow + 3000).toUTCString(),
        });
      } else sendJson(res, { ok: 1 });
    });
    await transport.request(url);
    expect(time.sleeps).toEqual([3000]);
  });

  it('uses full jitter: random() = 0 waits 0 ms', async () => {
    const { transport, url } = await setup(
      (_req, res) => sendJson(res, {}, 503),
      {},
      () => 0,
    );
    const error = await failure(transport.request(url));
    expect(error.code).toBe('RETRIES_EXHAUSTED');
    expect(time.sleeps).toEqual([0, 0, 0, 0, 0]);
  });

  it('uses full jitter: random() = 0.999 waits just under each exponential ceiling, then gives up after 6 attempts', async () => {
    const { transport, url, server } = await setup(
      (_req, res) => sendJson(res, {}, 503),
      {},
      () => 0.999,
    );
    const error = await failure(transport.request(url));
    expect(time.sleeps).toEqual([499, 999, 1998, 3996, 7992]);
    expect(server.requests).toHaveLength(6);
    expect(error.code).toBe('RETRIES_EXHAUSTED');
    expect(error.attempts).toBe(6);
    expect(error.status).toBe(503);
    expect(error.message).toContain('gave up after 6 attempts over 15.5 s (HTTP 503 x6)');
    expect(isEtlError(error.cause, 'HTTP_ERROR')).toBe(true);
    expect(transport.stats).toEqual({ requests: 6, retries: 5 });
  });

  it('caps each delay at maxDelayMs and stops at maxAttempts', async () => {
    const { transport, url, server } = await setup(
      (_req, res) => sendJson(res, {}, 502),
      {
        retry: { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 1500 },
      },
      () => 0.999,
    );
    const error = await failure(transport.request(url));
    expect(time.sleeps).toEqual([999, 1498, 1498]);
    expect(server.requests).toHaveLength(4);
    expect(error.attempts).toBe(4);
  });

  it('gives up when the total delay would pass maxTotalDelayMs', async () => {
    const { transport, url, server } = await setup(
      (_req, res) => sendJson(res, {}, 429, { 'retry-after': '2' }),
      {
        retry: { maxTotalDelayMs: 5000 },
      },
    );
    const error = await failure(transport.request(url));
    expect(time.sleeps).toEqual([2000, 2000]);
    expect(server.requests).toHaveLength(3);
    expect(error.code).toBe('RETRIES_EXHAUSTED');
    expect(error.message).toContain('gave up after 3 attempts over 4.0 s (HTTP 429 x3)');
    expect(error.message).toContain('5 s retry budget');
  });

  it('retries 502, 503 and 504 then succeeds', async () => {
    const statuses = [502, 503, 504];
    const { transport, url } = await setup((_req, res, _r, i) => {
      const status = statuses[i];
      if (status) sendJson(res, { message: 'gateway' }, status);
      else sendJson(res, { features: [] });
    });
    const response = await transport.request(url);
    expect(response).toMatchObject({ status: 200, body: { features: [] }, attempts: 4 });
    expect(retries().map((e) => e.reason)).toEqual(['HTTP 502', 'HTTP 503', 'HTTP 504']);
    expect(retries().map((e) => e.attempt)).toEqual([1, 2, 3]);
  });

  it('retries an HTTP-200 envelope whose code is a retried status', async () => {
    const { transport, url } = await setup((_req, res, _r, i) => {
      if (i === 0) sendJson(res, { error: { code: 504, message: 'Gateway Timeout', details: [] } });
      else sendJson(res, { ok: true });
    });
    const response = await transport.request(url);
    expect(response.attempts).toBe(2);
    expect(retries()[0]?.reason).toBe('ArcGIS 504');
  });

  it('retries a connection reset mid-body', async () => {
    const { transport, url, server } = await setup((_req, res, _r, i) => {
      if (i === 0) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"features":[{"attributes":');
        setTimeout(() => res.socket?.destroy(), 10);
      } else sendJson(res, { features: [] });
    });
    const response = await transport.request(url);
    expect(response.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
    expect(retries()).toHaveLength(1);
    expect(retries()[0]?.reason).toMatch(/socket closed|ECONNRESET/);
  });

  it('retries a truncated JSON body and an HTML page', async () => {
    const { transport, url } = await setup((_req, res, _r, i) => {
      if (i === 0) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"features":[{"attributes":{"OBJECTID":1');
      } else if (i === 1) {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><head><title>Proxy error</title></head></html>');
      } else sendJson(res, { features: [] });
    });
    const response = await transport.request(url);
    expect(response.attempts).toBe(3);
    expect(retries().map((e) => e.reason)).toEqual(['truncated JSON', 'HTML page (HTTP 200)']);
  });

  it('maps a headers timeout to TIMEOUT, and retries it', async () => {
    // undici's timers have a coarse resolution: a 50 ms headers timeout fires after about 1 s.
    const { transport, url } = await setup(
      (_req, res, _r, i) => {
        if (i === 1) sendJson(res, { ok: true });
      },
      { timeouts: { headersMs: 50 } },
    );
    const response = await transport.request(url);
    expect(response.attempts).toBe(2);
    expect(retries()[0]?.reason).toBe('headers timeout');
    const error = await failure(transport.request(url, { retry: false }));
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain('timed out');
  });

  it('throws errors that are not retryable at once, unchanged', async () => {
    const bodies = [
      { error: { code: 500, message: 'Error performing query operation', details: [] } },
      {
        error: {
          code: 400,
          message: 'Unable to generate token.',
          details: ['Invalid username or password.'],
        },
      },
      { error: { code: 498, message: 'Invalid token.', details: [] } },
    ];
    const { transport, url, server } = await setup((_req, res, _r, i) => sendJson(res, bodies[i]));
    expect((await failure(transport.request(url))).code).toBe('ARCGIS_ERROR');
    expect((await failure(transport.request(url))).code).toBe('BAD_CREDENTIALS');
    expect((await failure(transport.request(url))).code).toBe('TOKEN_INVALID');
    expect(server.requests).toHaveLength(3);
    expect(time.sleeps).toEqual([]);
    expect(transport.stats.retries).toBe(0);
  });
});

describe('non-idempotent requests', () => {
  it('are not retried on 502 or on a reset', async () => {
    const { transport, url, server } = await setup((_req, res, _r, i) => {
      if (i === 0) sendJson(res, {}, 502);
      else {
        res.writeHead(200, { 'content-length': '500' });
        res.write('{"a":');
        setTimeout(() => res.socket?.destroy(), 10);
      }
    });
    const first = await failure(transport.request(url, { idempotent: false }));
    expect(first).toMatchObject({ code: 'HTTP_ERROR', status: 502 });
    const second = await failure(transport.request(url, { idempotent: false }));
    expect(second.code).toBe('NETWORK_ERROR');
    expect(server.requests).toHaveLength(2);
    expect(time.sleeps).toEqual([]);
  });

  it('are retried on 429 and 503, which prove the server did not process them', async () => {
    const { transport, url, server } = await setup((_req, res, _r, i) => {
      if (i === 0) sendJson(res, {}, 429);
      else if (i === 1) sendJson(res, {}, 503);
      else sendJson(res, { success: true });
    });
    const response = await transport.request(url, { idempotent: false });
    expect(response.attempts).toBe(3);
    expect(server.requests).toHaveLength(3);
  });

  it('are retried on connection refused', async () => {
    const probe = await startServer(() => {});
    const deadUrl = `${probe.origin}/arcgis/tokens/generateToken`;
    await probe.close();
    const { transport } = await setup(() => {}, { retry: { maxAttempts: 3 } });
    const error = await failure(transport.request(deadUrl, { idempotent: false }));
    expect(error.code).toBe('RETRIES_EXHAUSTED');
    expect(error.attempts).toBe(3);
    expect(error.message).toContain('ECONNREFUSED x3');
    expect(isEtlError(error.cause, 'NETWORK_ERROR')).toBe(true);
  });
});

describe('abort', () => {
  it('maps an abort during the request to ABORTED, without retrying', async () => {
    const { transport, url, server } = await setup(() => {});
    const controller = new AbortController();
    const pending = failure(transport.request(url, { signal: controller.signal }));
    for (let i = 0; i < 100 && server.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 2));
    controller.abort();
    const error = await pending;
    expect(error.code).toBe('ABORTED');
    expect(server.requests).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('stops waiting between attempts when the signal aborts', async () => {
    server = await startServer((_req, res) => sendJson(res, {}, 503));
    time = new FakeTime();
    transport = createTransport({ runtime: time.runtime(() => 0.5), emit: () => {} });
    const controller = new AbortController();
    const pending = failure(transport.request(`${server.origin}/x`, { signal: controller.signal }));
    for (let i = 0; i < 50 && time.pendingSleeps === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(time.pendingSleeps).toBe(1);
    controller.abort();
    const error = await pending;
    expect(error.code).toBe('ABORTED');
    expect(server.requests).toHaveLength(1);
  });
});
