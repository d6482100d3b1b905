/**
 * How generateToken-style requests are bound (client type, referer, ip) and how long their tokens live.
 */
import type { TokenClientType } from '../core/protocol.js';
import { invalidClient, missingParameters } from './envelopes.js';
import type { Reply } from './reply.js';
import { type EmuRequest, param } from './request.js';
import type { EmulatorState } from './state.js';

export interface Binding {
  client: TokenClientType;
  referer: string | undefined;
  ip: string | undefined;
}

/** Minutes asked (default tokenMinutes), capped by maxTokenMinutes; tokenLifetimeSeconds wins. */
export function lifetimeMs(state: EmulatorState, expiration: string | undefined): number {
  const o = state.options;
  if (o.tokenLifetimeSeconds !== undefined) return o.tokenLifetimeSeconds * 1000;
  const asked = expiration === undefined ? Number.NaN : Number(expiration);
  const minutes = Number.isFinite(asked) && asked > 0 ? asked : o.tokenMinutes;
  return Math.min(minutes, o.maxTokenMinutes) * 60_000;
}

const CLIENT_ALIASES: Record<string, TokenClientType> = {
  referer: 'referer',
  'http referer': 'referer',
  ip: 'ip',
  'ip address': 'ip',
  requestip: 'requestip',
  'request ip': 'requestip',
};

export function parseBinding(req: EmuRequest): Binding | Reply {
  const raw = param(req, 'client');
  const client = raw === undefined || raw === '' ? 'requestip' : CLIENT_ALIASES[raw.toLowerCase()];
  if (!client) return invalidClient();
  if (client === 'referer') {
    const referer = param(req, 'referer');
    if (!referer) return missingParameters(['referer']);
    return { client, referer, ip: undefined };
  }
  if (client === 'ip') {
    const ip = param(req, 'ip');
    if (!ip) return missingParameters(['ip']);
    return { client, referer: undefined, ip };
  }
  return { client, referer: undefined, ip: req.ip };
}

/** 10.0 `clientid=ref.<referer>` or `clientid=ip.<address>`; otherwise bound to the request IP. */
export function legacyBinding(req: EmuRequest): Binding {
  const clientId = param(req, 'clientid') ?? '';
  if (clientId.startsWith('ref.')) return { client: 'referer', referer: clientId.slice(4), ip: undefined };
  if (clientId.startsWith('ip.')) return { client: 'ip', referer: undefined, ip: clientId.slice(3) };
  return { client: 'requestip', referer: undefined, ip: req.ip };
}
