/**
 * The services directory, FeatureServer / MapServer resources, layers and query, behind the
 * token check of secured services.
 */

import { serverTokenEntry } from './access.js';
import { answerBytes } from './data/answer-cache.js';
import { envelope, invalidToken, invalidUrl, tokenRequired, unexpected } from './envelopes.js';
import { resourcePage } from './html.js';
import { htmlReply, jsonReply, type Reply } from './reply.js';
import { allParams, type EmuRequest, format, requestToken, wantsJson } from './request.js';
import { featureServerJson, mapServerJson, servicesJson } from './service-json.js';
import type { EmulatorState } from './state.js';
import { EmulatorQueryError } from './types.js';

/** A parsed path under `{prefix}/rest/services`. */
export type ServicePath =
  | { kind: 'services'; folder: string }
  | { kind: 'service'; service: string; type: 'FeatureServer' | 'MapServer' }
  | { kind: 'layer'; service: string; type: 'FeatureServer' | 'MapServer'; id: number }
  | { kind: 'query'; service: string; type: 'FeatureServer' | 'MapServer'; id: number }
  | { kind: 'invalid' };

/** `rest` is what follows `{prefix}/rest/services` (e.g. `/Parcels/FeatureServer/0/query`). */
export function parseServicePath(rest: string): ServicePath {
  const segments = rest.split('/').filter((s) => s !== '');
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    return { kind: 'invalid' };
  }
  const at = decoded.findIndex((s) => s === 'FeatureServer' || s === 'MapServer');
  if (at < 0) return { kind: 'services', folder: decoded.join('/') };
  if (at === 0) return { kind: 'invalid' };
  const service = decoded.slice(0, at).join('/');
  const type = decoded[at] as 'FeatureServer' | 'MapServer';
  const tail = decoded.slice(at + 1);
  if (tail.length === 0) return { kind: 'service', service, type };
  const id = /^\d+$/.test(tail[0] ?? '') ? Number(tail[0]) : Number.NaN;
  if (!Number.isSafeInteger(id)) return { kind: 'invalid' };
  if (tail.length === 1) return { kind: 'layer', service, type, id };
  if (tail.length === 2 && tail[1] === 'query') return { kind: 'query', service, type, id };
  return { kind: 'invalid' };
}

export function routeName(path: ServicePath): string {
  return path.kind === 'services' ? 'services' : path.kind === 'invalid' ? 'notFound' : path.kind;
}

/**
 * The token check: undefined when the request may proceed, else the 498/499 envelope. A token sent
 * to a secured server is checked even on public resources, as real servers do.
 */
export function authorize(state: EmulatorState, req: EmuRequest, secured: boolean): Reply | undefined {
  if (!state.securedServer) return undefined;
  const token = requestToken(req);
  if (!token) {
    if (!secured) return undefined;
    state.stats.tokenRequired();
    return tokenRequired();
  }
  if (serverTokenEntry(state, req, token)) return undefined;
  state.stats.invalidToken();
  return invalidToken();
}

export function servicesRoute(state: EmulatorState, req: EmuRequest, path: ServicePath): Reply {
  const { catalog } = state;
  switch (path.kind) {
    case 'invalid':
      return invalidUrl();
    case 'services': {
      const listing = catalog.listing(path.folder);
      if (!listing) return invalidUrl();
      return guarded(state, req, false, 'Folder', () => servicesJson(listing));
    }
    case 'service': {
      const layers = catalog.service(path.service);
      if (!layers) return invalidUrl();
      return guarded(state, req, catalog.isSecured(path.service), path.type, () =>
        path.type === 'FeatureServer' ? featureServerJson(layers) : mapServerJson(path.service, layers),
      );
    }
    case 'layer': {
      const layer = catalog.layer(path.service, path.id);
      if (!layer) return invalidUrl();
      return guarded(state, req, catalog.isSecured(path.service, path.id), 'Layer', () => layer.metadata());
    }
    case 'query': {
      const layer = catalog.layer(path.service, path.id);
      if (!layer) return invalidUrl();
      const denied = authorize(state, req, catalog.isSecured(path.service, path.id));
      if (denied) return denied;
      try {
        const answer = layer.query(allParams(req), state.faults.queryFaults());
        return {
          status: 200,
          contentType: answer.contentType,
          body: answerBytes(answer) ?? answer.body,
          ...(answer.features === undefined ? {} : { features: answer.features }),
        };
      } catch (error) {
        if (error instanceof EmulatorQueryError) return envelope(error.code, error.message, error.details);
        return unexpected();
      }
    }
  }
}

function guarded(
  state: EmulatorState,
  req: EmuRequest,
  secured: boolean,
  title: string,
  build: () => unknown,
): Reply {
  const denied = authorize(state, req, secured);
  if (denied) return denied;
  if (!wantsJson(req)) return htmlReply(resourcePage(title, req.path));
  const body = build();
  return jsonReply(state.options.legacy ? withoutVersion(body) : body, format(req) === 'pjson');
}

/** ArcGIS Server 10.0 resources carry no `currentVersion`. */
function withoutVersion(body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  const { currentVersion: _omitted, ...rest } = body as Record<string, unknown>;
  return rest;
}
