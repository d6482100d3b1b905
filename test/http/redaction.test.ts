import { afterEach, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import type { EtlEvent } from '../../src/core/events.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { registerSecret } from '../../src/core/redact.js';
import { createTransport, type HttpTransport } from '../../src/http/transport.js';
import { sendJson, sendText, startServer, type TestServer } from './server.js';

const REGISTERED_TOKEN = 'regTok_9f8e7d6c5b4a.Q1w2E3r4';
const PASSWORD = 'Hunter2-Correct-Horse!';
/** Never registered: only the `token=` / `"token":` patterns can hide it. */
const PATTERN_ONLY_TOKEN = 'patTok_0a1b2c3d4e5f6a7b8c9d';

const servers: TestServer[] = [];
let transport: HttpTransport | undefined;
let events: EtlEvent[] = [];

afterEach(async () => {
  await transport?.close();
  transport = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Everything a user could see about an error: message, JSON view, causes, stack. */
function exposed(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let i = 0; i < 5 && current; i++) {
    if (current instanceof Error) {
      parts.push(current.message, String(current.stack));
      if (isEtlError(current)) parts.push(JSON.stringify(current), JSON.stringify(current.toJSON()));
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join('\n');
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the request to fail');
}

describe('redaction', () => {
  it('keeps a token and a password out of errors and events, whatever fails', async () => {
    registerSecret(REGISTERED_TOKEN);
    registerSecret(PASSWORD);
    const foreign = await startServer((_req, res) => sendJson(res, {}));
    servers.push(foreign);
    const server = await startServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/busy') sendJson(res, { echo: req.url }, 503);
      else if (path === '/generateToken') {
        sendJson(res, {
          error: {
            code: 400,
            message: 'Unable to generate token.',
            details: [`Invalid password ${PASSWORD}`],
          },
        });
      } else if (path === '/html')
        sendText(res, `<html><body>Bad token ${REGISTERED_TOKEN}</body></html>`, 200, 'text/html');
      else if (path === '/reset') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('{"a"');
        setTimeout(() => res.socket?.destroy(), 5);
      } else if (path === '/away') {
        res.writeHead(302, { location: `${foreign.origin}/steal?token=${REGISTERED_TOKEN}` });
        res.end();
      } else sendJson(res, {});
    });
    servers.push(server);
    events = [];
    transport = createTransport({
      runtime: new FakeTime().instantRuntime(),
      emit: (e) => events.push(e),
      retry: { maxAttempts: 3 },
    });
    const t = transport;
    const errors = [
      await caught(t.request(`${server.origin}/busy?token=${REGISTERED_TOKEN}`, { method: 'GET' })),
      await caught(
        t.request(`${server.origin}/busy`, { params: { token: REGISTERED_TOKEN, password: PASSWORD } }),
      ),
      await caught(
        t.request(`${server.origin}/generateToken`, {
          params: { username: 'bob', password: PASSWORD },
          idempotent: false,
        }),
      ),
      await caught(t.request(`${server.origin}/html?token=${REGISTERED_TOKEN}`, { method: 'GET' })),
      await caught(
        t.request(`${server.origin}/reset`, { method: 'GET', params: { token: REGISTERED_TOKEN } }),
      ),
      await caught(t.request(`${server.origin}/away`, { params: { token: REGISTERED_TOKEN } })),
    ];
    expect(errors.map((e) => (isEtlError(e) ? e.code : 'not an EtlError'))).toEqual([
      'RETRIES_EXHAUSTED',
      'RETRIES_EXHAUSTED',
      'BAD_CREDENTIALS',
      'RETRIES_EXHAUSTED',
      'RETRIES_EXHAUSTED',
      'REDIRECT_BLOCKED',
    ]);
    expect(events.some((e) => e.type === 'request.retry')).toBe(true);
    const everything = [...errors.map(exposed), JSON.stringify(events)].join('\n');
    expect(everything).not.toContain(REGISTERED_TOKEN);
    expect(everything).not.toContain(encodeURIComponent(PASSWORD));
    expect(everything).not.toContain(PASSWORD);
    expect(everything).toContain('Invalid password [REDACTED]');
    expect(foreign.requests).toHaveLength(0);
  });

  it('hides token= values by pattern alone, without registration', async () => {
    const server = await startServer((req, res) => {
      if (req.url?.startsWith('/html')) {
        sendText(
          res,
          `<html><body>Invalid request token=${PATTERN_ONLY_TOKEN}</body></html>`,
          502,
          'text/html',
        );
      } else
        sendJson(res, { error: { code: 498, message: `Invalid token: "token":"${PATTERN_ONLY_TOKEN}"` } });
    });
    servers.push(server);
    events = [];
    transport = createTransport({
      runtime: new FakeTime().instantRuntime(),
      emit: (e) => events.push(e),
      retry: { maxAttempts: 2 },
    });
    const errors = [
      await caught(transport.request(`${server.origin}/html?token=${PATTERN_ONLY_TOKEN}`, { method: 'GET' })),
      await caught(
        transport.request(`${server.origin}/json?token=${PATTERN_ONLY_TOKEN}&f=json`, { method: 'GET' }),
      ),
    ];
    expect(errors.map((e) => (isEtlError(e) ? e.code : '?'))).toEqual(['RETRIES_EXHAUSTED', 'TOKEN_INVALID']);
    const everything = [...errors.map(exposed), JSON.stringify(events)].join('\n');
    expect(everything).not.toContain(PATTERN_ONLY_TOKEN);
    expect(everything).toContain('token=[REDACTED]');
  });
});
