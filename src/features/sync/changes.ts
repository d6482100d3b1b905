/**
 * `extractChanges` on the layer's FeatureServer: the OIDs inserted, updated and deleted since a
 * serverGen, and the serverGen they bring the output to. Asked for asynchronously; a job is polled
 * (pollStatusUrl) and its result downloaded with the token; a server that answers at once is read as is.
 */
import type { ArcGISClient } from '../../client/arcgis-client.js';
import { EtlError } from '../../core/errors.js';
import type { Runtime } from '../../core/time.js';
import { pollStatusUrl } from '../jobs/poll.js';

export interface ChangeSet {
  serverGen: number;
  adds: number[];
  updates: number[];
  deletes: number[];
  /** Whether the server ran it as a job. */
  async: boolean;
}

/** `…/FeatureServer/3` → `…/FeatureServer` and 3. */
export function splitLayerUrl(layerUrl: string): { serviceUrl: string; layerId: number } {
  const m = /^(.*)\/(\d+)$/.exec(layerUrl);
  if (!m) throw new EtlError('USAGE', `Not a layer URL (…/FeatureServer/<id>): ${layerUrl}`);
  return { serviceUrl: m[1]!, layerId: Number(m[2]) };
}

function ids(value: unknown, what: string): number[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => !Number.isSafeInteger(v))) {
    throw new EtlError('INVALID_RESPONSE', `extractChanges answered an invalid ${what} list`);
  }
  return value as number[];
}

function parseChanges(body: unknown, layerId: number, isAsync: boolean): ChangeSet {
  const b = (body ?? {}) as { layerServerGens?: unknown; edits?: unknown };
  const gens = Array.isArray(b.layerServerGens)
    ? (b.layerServerGens as { id?: unknown; serverGen?: unknown }[])
    : [];
  const gen = gens.find((g) => g?.id === layerId)?.serverGen;
  if (typeof gen !== 'number' || !Number.isSafeInteger(gen)) {
    throw new EtlError('INVALID_RESPONSE', `extractChanges answered no serverGen for layer ${layerId}`);
  }
  const edits = Array.isArray(b.edits) ? (b.edits as Record<string, unknown>[]) : [];
  const edit = edits.find((e) => e?.id === layerId) ?? {};
  const objectIds = edit.objectIds as Record<string, unknown> | undefined;
  if (objectIds) {
    return {
      serverGen: gen,
      adds: ids(objectIds.adds, 'adds'),
      updates: ids(objectIds.updates, 'updates'),
      deletes: ids(objectIds.deletes, 'deletes'),
      async: isAsync,
    };
  }
  // a server that sent features despite returnIdsOnly: their OIDs are enough
  const features = (edit.features ?? {}) as Record<string, unknown>;
  const oidsOf = (list: unknown) =>
    (Array.isArray(list) ? list : []).map((f) => {
      const attrs = (f as { attributes?: Record<string, unknown> }).attributes ?? {};
      const key = Object.keys(attrs).find((k) => /^(objectid|fid|oid)$/i.test(k));
      return key === undefined ? Number.NaN : Number(attrs[key]);
    });
  return {
    serverGen: gen,
    adds: ids(oidsOf(features.adds), 'adds'),
    updates: ids(oidsOf(features.updates), 'updates'),
    deletes: ids(features.deleteIds, 'deleteIds'),
    async: isAsync,
  };
}

export async function extractChanges(options: {
  client: ArcGISClient;
  layerUrl: string;
  serverGen: number;
  signal?: AbortSignal | undefined;
  runtime?: Partial<Runtime> | undefined;
}): Promise<ChangeSet> {
  const { serviceUrl, layerId } = splitLayerUrl(options.layerUrl);
  const signal = options.signal ? { signal: options.signal } : {};
  const body = await options.client.request<Record<string, unknown>>(
    `${serviceUrl}/extractChanges`,
    {
      layers: JSON.stringify([layerId]),
      layerServerGens: JSON.stringify([{ id: layerId, serverGen: options.serverGen }]),
      returnInserts: true,
      returnUpdates: true,
      returnDeletes: true,
      returnIdsOnly: true,
      dataFormat: 'json',
      async: true,
    },
    signal,
  );
  if (typeof body.statusUrl !== 'string') return parseChanges(body, layerId, false);
  const { status } = await pollStatusUrl({
    what: 'extractChanges job',
    client: options.client,
    statusUrl: body.statusUrl,
    signal: options.signal,
    runtime: options.runtime,
  });
  if (typeof status.resultUrl !== 'string') {
    throw new EtlError('INVALID_RESPONSE', 'The extractChanges job completed without a resultUrl');
  }
  const result = await options.client.request(status.resultUrl, {}, { method: 'GET', ...signal });
  return parseChanges(result, layerId, true);
}
