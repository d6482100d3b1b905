/**
 * Token-checked portal resources: `portals/self` and `community/self`. They answer 499 without a
 * token and 498 for a token the portal does not accept (expired, revoked, or a server token).
 */
import { portalTokenEntry } from './access.js';
import { invalidToken, tokenRequired } from './envelopes.js';
import { resourcePage } from './html.js';
import { htmlReply, jsonReply, type Reply } from './reply.js';
import { type EmuRequest, format, requestToken, wantsJson } from './request.js';
import type { EmulatorState } from './state.js';
import type { IssuedToken } from './tokens.js';

function withPortalToken(
  state: EmulatorState,
  req: EmuRequest,
  title: string,
  build: (entry: IssuedToken) => Record<string, unknown>,
): Reply {
  const token = requestToken(req);
  if (!token) {
    state.stats.tokenRequired();
    return tokenRequired();
  }
  const entry = portalTokenEntry(state, req, token);
  if (!entry) {
    state.stats.invalidToken();
    return invalidToken();
  }
  if (!wantsJson(req)) return htmlReply(resourcePage(title, req.path));
  return jsonReply(build(entry), format(req) === 'pjson');
}

export function portalSelfRoute(state: EmulatorState, req: EmuRequest): Reply {
  return withPortalToken(state, req, 'Portal', (entry) => ({
    id: 'emulator',
    name: 'ArcGIS REST emulator',
    isPortal: true,
    authorizedCrossOriginDomains: [],
    ...(entry.username ? { user: { username: entry.username } } : { appInfo: { appId: entry.clientId } }),
  }));
}

export function communitySelfRoute(state: EmulatorState, req: EmuRequest): Reply {
  return withPortalToken(state, req, 'User', (entry) =>
    entry.username ? { username: entry.username, role: 'org_user' } : { appId: entry.clientId },
  );
}
