/**
 * `applyEdits` on a layer, `extractChanges` on a FeatureServer (sync, or async: a job whose
 * `statusUrl` is polled and whose `resultUrl` holds the answer).
 */
import { randomUUID } from 'node:crypto';
import { envelope, invalidUrl } from '../envelopes.js';
import { jsonReply, type Reply } from '../reply.js';
import { type EmuRequest, param } from '../request.js';
import { authorize } from '../service-routes.js';
import { featureServerUrl } from '../service-url.js';
import { type EmulatorState, serverNow } from '../state.js';
import { editableLayer, type LayerRef } from './access.js';
import { EditableLayer } from './editable-layer.js';

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return undefined;
  return JSON.parse(text);
}

function bool(text: string | undefined, fallback: boolean): boolean {
  if (text === undefined || text === '') return fallback;
  return text.toLowerCase() === 'true';
}

function idList(text: string | undefined): number[] {
  if (text === undefined || text.trim() === '') return [];
  const trimmed = text.trim();
  const values: unknown[] = trimmed.startsWith('[') ? (JSON.parse(trimmed) as unknown[]) : trimmed.split(',');
  return values.map((v) => {
    const n = Number(typeof v === 'string' ? v.trim() : v);
    if (!Number.isSafeInteger(n)) throw new Error(`Invalid object id ${String(v).slice(0, 20)}`);
    return n;
  });
}

function operationFailed(details: string[]): Reply {
  return envelope(400, 'Unable to complete operation.', details);
}

export function applyEditsRoute(state: EmulatorState, req: EmuRequest, ref: LayerRef): Reply {
  const target = editableLayer(state, req, ref, 'applyEdits');
  if ('reply' in target) return target.reply;
  let adds: unknown;
  let updates: unknown;
  let deletes: number[];
  try {
    adds = parseJson(param(req, 'adds')) ?? [];
    updates = parseJson(param(req, 'updates')) ?? [];
    deletes = idList(param(req, 'deletes'));
  } catch (error) {
    return operationFailed([`Invalid edits: ${(error as Error).message.slice(0, 100)}`]);
  }
  if (!Array.isArray(adds) || !Array.isArray(updates))
    return operationFailed(['adds and updates must be arrays']);
  const outcome = target.layer.applyEdits(
    { adds, updates, deletes, rollbackOnFailure: bool(param(req, 'rollbackOnFailure'), true) },
    serverNow(state),
    target.user,
  );
  if (outcome.rolledBack) return operationFailed(['Operation rolled back.', ...outcome.details]);
  const { rolledBack: _r, ...results } = outcome;
  return jsonReply(results);
}

interface Job {
  service: string;
  /** Status polls left before the job completes. */
  pending: number;
  result: unknown;
}

/** Status polls a job answers as not done yet before it completes. */
export const JOB_POLLS = 2;
const JOBS = new WeakMap<EmulatorState, Map<string, Job>>();

function jobsOf(state: EmulatorState): Map<string, Job> {
  let jobs = JOBS.get(state);
  if (!jobs) {
    jobs = new Map();
    JOBS.set(state, jobs);
  }
  return jobs;
}

export function extractChangesRoute(state: EmulatorState, req: EmuRequest, service: string): Reply {
  const layers = state.catalog.service(service);
  if (!layers) return invalidUrl();
  const denied = authorize(state, req, state.catalog.isSecured(service));
  if (denied) return denied;
  let ids: number[];
  let gens: unknown;
  try {
    ids = idList(param(req, 'layers'));
    gens = parseJson(param(req, 'layerServerGens'));
  } catch {
    return operationFailed(['Invalid layers or layerServerGens parameter']);
  }
  const dataFormat = (param(req, 'dataFormat') ?? 'json').toLowerCase();
  if (dataFormat !== 'json')
    return operationFailed([`dataFormat ${dataFormat.slice(0, 20)} is not supported`]);
  const since = new Map<number, number>();
  if (Array.isArray(gens)) {
    for (const g of gens as { id?: unknown; serverGen?: unknown }[]) {
      if (typeof g?.id === 'number' && typeof g.serverGen === 'number') since.set(g.id, g.serverGen);
    }
  }
  const returnIdsOnly = bool(param(req, 'returnIdsOnly'), false);
  const wants = {
    inserts: bool(param(req, 'returnInserts'), false),
    updates: bool(param(req, 'returnUpdates'), false),
    deletes: bool(param(req, 'returnDeletes'), false),
  };
  const layerServerGens: unknown[] = [];
  const edits: unknown[] = [];
  for (const id of ids.length > 0 ? ids : layers.map((l) => l.id)) {
    const layer = layers.find((l) => l.id === id);
    if (!(layer instanceof EditableLayer) || !layer.editing.changeTracking) {
      return operationFailed([`Layer ${id} does not support change tracking.`]);
    }
    const gen = since.get(id);
    if (gen === undefined || !layer.validGen(gen)) {
      return operationFailed([`Invalid serverGen for layer ${id}.`]);
    }
    const changes = layer.changesSince(gen);
    layerServerGens.push({ id, serverGen: changes.serverGen, minServerGen: 1 });
    const adds = wants.inserts ? changes.adds : [];
    const updates = wants.updates ? changes.updates : [];
    const deletes = wants.deletes ? changes.deletes : [];
    if (returnIdsOnly) {
      edits.push({ id, objectIds: { adds, updates, deletes } });
    } else {
      const features = (oids: number[]) =>
        oids.map((oid) => layer.feature(oid)).filter((f) => f !== undefined);
      edits.push({ id, features: { adds: features(adds), updates: features(updates), deleteIds: deletes } });
    }
  }
  const result = { layerServerGens, edits };
  if (!bool(param(req, 'async'), false)) return jsonReply(result);
  const jobId = randomUUID().replaceAll('-', '');
  jobsOf(state).set(jobId, { service, pending: JOB_POLLS, result });
  return jsonReply({ statusUrl: `${featureServerUrl(state, req, service)}/jobs/${jobId}` });
}

function jobOf(state: EmulatorState, req: EmuRequest, service: string, jobId: string): Job | Reply {
  const job = jobsOf(state).get(jobId);
  if (!job || job.service !== service) return envelope(400, 'Job not found.', [`Invalid job id`]);
  const denied = authorize(state, req, state.catalog.isSecured(service));
  return denied ?? job;
}

export function jobStatusRoute(state: EmulatorState, req: EmuRequest, service: string, jobId: string): Reply {
  const job = jobOf(state, req, service, jobId);
  if ('status' in job) return job;
  if (job.pending > 0) {
    job.pending--;
    return jsonReply({ status: job.pending === JOB_POLLS - 1 ? 'Pending' : 'InProgress' });
  }
  return jsonReply({
    status: 'Completed',
    responseType: 'esriDataChangesResponseTypeEdits',
    resultUrl: `${featureServerUrl(state, req, service)}/jobs/${jobId}/result`,
  });
}

export function jobResultRoute(state: EmulatorState, req: EmuRequest, service: string, jobId: string): Reply {
  const job = jobOf(state, req, service, jobId);
  if ('status' in job) return job;
  if (job.pending > 0) return envelope(400, 'The job is not complete.', []);
  return jsonReply(job.result);
}
