/**
 * Test helpers: a tiny stub layer (server mechanics do not depend on the data engine), raw HTTP
 * calls with full control of method, headers and body, and an emulator started per test.
 */
import { request } from 'undici';
import { serveEmulator } from '../../src/emulator/server.js';
import {
  type EmulatedLayer,
  type EmulatorHandle,
  type EmulatorOptions,
  EmulatorQueryError,
  type QueryFaults,
  type QueryParams,
} from '../../src/emulator/types.js';

export const USER = { username: 'alice', password: 'Secret-pass-1' };

/** Points with OIDs 1..count; query honours resultOffset/resultRecordCount, counts and ids. */
export function stubLayer(service: string, count: number, id = 0, maxRecordCount = 1000): EmulatedLayer {
  const oids = Array.from({ length: count }, (_, i) => i + 1);
  const metadata = {
    currentVersion: 11.1,
    id,
    name: service,
    type: 'Feature Layer',
    geometryType: 'esriGeometryPoint' as const,
    objectIdField: 'OBJECTID',
    fields: [{ name: 'OBJECTID', type: 'esriFieldTypeOID' }],
    maxRecordCount,
    extent: { xmin: 0, ymin: 0, xmax: count, ymax: count, spatialReference: { wkid: 4326 } },
    supportedQueryFormats: 'JSON',
    advancedQueryCapabilities: { supportsPagination: true },
  };
  return {
    service,
    id,
    geometryType: 'esriGeometryPoint',
    objectIdField: 'OBJECTID',
    count,
    metadata: () => ({ ...metadata }),
    query(params: QueryParams, faults?: QueryFaults) {
      if (params.where === 'boom')
        throw new EmulatorQueryError(400, 'Unable to complete operation.', ['bad where']);
      if (faults?.failAbove !== undefined && count > faults.failAbove) {
        throw new EmulatorQueryError(500, 'Error performing query operation', []);
      }
      const json = (v: unknown) => ({
        body: JSON.stringify(v),
        contentType: 'application/json; charset=utf-8',
      });
      if (params.returnCountOnly === 'true') return json({ count });
      if (params.returnIdsOnly === 'true') return json({ objectIdFieldName: 'OBJECTID', objectIds: oids });
      const offset = faults?.ignoreResultOffset ? 0 : Number(params.resultOffset ?? 0);
      const size = Math.min(Number(params.resultRecordCount ?? maxRecordCount), maxRecordCount);
      const page = oids.slice(offset, offset + size);
      return json({
        objectIdFieldName: 'OBJECTID',
        geometryType: 'esriGeometryPoint',
        spatialReference: { wkid: 4326 },
        fields: [{ name: 'OBJECTID', type: 'esriFieldTypeOID', alias: 'OBJECTID' }],
        features: page.map((oid) => ({ attributes: { OBJECTID: oid }, geometry: { x: oid, y: oid } })),
        ...(offset + page.length < count ? { exceededTransferLimit: true } : {}),
      });
    },
    objectIds: () => oids,
    feature: (oid) =>
      oid >= 1 && oid <= count ? { attributes: { OBJECTID: oid }, geometry: { x: oid, y: oid } } : undefined,
  };
}

/** A server over stub layers `Parcels` (secured by default) and `Public` (secured: false). */
export function startStub(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  return serveEmulator(
    {
      users: [USER],
      layers: [{ service: 'Parcels' }, { service: 'Public', secured: false }],
      ...options,
    },
    [stubLayer('Parcels', 25), stubLayer('Public', 5)],
  );
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export async function call(
  url: string,
  init: {
    method?: 'GET' | 'POST';
    form?: Record<string, string>;
    headers?: Record<string, string>;
    body?: string;
  } = {},
): Promise<RawResponse> {
  const method = init.method ?? (init.form || init.body ? 'POST' : 'GET');
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined = init.body;
  if (init.form) {
    body = new URLSearchParams(init.form).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  const res = await request(url, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.body.text();
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = String(v);
  return { status: res.statusCode, headers: flat, text, json: <T>() => JSON.parse(text) as T };
}

/** POSTs generateToken with f=json and the user's credentials (plus `extra`). */
export async function token(
  handle: EmulatorHandle,
  extra: Record<string, string> = {},
  url = handle.tokenUrl,
): Promise<{ token: string; expires: number; ssl: boolean }> {
  const res = await call(url, { form: { f: 'json', ...USER, ...extra } });
  const body = res.json<{ token: string; expires: number; ssl: boolean }>();
  if (!body.token) throw new Error(`no token: ${res.text}`);
  return body;
}
