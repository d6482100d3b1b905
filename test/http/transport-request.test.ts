import { gzipSync } from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type EtlError, isEtlError } from '../../src/core/errors.js';
import type { EtlEvent } from '../../src/core/events.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { createTransport, type HttpTransport, type TransportOptions } from '../../src/http/transport.js';
import { type Handler, paramsOf, sendJson, startServer, type TestServer } from './server.js';

const servers: TestServer[] = [];
let transport: HttpTransport | undefined;
let events: EtlEvent[] = [];

async function serve(handler: Handler): Promise<TestServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}

function make(options: TransportOptions = {}): HttpTransport {
  events = [];
  transport = createTransport({
    runtime: new FakeTime().instantRuntime(),
    emit: (e) => events.push(e),
    ...options,
  });
  return transport;
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

afterEach(async () => {
  await transport?.close();
  transport = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('encoding', () => {
  it('always sends f=json, in the body for POST (the default) and in the query for GET', async () => {
    const server = await serve((_req, res) => sendJson(res, { ok: true }));
    const t = make();
    await t.request(`${server.origin}/info`, {
      params: { where: '1=1', returnGeometry: false, skip: undefined },
    });
    await t.request(`${server.origin}/info`, { method: 'GET', params: { resultOffset: 0 } });
    const [post, get] = server.requests;
    expect(post?.method).toBe('POST');
    expect(post?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(post?.body).toBe('where=1%3D1&returnGeometry=false&f=json');
    expect(get?.method).toBe('GET');
    expect(get?.url).toBe('/info?resultOffset=0&f=json');
    expect(get?.headers['user-agent']).toMatch(/^arcgis-etl\//);
  });

  it('sends a GET longer than 2000 characters as a POST with the params in the body', async () => {
    const server = await serve((_req, res) => sendJson(res, { features: [] }));
    const t = make();
    const objectIds = Array.from({ length: 700 }, (_, i) => 100_000 + i).join(',');
    await t.request(`${server.origin}/arcgis/rest/services/A/FeatureServer/0/query`, {
      method: 'GET',
      params: { objectIds, outFields: '*' },
    });
    const seen = server.requests[0];
    expect(seen?.method).toBe('POST');
    expect(seen?.url).toBe('/arcgis/rest/services/A/FeatureServer/0/query');
    const params = paramsOf(seen!);
    expect(params.get('objectIds')).toBe(objectIds);
    expect(params.get('f')).toBe('json');
  });

  it('sends custom headers and counts requests', async () => {
    const server = await serve((_req, res) => sendJson(res, {}));
    const t = make({ userAgent: 'my-pipeline/2' });
    await t.request(`${server.origin}/x`, { headers: { Referer: 'https://app.example.com' } });
    expect(server.requests[0]?.headers.referer).toBe('https://app.example.com');
    expect(server.requests[0]?.headers['user-agent']).toBe('my-pipeline/2');
    expect(t.stats).toEqual({ requests: 1, retries: 0 });
  });

  it('decompresses gzip responses', async () => {
    const body = JSON.stringify({
      features: Array.from({ length: 200 }, (_, i) => ({ attributes: { OBJECTID: i } })),
    });
    const server = await serve((req, res) => {
      expect(req.headers['accept-encoding']).toContain('gzip');
      const zipped = gzipSync(body);
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': zipped.length,
      });
      res.end(zipped);
    });
    const response = await make().request<{ features: unknown[] }>(`${server.origin}/q`);
    expect(response.body.features).toHaveLength(200);
  });
});

describe('connection pool', () => {
  it('keeps connections alive and caps them per origin', async () => {
    const ports: number[] = [];
    const server = await serve((req, res) => {
      ports.push(req.socket.remotePort ?? 0);
      setTimeout(() => sendJson(res, { ok: true }), 15);
    });
    const t = make({ connections: 2 });
    for (let i = 0; i < 6; i++) await t.request(`${server.origin}/seq`);
    expect(new Set(ports).size).toBeLessThanOrEqual(2);
    await Promise.all(Array.from({ length: 8 }, () => t.request(`${server.origin}/par`)));
    expect(new Set(ports).size).toBe(2);
    expect(t.stats.requests).toBe(14);
  });
});

describe('URL policy', () => {
  it('refuses plain http to a non-loopback host without sending anything', async () => {
    let dispatched = 0;
    const agent = new Agent();
    const counting = agent.compose((dispatch: Dispatcher['dispatch']) => (opts, handler) => {
      dispatched++;
      return dispatch(opts, handler);
    });
    const t = make({ dispatcher: counting });
    const error = await failure(t.request('http://gis.example.org/arcgis/rest/services?token=abc123secret'));
    expect(error.code).toBe('INSECURE_URL');
    expect(error.message).toContain('gis.example.org');
    expect(dispatched).toBe(0);
    expect(t.stats.requests).toBe(0);
    await agent.close();
  });

  it('allows loopback http with one warning per origin', async () => {
    const a = await serve((_req, res) => sendJson(res, {}));
    const b = await serve((_req, res) => sendJson(res, {}));
    const t = make();
    await t.request(`${a.origin}/1`);
    await t.request(`${a.origin}/2`);
    await t.request(`${b.origin}/1`);
    const warnings = events.filter((e) => e.type === 'warning');
    expect(warnings).toHaveLength(2);
    expect(JSON.stringify(warnings)).toContain(a.origin);
  });

  it('refuses requests after close', async () => {
    const t = make();
    await t.close();
    expect((await failure(t.request('https://example.com/x'))).code).toBe('USAGE');
  });
});

describe('redirects', () => {
  it('follows a same-origin redirect, re-sending the same POST', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/old') {
        res.writeHead(302, { location: '/new' });
        res.end();
      } else if (req.url === '/new') {
        res.writeHead(307, { location: '/newer' });
        res.end();
      } else sendJson(res, { here: true });
    });
    const response = await make().request(`${server.origin}/old`, {
      params: { token: 'tok-redir-1', where: 'a' },
    });
    expect(response.body).toEqual({ here: true });
    expect(response.url).toBe(`${server.origin}/newer`);
    expect(response.attempts).toBe(1);
    expect(server.requests.map((r) => [r.method, r.url, r.body])).toEqual([
      ['POST', '/old', 'token=tok-redir-1&where=a&f=json'],
      ['POST', '/new', 'token=tok-redir-1&where=a&f=json'],
      ['POST', '/newer', 'token=tok-redir-1&where=a&f=json'],
    ]);
  });

  it('blocks a redirect to another origin: the foreign server receives nothing', async () => {
    const foreign = await serve((_req, res) => sendJson(res, { stolen: true }));
    const server = await serve((_req, res) => {
      res.writeHead(301, { location: `${foreign.origin}/collect?x=1` });
      res.end();
    });
    const t = make();
    const error = await failure(
      t.request(`${server.origin}/query`, { method: 'GET', params: { token: 'tok-never-leaves' } }),
    );
    expect(error.code).toBe('REDIRECT_BLOCKED');
    expect(error.status).toBe(301);
    expect(error.message).toContain(foreign.origin);
    expect(foreign.requests).toHaveLength(0);
    expect(server.requests).toHaveLength(1);
  });

  it('blocks a redirect loop and too many redirects', async () => {
    const server = await serve((req, res) => {
      const path = req.url ?? '/';
      const next = path === '/a' ? '/b' : path === '/b' ? '/a' : `/r${Number(path.slice(2)) + 1}`;
      res.writeHead(302, { location: next });
      res.end();
    });
    const t = make();
    const loop = await failure(t.request(`${server.origin}/a`));
    expect(loop.code).toBe('REDIRECT_BLOCKED');
    expect(loop.message).toMatch(/loop/i);
    expect(server.requests).toHaveLength(2);
    const many = await failure(t.request(`${server.origin}/r0`));
    expect(many.code).toBe('REDIRECT_BLOCKED');
    expect(many.message).toContain('More than 5 redirects');
    expect(server.requests).toHaveLength(2 + 6);
  });

  it('does not follow any redirect with redirect: error', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/old') {
        res.writeHead(308, { location: '/new' });
        res.end();
      } else sendJson(res, {});
    });
    const error = await failure(make().request(`${server.origin}/old`, { redirect: 'error' }));
    expect(error.code).toBe('REDIRECT_BLOCKED');
    expect(server.requests).toHaveLength(1);
  });
});

describe('body size cap', () => {
  it('refuses a body whose Content-Length passes the cap', async () => {
    const server = await serve((_req, res) => sendJson(res, { data: 'x'.repeat(5000) }));
    const error = await failure(make().request(`${server.origin}/big`, { maxBodyBytes: 1000 }));
    expect(error.code).toBe('RESPONSE_TOO_LARGE');
    expect(server.requests).toHaveLength(1);
  });

  it('stops reading a chunked body as soon as it passes the cap', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":"');
      for (let i = 0; i < 10; i++) res.write('y'.repeat(1000));
      res.end('"}');
    });
    const t = make({ maxBodyBytes: 4096 });
    const error = await failure(t.request(`${server.origin}/big`));
    expect(error.code).toBe('RESPONSE_TOO_LARGE');
    const ok = await t.request(`${server.origin}/big`, { maxBodyBytes: 20_000 });
    expect(ok.status).toBe(200);
  });

  it('applies the cap to the decompressed size', async () => {
    const zipped = gzipSync(JSON.stringify({ data: 'z'.repeat(100_000) }));
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': zipped.length });
      res.end(zipped);
    });
    expect(zipped.length).toBeLessThan(10_000);
    const error = await failure(make().request(`${server.origin}/bomb`, { maxBodyBytes: 10_000 }));
    expect(error.code).toBe('RESPONSE_TOO_LARGE');
  });
});
