/**
 * `{portal}/sharing/rest/oauth2/revokeToken`: `auth_token` (a refresh token or a user's OAuth access
 * token), `token_type_hint`, `client_id`. Always answers `{"success": true}`, even for unknown
 * tokens. Only tokens of that client are revoked; revoking a refresh token also revokes the access
 * tokens issued with it. generateToken tokens and app (client_credentials) tokens cannot be revoked.
 */
import { revokeRefresh } from './oauth-token.js';
import { jsonReply, type Reply } from './reply.js';
import { type EmuRequest, param } from './request.js';
import type { EmulatorState } from './state.js';

export function revokeTokenRoute(state: EmulatorState, req: EmuRequest): Reply {
  const token = param(req, 'auth_token') ?? param(req, 'token');
  const clientId = param(req, 'client_id');
  if (token && clientId) {
    const grant = state.grants.refresh(token);
    if (grant?.clientId === clientId) revokeRefresh(state, token);
    const access = state.tokens.get(token);
    if (access?.kind === 'oauth' && access.clientId === clientId) state.tokens.revoke(token);
  }
  return jsonReply({ success: true });
}
