import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtlError, isEtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { createTransport, type HttpTransport } from '../../src/http/transport.js';
import { recordedText } from '../fixtures/recorded.js';
import { sendJson, sendText, startServer, type TestServer } from './server.js';

/** Each path answers one canned response. */
const ROUTES: Record<string, (res: import('node:http').ServerResponse) => void> = {
  '/e498': (res) => sendJson(res, { error: { code: 498, message: 'Invalid Token', details: [] } }),
  '/e499': (res) =>
    sendJson(res, { error: { code: 499, message: 'Token Required', messageCode: 'GWM_0003', details: [] } }),
  '/e403': (res) =>
    sendJson(res, { error: { code: 403, message: 'You do not have permissions', details: [] } }),
  '/e400': (res) =>
    sendJson(res, {
      error: { code: 400, message: 'Unable to generate token.', details: ['Invalid username or password.'] },
    }),
  '/e500': (res) =>
    sendJson(res, { error: { code: 500, message: 'Error performing query operation', details: ['x'] } }),
  '/s498': (res) => sendText(res, 'Invalid token', 498),
  '/admin': (res) => sendJson(res, { status: 'error', messages: ['Token Expired.'], code: 498 }),
  '/html': (res) =>
    sendText(
      res,
      '<html><head><title>ArcGIS Web Adaptor</title></head><body>Error</body></html>',
      200,
      'text/html',
    ),
  '/truncated': (res) => sendText(res, '{"features":[{"attributes":{"OBJECTID":1', 200, 'application/json'),
  '/s404': (res) => sendText(res, 'Not here', 404),
};

let server: TestServer;
let transport: HttpTransport;
let layerPage: string;

beforeAll(async () => {
  layerPage = recordedText('us-fl-polk/us-fl-polk-0.json');
  server = await startServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/layer/query') {
      res.writeHead(200, { 'content-type': 'application/json', date: 'Wed, 01 Jan 2031 00:00:00 GMT' });
      res.end(layerPage);
      return;
    }
    const route = ROUTES[path];
    if (route) route(res);
    else sendText(res, 'unknown', 404);
  });
  const time = new FakeTime();
  transport = createTransport({ runtime: time.instantRuntime(), emit: () => {}, retry: { maxAttempts: 1 } });
});

afterAll(async () => {
  await transport.close();
  await server.close();
});

async function codeOf(path: string): Promise<EtlError> {
  try {
    await transport.request(`${server.origin}${path}`);
  } catch (error) {
    if (isEtlError(error)) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('transport + ArcGIS envelopes', () => {
  it('returns a recorded query page parsed, with the server date', async () => {
    const response = await transport.request<{ features: unknown[] }>(`${server.origin}/layer/query`, {
      params: { where: '1=1', outFields: '*' },
    });
    expect(response.body.features.length).toBeGreaterThan(0);
    expect(response.body).toEqual(JSON.parse(layerPage));
    expect(response.serverDate).toBe(Date.UTC(2031, 0, 1));
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
  });

  it.each([
    ['/e498', 'TOKEN_INVALID', 200, 498],
    ['/e499', 'TOKEN_REQUIRED', 200, 499],
    ['/e403', 'FORBIDDEN', 200, 403],
    ['/e400', 'BAD_CREDENTIALS', 200, 400],
    ['/e500', 'ARCGIS_ERROR', 200, 500],
    ['/admin', 'TOKEN_INVALID', 200, 498],
    ['/s498', 'TOKEN_INVALID', 498, undefined],
    ['/html', 'INVALID_RESPONSE', 200, undefined],
    ['/truncated', 'TRUNCATED_RESPONSE', 200, undefined],
    ['/s404', 'HTTP_ERROR', 404, undefined],
  ])('%s → %s', async (path, code, status, arcgisCode) => {
    const error = await codeOf(path);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.arcgisCode).toBe(arcgisCode);
    expect(error.url).toBe(`${server.origin}${path}`);
  });

  it('names the HTML page in the message', async () => {
    const error = await codeOf('/html');
    expect(error.message).toContain('HTML');
    expect(error.message).toContain('ArcGIS Web Adaptor');
  });

  it('returns text responses as they are with responseType text', async () => {
    const response = await transport.request(`${server.origin}/html`, { responseType: 'text' });
    expect(response.body).toContain('<title>ArcGIS Web Adaptor</title>');
  });
});
