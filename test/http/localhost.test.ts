/**
 * `*.localhost` may be reached over plain http (a loopback host), so it must resolve to loopback
 * whatever DNS says: the transport pins it to 127.0.0.1 / ::1 without a DNS query, as curl does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLocalhostName, pinnedLookup } from '../../src/http/localhost.js';
import { createTransport } from '../../src/http/transport.js';
import { sendJson, startServer, type TestServer } from './server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer((_req, res) => sendJson(res, { ok: true }));
});
afterAll(() => server.close());

function lookupOf(host: string, options: Parameters<typeof pinnedLookup>[1]): Promise<unknown> {
  return new Promise((resolve, reject) =>
    pinnedLookup(host, options, (error, address, family) =>
      error ? reject(error) : resolve(family === undefined ? address : { address, family }),
    ),
  );
}

describe('*.localhost is pinned to loopback', () => {
  it('the lookup answers loopback for localhost names, without DNS', async () => {
    // a name no resolver here knows: only the pin can answer it
    expect(await lookupOf('etl-pinned-7f3a.localhost', {})).toEqual({ address: '127.0.0.1', family: 4 });
    expect(await lookupOf('A.B.LOCALHOST.', { all: true })).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(await lookupOf('x.localhost', { family: 6 })).toEqual({ address: '::1', family: 6 });
    expect(isLocalhostName('localhost.example.com')).toBe(false);
    expect(isLocalhostName('evil-localhost')).toBe(false);
  });

  it('a request to http://<name>.localhost:PORT reaches the loopback server', async () => {
    const port = new URL(server.origin).port;
    const transport = createTransport({ retry: { maxAttempts: 1 } });
    try {
      const response = await transport.request(`http://etl-pinned-7f3a.localhost:${port}/arcgis/rest/info`, {
        method: 'GET',
      });
      expect(response.body).toEqual({ ok: true });
    } finally {
      await transport.close();
    }
    expect(server.requests.at(-1)?.headers.host).toBe(`etl-pinned-7f3a.localhost:${port}`);
  });
});
