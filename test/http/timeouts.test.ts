/**
 * A server that stalls (no byte) or trickles (a byte now and then) cannot hold a request for long:
 * an idle timeout (no byte for 60 s by default), a whole-attempt deadline (`--timeout`), and a
 * timeout is retried at most twice. Timers are real but short (the values are options); backoff
 * sleeps are instant.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EtlError } from '../../src/core/errors.js';
import { DEFAULT_TIMEOUTS } from '../../src/http/agent.js';
import { DEFAULT_RETRY_POLICY, decideRetry } from '../../src/http/retry.js';
import { createTransport, type TransportOptions } from '../../src/http/transport.js';
import { runInProcess } from '../cli/in-process.js';
import { startServer, type TestServer } from './server.js';

const INSTANT = { sleep: async () => {} };
let server: TestServer | undefined;
const timers: NodeJS.Timeout[] = [];
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  await server?.close();
  server = undefined;
});

/** Sends headers, then one byte every `everyMs` (never `end`). */
function trickle(res: ServerResponse, everyMs: number): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{');
  timers.push(setInterval(() => res.write(' '), everyMs));
}

async function failureOf(options: TransportOptions, path = '/arcgis/rest/info'): Promise<EtlError> {
  const transport = createTransport({ runtime: INSTANT, ...options });
  try {
    await transport.request(`${server!.origin}${path}`, { method: 'GET' });
  } catch (error) {
    expect(error).toBeInstanceOf(EtlError);
    return error as EtlError;
  } finally {
    await transport.close();
  }
  throw new Error('expected the request to fail');
}

describe('transport timeouts', () => {
  it('defaults: 60 s idle (headers and body), 5 min per attempt, a timeout retried at most twice', () => {
    expect(DEFAULT_TIMEOUTS).toMatchObject({ headersMs: 60_000, bodyMs: 60_000, responseMs: 300_000 });
    expect(DEFAULT_RETRY_POLICY.maxTimeoutRetries).toBe(2);
  });

  it('a trickling body hits the whole-attempt deadline, and is tried 3 times in all, not 6', async () => {
    server = await startServer((_req, res) => trickle(res, 10));
    const error = await failureOf({ timeouts: { responseMs: 150 } });
    expect(error.code).toBe('RETRIES_EXHAUSTED');
    expect(error.attempts).toBe(3);
    expect(error.message).toMatch(/response deadline x3/);
    expect(error.message).toMatch(/a timeout is retried at most 2 times/);
    expect(server.requests).toHaveLength(3);
  });

  it('a body that stops sending hits the idle timeout', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
    });
    const started = Date.now();
    const error = await failureOf({ timeouts: { bodyMs: 100, responseMs: 0 } });
    expect(error.code).toBe('RETRIES_EXHAUSTED');
    expect(error.attempts).toBe(3);
    expect(error.message).toMatch(/body timeout x3/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('headers that never come hit the idle timeout too', async () => {
    server = await startServer(() => {});
    const error = await failureOf({ timeouts: { headersMs: 100, responseMs: 0 } });
    expect(error.attempts).toBe(3);
    expect(error.message).toMatch(/headers timeout x3/);
  });

  it('the timeout cap counts timeouts only: other transient failures keep the attempt budget', () => {
    const timeout = { error: new EtlError('TIMEOUT', 't'), reason: 'body timeout' };
    const reset = { error: new EtlError('NETWORK_ERROR', 'r'), reason: 'ECONNRESET' };
    const base = { policy: DEFAULT_RETRY_POLICY, totalDelayMs: 0, idempotent: true, random: () => 0 };
    expect(decideRetry({ ...base, failure: timeout, attempt: 2, timeouts: 2 }).retry).toBe(true);
    expect(decideRetry({ ...base, failure: timeout, attempt: 3, timeouts: 3 })).toMatchObject({
      retry: false,
      why: 'max-timeouts',
    });
    expect(decideRetry({ ...base, failure: reset, attempt: 5, timeouts: 3 }).retry).toBe(true);
  });

  it('the CLI takes --timeout (seconds) for the whole attempt', async () => {
    server = await startServer((_req, res) => trickle(res, 50));
    const help = await runInProcess(['export', '--help']);
    expect(help.stdout).toContain('--timeout <seconds>');
    const r = await runInProcess(
      ['info', `${server.origin}/arcgis/rest/services/A/FeatureServer/0`, '--timeout', '1'],
      {
        runtime: INSTANT,
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/RETRIES_EXHAUSTED.*response deadline x3/);
    expect(server.requests).toHaveLength(3);
  });
});
