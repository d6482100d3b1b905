/**
 * generateToken (server and portal, with the portal's federated exchange), and the token service
 * root with the legacy getToken.
 */
import {
  accountLocked,
  badCredentials,
  federatedServerRefusal,
  invalidServerUrl,
  methodNotSupported,
  missingParameters,
} from './envelopes.js';
import { exchangeRoute } from './exchange.js';
import { normalizeServerUrl } from './federation.js';
import { escapeHtml, htmlPage, tokenFormPage } from './html.js';
import { htmlReply, jsonReply, type Reply, textReply } from './reply.js';
import { type EmuRequest, format, param, wantsJson } from './request.js';
import type { EmulatorState } from './state.js';
import type { TokenEndpoint } from './stats.js';
import { type Binding, legacyBinding, lifetimeMs, parseBinding } from './token-policy.js';
import type { TokenKind } from './tokens.js';

/** `{prefix}/tokens/generateToken` and `{portal}/sharing/rest/generateToken`. */
export function generateTokenRoute(
  state: EmulatorState,
  req: EmuRequest,
  endpoint: 'server' | 'portal',
): Reply {
  // since 10.3.1: GET, and credentials in the query string, are refused
  const credentialsInQuery = req.query.has('username') || req.query.has('password');
  if (req.method !== 'POST' || credentialsInQuery) {
    // a browser opening the page without credentials gets the token form
    if (req.method === 'GET' && !credentialsInQuery && !wantsJson(req))
      return htmlReply(tokenFormPage(req.path));
    return methodNotSupported();
  }
  if (!wantsJson(req)) return htmlReply(tokenFormPage(req.path));
  if (endpoint === 'server' && state.options.federated) return federatedServerRefusal();
  const binding = parseBinding(req);
  if ('status' in binding) return binding;
  const answer = (token: string, expires: number) =>
    jsonReply({ token, expires, ssl: false }, format(req) === 'pjson');
  if (endpoint !== 'portal') return issue(state, req, { endpoint, kind: endpoint }, binding, answer);
  if (param(req, 'token')) return exchangeRoute(state, req, binding, answer);
  const rawServerUrl = param(req, 'serverUrl');
  if (!rawServerUrl) return issue(state, req, { endpoint: 'portal', kind: 'portal' }, binding, answer);
  // username/password + serverUrl: a token for that federated server directly
  const serverUrl = normalizeServerUrl(rawServerUrl);
  if (serverUrl === undefined) return invalidServerUrl();
  return issue(state, req, { endpoint: 'federated', kind: 'federated', serverUrl }, binding, answer);
}

/**
 * `{prefix}/tokens` and `{prefix}/tokens/`: `request=getToken` is the 10.0 API (GET or POST,
 * plain-text answer unless f=json); anything else is treated as generateToken.
 */
export function tokensRootRoute(state: EmulatorState, req: EmuRequest): Reply {
  if ((param(req, 'request') ?? '').toLowerCase() !== 'gettoken') {
    // a 10.0 token service only knows request=getToken: anything else gets its page
    if (state.options.legacy) return htmlReply(legacyTokenPage(req.path));
    return generateTokenRoute(state, req, 'server');
  }
  if (state.options.federated) return federatedServerRefusal();
  const binding = legacyBinding(req);
  return issue(state, req, { endpoint: 'legacy', kind: 'legacy' }, binding, (token, expires) =>
    wantsJson(req) ? jsonReply({ token, expires }) : textReply(token),
  );
}

function legacyTokenPage(action: string): string {
  return htmlPage(
    'Get Token',
    `<form method="get" action="${escapeHtml(action)}">
<input type="hidden" name="request" value="getToken">
<label>Username: <input type="text" name="username"></label><br>
<label>Password: <input type="password" name="password"></label><br>
<label>Client ID: <input type="text" name="clientid"></label><br>
<label>Expiration (minutes): <input type="text" name="expiration" value="60"></label><br>
<input type="submit" value="Get Token">
</form>`,
  );
}

interface IssueKind {
  endpoint: TokenEndpoint;
  kind: TokenKind;
  serverUrl?: string;
}

function issue(
  state: EmulatorState,
  req: EmuRequest,
  what: IssueKind,
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
  const token = state.tokens.issue({
    kind: what.kind,
    username: u,
    ...binding,
    expiresAt,
    ...(what.serverUrl === undefined ? {} : { serverUrl: what.serverUrl }),
  });
  state.stats.tokenIssued(what.endpoint);
  return answer(token, expiresAt + state.clockOffsetMs);
}
