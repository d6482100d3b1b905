/**
 * The emulator's listener: node:http (or node:https with `tls`), one handler that routes, applies
 * faults and writes the answer. Layers are given already loaded (see index.ts).
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { EtlError } from '../core/errors.js';
import { realSleep } from '../core/time.js';
import { CapacityGate, perFeatureMs } from './capacity.js';
import { Catalog } from './catalog.js';
import { CONTROL_PREFIX, controlRoute } from './control-routes.js';
import { unexpected } from './envelopes.js';
import { FaultInjector } from './faults.js';
import { owningSystemUrl, registerPortal } from './federation.js';
import { type JobOptions, JobRegistry } from './jobs/registry.js';
import { LockoutTracker } from './lockout.js';
import { OAuthGrants } from './oauth-grants.js';
import { resolveOptions } from './options.js';
import { buildRequest, type EmuRequest, readBodyBuffer } from './request.js';
import { matchRoute, type Route } from './router.js';
import { sendReply, sendReset, sendTruncated } from './send.js';
import { encodeService } from './service-url.js';
import { type EmulatorState, serverNow } from './state.js';
import { StatsCounter } from './stats.js';
import { TokenRegistry } from './tokens.js';
import type {
  EmulatedLayer,
  EmulatorAuthInfo,
  EmulatorHandle,
  EmulatorOptions,
  FaultOptions,
} from './types.js';

/** Starts a server over layers already loaded. `startEmulator` loads them, then calls this. */
export async function serveEmulator(
  options: EmulatorOptions,
  layers: readonly EmulatedLayer[],
): Promise<EmulatorHandle> {
  const resolved = resolveOptions(options);
  const securedServer =
    resolved.users.length > 0 ||
    resolved.apps.length > 0 ||
    resolved.apiKeys.length > 0 ||
    resolved.federated;
  const tokens = new TokenRegistry();
  for (const key of resolved.apiKeys) tokens.addStatic(key, 'apiKey');
  const state: EmulatorState = {
    options: resolved,
    tokens,
    lockout: new LockoutTracker({
      attempts: resolved.lockoutAttempts,
      windowMs: resolved.lockoutWindowMs,
      durationMs: resolved.lockoutDurationMs,
    }),
    stats: new StatsCounter([
      ...(resolved.apps.length > 0 ? (['oauth', 'oauthRefresh'] as const) : []),
      ...(resolved.federated ? (['federated'] as const) : []),
    ]),
    faults: new FaultInjector(resolved.faults, resolved.seed),
    capacity: new CapacityGate({ capacity: resolved.capacity, queueLimit: resolved.queueLimit }),
    catalog: new Catalog(layers, options.layers ?? [], securedServer),
    clockOffsetMs: resolved.clockOffsetMs,
    securedServer,
    grants: new OAuthGrants(),
    jobs: new JobRegistry(options.jobs),
    origin: '',
  };
  const scheme = resolved.tls ? 'https' : 'http';
  let origin = '';

  const control = {
    stats: () => ({ ...state.stats.snapshot(), load: state.capacity.snapshot() }),
    resetStats: () => {
      state.stats.reset();
      state.capacity.reset();
    },
    revokeAll: () => {
      state.tokens.revokeAll();
      state.grants.revokeAll();
    },
    setClockOffset: (ms: number) => {
      state.clockOffsetMs = ms;
    },
    setFaults: (faults: FaultOptions, seed?: number) => state.faults.set(faults, seed),
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    handle(state, control, req, res, scheme, origin).catch(() => {
      if (!res.headersSent) sendReply(res, unexpected(), new Date(serverNow(state)).toUTCString());
      else res.destroy();
    });
  };
  const server: Server = resolved.tls
    ? createHttpsServer({ cert: resolved.tls.cert, key: resolved.tls.key }, handler)
    : createHttpServer(handler);
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  origin = `${scheme}://${urlHost(resolved.host)}:${port}`;
  state.origin = origin;
  const url = `${origin}${resolved.prefix}`;
  const restUrl = `${url}/rest`;
  const portalUrl = `${origin}${resolved.portalPrefix}`;
  const unregister = registerPortal(portalUrl, { tokens: state.tokens, now: resolved.now });
  const owner = owningSystemUrl(state, origin);
  const oauth = `${portalUrl}/sharing/rest/oauth2`;
  const auth: EmulatorAuthInfo = {
    authorizeUrl: `${oauth}/authorize`,
    oauthTokenUrl: `${oauth}/token`,
    revokeTokenUrl: `${oauth}/revokeToken`,
    clientIds: resolved.apps.map((a) => a.clientId),
    apiKeys: resolved.apiKeys.length,
    owningSystemUrl: owner,
    legacy: resolved.legacy,
  };
  const tokenUrl = resolved.legacy
    ? `${url}/tokens`
    : owner === undefined
      ? `${url}/tokens/generateToken`
      : `${owner}/sharing/rest/generateToken`;

  return {
    url,
    restUrl,
    tokenUrl,
    portalUrl,
    auth,
    port,
    layerUrl: (service, id = 0) => `${restUrl}/services/${encodeService(service)}/FeatureServer/${id}`,
    ...control,
    setFaults: (faults: FaultOptions, seed?: number) => control.setFaults(faults, seed),
    setJobs: (jobs: JobOptions) => state.jobs.set(jobs),
    layer(service, id = 0) {
      const layer = state.catalog.layer(service, id);
      if (!layer) throw new EtlError('LAYER_NOT_FOUND', `The emulator has no layer ${service}/${id}`);
      return layer;
    },
    layers: () => state.catalog.layers,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        unregister();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(
  state: EmulatorState,
  control: Parameters<typeof controlRoute>[0],
  req: IncomingMessage,
  res: ServerResponse,
  scheme: 'http' | 'https',
  origin: string,
): Promise<void> {
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const queryString = q < 0 ? '' : rawUrl.slice(q + 1);
  const rawBytes = req.method === 'POST' || req.method === 'PUT' ? await readBodyBuffer(req) : undefined;
  const rawBody = rawBytes === undefined ? '' : rawBytes.toString('utf8');
  const request = buildRequest(req, path, queryString, rawBody, scheme, origin, rawBytes);

  if (path.startsWith(CONTROL_PREFIX)) {
    sendReply(res, controlRoute(control, request), new Date(serverNow(state)).toUTCString());
    return;
  }

  const route = matchRoute(state, path);
  state.stats.request(route.name);
  if (route.name !== 'query') {
    await serve(state, route, request, res);
    return;
  }
  // queries take a service instance for their whole service time
  const admission = await state.capacity.admit();
  if (!admission.admitted) {
    const status = state.options.refuseStatus;
    state.capacity.refused(status);
    sendReply(res, state.faults.replacement(`http${status}`)!, new Date(serverNow(state)).toUTCString());
    return;
  }
  try {
    await serve(state, route, request, res);
  } finally {
    admission.release();
  }
}

async function serve(
  state: EmulatorState,
  route: Route,
  request: EmuRequest,
  res: ServerResponse,
): Promise<void> {
  const faults = state.faults;
  const inScope = faults.appliesTo(route.name);
  const fault = inScope ? faults.draw() : undefined;
  if (inScope && faults.latencyMs > 0) await realSleep(faults.latencyMs);

  if (fault !== undefined) {
    const replacement = faults.replacement(fault);
    if (replacement) {
      state.stats.fault(fault);
      sendReply(res, replacement, new Date(serverNow(state)).toUTCString());
      return;
    }
  }
  const building = performance.now();
  const reply = route.handle(state, request);
  // building the answer is part of its per-feature cost, not added to it: the service time is the
  // model's, whatever the emulator's own CPU (which shares the machine with its clients) takes
  const perFeature = perFeatureMs(faults.msPer1000Features, reply.features) - (performance.now() - building);
  if (perFeature > 0) await realSleep(perFeature);
  const date = new Date(serverNow(state)).toUTCString();
  if (fault === 'reset') {
    state.stats.fault(fault);
    sendReset(res, reply, date);
  } else if (fault === 'truncate') {
    state.stats.fault(fault);
    sendTruncated(res, reply, date);
  } else {
    sendReply(res, reply, date);
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
