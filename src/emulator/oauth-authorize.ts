/**
 * `{portal}/sharing/rest/oauth2/authorize`: GET shows the sign-in form; POST (the form, or a script
 * sending `username`/`password` directly) signs in and redirects to `redirect_uri?code=…&state=…`.
 * An unknown client or redirect URI is shown as an error page (never redirected to, RFC 6749
 * §4.1.2.1); other errors are redirected with `error` and `error_description`.
 */
import { LOCKOUT_DETAIL } from './envelopes.js';
import { findApp, redirectAllowed } from './oauth-apps.js';
import { invalidClientId, invalidRedirectUri, notSpecified } from './oauth-envelopes.js';
import { CODE_LIFETIME_MS } from './oauth-grants.js';
import { AUTHORIZE_FIELDS, oauthErrorPage, signInPage } from './oauth-pages.js';
import { type ChallengeMethod, parseChallengeMethod } from './pkce.js';
import { htmlReply, type Reply } from './reply.js';
import { type EmuRequest, param, wantsJson } from './request.js';
import type { EmulatorState } from './state.js';
import type { OAuthAppSpec } from './types.js';

interface AuthorizeRequest {
  app: OAuthAppSpec;
  redirectUri: string;
  state: string | undefined;
  challenge: string | undefined;
  method: ChallengeMethod | undefined;
  /** Requested refresh-token lifetime, in minutes. */
  expirationMinutes: number | undefined;
  fields: Record<string, string>;
}

export function authorizeRoute(state: EmulatorState, req: EmuRequest): Reply {
  const parsed = parseAuthorize(state, req);
  if ('status' in parsed) return parsed;
  if (req.method !== 'POST') return htmlReply(signInPage(req.path, parsed.fields));
  if (param(req, 'cancel') !== undefined) {
    return redirect(parsed, { error: 'access_denied', error_description: 'The user denied the request.' });
  }
  return signIn(state, req, parsed);
}

function parseAuthorize(state: EmulatorState, req: EmuRequest): AuthorizeRequest | Reply {
  const clientId = param(req, 'client_id');
  const app = findApp(state, clientId);
  if (!app)
    return pageOrJson(req, clientId ? invalidClientId() : notSpecified('client_id'), 'Invalid client_id');
  const redirectUri = param(req, 'redirect_uri');
  if (!redirectUri) return pageOrJson(req, notSpecified('redirect_uri'), 'redirect_uri not specified');
  if (!redirectAllowed(app, redirectUri))
    return pageOrJson(req, invalidRedirectUri(), 'Invalid redirect_uri');

  const fields: Record<string, string> = {};
  for (const name of AUTHORIZE_FIELDS) {
    const value = param(req, name);
    if (value !== undefined) fields[name] = value;
  }
  const base = { app, redirectUri, state: param(req, 'state'), fields };
  const fail = (error: string, description: string): Reply =>
    redirect(base, { error, error_description: description });

  if (param(req, 'response_type') !== 'code') {
    return fail('unsupported_response_type', 'Only response_type=code is supported.');
  }
  const challenge = param(req, 'code_challenge') || undefined;
  const method =
    challenge === undefined ? undefined : parseChallengeMethod(param(req, 'code_challenge_method'));
  if (challenge !== undefined && method === undefined) {
    return fail('invalid_request', 'Invalid code_challenge_method');
  }
  if (challenge === undefined && app.clientSecret === undefined) {
    return fail('invalid_request', 'code_challenge required (PKCE) for this application');
  }
  const expiration = Number(param(req, 'expiration'));
  return {
    ...base,
    challenge,
    method,
    expirationMinutes: Number.isFinite(expiration) && expiration > 0 ? expiration : undefined,
  };
}

function signIn(state: EmulatorState, req: EmuRequest, auth: AuthorizeRequest): Reply {
  const username = param(req, 'username') ?? '';
  const password = param(req, 'password') ?? '';
  const again = (error: string): Reply => htmlReply(signInPage(req.path, auth.fields, error));
  if (username === '' || password === '') return again('Enter your username and password.');
  const now = state.options.now();
  if (state.lockout.isLocked(username, now)) {
    state.stats.badLogin();
    return again(LOCKOUT_DETAIL);
  }
  const user = state.options.users.find((u) => u.username === username);
  if (!user || user.password !== password) {
    state.lockout.recordFailure(username, now);
    state.stats.badLogin();
    return again('Invalid username or password.');
  }
  state.lockout.recordSuccess(username);
  const lifetime = state.options.refreshTokenLifetimeSeconds;
  const code = state.grants.createCode({
    clientId: auth.app.clientId,
    redirectUri: auth.redirectUri,
    username,
    challenge: auth.challenge,
    method: auth.method,
    expiresAt: now + CODE_LIFETIME_MS,
    refreshLifetimeSeconds:
      auth.expirationMinutes === undefined ? lifetime : Math.min(lifetime, auth.expirationMinutes * 60),
  });
  return redirect(auth, { code });
}

function redirect(
  auth: Pick<AuthorizeRequest, 'redirectUri' | 'state'>,
  params: Record<string, string>,
): Reply {
  const target = new URL(auth.redirectUri);
  for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
  if (auth.state !== undefined) target.searchParams.set('state', auth.state);
  return {
    status: 302,
    contentType: 'text/html; charset=utf-8',
    body: '',
    headers: { Location: target.toString() },
  };
}

function pageOrJson(req: EmuRequest, json: Reply, message: string): Reply {
  return wantsJson(req) ? json : htmlReply(oauthErrorPage(message), 400);
}
