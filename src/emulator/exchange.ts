/**
 * The portal's federated exchange: `generateToken` with `token` (a valid portal token) and
 * `serverUrl` (a server root) answers a token for that server only (`tokensIssued.federated`).
 * It never outlives the portal token. A token the portal does not accept answers 498.
 */
import { portalTokenEntry } from './access.js';
import { invalidServerUrl, invalidToken, missingParameters } from './envelopes.js';
import { normalizeServerUrl } from './federation.js';
import type { Reply } from './reply.js';
import { type EmuRequest, param } from './request.js';
import type { EmulatorState } from './state.js';
import { type Binding, lifetimeMs } from './token-policy.js';

export function exchangeRoute(
  state: EmulatorState,
  req: EmuRequest,
  binding: Binding,
  answer: (token: string, expires: number) => Reply,
): Reply {
  const rawServerUrl = param(req, 'serverUrl');
  if (!rawServerUrl) return missingParameters(['serverUrl']);
  const serverUrl = normalizeServerUrl(rawServerUrl);
  if (serverUrl === undefined) return invalidServerUrl();
  const portalToken = portalTokenEntry(state, req, param(req, 'token') as string);
  if (!portalToken) {
    state.stats.invalidToken();
    return invalidToken();
  }
  const now = state.options.now();
  const expiresAt = Math.min(now + lifetimeMs(state, param(req, 'expiration')), portalToken.expiresAt);
  const token = state.tokens.issue({
    kind: 'federated',
    username: portalToken.username,
    ...binding,
    expiresAt,
    serverUrl,
    ...(portalToken.clientId === undefined ? {} : { clientId: portalToken.clientId }),
  });
  state.stats.tokenIssued('federated');
  return answer(token, expiresAt + state.clockOffsetMs);
}
