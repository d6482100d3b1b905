/**
 * Portal items and item export jobs:
 * - `content/items/{id}`: the item of each FeatureServer service (`serviceItemId`) and of each
 *   export; `content/items/{id}/data`: an export's file;
 * - `content/users/{user}/export`: `itemId`, `exportFormat` (GeoJson | Shapefile),
 *   `exportParameters` (`{layers: [{id, where}]}`) → `{type, size, jobId, exportItemId, serviceItemId}`;
 * - `content/users/{user}/items/{id}/status?jobId&jobType=export`: processing / completed / failed;
 * - `content/users/{user}/items/{id}/delete`.
 * Tokens: the portal's, or the server's (one trust domain, as ArcGIS Online hosted services).
 */
import { createHash } from 'node:crypto';
import { portalTokenEntry, serverTokenEntry } from '../access.js';
import { envelope, invalidToken, tokenRequired } from '../envelopes.js';
import { geojsonZip, type LayerSelection, layerGeoJson, selectOids, shapefileZip } from '../replica/build.js';
import { jsonReply, type Reply } from '../reply.js';
import { type EmuRequest, param, requestToken } from '../request.js';
import { featureServerUrl } from '../service-url.js';
import { type EmulatorState, serverNow } from '../state.js';
import { EmulatorQueryError } from '../types.js';
import type { Job, JobFile } from './registry.js';
import { faultReply, fileReply } from './replies.js';

export type ItemPath =
  | { kind: 'item'; id: string }
  | { kind: 'itemData'; id: string }
  | { kind: 'itemExport'; user: string }
  | { kind: 'exportStatus'; user: string; id: string }
  | { kind: 'itemDelete'; user: string; id: string };

/** `rest` follows `{portalPrefix}`; undefined when it is not an item path. */
export function parseItemPath(rest: string): ItemPath | undefined {
  let m = /^\/sharing\/rest\/content\/items\/([0-9a-f]{32})(\/data)?$/i.exec(rest);
  if (m)
    return m[2] ? { kind: 'itemData', id: m[1]!.toLowerCase() } : { kind: 'item', id: m[1]!.toLowerCase() };
  m = /^\/sharing\/rest\/content\/users\/([^/]+)\/export$/i.exec(rest);
  if (m) return { kind: 'itemExport', user: safeDecode(m[1]!) };
  m = /^\/sharing\/rest\/content\/users\/([^/]+)\/items\/([^/]+)\/(status|delete)$/i.exec(rest);
  if (m) {
    const user = safeDecode(m[1]!);
    const id = m[2]!.toLowerCase();
    return m[3]!.toLowerCase() === 'status'
      ? { kind: 'exportStatus', user, id }
      : { kind: 'itemDelete', user, id };
  }
  return undefined;
}

/** The item id of a service (stable: from its name). */
export function serviceItemId(service: string): string {
  return createHash('md5').update(`item:${service}`).digest('hex');
}

const notFound = (): Reply => envelope(400, 'Item does not exist or is inaccessible.', [], 'CONT_0001');

const EXPORT_TYPES: Record<string, 'GeoJson' | 'Shapefile'> = { geojson: 'GeoJson', shapefile: 'Shapefile' };

export function itemRoute(state: EmulatorState, req: EmuRequest, path: ItemPath): Reply {
  const denied = checkToken(state, req);
  if (denied) return denied;
  switch (path.kind) {
    case 'item': {
      const service = serviceOf(state, path.id);
      if (service) {
        return jsonReply({
          id: path.id,
          type: 'Feature Service',
          title: service,
          url: featureServerUrl(state, req, service),
        });
      }
      const job = exportJob(state, path.id);
      if (!job) return notFound();
      return jsonReply({ id: path.id, type: job.info.type, title: job.info.title, size: -1 });
    }
    case 'itemData': {
      const job = exportJob(state, path.id);
      if (!job || state.jobs.phase(job, serverNow(state)) !== 'completed') return notFound();
      const fault = state.jobs.downloadFault();
      if (fault) return faultReply(state, fault);
      return fileReply(state.jobs.file(job));
    }
    case 'itemExport':
      return startExport(state, req);
    case 'exportStatus': {
      const job = exportJob(state, path.id);
      if (!job) return notFound();
      const fault = state.jobs.statusFault();
      if (fault) return faultReply(state, fault);
      const phase = state.jobs.phase(job, serverNow(state));
      const status = phase === 'running' ? 'processing' : phase;
      return jsonReply({
        type: job.info.type,
        id: path.id,
        jobId: job.id,
        jobType: 'export',
        jobStatus: status,
        status,
        ...(phase === 'failed'
          ? { statusMessage: 'Export failed: the service data could not be exported.' }
          : {}),
      });
    }
    case 'itemDelete': {
      const job = exportJob(state, path.id);
      if (!job) return notFound();
      job.deleted = true;
      return jsonReply({ success: true, itemId: path.id });
    }
  }
}

function startExport(state: EmulatorState, req: EmuRequest): Reply {
  const itemId = (param(req, 'itemId') ?? '').toLowerCase();
  const service = serviceOf(state, itemId);
  const layers = service === undefined ? undefined : state.catalog.service(service);
  if (service === undefined || !layers) return notFound();
  const requested = (param(req, 'exportFormat') ?? '').toLowerCase().replaceAll(' ', '');
  const type = EXPORT_TYPES[requested];
  if (!type) {
    return envelope(400, 'Unable to export item.', [
      `Export format '${param(req, 'exportFormat') ?? ''}' is not supported.`,
    ]);
  }
  let parameters: { layers?: { id?: number; where?: string }[] } = {};
  const raw = param(req, 'exportParameters');
  if (raw) {
    try {
      parameters = JSON.parse(raw) as typeof parameters;
    } catch {
      return envelope(400, 'Unable to export item.', ["'exportParameters' is not valid JSON."]);
    }
  }
  const wanted: { id?: number; where?: string }[] = parameters.layers ?? layers.map((l) => ({ id: l.id }));
  let selections: LayerSelection[];
  try {
    selections = wanted.map((w) => {
      const layer = layers.find((l) => l.id === w.id);
      if (!layer)
        throw new EmulatorQueryError(400, 'Unable to export item.', [
          `Layer ${String(w.id)} does not exist.`,
        ]);
      return { layer, oids: selectOids(layer, w.where), where: w.where };
    });
  } catch (error) {
    if (error instanceof EmulatorQueryError) return envelope(error.code, error.message, error.details);
    throw error;
  }
  const title = param(req, 'title') || `${service}_export`;
  const job: Job = state.jobs.submit('export', serverNow(state), { type, title, service }, () =>
    buildExport(job, type, selections),
  );
  return jsonReply({ type, size: -1, jobId: job.id, exportItemId: job.id, serviceItemId: itemId });
}

function buildExport(job: Job, type: 'GeoJson' | 'Shapefile', selections: LayerSelection[]): JobFile {
  if (type === 'Shapefile') {
    return { bytes: shapefileZip(selections), contentType: 'application/zip', fileName: `${job.id}.zip` };
  }
  // one layer: a .geojson file; several: a zip of them
  const only = selections.length === 1 ? selections[0] : undefined;
  if (only)
    return { bytes: layerGeoJson(only), contentType: 'application/geo+json', fileName: `${job.id}.geojson` };
  return { bytes: geojsonZip(selections), contentType: 'application/zip', fileName: `${job.id}.zip` };
}

function exportJob(state: EmulatorState, id: string): Job | undefined {
  const job = state.jobs.get(id);
  return job?.kind === 'export' ? job : undefined;
}

function serviceOf(state: EmulatorState, id: string): string | undefined {
  return state.catalog.serviceNames().find((name) => serviceItemId(name) === id);
}

function checkToken(state: EmulatorState, req: EmuRequest): Reply | undefined {
  if (!state.securedServer) return undefined;
  const token = requestToken(req);
  if (!token) {
    state.stats.tokenRequired();
    return tokenRequired();
  }
  if (portalTokenEntry(state, req, token) || serverTokenEntry(state, req, token)) return undefined;
  state.stats.invalidToken();
  return invalidToken();
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
