/**
 * Where each kind of token is accepted.
 * - Server layers: API keys always; exchanged (`federated`) tokens when issued for this server (by
 *   this emulator's portal, or by the trusted portal of another emulator in the process); every other
 *   token of this emulator only when the server is NOT federated (one trust domain by default).
 * - Portal: its own tokens only (portal generateToken, OAuth user and app tokens). Server tokens and
 *   API keys are refused there.
 */
import { findPortal, isThisServer } from './federation.js';
import { type EmuRequest, header } from './request.js';
import type { EmulatorState } from './state.js';
import type { IssuedToken, RequestOrigin } from './tokens.js';

function originOf(req: EmuRequest): RequestOrigin {
  return { referer: header(req, 'referer'), ip: req.ip };
}

/** The token's entry when the server may serve this request with it, else undefined. */
export function serverTokenEntry(
  state: EmulatorState,
  req: EmuRequest,
  token: string,
): IssuedToken | undefined {
  const origin = originOf(req);
  const own = state.tokens.usable(token, origin, state.options.now());
  if (own) {
    if (own.kind === 'apiKey') return own;
    if (own.kind === 'federated') return isThisServer(state, req.origin, own.serverUrl) ? own : undefined;
    return state.options.federated ? undefined : own;
  }
  const trusted = state.options.trustedPortal ? findPortal(state.options.trustedPortal) : undefined;
  if (!trusted || trusted.tokens === state.tokens) return undefined;
  const foreign = trusted.tokens.usable(token, origin, trusted.now());
  return foreign?.kind === 'federated' && isThisServer(state, req.origin, foreign.serverUrl)
    ? foreign
    : undefined;
}

/** The token's entry when the portal accepts it for this request, else undefined. */
export function portalTokenEntry(
  state: EmulatorState,
  req: EmuRequest,
  token: string,
): IssuedToken | undefined {
  const entry = state.tokens.usable(token, originOf(req), state.options.now());
  if (!entry) return undefined;
  return entry.kind === 'portal' || entry.kind === 'oauth' || entry.kind === 'app' ? entry : undefined;
}
