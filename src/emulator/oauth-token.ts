/**
 * `{portal}/sharing/rest/oauth2/token` (POST): grant_type `client_credentials`,
 * `authorization_code` (PKCE checked, single-use code), `refresh_token` and
 * `exchange_refresh_token` (a new refresh token; the old one is revoked). Answers JSON whatever
 * `f` says; `expires_in` and `refresh_token_expires_in` are in SECONDS.
 */
import { appTokenLifetimeMs, findApp, redirectAllowed, userTokenLifetimeMs } from './oauth-apps.js';
import {
  invalidClientId,
  invalidClientSecret,
  invalidCode,
  invalidRedirectUri,
  invalidRefreshToken,
  invalidVerifier,
  notSpecified,
  oauthMethodNotSupported,
  unsupportedGrantType,
} from './oauth-envelopes.js';
import type { RefreshGrant } from './oauth-grants.js';
import { verifyPkce } from './pkce.js';
import { jsonReply, type Reply } from './reply.js';
import { type EmuRequest, format, param } from './request.js';
import type { EmulatorState } from './state.js';
import type { OAuthAppSpec } from './types.js';

export function oauthTokenRoute(state: EmulatorState, req: EmuRequest): Reply {
  if (req.method !== 'POST') return oauthMethodNotSupported();
  const grantType = param(req, 'grant_type');
  if (!grantType) return notSpecified('grant_type');
  const clientId = param(req, 'client_id');
  if (!clientId) return notSpecified('client_id');
  const app = findApp(state, clientId);
  if (!app) return invalidClientId();
  const pretty = format(req) === 'pjson';
  const answer = (body: Record<string, unknown>): Reply => jsonReply(body, pretty);
  switch (grantType) {
    case 'client_credentials':
      return clientCredentials(state, req, app, answer);
    case 'authorization_code':
      return authorizationCode(state, req, app, answer);
    case 'refresh_token':
      return refreshToken(state, req, app, answer);
    case 'exchange_refresh_token':
      return exchangeRefreshToken(state, req, app, answer);
    default:
      return unsupportedGrantType();
  }
}

type Answer = (body: Record<string, unknown>) => Reply;

function clientCredentials(state: EmulatorState, req: EmuRequest, app: OAuthAppSpec, answer: Answer): Reply {
  const secret = param(req, 'client_secret');
  if (!secret) return notSpecified('client_secret');
  if (app.clientSecret === undefined || secret !== app.clientSecret) return invalidClientSecret();
  const lifetimeMs = appTokenLifetimeMs(state, app, param(req, 'expiration'));
  const token = state.tokens.issue({
    kind: 'app',
    username: '',
    clientId: app.clientId,
    client: 'requestip',
    referer: undefined,
    ip: undefined,
    expiresAt: state.options.now() + lifetimeMs,
  });
  state.stats.tokenIssued('oauth');
  return answer({ access_token: token, expires_in: seconds(lifetimeMs) });
}

function authorizationCode(state: EmulatorState, req: EmuRequest, app: OAuthAppSpec, answer: Answer): Reply {
  const codeValue = param(req, 'code');
  if (!codeValue) return notSpecified('code');
  const redirectUri = param(req, 'redirect_uri');
  if (!redirectUri) return notSpecified('redirect_uri');
  const code = state.grants.code(codeValue);
  const now = state.options.now();
  if (!code || code.clientId !== app.clientId) return invalidCode();
  if (code.used) {
    // a replayed code: everything issued from it is revoked (RFC 6749 §4.1.2)
    for (const t of code.accessTokens) state.tokens.revoke(t);
    if (code.refreshToken) revokeRefresh(state, code.refreshToken);
    return invalidCode();
  }
  if (now >= code.expiresAt) return invalidCode();
  if (redirectUri !== code.redirectUri) return invalidRedirectUri();
  const secret = param(req, 'client_secret');
  if (secret !== undefined && secret !== app.clientSecret) return invalidClientSecret();
  if (code.challenge !== undefined && code.method !== undefined) {
    const verifier = param(req, 'code_verifier');
    if (!verifier) return notSpecified('code_verifier');
    // any redemption attempt uses the code up, so a verifier cannot be guessed
    code.used = true;
    if (!verifyPkce(code.challenge, code.method, verifier)) return invalidVerifier();
  }
  code.used = true;
  const refreshToken = state.grants.createRefresh({
    clientId: app.clientId,
    username: code.username,
    expiresAt: now + code.refreshLifetimeSeconds * 1000,
    lifetimeSeconds: code.refreshLifetimeSeconds,
  });
  state.stats.tokenIssued('oauthRefresh');
  code.refreshToken = refreshToken;
  const grant = state.grants.refresh(refreshToken) as RefreshGrant;
  const access = issueUserToken(state, app, grant);
  code.accessTokens.push(access.token);
  return answer({
    access_token: access.token,
    expires_in: access.expiresIn,
    username: code.username,
    ssl: false,
    refresh_token: refreshToken,
    refresh_token_expires_in: code.refreshLifetimeSeconds,
  });
}

function refreshToken(state: EmulatorState, req: EmuRequest, app: OAuthAppSpec, answer: Answer): Reply {
  const value = param(req, 'refresh_token');
  if (!value) return notSpecified('refresh_token');
  const grant = state.grants.usableRefresh(value, app.clientId, state.options.now());
  if (!grant) return invalidRefreshToken();
  const access = issueUserToken(state, app, grant);
  return answer({
    access_token: access.token,
    expires_in: access.expiresIn,
    username: grant.username,
    ssl: false,
  });
}

function exchangeRefreshToken(
  state: EmulatorState,
  req: EmuRequest,
  app: OAuthAppSpec,
  answer: Answer,
): Reply {
  const value = param(req, 'refresh_token');
  if (!value) return notSpecified('refresh_token');
  const redirectUri = param(req, 'redirect_uri');
  if (!redirectUri) return notSpecified('redirect_uri');
  if (!redirectAllowed(app, redirectUri)) return invalidRedirectUri();
  const now = state.options.now();
  const old = state.grants.usableRefresh(value, app.clientId, now);
  if (!old) return invalidRefreshToken();
  old.revoked = true;
  const lifetime = state.options.refreshTokenLifetimeSeconds;
  const next = state.grants.createRefresh({
    clientId: app.clientId,
    username: old.username,
    expiresAt: now + lifetime * 1000,
    lifetimeSeconds: lifetime,
  });
  state.stats.tokenIssued('oauthRefresh');
  const access = issueUserToken(state, app, state.grants.refresh(next) as RefreshGrant);
  return answer({
    access_token: access.token,
    expires_in: access.expiresIn,
    username: old.username,
    ssl: false,
    refresh_token: next,
    refresh_token_expires_in: lifetime,
  });
}

function issueUserToken(
  state: EmulatorState,
  app: OAuthAppSpec,
  grant: RefreshGrant,
): { token: string; expiresIn: number } {
  const lifetimeMs = userTokenLifetimeMs(state, app);
  const token = state.tokens.issue({
    kind: 'oauth',
    username: grant.username,
    clientId: app.clientId,
    client: 'requestip',
    referer: undefined,
    ip: undefined,
    expiresAt: state.options.now() + lifetimeMs,
  });
  grant.accessTokens.push(token);
  state.stats.tokenIssued('oauth');
  return { token, expiresIn: seconds(lifetimeMs) };
}

/** Revokes a refresh token and every access token issued with it. */
export function revokeRefresh(state: EmulatorState, refreshToken: string): void {
  const grant = state.grants.refresh(refreshToken);
  if (!grant) return;
  grant.revoked = true;
  for (const t of grant.accessTokens) state.tokens.revoke(t);
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
