/**
 * Attachment routes of an editable layer: `addAttachment` (multipart upload), per-feature
 * `attachments` listing, the file download, and `queryAttachments`.
 */

import { editableLayer, type LayerRef } from '../edits/access.js';
import type { EditableLayer } from '../edits/editable-layer.js';
import { envelope } from '../envelopes.js';
import { jsonReply, type Reply } from '../reply.js';
import { type EmuRequest, param } from '../request.js';
import type { EmulatorState } from '../state.js';
import { multipartFile } from './multipart-file.js';
import { type AttachmentStore, attachmentInfo } from './store.js';

function withAttachments(
  state: EmulatorState,
  req: EmuRequest,
  ref: LayerRef,
  operation: string,
): { layer: EditableLayer; store: AttachmentStore } | { reply: Reply } {
  const target = editableLayer(state, req, ref, operation);
  if ('reply' in target) return target;
  const store = target.layer.attachments;
  if (!store)
    return { reply: envelope(400, 'Layer does not support attachments.', [`${operation} is not supported`]) };
  return { layer: target.layer, store };
}

function featureMissing(): Reply {
  return envelope(404, 'Feature not found.', ['Object is missing.']);
}

export function addAttachmentRoute(state: EmulatorState, req: EmuRequest, ref: LayerRef, oid: number): Reply {
  const target = withAttachments(state, req, ref, 'addAttachment');
  if ('reply' in target) return target.reply;
  if (!target.layer.has(oid)) return featureMissing();
  const type = req.headers['content-type'] ?? '';
  const file = req.rawBytes ? multipartFile(req.rawBytes, type, 'attachment') : undefined;
  if (!file) return envelope(400, 'Unable to add attachment.', ['An attachment file part is required']);
  const added = target.store.add(oid, file.filename, file.contentType, file.data);
  return jsonReply({ addAttachmentResult: { objectId: added.id, globalId: null, success: true } });
}

export function attachmentsRoute(state: EmulatorState, req: EmuRequest, ref: LayerRef, oid: number): Reply {
  const target = withAttachments(state, req, ref, 'attachments');
  if ('reply' in target) return target.reply;
  if (!target.layer.has(oid)) return featureMissing();
  return jsonReply({ attachmentInfos: target.store.list(oid).map((a) => attachmentInfo(a)) });
}

export function attachmentDataRoute(
  state: EmulatorState,
  req: EmuRequest,
  ref: LayerRef,
  oid: number,
  attachmentId: number,
): Reply {
  const target = withAttachments(state, req, ref, 'attachments');
  if ('reply' in target) return target.reply;
  const attachment = target.store.get(oid, attachmentId);
  if (!attachment) return envelope(404, 'Attachment not found.', []);
  return {
    status: 200,
    contentType: attachment.contentType,
    body: attachment.data,
    headers: { 'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(attachment.name)}` },
  };
}

export function queryAttachmentsRoute(state: EmulatorState, req: EmuRequest, ref: LayerRef): Reply {
  const target = withAttachments(state, req, ref, 'queryAttachments');
  if ('reply' in target) return target.reply;
  if (!target.layer.editing.queryAttachments) {
    return envelope(400, 'Requested operation is not supported by this service.', [
      'queryAttachments is not supported',
    ]);
  }
  let parents = target.store.parents();
  const ids = param(req, 'objectIds');
  if (ids !== undefined && ids.trim() !== '') {
    const wanted = new Set(ids.split(',').map((s) => Number(s.trim())));
    parents = parents.filter((oid) => wanted.has(oid));
  }
  const where = param(req, 'definitionExpression');
  if (where !== undefined && where.trim() !== '' && where.trim() !== '1=1') {
    try {
      const answer = target.layer.query({ where, returnIdsOnly: 'true', f: 'json' });
      const text = typeof answer.body === 'string' ? answer.body : Buffer.from(answer.body).toString('utf8');
      const matching = new Set((JSON.parse(text) as { objectIds?: number[] }).objectIds ?? []);
      parents = parents.filter((oid) => matching.has(oid));
    } catch {
      return envelope(400, 'Unable to perform query operation.', ['Invalid definitionExpression']);
    }
  }
  const returnUrl = (param(req, 'returnUrl') ?? '').toLowerCase() === 'true';
  const layerUrl = `${req.origin}${req.path.slice(0, req.path.lastIndexOf('/'))}`;
  const attachmentGroups = parents.map((oid) => ({
    parentObjectId: oid,
    parentGlobalId: null,
    attachmentInfos: target.store.list(oid).map((a) => {
      if (!returnUrl) return attachmentInfo(a);
      return attachmentInfo(a, `${layerUrl}/${oid}/attachments/${a.id}`);
    }),
  }));
  return jsonReply({
    fields: [
      { name: target.layer.objectIdField, type: 'esriFieldTypeOID', alias: target.layer.objectIdField },
    ],
    attachmentGroups,
  });
}
