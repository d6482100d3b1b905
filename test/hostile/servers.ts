/**
 * Small scripted HTTP servers on 127.0.0.1:0 for the hostile-input suite: each request is recorded
 * (method, path, query, form, headers) and answered by a handler the test writes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  form: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (req: Recorded, res: ServerResponse) => void | Promise<void>;

export interface Scripted {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  requests: Recorded[];
  /** Every parameter and header value the server received, joined (to look for a token). */
  received(): string;
  close(): Promise<void>;
}

export async function scriptedServer(handler: Handler): Promise<Scripted> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://localhost');
      const recorded: Recorded = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        form: new URLSearchParams(
          /x-www-form-urlencoded/.test(req.headers['content-type'] ?? '') ? body : '',
        ),
        headers: req.headers,
        body,
      };
      requests.push(recorded);
      Promise.resolve(handler(recorded, res)).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    received: () =>
      requests
        .map((r) => [r.path, r.query.toString(), r.body, JSON.stringify(r.headers)].join(' '))
        .join('\n'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(res: ServerResponse, value: unknown, status = 200): void {
  const body = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
}

export function sendBytes(res: ServerResponse, body: Buffer | string, type: string, status = 200): void {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  res.writeHead(status, { 'content-type': type, 'content-length': bytes.length });
  res.end(bytes);
}

export const LAYER_PATH = '/arcgis/rest/services/Hostile/FeatureServer/0';

export const OID_FIELD = { name: 'OBJECTID', type: 'esriFieldTypeOID', alias: 'OBJECTID' };

/** Point layer metadata with pagination; override any part. */
export function layerMetadata(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    currentVersion: 11.1,
    id: 0,
    name: 'Hostile',
    type: 'Feature Layer',
    geometryType: 'esriGeometryPoint',
    objectIdField: 'OBJECTID',
    fields: [OID_FIELD, { name: 'NAME', type: 'esriFieldTypeString', alias: 'NAME' }],
    maxRecordCount: 2,
    extent: { xmin: 0, ymin: 0, xmax: 10, ymax: 10, spatialReference: { wkid: 4326 } },
    supportedQueryFormats: 'JSON',
    advancedQueryCapabilities: { supportsPagination: true, supportsStatistics: false },
    ...extra,
  };
}

/** A feature as raw JSON bytes (so OIDs like `12.0` and non-UTF-8 bytes reach the client as is). */
export interface RawFeature {
  oid: number;
  raw: Buffer;
}

export function rawFeature(oid: number, json: string | Buffer): RawFeature {
  return { oid, raw: Buffer.isBuffer(json) ? json : Buffer.from(json) };
}

/** Keeps the features whose OID satisfies every `OBJECTID op n` of the clause (enough for the strategies). */
function matches(where: string, oid: number): boolean {
  for (const m of where.matchAll(/OBJECTID\s*(>=|<=|>|<|=)\s*(-?\d+)/g)) {
    const n = Number(m[2]);
    const ok = { '>=': oid >= n, '<=': oid <= n, '>': oid > n, '<': oid < n, '=': oid === n }[m[1]!];
    if (!ok) return false;
  }
  return true;
}

/**
 * A public layer at LAYER_PATH over raw features (ascending OIDs): metadata, count, ids, offset
 * pages and objectIds batches. `metadata` may be a value or a raw answer.
 */
export function fakeLayer(
  features: readonly RawFeature[],
  options: { metadata?: Record<string, unknown> | ((res: ServerResponse) => void) } = {},
): Handler {
  const metadata = options.metadata ?? layerMetadata();
  return (req, res) => {
    const p = (name: string) => req.form.get(name) ?? req.query.get(name) ?? undefined;
    if (req.path === '/arcgis/rest/info') {
      sendJson(res, { currentVersion: 11.1, authInfo: { isTokenBasedSecurity: false } });
      return;
    }
    if (req.path === LAYER_PATH) {
      if (typeof metadata === 'function') metadata(res);
      else sendJson(res, metadata);
      return;
    }
    if (req.path !== `${LAYER_PATH}/query`) {
      sendJson(res, { error: { code: 400, message: 'Invalid URL', details: ['Invalid URL'] } });
      return;
    }
    const where = p('where') ?? '1=1';
    let selected = features.filter((f) => matches(where, f.oid));
    const ids = p('objectIds');
    if (ids) {
      const wanted = new Set(ids.split(',').map(Number));
      selected = selected.filter((f) => wanted.has(f.oid));
    }
    if (p('returnCountOnly') === 'true') {
      sendJson(res, { count: selected.length });
      return;
    }
    if (p('returnIdsOnly') === 'true') {
      // float OIDs in the id list too
      sendJson(
        res,
        `{"objectIdFieldName":"OBJECTID","objectIds":[${selected.map((f) => `${f.oid}.0`).join(',')}]}`,
      );
      return;
    }
    const offset = Number(p('resultOffset') ?? 0);
    const count = Number(p('resultRecordCount') ?? 2);
    const page = selected.slice(offset, offset + Math.min(count, 2));
    const more = offset + page.length < selected.length && !ids;
    const head = Buffer.from(
      '{"objectIdFieldName":"OBJECTID","geometryType":"esriGeometryPoint","spatialReference":{"wkid":4326},"features":[',
    );
    const parts: Buffer[] = [head];
    page.forEach((f, i) => {
      if (i > 0) parts.push(Buffer.from(','));
      parts.push(f.raw);
    });
    parts.push(Buffer.from(`]${more ? ',"exceededTransferLimit":true' : ''}}`));
    sendBytes(res, Buffer.concat(parts), 'application/json; charset=utf-8');
  };
}
