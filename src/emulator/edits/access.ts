/**
 * The editable layer a request addresses, behind the token check; or the reply refusing it.
 */
import { serverTokenEntry } from '../access.js';
import { envelope, invalidUrl } from '../envelopes.js';
import type { Reply } from '../reply.js';
import { type EmuRequest, requestToken } from '../request.js';
import { authorize } from '../service-routes.js';
import type { EmulatorState } from '../state.js';
import { EditableLayer } from './editable-layer.js';

export interface LayerRef {
  service: string;
  id: number;
}

export function editableLayer(
  state: EmulatorState,
  req: EmuRequest,
  ref: LayerRef,
  operation: string,
): { layer: EditableLayer; user: string } | { reply: Reply } {
  const layer = state.catalog.layer(ref.service, ref.id);
  if (!layer) return { reply: invalidUrl() };
  const denied = authorize(state, req, state.catalog.isSecured(ref.service, ref.id));
  if (denied) return { reply: denied };
  if (!(layer instanceof EditableLayer)) {
    return {
      reply: envelope(400, `Requested operation is not supported by this service.`, [
        `${operation} is not supported`,
      ]),
    };
  }
  const token = requestToken(req);
  const entry = token === undefined ? undefined : serverTokenEntry(state, req, token);
  return { layer, user: entry?.username || 'anonymous' };
}
