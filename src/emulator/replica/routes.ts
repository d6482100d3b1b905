/**
 * createReplica on FeatureServers (sync and async), the replica job status and the replica files:
 * - `{service}/FeatureServer/createReplica`: `layers`, `layerQueries` (where per layer), `async`,
 *   `syncModel` (none), `dataFormat` json | geojson | shapefile (sqlite and filegdb are not offered),
 *   `transportType` (esriTransportTypeUrl default, or esriTransportTypeEmbedded for sync json);
 * - `{service}/FeatureServer/jobs/{id}`: Pending / InProgress / Completed (with resultUrl) / Failed;
 * - `{service}/FeatureServer/replicafiles/{id}.{ext}`: the file, with the token.
 */
import { envelope, invalidUrl } from '../envelopes.js';
import type { Job, JobFile } from '../jobs/registry.js';
import { faultReply, fileReply } from '../jobs/replies.js';
import type { Reply } from '../reply.js';
import { jsonReply } from '../reply.js';
import { type EmuRequest, param } from '../request.js';
import { authorize } from '../service-routes.js';
import { featureServerUrl } from '../service-url.js';
import { type EmulatorState, serverNow } from '../state.js';
import { type EmulatedLayer, EmulatorQueryError } from '../types.js';
import {
  type ExportFileFormat,
  geojsonZip,
  type LayerSelection,
  replicaJson,
  selectOids,
  shapefileZip,
} from './build.js';
import { layerSyncs } from './capability.js';

export type ReplicaPath =
  | { kind: 'createReplica'; service: string }
  | { kind: 'replicaStatus'; service: string; jobId: string }
  | { kind: 'replicaFile'; service: string; jobId: string };

/** `rest` follows `{prefix}/rest/services`; undefined when it is not a replica path. */
export function parseReplicaPath(rest: string): ReplicaPath | undefined {
  const m =
    /^\/(.+)\/FeatureServer\/(createReplica|jobs\/([0-9a-f]+)|replicafiles\/([0-9a-f]+)\.[a-z]+)$/i.exec(
      rest,
    );
  if (!m) return undefined;
  let service: string;
  try {
    service = decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
  if (m[3] !== undefined) return { kind: 'replicaStatus', service, jobId: m[3] };
  if (m[4] !== undefined) return { kind: 'replicaFile', service, jobId: m[4] };
  return { kind: 'createReplica', service };
}

const FORMATS: Record<string, ExportFileFormat> = {
  json: 'json',
  geojson: 'geojson',
  shapefile: 'shapefile',
};

export function replicaRoute(state: EmulatorState, req: EmuRequest, path: ReplicaPath): Reply {
  const layers = state.catalog.service(path.service);
  if (!layers) return invalidUrl();
  const denied = authorize(state, req, state.catalog.isSecured(path.service));
  if (denied) return denied;
  const base = featureServerUrl(state, req, path.service);
  switch (path.kind) {
    case 'createReplica':
      return createReplica(state, req, layers, base);
    case 'replicaStatus':
      return replicaStatus(state, path.jobId, base);
    case 'replicaFile': {
      const job = state.jobs.get(path.jobId);
      if (job?.kind !== 'replica' || state.jobs.phase(job, serverNow(state)) !== 'completed') {
        return envelope(404, 'Requested file not found.', []);
      }
      const fault = state.jobs.downloadFault();
      if (fault) return faultReply(state, fault);
      return fileReply(state.jobs.file(job));
    }
  }
}

function createReplica(
  state: EmulatorState,
  req: EmuRequest,
  layers: readonly EmulatedLayer[],
  base: string,
): Reply {
  const fail = (message: string, details: string[] = []) => envelope(400, message, details);
  const dataFormat = (param(req, 'dataFormat') ?? 'json').toLowerCase();
  const format = FORMATS[dataFormat];
  if (!format) {
    return fail('Unable to create replica.', [
      `dataFormat '${dataFormat}' is not supported by this service.`,
    ]);
  }
  const syncModel = (param(req, 'syncModel') ?? 'none').toLowerCase();
  if (syncModel !== 'none' && syncModel !== 'perlayer' && syncModel !== 'perreplica') {
    return fail('Unable to create replica.', [`Invalid syncModel '${syncModel}'.`]);
  }
  const ids = parseLayerIds(param(req, 'layers'));
  if (ids === undefined || ids.length === 0)
    return fail('Unable to create replica.', ["'layers' parameter is invalid"]);
  let queries: Record<string, { where?: string }> = {};
  const rawQueries = param(req, 'layerQueries');
  if (rawQueries) {
    try {
      queries = JSON.parse(rawQueries) as Record<string, { where?: string }>;
    } catch {
      return fail('Unable to create replica.', ["'layerQueries' parameter is invalid"]);
    }
  }
  const selected: EmulatedLayer[] = [];
  for (const id of ids) {
    const layer = layers.find((l) => l.id === id);
    if (!layer) return fail('Unable to create replica.', [`Layer ${id} does not exist in this service.`]);
    if (!layerSyncs(layer)) {
      return fail('Requested operation is not supported by this service.', [
        `Sync is not enabled on layer ${id}: createReplica needs the Sync capability.`,
      ]);
    }
    selected.push(layer);
  }
  let selections: LayerSelection[];
  try {
    selections = selected.map((layer) => ({
      layer,
      oids: selectOids(layer, queries[String(layer.id)]?.where),
      where: queries[String(layer.id)]?.where,
    }));
  } catch (error) {
    if (error instanceof EmulatorQueryError) return envelope(error.code, error.message, error.details);
    throw error;
  }
  const replicaName = param(req, 'replicaName') || 'replica';
  const now = serverNow(state);
  const isAsync = param(req, 'async')?.toLowerCase() === 'true';
  // a synchronous replica is done when answered (no duration, no failure)
  const job: Job = state.jobs.submit(
    'replica',
    now,
    { replicaName, format },
    () => buildFile(job, format, selections),
    !isAsync,
  );
  const head = { replicaName, replicaID: braced(job.id) };
  if (isAsync) return jsonReply({ statusUrl: `${base}/jobs/${job.id}` });
  const embedded = (param(req, 'transportType') ?? '').toLowerCase() === 'esritransporttypeembedded';
  if (embedded && format === 'json') {
    return {
      status: 200,
      contentType: 'application/json; charset=utf-8',
      body: replicaJson({ ...head, transportType: 'esriTransportTypeEmbedded' }, selections),
    };
  }
  return jsonReply({ ...head, transportType: 'esriTransportTypeUrl', responseUrl: resultUrl(base, job) });
}

function replicaStatus(state: EmulatorState, jobId: string, base: string): Reply {
  const job = state.jobs.get(jobId);
  if (job?.kind !== 'replica') return envelope(400, 'Job not found.', [`Invalid job id ${jobId}.`]);
  const fault = state.jobs.statusFault();
  if (fault) return faultReply(state, fault);
  const now = serverNow(state);
  const phase = state.jobs.phase(job, now);
  const common = {
    transportType: 'esriTransportTypeUrl',
    responseType: 'esriReplicaResponseTypeData',
    replicaName: job.info.replicaName,
    replicaID: braced(job.id),
    submissionTime: job.submittedAt,
    lastUpdatedTime: phase === 'running' ? now : job.submittedAt + job.durationMs,
  };
  if (phase === 'running') {
    const half = now - job.submittedAt < job.durationMs / 2;
    return jsonReply({ ...common, status: half ? 'Pending' : 'InProgress' });
  }
  // the status resource has no error field: a failed job says Failed, nothing more
  if (phase === 'failed') return jsonReply({ ...common, status: 'Failed' });
  return jsonReply({ ...common, status: 'Completed', resultUrl: resultUrl(base, job) });
}

function buildFile(job: Job, format: ExportFileFormat, selections: readonly LayerSelection[]): JobFile {
  if (format === 'json') {
    const head = { replicaName: job.info.replicaName, replicaID: braced(job.id), syncModel: 'none' };
    return {
      bytes: replicaJson(head, selections),
      contentType: 'application/octet-stream',
      fileName: `${job.id}.json`,
    };
  }
  const bytes = format === 'geojson' ? geojsonZip(selections) : shapefileZip(selections);
  return { bytes, contentType: 'application/zip', fileName: `${job.id}.zip` };
}

function resultUrl(base: string, job: Job): string {
  const ext = (job.info.format as string | undefined) === 'json' ? 'json' : 'zip';
  return `${base}/replicafiles/${job.id}.${ext}`;
}

function braced(id: string): string {
  return `{${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}}`.toUpperCase();
}

function parseLayerIds(raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim().replace(/^\[|\]$/g, '');
  const ids = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (!ids.every((s) => /^\d+$/.test(s))) return undefined;
  return ids.map(Number);
}
