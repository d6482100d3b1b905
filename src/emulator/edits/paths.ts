/**
 * Routes of editing, change tracking and attachments under `{prefix}/rest/services` (the router
 * asks here before the read-only service routes).
 */
import {
  addAttachmentRoute,
  attachmentDataRoute,
  attachmentsRoute,
  queryAttachmentsRoute,
} from '../attachments/routes.js';
import type { Reply } from '../reply.js';
import type { EmuRequest } from '../request.js';
import type { EmulatorState } from '../state.js';
import { applyEditsRoute, extractChangesRoute, jobResultRoute, jobStatusRoute } from './routes.js';

export interface EditingRoute {
  name: string;
  handle(state: EmulatorState, req: EmuRequest): Reply;
}

/** `rest` is what follows `{prefix}/rest/services`; undefined when it is no editing route. */
export function matchEditingRoute(rest: string): EditingRoute | undefined {
  let decoded: string[];
  try {
    decoded = rest
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
  const at = decoded.indexOf('FeatureServer');
  if (at <= 0) return undefined;
  const service = decoded.slice(0, at).join('/');
  const tail = decoded.slice(at + 1);
  const int = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined);
  if (tail.length === 1 && tail[0] === 'extractChanges') {
    return { name: 'extractChanges', handle: (s, r) => extractChangesRoute(s, r, service) };
  }
  if (tail[0] === 'jobs' && tail.length >= 2 && tail.length <= 3) {
    const job = tail[1]!;
    if (tail.length === 2) return { name: 'jobStatus', handle: (s, r) => jobStatusRoute(s, r, service, job) };
    if (tail[2] === 'result')
      return { name: 'jobResult', handle: (s, r) => jobResultRoute(s, r, service, job) };
    return undefined;
  }
  const id = int(tail[0]);
  if (id === undefined) return undefined;
  const layer = { service, id };
  if (tail.length === 2 && tail[1] === 'applyEdits') {
    return { name: 'applyEdits', handle: (s, r) => applyEditsRoute(s, r, layer) };
  }
  if (tail.length === 2 && tail[1] === 'queryAttachments') {
    return { name: 'queryAttachments', handle: (s, r) => queryAttachmentsRoute(s, r, layer) };
  }
  const oid = int(tail[1]);
  if (oid === undefined) return undefined;
  if (tail.length === 3 && tail[2] === 'addAttachment') {
    return { name: 'addAttachment', handle: (s, r) => addAttachmentRoute(s, r, layer, oid) };
  }
  if (tail.length === 3 && tail[2] === 'attachments') {
    return { name: 'attachments', handle: (s, r) => attachmentsRoute(s, r, layer, oid) };
  }
  const attachmentId = int(tail[3]);
  if (tail.length === 4 && tail[2] === 'attachments' && attachmentId !== undefined) {
    return { name: 'attachmentData', handle: (s, r) => attachmentDataRoute(s, r, layer, oid, attachmentId) };
  }
  return undefined;
}
