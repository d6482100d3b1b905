/**
 * generateToken (server and portal), and the token service root with the legacy getToken.
 */
import type { TokenClientType } from '../core/protocol.js';
import {
  accountLocked,
  badCredentials,
  invalidClient,
  methodNotSupported,
  missingParameters,
} from './envelopes.js';
import { tokenFormPage } from './html.js';
import { htmlReply, jsonReply, type Reply, textReply } from './reply.js';
import { type EmuRequest, format, param, wantsJson } from './request.js';
import type { EmulatorState } from './state.js';
import type { TokenEndpoint } from './stats.js';

interface Binding {
  client: TokenClientType;
  referer: string | undefined;
  ip: string | undefined;
}

/** `{prefix}/tokens/generateToken` and `{portal}/sharing/rest/generateToken`. */
export function generateTokenRoute(state: EmulatorState, req: EmuRequest, endpoint: TokenEndpoint): Reply {
  // since 10.3.1: GET, and credentials in the query string, are refused
  const credentialsInQuery = req.query.has('username') || req.query.has('password');
  if (req.method !== 'POST' || credentialsInQuery) {
    // a browser opening the page without credentials gets the token form
    if (req.method === 'GET' && !credentialsInQuery && !wantsJson(req))
      return htmlReply(tokenFormPage(req.path));
    return methodNotSupported();
  }
  if (!wantsJson(req)) return htmlReply(tokenFormPage(req.path));
  const binding = parseBinding(req);
  if ('status' in binding) return binding;
  return issue(state, req, endpoint, binding, (token, expires) =>
    jsonReply({ token, expires, ssl: false }, format(req) === 'pjson'),
  );
}

/**
 * `{prefix}/tokens` and `{prefix}/tokens/`: `request=getToken` is the 10.0 API (GET or POST,
 * plain-text answer unless f=json); anything else is treated as generateToken.
 */
export function tokensRootRoute(state: EmulatorState, req: EmuRequest): Reply {
  if ((param(req, 'request') ?? '').toLowerCase() !== 'gettoken') {
    return generateTokenRoute(state, req, 'server');
  }
  const binding = legacyBinding(req);
  return issue(state, req, 'legacy', binding, (token, expires) =>
    wantsJson(req) ? jsonReply({ token, expires }) : textReply(token),
  );
}

function issue(
  state: EmulatorState,
  req: EmuRequest,
  endpoint: TokenEndpoint,
  binding: Binding,
  answer: (token: string, expires: number) => Reply,
): Reply {
  const username = param(req, 'username');
  const password = param(req, 'password');
  const missing = [...(username ? [] : ['username']), ...(password ? [] : ['password'])];
  if (missing.length > 0) return missingParameters(missing);
  const u = username as string;
  const now = state.options.now();
  if (state.lockout.isLocked(u, now)) {
    state.stats.badLogin();
    return accountLocked();
  }
  const user = state.options.users.find((x) => x.username === u);
  if (!user || user.password !== password) {
    state.lockout.recordFailure(u, now);
    state.stats.badLogin();
    return badCredentials();
  }
  state.lockout.recordSuccess(u);
  const expiresAt = now + lifetimeMs(state, param(req, 'expiration'));
  const token = state.tokens.issue({ username: u, ...binding, expiresAt });
  state.stats.tokenIssued(endpoint);
  return answer(token, expiresAt + state.clockOffsetMs);
}

/** Minutes asked (default tokenMinutes), capped by maxTokenMinutes; tokenLifetimeSeconds wins. */
function lifetimeMs(state: EmulatorState, expiration: string | undefined): number {
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

function parseBinding(req: EmuRequest): Binding | Reply {
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
function legacyBinding(req: EmuRequest): Binding {
  const clientId = param(req, 'clientid') ?? '';
  if (clientId.startsWith('ref.')) return { client: 'referer', referer: clientId.slice(4), ip: undefined };
  if (clientId.startsWith('ip.')) return { client: 'ip', referer: undefined, ip: clientId.slice(3) };
  return { client: 'requestip', referer: undefined, ip: req.ip };
}
