import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EtlError, isEtlError } from '../../src/core/errors.js';
import { FakeTime } from '../../src/core/fake-time.js';
import { createTransport, type HttpTransport } from '../../src/http/transport.js';
import type { BinaryOrJson } from '../../src/http/types.js';
import { type Handler, sendJson, sendText, startServer, type TestServer } from './server.js';

let server: TestServer | undefined;
let transport: HttpTransport | undefined;

async function setup(handler: Handler) {
  server = await startServer(handler);
  transport = createTransport({ runtime: new FakeTime().instantRuntime(() => 0.5), emit: () => {} });
  return { server, transport, url: `${server.origin}/arcgis/rest/services/A/FeatureServer/0/query` };
}

function sendBytes(res: ServerResponse, bytes: Uint8Array, contentType?: string, status = 200): void {
  res.writeHead(status, {
    ...(contentType === undefined ? {} : { 'content-type': contentType }),
    'content-length': bytes.length,
  });
  res.end(bytes);
}

const PBF = new Uint8Array([0x0a, 0x01, 0x31, 0x12, 0x00]);

afterEach(async () => {
  await transport?.close();
  await server?.close();
  transport = undefined;
  server = undefined;
});

describe('transport, binary answers (f=pbf)', () => {
  it('returns the bytes of a protobuf answer and asks for protobuf first', async () => {
    const { transport, url, server } = await setup((_q, res) =>
      sendBytes(res, PBF, 'application/x-protobuf'),
    );
    const res = await transport.request<BinaryOrJson>(url, { responseType: 'binary', params: { f: 'pbf' } });
    expect(res.body.kind).toBe('binary');
    expect([...(res.body.value as Uint8Array)]).toEqual([...PBF]);
    expect(server.requests[0]!.headers.accept).toMatch(/^application\/x-protobuf/);
    expect(server.requests[0]!.body).toContain('f=pbf');
  });

  it('passes a binary answer through decodeBinary', async () => {
    const { transport, url } = await setup((_q, res) => sendBytes(res, PBF, 'application/octet-stream'));
    const res = await transport.request<BinaryOrJson<number>>(url, {
      responseType: 'binary',
      decodeBinary: (bytes) => bytes.length,
    });
    expect(res.body).toEqual({ kind: 'binary', value: PBF.length });
  });

  it('retries an answer that decodeBinary finds cut short, like a truncated JSON body', async () => {
    const { transport, url, server } = await setup((_q, res, _r, i) =>
      sendBytes(res, i === 0 ? PBF.subarray(0, 2) : PBF, 'application/x-protobuf'),
    );
    const res = await transport.request<BinaryOrJson<number>>(url, {
      responseType: 'binary',
      decodeBinary: (bytes) => {
        if (bytes.length < PBF.length) throw new EtlError('TRUNCATED_RESPONSE', 'cut');
        return bytes.length;
      },
    });
    expect(res.body.value).toBe(PBF.length);
    expect(res.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
  });

  it('does not retry a 200 answer that decodeBinary finds malformed: one attempt, its error', async () => {
    const events: { type: string }[] = [];
    server = await startServer((_q, res) => sendBytes(res, PBF, 'application/x-protobuf'));
    transport = createTransport({
      runtime: new FakeTime().instantRuntime(() => 0.5),
      emit: (e) => events.push(e),
    });
    const url = `${server.origin}/arcgis/rest/services/A/FeatureServer/0/query`;
    for (const code of ['INVALID_RESPONSE', 'UNSUPPORTED_GEOMETRY'] as const) {
      const error = await transport
        .request(url, {
          responseType: 'binary',
          decodeBinary: () => {
            throw new EtlError(
              code,
              'The pbf answer of the query is malformed: a point geometry has 4 coordinates',
            );
          },
        })
        .catch((e: unknown) => e);
      expect(isEtlError(error, code), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/is malformed: a point geometry/);
    }
    expect(server.requests).toHaveLength(2);
    expect(events.filter((e) => e.type === 'request.retry')).toHaveLength(0);
  });

  it('hands back the JSON of a server that answered JSON instead', async () => {
    const { transport, url } = await setup((_q, res) => sendJson(res, { features: [], count: 3 }));
    const res = await transport.request<BinaryOrJson>(url, { responseType: 'binary' });
    expect(res.body).toEqual({ kind: 'json', value: { features: [], count: 3 } });
  });

  it('throws JSON error envelopes and HTML pages as for a JSON request', async () => {
    const { transport, url } = await setup((_q, res, _r, i) => {
      if (i === 0) sendJson(res, { error: { code: 400, message: "'f' parameter is invalid", details: [] } });
      else sendText(res, '<html><body>Not here</body></html>', 404, 'text/html');
    });
    let error: unknown;
    try {
      await transport.request(url, { responseType: 'binary', retry: false });
    } catch (e) {
      error = e;
    }
    expect(isEtlError(error) && error.arcgisCode).toBe(400);
    await expect(transport.request(url, { responseType: 'binary', retry: false })).rejects.toMatchObject({
      code: 'HTTP_ERROR',
      status: 404,
    });
  });

  it('retries a 503 even when its body claims to be protobuf', async () => {
    const { transport, url } = await setup((_q, res, _r, i) =>
      i === 0
        ? sendBytes(res, PBF, 'application/x-protobuf', 503)
        : sendBytes(res, PBF, 'application/x-protobuf'),
    );
    const res = await transport.request<BinaryOrJson>(url, { responseType: 'binary' });
    expect(res.body.kind).toBe('binary');
    expect(res.attempts).toBe(2);
  });

  it('without a content type, tells bytes from JSON by the first byte', async () => {
    const { transport, url } = await setup((_q, res, _r, i) =>
      sendBytes(res, i === 0 ? PBF : Buffer.from(' {"count":1}'), undefined),
    );
    expect((await transport.request<BinaryOrJson>(url, { responseType: 'binary' })).body.kind).toBe('binary');
    expect((await transport.request<BinaryOrJson>(url, { responseType: 'binary' })).body).toEqual({
      kind: 'json',
      value: { count: 1 },
    });
  });
});
